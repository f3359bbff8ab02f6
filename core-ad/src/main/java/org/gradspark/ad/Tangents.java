package org.gradspark.ad;

import java.util.ArrayList;
import java.util.List;
import org.gradspark.ad.backend.Backends;

/**
 * Tangents with a leading batch of directions ({@code [k] ++ shape}, broadcastable; null is zero), and
 * the rules derived for a primitive that declares fewer than all of its rules: a JVP from the VJP
 * rule, a second-order term from the JVP rule.
 */
final class Tangents {
    private Tangents() {}

    /** The number of directions of the non-null tangents (all must agree), or -1 when all are null. */
    static int batch(Tensor[] tangents) {
        int k = -1;
        for (Tensor t : tangents) {
            if (t == null) continue;
            if (t.rank() == 0) throw new IllegalArgumentException("a tangent needs a leading axis of directions, got a scalar");
            int tk = t.shape().dim(0);
            if (k >= 0 && tk != k) throw new IllegalArgumentException("tangents with " + k + " and " + tk + " directions in one call");
            k = tk;
        }
        return k;
    }

    /** Checks that a rule's result is a tangent of {@code k} directions for an output of shape {@code out}. */
    static void check(Tensor t, int k, Shape out, String who) {
        boolean ok = t.rank() == out.rank() + 1 && t.shape().dim(0) == k;
        for (int i = 0; ok && i < out.rank(); i++) ok = t.shape().dim(i + 1) == 1 || t.shape().dim(i + 1) == out.dim(i);
        if (!ok) throw new IllegalStateException(who + " returned shape " + t.shape() + " for " + k + " direction(s) of an output of shape " + out);
    }

    /** Direction j of a tangent as a batch of one ([1] ++ shape), or null. */
    static Tensor direction(Tensor t, int j) {
        if (t == null) return null;
        int[] begin = new int[t.rank()], size = t.shape().dims();
        begin[0] = j;
        size[0] = 1;
        return Ops.slice(t, begin, size);
    }

    /**
     * J t by transposing the VJP rule, one direction at a time: with u a variable, {@code vjp(u)} is
     * linear in u, and its pullback along t is {@code J t}. For primitives defined without a JVP rule
     * (a Cell's custom bprop): correct to any order, but a backward pass per direction.
     */
    static Tensor jvpByTransposingVjp(Primitive p, Tensor[] tangents, Tensor[] in, Tensor y, Object attrs, int k) {
        // Whether the result must be recorded is the caller's state; the transposition records its own graph regardless.
        boolean record = Engine.enclosingGradientActive();
        return Engine.recordingLocally(() -> transposeVjp(p, tangents, in, y, attrs, k, record));
    }

    private static Tensor transposeVjp(Primitive p, Tensor[] tangents, Tensor[] in, Tensor y, Object attrs, int k, boolean record) {
        boolean[] needed = new boolean[in.length];
        for (int i = 0; i < in.length; i++) needed[i] = tangents[i] != null;
        Tensor[] perDirection = new Tensor[k];
        boolean any = false;
        for (int j = 0; j < k; j++) {
            Tensor u;
            Tensor[] g;
            Engine.openLevel(List.of());
            try {
                u = Engine.variable(Backends.current().full(0, y.dtype(), y.shape()));
                g = p.vjp(u, in, y, attrs, needed);
            } finally {
                Engine.closeLevel();
            }
            List<Tensor> outs = new ArrayList<>(), cts = new ArrayList<>();
            for (int i = 0; i < in.length; i++) {
                if (needed[i] && g[i] != null) {
                    outs.add(g[i]);
                    cts.add(Ops.reshape(TangentAlgebra.full(direction(tangents[i], j), in[i].shape()), in[i].shape()));
                }
            }
            if (outs.isEmpty()) {
                perDirection[j] = Backends.current().full(0, y.dtype(), TangentAlgebra.withBatch(1, y.shape()));
                continue;
            }
            any = true;
            Tensor jt = Engine.backward(outs, cts, new Tensor[] {u}, record)[0];
            perDirection[j] = Ops.reshape(jt, TangentAlgebra.withBatch(1, y.shape()));
        }
        if (!any) return null;
        Tensor r = k == 1 ? perDirection[0] : Ops.concat(0, perDirection);
        return record ? r : r.detached();
    }

    /**
     * D²f(x)[u_j, v_j] from the JVP rule: the derivative along v_j of {@code x -> Df(x)[u_j]}, by
     * forward mode over the rule's own ops, one direction at a time. For primitives without a
     * second-order rule of their own; the table's rules are checked against it.
     */
    static Tensor secondOrderFromJvp(Primitive p, Tensor[] u, Tensor[] v, Tensor[] in, Object attrs, boolean sumDirections) {
        boolean record = Engine.enclosingGradientActive();
        Tensor r = Engine.recordingLocally(() -> deriveSecondOrder(p, u, v, in, attrs, sumDirections));
        return record ? r : r.detached();
    }

    private static Tensor deriveSecondOrder(Primitive p, Tensor[] u, Tensor[] v, Tensor[] in, Object attrs, boolean sumDirections) {
        int k = batch(u);
        Tensor total = null;
        Tensor[] perDirection = new Tensor[k];
        for (int j = 0; j < k; j++) {
            Tensor[] uj = new Tensor[u.length], vj = new Tensor[v.length];
            for (int i = 0; i < u.length; i++) {
                uj[i] = direction(u[i], j);
                vj[i] = direction(v[i], j);
            }
            Fn g = xs -> {
                Tensor y = p.call(attrs, xs);
                Tensor t = p.jvp(uj, xs, y, attrs);
                return t != null ? t : Backends.current().full(0, y.dtype(), TangentAlgebra.withBatch(1, y.shape()));
            };
            Tensor y0 = p.call(attrs, in);
            Tensor d = ForwardMode.jvp(g, in, vj);
            Shape one = TangentAlgebra.withBatch(1, y0.shape());
            Tensor dj = d == null ? Backends.current().full(0, y0.dtype(), one) : Ops.reshape(TangentAlgebra.full(d, TangentAlgebra.withBatch(1, one)), one);
            perDirection[j] = dj;
            total = total == null ? dj : Ops.add(total, dj);
        }
        return sumDirections ? total : k == 1 ? perDirection[0] : Ops.concat(0, perDirection);
    }
}
