package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;

import java.util.List;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.UnaryOp;

/**
 * The one table of differentiable primitives: each line is a forward kernel and its
 * vector-Jacobian rule, written with the public ops of {@link Ops} so it can be differentiated
 * again. {@code g} is the output cotangent, {@code x}, {@code a}, {@code b} the inputs, {@code y}
 * the output. Binary rules return cotangents of the broadcast shape; {@link #binary} reduces them
 * to each input's shape.
 */
public final class Primitives {
    private Primitives() {}

    // ------------------------------------------------------------ attributes

    /** Axes (sorted, distinct, non-negative) and whether reduced axes are kept as size 1. */
    public record Axes(int[] axes, boolean keepDims) {}

    public record MatMulFlags(boolean transA, boolean transB) {}

    public record SliceSpec(int[] begin, int[] size) {}

    public record PadSpec(int[] before, int[] after) {}

    // ------------------------------------------------------------ elementwise

    public static final Primitive NEG = unary("neg", UnaryOp.NEG, (g, x, y) -> neg(g));
    public static final Primitive EXP = unary("exp", UnaryOp.EXP, (g, x, y) -> mul(g, y));
    public static final Primitive LOG = unary("log", UnaryOp.LOG, (g, x, y) -> div(g, x));
    public static final Primitive SIN = unary("sin", UnaryOp.SIN, (g, x, y) -> mul(g, cos(x)));
    public static final Primitive COS = unary("cos", UnaryOp.COS, (g, x, y) -> neg(mul(g, sin(x))));
    public static final Primitive TANH = unary("tanh", UnaryOp.TANH, (g, x, y) -> tanhBackward(g, y));
    public static final Primitive SIGMOID = unary("sigmoid", UnaryOp.SIGMOID, (g, x, y) -> sigmoidBackward(g, y));
    public static final Primitive RELU = unary("relu", UnaryOp.RELU, (g, x, y) -> mul(g, greater(x, 0)));
    public static final Primitive SQRT = unary("sqrt", UnaryOp.SQRT, (g, x, y) -> div(g, mul(y, 2)));

    public static final Primitive ADD = binary("add", BinaryOp.ADD, (g, a, b, y, n) -> new Tensor[] {g, g});
    public static final Primitive MUL = binary("mul", BinaryOp.MUL, (g, a, b, y, n) -> new Tensor[] {
            n[0] ? mul(g, b) : null,
            n[1] ? mul(g, a) : null});
    public static final Primitive DIV = binary("div", BinaryOp.DIV, (g, a, b, y, n) -> new Tensor[] {
            n[0] ? div(g, b) : null,
            n[1] ? neg(div(mul(g, y), b)) : null});
    /**
     * d/da = b a^(b-1), taken as 0 where b = 0 (not 0 * 0^-1 = NaN at a = 0), with b = 0 replaced by 1
     * under the mask so that higher orders through the masked branch stay finite too: x^n at 0 has the
     * derivatives JAX and PyTorch give to every order. d/db = y log(a), with log's argument 1 where
     * a = 0 (JAX's rule: 0 for 0^b with b >= 0).
     */
    public static final Primitive POW = binary("pow", BinaryOp.POW, (g, a, b, y, n) -> new Tensor[] {
            n[0] ? mul(g, powBaseDerivative(a, b)) : null,
            n[1] ? mul(g, mul(y, log(where(equal(a, zerosLike(a)), 1.0, a)))) : null});

    /**
     * The activations' backward passes as one kernel each (a cotangent g through y = tanh(x) or
     * y = sigmoid(x), from y), instead of three or four elementwise passes; differentiable again.
     * tanhBackward(g, y) = g (1 - y^2): d/dg = tanhBackward(c, y), d/dy = -2 c g y.
     */
    public static final Primitive TANH_BACKWARD = binary("tanhBackward", BinaryOp.TANH_BACKWARD, (c, g, y, out, n) -> new Tensor[] {
            n[0] ? tanhBackward(c, y) : null,
            n[1] ? mul(mul(c, g), mul(y, -2)) : null});
    /** sigmoidBackward(g, y) = g y (1 - y): d/dg = sigmoidBackward(c, y), d/dy = c g (1 - 2y). */
    public static final Primitive SIGMOID_BACKWARD = binary("sigmoidBackward", BinaryOp.SIGMOID_BACKWARD, (c, g, y, out, n) -> new Tensor[] {
            n[0] ? sigmoidBackward(c, y) : null,
            n[1] ? mul(mul(c, g), rsub(1, mul(y, 2))) : null});

    /** 1 where a > b else 0. A step function: no cotangent for either input (tinygrad's CMPLT rule). */
    public static final Primitive GREATER = binary("greater", BinaryOp.GREATER, (g, a, b, y, n) -> new Tensor[] {null, null});
    /** 1 where a == b else 0: no cotangent for either input. */
    public static final Primitive EQUAL = binary("equal", BinaryOp.EQUAL, (g, a, b, y, n) -> new Tensor[] {null, null});

    /** cond != 0 ? a : b; the condition gets no cotangent. */
    public static final Primitive WHERE = Primitive.define("where", 3,
            (in, attrs) -> Layout.where(in[0], in[1], in[2], whereShape(in)),
            (g, in, y, attrs, n) -> new Tensor[] {
                    null,
                    n[1] ? sumTo(where(in[0], g, 0.0), in[1].shape()) : null,
                    n[2] ? sumTo(where(in[0], 0.0, g), in[2].shape()) : null});

    public static final Primitive CAST = Primitive.define("cast", 1,
            (in, attrs) -> Layout.cast(in[0], (DType) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {cast(g, in[0].dtype())});

    public static final Primitive IDENTITY = Primitive.define("identity", 1,
            (in, attrs) -> in[0],
            (g, in, y, attrs, n) -> new Tensor[] {g});

    // ------------------------------------------------------------ linear algebra

    /**
     * C = op(A) op(B). Its transpose rules are matmuls again:
     * dA = g op(B)^T (or op(B) g^T when A is transposed), dB = op(A)^T g (or g^T op(A)).
     */
    public static final Primitive MATMUL = Primitive.define("matMul", 2,
            (in, attrs) -> {
                MatMulFlags f = (MatMulFlags) attrs;
                return backend().matMul(in[0], in[1], f.transA(), f.transB());
            },
            (g, in, y, attrs, n) -> {
                MatMulFlags f = (MatMulFlags) attrs;
                Tensor a = in[0], b = in[1];
                boolean ta = f.transA(), tb = f.transB();
                return new Tensor[] {
                        n[0] ? (ta ? matMul(b, g, tb, true) : matMul(g, b, false, !tb)) : null,
                        n[1] ? (tb ? matMul(g, a, true, ta) : matMul(a, g, !ta, false)) : null};
            });

    // ------------------------------------------------------------ reductions

    public static final Primitive SUM = Primitive.define("sum", 1,
            (in, attrs) -> {
                Axes ax = (Axes) attrs;
                return backend().sum(in[0], ax.axes(), ax.keepDims());
            },
            (g, in, y, attrs, n) -> new Tensor[] {
                    broadcastTo(reshape(g, in[0].shape().reduce(((Axes) attrs).axes(), true)), in[0].shape())});

    /** Maximum along one axis; ties share the cotangent equally (as PyTorch's amax). */
    public static final Primitive MAX = Primitive.define("max", 1,
            (in, attrs) -> {
                Axes ax = (Axes) attrs;
                return backend().max(in[0], ax.axes()[0], ax.keepDims());
            },
            (g, in, y, attrs, n) -> {
                Shape s = in[0].shape(), kept = s.reduce(((Axes) attrs).axes(), true);
                Tensor mask = equal(in[0], broadcastTo(reshape(y, kept), s));
                Tensor share = stopGradient(div(mask, sum(mask, ((Axes) attrs).axes(), true)));
                return new Tensor[] {mul(broadcastTo(reshape(g, kept), s), share)};
            });

    /** Sums a broadcast tensor back down to a shape that broadcasts to it. */
    public static final Primitive SUM_TO = Primitive.define("sumTo", 1,
            (in, attrs) -> sumToForward(in[0], (Shape) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {broadcastTo(g, in[0].shape())});

    // ------------------------------------------------------------ shape and layout

    public static final Primitive BROADCAST_TO = Primitive.define("broadcastTo", 1,
            (in, attrs) -> Layout.broadcastTo(in[0], (Shape) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {sumTo(g, in[0].shape())});

    public static final Primitive RESHAPE = Primitive.define("reshape", 1,
            (in, attrs) -> Layout.reshape(in[0], (Shape) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {reshape(g, in[0].shape().dims())});

    public static final Primitive PERMUTE = Primitive.define("permute", 1,
            (in, attrs) -> Layout.permute(in[0], (int[]) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {permute(g, inversePermutation((int[]) attrs))});

    public static final Primitive SLICE = Primitive.define("slice", 1,
            (in, attrs) -> {
                SliceSpec s = (SliceSpec) attrs;
                return Layout.slice(in[0], s.begin(), s.size());
            },
            (g, in, y, attrs, n) -> {
                SliceSpec s = (SliceSpec) attrs;
                int[] dims = in[0].shape().dims(), after = new int[dims.length];
                for (int i = 0; i < dims.length; i++) after[i] = dims[i] - s.begin()[i] - s.size()[i];
                return new Tensor[] {pad(g, s.begin(), after)};
            });

    /** Zero padding; its rule is the slice that undoes it. */
    public static final Primitive PAD = Primitive.define("pad", 1,
            (in, attrs) -> {
                PadSpec p = (PadSpec) attrs;
                return Layout.pad(in[0], p.before(), p.after());
            },
            (g, in, y, attrs, n) -> new Tensor[] {slice(g, ((PadSpec) attrs).before(), in[0].shape().dims())});

    public static final Primitive CONCAT = Primitive.define("concat", -1,
            (in, attrs) -> Layout.concat(in, (Integer) attrs, concatShape(in, (Integer) attrs)),
            (g, in, y, attrs, n) -> {
                int axis = (Integer) attrs;
                Tensor[] out = new Tensor[in.length];
                int[] begin = new int[g.rank()];
                for (int i = 0; i < in.length; i++) {
                    if (n[i]) out[i] = slice(g, begin.clone(), in[i].shape().dims());
                    begin[axis] += in[i].shape().dim(axis);
                }
                return out;
            });

    /** Every primitive above, in one list: the gradcheck test walks it and counts it. */
    public static final List<Primitive> ALL = List.of(
            NEG, EXP, LOG, SIN, COS, TANH, SIGMOID, RELU, SQRT,
            ADD, MUL, DIV, POW, TANH_BACKWARD, SIGMOID_BACKWARD, GREATER, EQUAL, WHERE, CAST, IDENTITY,
            MATMUL, SUM, MAX, SUM_TO,
            BROADCAST_TO, RESHAPE, PERMUTE, SLICE, PAD, CONCAT);

    // ------------------------------------------------------------ helpers for the table

    private static Backend backend() {
        return Backends.current();
    }

    @FunctionalInterface
    private interface UnaryRule {
        Tensor apply(Tensor g, Tensor x, Tensor y);
    }

    @FunctionalInterface
    private interface BinaryRule {
        Tensor[] apply(Tensor g, Tensor a, Tensor b, Tensor y, boolean[] needed);
    }

    private static Primitive unary(String name, UnaryOp op, UnaryRule rule) {
        return Primitive.define(name, 1,
                (in, attrs) -> backend().unary(op, in[0]),
                (g, in, y, attrs, n) -> new Tensor[] {rule.apply(g, in[0], y)});
    }

    private static Primitive binary(String name, BinaryOp op, BinaryRule rule) {
        return Primitive.define(name, 2,
                (in, attrs) -> backend().binary(op, in[0], in[1]),
                (g, in, y, attrs, n) -> {
                    Tensor[] r = rule.apply(g, in[0], in[1], y, n);
                    return new Tensor[] {
                            n[0] && r[0] != null ? sumTo(r[0], in[0].shape()) : null,
                            n[1] && r[1] != null ? sumTo(r[1], in[1].shape()) : null};
                });
    }

    private static Tensor zerosLike(Tensor x) {
        return Tensor.scalar(0, x.dtype());
    }

    /** b a^(b-1) where b != 0, else 0; b is 1 under the mask, so no branch divides by zero at any order. */
    private static Tensor powBaseDerivative(Tensor a, Tensor b) {
        Tensor bIsZero = equal(b, zerosLike(b));
        Tensor safeB = where(bIsZero, 1.0, b);
        return where(bIsZero, 0.0, mul(safeB, pow(a, sub(safeB, 1))));
    }

    static int[] inversePermutation(int[] perm) {
        int[] inv = new int[perm.length];
        for (int i = 0; i < perm.length; i++) inv[perm[i]] = i;
        return inv;
    }

    private static Shape whereShape(Tensor[] in) {
        return Shape.broadcast(Shape.broadcast(in[0].shape(), in[1].shape(), "where"), in[2].shape(), "where");
    }

    private static Shape concatShape(Tensor[] in, int axis) {
        int[] d = in[0].shape().dims();
        d[axis] = 0;
        for (Tensor t : in) d[axis] += t.shape().dim(axis);
        return Shape.of(d);
    }

    private static Tensor sumToForward(Tensor x, Shape target) {
        if (x.shape().equals(target)) return x;
        int lead = x.rank() - target.rank();
        int[] axes = java.util.stream.IntStream.range(0, x.rank())
                .filter(d -> d < lead || (target.dim(d - lead) == 1 && x.shape().dim(d) != 1)).toArray();
        Tensor s = backend().sum(x, axes, true);
        return Layout.reshape(s, target);
    }
}
