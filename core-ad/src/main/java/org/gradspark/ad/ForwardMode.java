package org.gradspark.ad;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Forward mode over a recorded forward pass: the tensors between the variables and the outputs are
 * visited in topological order, and each primitive's JVP rule carries the tangents (a batch of
 * directions at once) from its inputs to its output; the Taylor sweep carries a second-order term
 * beside them. The rules' ops are recorded only when an enclosing gradient is active, so a forward
 * sweep inside a gradient can itself be differentiated (reverse-over-forward), and a sweep over a
 * recorded backward pass gives forward-over-reverse. A tangent is dropped as soon as the last
 * tensor computed from it has its own, so a sweep holds about one layer's tangents at a time.
 */
final class ForwardMode {
    private ForwardMode() {}

    /** The first- and second-order tangents of one tensor (either may be null: zero). */
    record Jet(Tensor first, Tensor second) {}

    /**
     * f's output tangent for the tangents of its inputs (each {@code [k] ++ shape}, or null for an input
     * held constant): {@code [k] ++ out} (broadcastable), or null where it is zero. f must return one Tensor.
     */
    static Tensor jvp(Fn f, Tensor[] primals, Tensor[] tangents) {
        boolean[] wrt = new boolean[primals.length];
        for (int i = 0; i < primals.length; i++) wrt[i] = tangents[i] != null;
        Recording rec = Recording.of(f, primals, wrt, List.of());
        Tensor[] ts = java.util.Arrays.stream(tangents).filter(t -> t != null).toArray(Tensor[]::new);
        return sweep(rec.outputs(), rec.inputVars, ts)[0];
    }

    /** The tangents of {@code outputs} for tangents of the variables {@code vars} (null: zero). */
    static Tensor[] sweep(List<Tensor> outputs, Tensor[] vars, Tensor[] tangents) {
        Jet[] jets = new Jet[vars.length];
        for (int i = 0; i < vars.length; i++) jets[i] = new Jet(tangents[i], null);
        Jet[] out = taylor(outputs, vars, jets, false, false);
        Tensor[] r = new Tensor[out.length];
        for (int i = 0; i < out.length; i++) r[i] = out[i].first();
        return r;
    }

    /**
     * The Taylor sweep: first-order tangents T with k directions, and the second-order term
     * {@code S_out = Df[S_in] + D²f[T_j, T_j]} per primitive, kept per direction ([k] ++ shape) or,
     * with {@code sumDirections}, summed ([1] ++ shape: the forward Laplacian when T is the identity).
     * With {@code secondOrder} false only T is carried.
     */
    static Jet[] taylor(List<Tensor> outputs, Tensor[] vars, Jet[] start, boolean secondOrder, boolean sumDirections) {
        boolean record = Engine.enclosingGradientActive();
        return record ? run(outputs, vars, start, secondOrder, sumDirections)
                : Engine.noGrad(() -> run(outputs, vars, start, secondOrder, sumDirections));
    }

    private static Jet[] run(List<Tensor> outputs, Tensor[] vars, Jet[] start, boolean secondOrder, boolean sumDirections) {
        Set<Tensor> targets = Collections.newSetFromMap(new IdentityHashMap<>());
        Collections.addAll(targets, vars);
        List<Tensor> order = Engine.reachingTopologicalOrder(outputs, targets);
        Set<Tensor> keep = Collections.newSetFromMap(new IdentityHashMap<>());
        keep.addAll(outputs);
        // How many tensors still to visit read each tensor: its jet is dropped when that reaches zero.
        Map<Tensor, Integer> readers = new IdentityHashMap<>();
        for (Tensor t : order) {
            if (targets.contains(t)) continue;
            for (Tensor in : t.node().inputs()) readers.merge(in, 1, Integer::sum);
        }
        Map<Tensor, Jet> jets = new IdentityHashMap<>();
        for (int i = 0; i < vars.length; i++) {
            if (start[i].first() != null || start[i].second() != null) jets.put(vars[i], start[i]);
        }
        for (Tensor t : order) {
            if (targets.contains(t)) continue;
            Node n = t.node();
            Tensor[] in = n.inputs();
            Tensor[] first = new Tensor[in.length], second = new Tensor[in.length];
            boolean any = false;
            for (int i = 0; i < in.length; i++) {
                Jet j = jets.get(in[i]);
                if (j != null) {
                    first[i] = j.first();
                    second[i] = j.second();
                    any = true;
                }
            }
            for (Tensor i : in) {
                Integer r = readers.merge(i, -1, Integer::sum);
                if (r != null && r == 0 && !keep.contains(i)) jets.remove(i);
            }
            if (!any) continue;
            Primitive p = n.primitive();
            Tensor tOut = p.jvp(first, in, t, n.attrs());
            Tensor sOut = null;
            if (secondOrder) {
                sOut = TangentAlgebra.plus(p.jvp(second, in, t, n.attrs()), p.secondOrder(first, first, in, t, n.attrs(), sumDirections));
            }
            if (tOut != null || sOut != null) jets.put(t, new Jet(tOut, sOut));
        }
        Jet[] result = new Jet[outputs.size()];
        for (int i = 0; i < result.length; i++) result[i] = jets.getOrDefault(outputs.get(i), new Jet(null, null));
        return result;
    }
}
