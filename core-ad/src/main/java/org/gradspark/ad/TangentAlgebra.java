package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;

/**
 * The algebra of tangents that the forward and second-order rules of {@link Primitives} are written in.
 *
 * <p>Its rules:
 * <ul>
 * <li>A tangent of a tensor of shape {@code s} carries a leading axis of k directions: {@code [k] ++ s'}, where
 *     {@code s'} has the rank of {@code s} and broadcasts to it (a size-1 axis is a tangent that is the same
 *     along that axis). {@code null} is the zero tangent, and every operation here treats it as zero without
 *     a kernel: {@code plus(a, null) = a}, {@code product(u, null) = null}.
 * <li>A tangent meets a tensor of lower rank by NumPy alignment after the batch axis ({@link #lift}); the
 *     input itself is seen as one direction, {@code [1] ++ s} (a view), so a single tangent meets an operand
 *     of its own shape.
 * <li>Rules that move elements (reshape, slice, pad, matmul's batched products) first broadcast a tangent to
 *     its full shape {@code [k] ++ s} ({@link #full}); elementwise rules keep it shared where they can.
 * <li>A second-order term {@code D²f[u_j, v_j]} is kept per direction, {@code [k] ++ out}, or summed over the
 *     directions as {@code [1] ++ out} ({@link #sumDirections}: one product {@code ones[1, k] @ p[k, n]});
 *     a bilinear form's term is the cross product {@code u_a v_b + v_a u_b} ({@link #cross}).
 * <li>Everything here is written with the public ops of {@link Ops}, so a tangent can be differentiated again.
 * </ul>
 */
final class TangentAlgebra {
    private TangentAlgebra() {}

    /** A tangent [k] ++ s' lifted to rank 1 + rank by size-1 axes after the batch axis (NumPy alignment). */
    static Tensor lift(Tensor t, int rank) {
        int have = t.rank() - 1;
        if (have == rank) return t;
        int[] d = new int[rank + 1];
        java.util.Arrays.fill(d, 1);
        d[0] = t.shape().dim(0);
        for (int i = 0; i < have; i++) d[1 + rank - have + i] = t.shape().dim(1 + i);
        return reshape(t, d);
    }

    /**
     * An elementwise op's output tangent is full-size anyway: a tangent shared along some axes is
     * stretched first (a copy by rows), so that the kernel meets a full operand and one that repeats
     * (its fast path) rather than two broadcast ones.
     */
    static Tensor alongEveryElement(Tensor t, Shape x) {
        Shape full = withBatch(t.shape().dim(0), x);
        return t.shape().equals(full) ? t : broadcastTo(t, full);
    }

    static Tensor liftOrNull(Tensor t, int rank) {
        return t == null ? null : lift(t, rank);
    }

    /** A tangent broadcast out to its full shape [k] ++ shape (for the rules that move elements). */
    static Tensor full(Tensor t, Shape shape) {
        return broadcastTo(t, withBatch(t.shape().dim(0), shape));
    }

    /** {@code [k] ++ s}: the shape of k directions of a tangent of a tensor of shape {@code s}. */
    static Shape withBatch(int k, Shape s) {
        return Shape.of(withBatch(k, s.dims()));
    }

    static int[] withBatch(int k, int[] dims) {
        int[] d = new int[dims.length + 1];
        d[0] = k;
        System.arraycopy(dims, 0, d, 1, dims.length);
        return d;
    }

    /** A tensor's axes as the same axes of its tangent, past the batch axis. */
    static int[] shifted(int[] axes) {
        int[] s = new int[axes.length];
        for (int i = 0; i < axes.length; i++) s[i] = axes[i] + 1;
        return s;
    }

    /** a + b where null is zero. */
    static Tensor plus(Tensor a, Tensor b) {
        return a == null ? b : b == null ? a : add(a, b);
    }

    /** u v per direction, or summed over the directions as [1] ++ shape; null if either is null. */
    static Tensor product(Tensor u, Tensor v, boolean sumDirections) {
        if (u == null || v == null) return null;
        Tensor p = u == v ? square(u) : mul(u, v);
        return sumDirections ? sumDirections(p) : p;
    }

    /** The sum over the leading axis of directions, [k] ++ s to [1] ++ s, as one product ones[1, k] @ p[k, size(s)] (BLAS). */
    static Tensor sumDirections(Tensor p) {
        int k = p.shape().dim(0);
        if (k == 1) return p;
        Tensor ones = org.gradspark.ad.backend.Backends.current().full(1, p.dtype(), Shape.of(1, k));
        int[] d = p.shape().dims();
        d[0] = 1;
        return reshape(matMul(ones, reshape(p, k, p.size() / k)), d);
    }

    /** The cross term u_a v_b + v_a u_b of a bilinear form (summed over directions if asked); null when zero. */
    static Tensor cross(Tensor[] u, Tensor[] v, boolean sumDirections) {
        if (u == v) {
            Tensor p = product(u[0], u[1], sumDirections);
            return p == null ? null : mul(p, 2.0);
        }
        return plus(product(u[0], v[1], sumDirections), product(v[0], u[1], sumDirections));
    }


    /**
     * op(tA) op(B) for a tangent tA of A with k directions. For a plain 2-D A, the directions are
     * stacked into one product [k*m, n] @ op(B) (a tangent shared by all rows, [k, 1, n], costs k rows).
     */
    static Tensor tangentTimesMatrix(Tensor ta, Tensor a, Tensor b, MatMulFlags f) {
        int k = ta.shape().dim(0);
        if (a.rank() == 2 && !f.transA() && ta.shape().dim(2) == a.shape().dim(1)) {
            int rows = ta.shape().dim(1);
            Tensor r = matMul(reshape(ta, k * rows, a.shape().dim(1)), b, false, f.transB());
            return reshape(r, k, rows, r.shape().dim(1));
        }
        return batchedMatMul(full(ta, a.shape()), broadcastTo(reshape(b, withBatch(1, b.shape())), withBatch(k, b.shape())), f);
    }

    /** op(A) op(tB) for a tangent tB of B with k directions. */
    static Tensor matrixTimesTangent(Tensor a, Tensor tb, Tensor b, MatMulFlags f) {
        int k = tb.shape().dim(0);
        if (k == 1) {
            Tensor r = matMul(a, reshape(full(tb, b.shape()), b.shape()), f.transA(), f.transB());
            return reshape(r, withBatch(1, r.shape()));
        }
        return batchedMatMul(broadcastTo(reshape(a, withBatch(1, a.shape())), withBatch(k, a.shape())), full(tb, b.shape()), f);
    }

    /** op(X_j) op(Y_j) for each of the k directions of X [k] ++ A and Y [k] ++ B (both full): one batched product. */
    static Tensor batchedMatMul(Tensor x, Tensor y, MatMulFlags f) {
        int k = x.shape().dim(0);
        int[] xd = x.shape().dims(), yd = y.shape().dims();
        Tensor x3 = reshape(x, -1, xd[xd.length - 2], xd[xd.length - 1]), y3 = reshape(y, -1, yd[yd.length - 2], yd[yd.length - 1]);
        Tensor r = matMul(x3, y3, f.transA(), f.transB());
        int[] out = java.util.Arrays.copyOf(xd, xd.length);
        out[0] = k;
        out[out.length - 2] = r.shape().dim(1);
        out[out.length - 1] = r.shape().dim(2);
        return reshape(r, out);
    }
}
