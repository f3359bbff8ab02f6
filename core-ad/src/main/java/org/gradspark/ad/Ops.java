package org.gradspark.ad;

import java.util.Arrays;

/**
 * The public, differentiable operations. Primitives (see {@link Primitives}) are applied through
 * the engine, which records them while a gradient is being taken; composites (sub, square, mean,
 * softmax, losses) are built from primitives and need no rule of their own.
 *
 * <p>Binary ops follow NumPy broadcasting and promotion (float32 with float64 gives float64);
 * a shape mismatch is an {@link IllegalArgumentException} naming the op and both shapes.
 * A {@code double} operand takes the dtype of the tensor it meets.
 */
public final class Ops {
    private Ops() {}

    // ------------------------------------------------------------ elementwise primitives

    public static Tensor neg(Tensor x) { return Primitives.NEG.call(null, x); }

    public static Tensor exp(Tensor x) { return Primitives.EXP.call(null, x); }

    public static Tensor log(Tensor x) { return Primitives.LOG.call(null, x); }

    public static Tensor sin(Tensor x) { return Primitives.SIN.call(null, x); }

    public static Tensor cos(Tensor x) { return Primitives.COS.call(null, x); }

    public static Tensor tanh(Tensor x) { return Primitives.TANH.call(null, x); }

    public static Tensor sigmoid(Tensor x) { return Primitives.SIGMOID.call(null, x); }

    public static Tensor relu(Tensor x) { return Primitives.RELU.call(null, x); }

    public static Tensor sqrt(Tensor x) { return Primitives.SQRT.call(null, x); }

    public static Tensor add(Tensor a, Tensor b) { return binary(Primitives.ADD, a, b); }

    public static Tensor mul(Tensor a, Tensor b) { return binary(Primitives.MUL, a, b); }

    /** {@code g * (1 - y^2)}: the cotangent g through y = tanh(x), in one kernel. */
    public static Tensor tanhBackward(Tensor g, Tensor y) { return binary(Primitives.TANH_BACKWARD, g, y); }

    /** {@code g * y * (1 - y)}: the cotangent g through y = sigmoid(x), in one kernel. */
    public static Tensor sigmoidBackward(Tensor g, Tensor y) { return binary(Primitives.SIGMOID_BACKWARD, g, y); }

    public static Tensor div(Tensor a, Tensor b) { return binary(Primitives.DIV, a, b); }

    /** a^b elementwise; its derivative in b needs a > 0. */
    public static Tensor pow(Tensor a, Tensor b) { return binary(Primitives.POW, a, b); }

    public static Tensor add(Tensor a, double b) { return add(a, like(a, b)); }

    public static Tensor mul(Tensor a, double b) { return mul(a, like(a, b)); }

    public static Tensor div(Tensor a, double b) { return div(a, like(a, b)); }

    public static Tensor pow(Tensor a, double b) { return pow(a, like(a, b)); }

    // ------------------------------------------------------------ elementwise composites

    public static Tensor sub(Tensor a, Tensor b) { return add(a, neg(b)); }

    public static Tensor sub(Tensor a, double b) { return add(a, -b); }

    /** a - x for a scalar a. */
    public static Tensor rsub(double a, Tensor x) { return add(neg(x), a); }

    public static Tensor square(Tensor x) { return mul(x, x); }

    public static Tensor reciprocal(Tensor x) { return div(like(x, 1.0), x); }

    // ------------------------------------------------------------ selection and comparison

    /** cond != 0 ? a : b elementwise (broadcasting all three); cond receives no gradient. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        DType t = DType.promote(a.dtype(), b.dtype());
        return Primitives.WHERE.call(null, stopGradient(cond), cast(a, t), cast(b, t));
    }

    public static Tensor where(Tensor cond, Tensor a, double b) { return where(cond, a, like(a, b)); }

    public static Tensor where(Tensor cond, double a, Tensor b) { return where(cond, like(b, a), b); }

    /** 1 where a > b else 0: a constant mask (comparisons carry no gradient, so none is recorded). */
    public static Tensor greater(Tensor a, Tensor b) { return binary(Primitives.GREATER, stopGradient(a), stopGradient(b)); }

    public static Tensor greater(Tensor a, double b) { return greater(a, like(a, b)); }

    /** 1 where a == b else 0: a constant mask. */
    public static Tensor equal(Tensor a, Tensor b) { return binary(Primitives.EQUAL, stopGradient(a), stopGradient(b)); }

    /**
     * The same values, cut off from differentiation: no gradient flows through the result
     * (MindSpore's {@code stop_gradient}, JAX's {@code lax.stop_gradient}).
     */
    public static Tensor stopGradient(Tensor x) { return Engine.resolve(x).detached(); }

    /** Converts to {@code dtype}; differentiable (the cotangent is cast back). */
    public static Tensor cast(Tensor x, DType dtype) {
        return x.dtype() == dtype ? x : Primitives.CAST.call(dtype, x);
    }

    // ------------------------------------------------------------ linear algebra

    /**
     * a @ b for 2-D matrices, or batched [B,m,k] @ [B,k,n]; a [B,m,k] @ [k,n] applies b to every row.
     * A 1-D operand is a vector, as NumPy's {@code @}: [m,k] @ [k] is [m], [k] @ [k,n] is [n],
     * [k] @ [k] is their dot product (a scalar), [B,m,k] @ [k] is [B,m].
     */
    public static Tensor matMul(Tensor a, Tensor b) { return matMul(a, b, false, false); }

    /**
     * op(a) @ op(b), where op transposes the last two axes when its flag is set
     * (MindSpore's {@code MatMul(transpose_a, transpose_b)}).
     */
    public static Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) {
        DType t = DType.promote(a.dtype(), b.dtype());
        a = cast(a, t);
        b = cast(b, t);
        if ((a.rank() == 1 || b.rank() == 1) && a.rank() >= 1 && b.rank() >= 1) return matMulWithVector(a, b, transA, transB);
        if (a.rank() == 3 && b.rank() == 2 && !transA) {
            int batch = a.shape().dim(0), m = a.shape().dim(1);
            Tensor flat = matMul(reshape(a, batch * m, a.shape().dim(2)), b, false, transB);
            return reshape(flat, batch, m, flat.shape().dim(1));
        }
        checkMatMul(a.shape(), b.shape(), transA, transB);
        return Primitives.MATMUL.call(new MatMulFlags(transA, transB), a, b);
    }

    /**
     * NumPy's matmul with a 1-D operand: a vector on the left is a row [1,k], on the right a column
     * [k,1], and that axis is dropped from the result. A 1-D operand's transpose flag changes nothing
     * (NumPy's {@code .T} of a 1-D array is itself).
     */
    private static Tensor matMulWithVector(Tensor a, Tensor b, boolean transA, boolean transB) {
        boolean rowA = a.rank() == 1, colB = b.rank() == 1;
        int ka = rowA ? a.size() : transA ? a.shape().dim(-2) : a.shape().dim(-1);
        int kb = colB ? b.size() : transB ? b.shape().dim(-1) : b.shape().dim(-2);
        if (ka != kb || a.rank() > 3 || b.rank() > 3) {
            throw new IllegalArgumentException("matMul: shapes " + a.shape() + (transA && !rowA ? "^T" : "") + " and " + b.shape() + (transB && !colB ? "^T" : "")
                    + (ka != kb ? " are not aligned: " + ka + " != " + kb : " have more than 3 axes"));
        }
        Tensor a2 = rowA ? reshape(a, 1, ka) : a, b2 = colB ? reshape(b, kb, 1) : b;
        if (rowA && b.rank() == 3) a2 = broadcastTo(reshape(a, 1, 1, ka), b.shape().dim(0), 1, ka);
        Tensor r = matMul(a2, b2, !rowA && transA, !colB && transB);
        int[] d = r.shape().dims();
        int[] kept = java.util.stream.IntStream.range(0, d.length)
                .filter(i -> !(rowA && i == d.length - 2) && !(colB && i == d.length - 1)).map(i -> d[i]).toArray();
        return reshape(r, kept);
    }

    private static void checkMatMul(Shape a, Shape b, boolean ta, boolean tb) {
        String what = "matMul: shapes " + a + (ta ? "^T" : "") + " and " + b + (tb ? "^T" : "");
        if (a.rank() != b.rank() || a.rank() < 2 || a.rank() > 3) {
            throw new IllegalArgumentException(what + " must both be 2-D or both 3-D (or 3-D @ 2-D)");
        }
        if (a.rank() == 3 && a.dim(0) != b.dim(0)) {
            throw new IllegalArgumentException(what + " have different batch sizes " + a.dim(0) + " and " + b.dim(0));
        }
        int ka = ta ? a.dim(-2) : a.dim(-1), kb = tb ? b.dim(-1) : b.dim(-2);
        if (ka != kb) throw new IllegalArgumentException(what + " are not aligned: " + ka + " != " + kb);
    }

    /** Swaps the last two axes. */
    public static Tensor transpose(Tensor x) {
        if (x.rank() < 2) throw new IllegalArgumentException("transpose: needs rank >= 2, got shape " + x.shape());
        int[] perm = new int[x.rank()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        perm[perm.length - 1] = perm.length - 2;
        perm[perm.length - 2] = perm.length - 1;
        return permute(x, perm);
    }

    // ------------------------------------------------------------ reductions

    /** Sum of all elements (a scalar). */
    public static Tensor sum(Tensor x) { return sum(x, allAxes(x), false); }

    public static Tensor sum(Tensor x, int axis, boolean keepDims) { return sum(x, new int[] {axis}, keepDims); }

    /** Sum over the given axes (negative counts from the end). */
    public static Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        return Primitives.SUM.call(new Primitives.Axes(normalizeAxes(x.shape(), axes, "sum"), keepDims), x);
    }

    /** Mean of all elements. */
    public static Tensor mean(Tensor x) { return mean(x, allAxes(x), false); }

    public static Tensor mean(Tensor x, int axis, boolean keepDims) { return mean(x, new int[] {axis}, keepDims); }

    public static Tensor mean(Tensor x, int[] axes, boolean keepDims) {
        int[] ax = normalizeAxes(x.shape(), axes, "mean");
        long count = 1;
        for (int a : ax) count *= x.shape().dim(a);
        return mul(sum(x, ax, keepDims), 1.0 / count);
    }

    /** Maximum along one axis; at ties the gradient is shared equally. */
    public static Tensor max(Tensor x, int axis, boolean keepDims) {
        int a = x.shape().normalizeAxis(axis, "max");
        if (x.shape().dim(a) == 0) throw new IllegalArgumentException("max: axis " + axis + " of shape " + x.shape() + " is empty");
        return Primitives.MAX.call(new Primitives.Axes(new int[] {a}, keepDims), x);
    }

    /** Sums {@code x} down to {@code shape}, which must broadcast to x's shape (the adjoint of broadcastTo). */
    public static Tensor sumTo(Tensor x, Shape shape) {
        if (!shape.broadcastsTo(x.shape())) {
            throw new IllegalArgumentException("sumTo: shape " + shape + " does not broadcast to " + x.shape());
        }
        return x.shape().equals(shape) ? x : Primitives.SUM_TO.call(shape, x);
    }

    // ------------------------------------------------------------ shape and layout

    /** Same values, new shape; one dimension may be -1 (inferred). */
    public static Tensor reshape(Tensor x, int... shape) {
        int[] s = shape.clone();
        int infer = -1, known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1 && infer < 0) infer = i;
            else if (s[i] < 0) throw new IllegalArgumentException("reshape: bad target shape " + Arrays.toString(shape));
            else known *= s[i];
        }
        if (infer >= 0 && known != 0) s[infer] = x.size() / known;
        Shape target = Shape.of(s);
        if (target.size() != x.size()) {
            throw new IllegalArgumentException("reshape: cannot reshape " + x.shape() + " (" + x.size() + " elements) to " + Arrays.toString(shape));
        }
        return x.shape().equals(target) ? x : Primitives.RESHAPE.call(target, x);
    }

    public static Tensor reshape(Tensor x, Shape shape) { return reshape(x, shape.dims()); }

    /** Reorders axes: output axis i is input axis perm[i]. */
    public static Tensor permute(Tensor x, int... perm) {
        boolean[] seen = new boolean[x.rank()];
        boolean ok = perm.length == x.rank();
        for (int p : perm) ok &= p >= 0 && p < x.rank() && !seen[p] && (seen[p] = true);
        if (!ok) throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " is not a permutation of the axes of " + x.shape());
        return Primitives.PERMUTE.call(perm.clone(), x);
    }

    public static Tensor broadcastTo(Tensor x, int... shape) { return broadcastTo(x, Shape.of(shape)); }

    public static Tensor broadcastTo(Tensor x, Shape shape) {
        if (!x.shape().broadcastsTo(shape)) {
            throw new IllegalArgumentException("broadcastTo: shape " + x.shape() + " cannot be broadcast to " + shape);
        }
        return x.shape().equals(shape) ? x : Primitives.BROADCAST_TO.call(shape, x);
    }

    /** The block starting at {@code begin} with extent {@code size} along each axis. */
    public static Tensor slice(Tensor x, int[] begin, int[] size) {
        boolean ok = begin.length == x.rank() && size.length == x.rank();
        for (int i = 0; ok && i < begin.length; i++) ok = begin[i] >= 0 && size[i] >= 0 && begin[i] + size[i] <= x.shape().dim(i);
        if (!ok) {
            throw new IllegalArgumentException("slice: begin " + Arrays.toString(begin) + " size " + Arrays.toString(size) + " is outside shape " + x.shape());
        }
        return Primitives.SLICE.call(new Primitives.SliceSpec(begin.clone(), size.clone()), x);
    }

    /** Zero padding: {@code before[i]} zeros ahead of and {@code after[i]} behind axis i. */
    public static Tensor pad(Tensor x, int[] before, int[] after) {
        boolean ok = before.length == x.rank() && after.length == x.rank();
        for (int i = 0; ok && i < before.length; i++) ok = before[i] >= 0 && after[i] >= 0;
        if (!ok) throw new IllegalArgumentException("pad: " + Arrays.toString(before) + " / " + Arrays.toString(after) + " do not fit shape " + x.shape());
        return Primitives.PAD.call(new Primitives.PadSpec(before.clone(), after.clone()), x);
    }

    /** Joins tensors along an existing axis; the other axes must agree. */
    public static Tensor concat(int axis, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("concat: needs at least one tensor");
        int a = parts[0].shape().normalizeAxis(axis, "concat");
        DType t = parts[0].dtype();
        for (Tensor p : parts) t = DType.promote(t, p.dtype());
        Tensor[] cast = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) {
            Shape s = parts[i].shape();
            boolean ok = s.rank() == parts[0].rank();
            for (int d = 0; ok && d < s.rank(); d++) ok = d == a || s.dim(d) == parts[0].shape().dim(d);
            if (!ok) throw new IllegalArgumentException("concat: shape " + s + " of part " + i + " does not match " + parts[0].shape() + " off axis " + axis);
            cast[i] = cast(parts[i], t);
        }
        return parts.length == 1 ? cast[0] : Primitives.CONCAT.call(a, cast);
    }

    // ------------------------------------------------------------ softmax and losses

    /** exp(x) / sum(exp(x)) along an axis, computed stably. */
    public static Tensor softmax(Tensor x, int axis) {
        Tensor e = exp(sub(x, stopGradient(max(x, axis, true))));
        return div(e, sum(e, axis, true));
    }

    /** log(softmax(x)) along an axis, computed stably. */
    public static Tensor logSoftmax(Tensor x, int axis) {
        Tensor z = sub(x, stopGradient(max(x, axis, true)));
        return sub(z, log(sum(exp(z), axis, true)));
    }

    // ------------------------------------------------------------ helpers

    /** A scalar of x's dtype. */
    static Tensor like(Tensor x, double v) {
        return Tensor.scalar(v, x.dtype());
    }

    private static Tensor binary(Primitive p, Tensor a, Tensor b) {
        DType t = DType.promote(a.dtype(), b.dtype());
        Shape.broadcast(a.shape(), b.shape(), p.name());
        return p.call(null, cast(a, t), cast(b, t));
    }

    private static int[] allAxes(Tensor x) {
        int[] ax = new int[x.rank()];
        for (int i = 0; i < ax.length; i++) ax[i] = i;
        return ax;
    }

    private static int[] normalizeAxes(Shape s, int[] axes, String op) {
        int[] n = new int[axes.length];
        for (int i = 0; i < axes.length; i++) n[i] = s.normalizeAxis(axes[i], op);
        int[] sorted = Arrays.stream(n).sorted().distinct().toArray();
        if (sorted.length != n.length) throw new IllegalArgumentException(op + ": repeated axis in " + Arrays.toString(axes) + " for shape " + s);
        return sorted;
    }
}
