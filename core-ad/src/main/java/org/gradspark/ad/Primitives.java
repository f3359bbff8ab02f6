package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.gradspark.ad.TangentAlgebra.*;

import java.util.List;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.UnaryOp;

/**
 * The one table of differentiable primitives: each entry is a forward kernel with its
 * vector-Jacobian rule (reverse mode), its Jacobian-vector rule (forward mode) and its second-order
 * rule (Taylor mode), all written with the public ops of {@link Ops} so they can be differentiated
 * again. {@code g} is the output cotangent, {@code x}, {@code a}, {@code b} the inputs, {@code y}
 * the output; {@code t} (forward) and {@code u}, {@code v} (second order) are tangents with a leading
 * batch of directions, {@code [k] ++ shape} (see {@link Primitive}). Binary VJP rules return
 * cotangents of the broadcast shape; {@link #binary} reduces them to each input's shape, and lifts
 * the tangents to the output's rank. A unary elementwise op states only f' and f'' (a
 * {@code Derivative}, see {@link #unary}): its VJP {@code g f'}, JVP {@code t f'} and second-order rule
 * {@code f''(x) u v} follow. Linear primitives (shape ops, sums, add, where, and the piecewise-linear
 * relu and max) have no second-order rule. The tangents' algebra is {@link TangentAlgebra}'s.
 */
public final class Primitives {
    private Primitives() {}

    // ------------------------------------------------------------ attributes

    /** Axes (sorted, distinct, non-negative) and whether reduced axes are kept as size 1. */
    public record Axes(int[] axes, boolean keepDims) {}

    public record SliceSpec(int[] begin, int[] size) {}

    public record PadSpec(int[] before, int[] after) {}

    // ------------------------------------------------------------ elementwise

    // Each states f' once (and f'', where it is not zero); its VJP g f', its JVP t f' and its second-order
    // term f'' u v follow from them (see unary and Derivative).

    /** f' = -1: the map s -> -s itself. Linear: no second-order term. */
    public static final Primitive NEG = unary("neg", UnaryOp.NEG, Derivative.constant(Ops::neg), null);
    /** exp' = exp'' = y. */
    public static final Primitive EXP = unary("exp", UnaryOp.EXP, Derivative.times((x, y) -> y), (x, y) -> y);
    /** log' = 1 / x; log'' = -1 / x^2. */
    public static final Primitive LOG = unary("log", UnaryOp.LOG, Derivative.reciprocalOf((x, y) -> x),
            (x, y) -> div(Ops.like(x, -1), square(x)));
    /** sin' = cos x; sin'' = -y. */
    public static final Primitive SIN = unary("sin", UnaryOp.SIN, Derivative.times((x, y) -> cos(x)), (x, y) -> neg(y));
    /** cos' = -sin x; cos'' = -y. */
    public static final Primitive COS = unary("cos", UnaryOp.COS, Derivative.times((x, y) -> neg(sin(x))), (x, y) -> neg(y));
    /** tanh' = 1 - y^2, applied by one fused kernel (tanhBackward); tanh'' = -2 y (1 - y^2). */
    public static final Primitive TANH = unary("tanh", UnaryOp.TANH, Derivative.times((x, y) -> rsub(1, square(y))).fused(Ops::tanhBackward),
            (x, y) -> tanhBackward(mul(y, -2), y));
    /** sigmoid' = y (1 - y), applied by one fused kernel (sigmoidBackward); sigmoid'' = y (1 - y) (1 - 2y). */
    public static final Primitive SIGMOID = unary("sigmoid", UnaryOp.SIGMOID,
            Derivative.times((x, y) -> mul(y, rsub(1, y))).fused(Ops::sigmoidBackward), (x, y) -> sigmoidBackward(rsub(1, mul(y, 2)), y));
    /** relu' = [x > 0]. Piecewise linear: no second-order term (as JAX and PyTorch, 0 at the kink). */
    public static final Primitive RELU = unary("relu", UnaryOp.RELU, Derivative.times((x, y) -> greater(x, 0)), null);
    /** sqrt' = 1 / 2y; sqrt'' = -1 / 4y^3. */
    public static final Primitive SQRT = unary("sqrt", UnaryOp.SQRT, Derivative.reciprocalOf((x, y) -> mul(y, 2)),
            (x, y) -> div(Ops.like(y, -0.25), mul(square(y), y)));

    public static final Primitive ADD = binary("add", BinaryOp.ADD, (g, a, b, y, n) -> new Tensor[] {g, g},
            (ta, tb, a, b, y) -> plus(ta, tb), null);
    /** Bilinear: d(ab) = ta b + a tb; D²(ab)[u, v] = ua vb + va ub. */
    public static final Primitive MUL = binary("mul", BinaryOp.MUL, (g, a, b, y, n) -> new Tensor[] {
            n[0] ? mul(g, b) : null,
            n[1] ? mul(g, a) : null},
            (ta, tb, a, b, y) -> plus(ta == null ? null : mul(ta, b), tb == null ? null : mul(a, tb)),
            (u, v, a, b, y, sum) -> cross(u, v, sum));
    /** d(a/b) = (ta - y tb) / b; D²(a/b)[u, v] = (2y ub vb - ua vb - va ub) / b^2. */
    public static final Primitive DIV = binary("div", BinaryOp.DIV, (g, a, b, y, n) -> new Tensor[] {
            n[0] ? div(g, b) : null,
            n[1] ? neg(div(mul(g, y), b)) : null},
            (ta, tb, a, b, y) -> plus(ta == null ? null : div(ta, b), tb == null ? null : neg(div(mul(tb, y), b))),
            (u, v, a, b, y, sum) -> {
                Tensor bb = product(u[1], v[1], sum), ab = cross(u, v, sum);
                Tensor num = plus(bb == null ? null : mul(bb, mul(y, 2)), ab == null ? null : neg(ab));
                return num == null ? null : div(num, square(b));
            });
    /**
     * d/da = b a^(b-1), taken as 0 at a = b = 0 (not 0 * 0^-1 = NaN): x^n at 0 has the derivatives JAX's
     * integer_pow and PyTorch give to every order. The mask is that point alone, not every b = 0: at
     * b = 0 and a != 0 the derivative in b of f_a is 1/a (JAX's testPowSecondDerivative), which a mask
     * over b = 0 would cut. d/db = y log(a), with log's argument 1 where a = 0 (JAX's rule: 0 for 0^b
     * with b >= 0). The second-order rule differentiates these again: f_aa = b d/da[a^(b-1)] (masked
     * at a = b = 0 like f_a), f_ab = f_a log a + a^(b-1) with a^(b-1) taken as 0 at a = 0 (f_ab's limit
     * there for b > 1; for b <= 1 it is infinite), f_bb = y log^2 a (log's mask at a = 0).
     */
    public static final Primitive POW = binary("pow", BinaryOp.POW, (g, a, b, y, n) -> new Tensor[] {
            n[0] ? mul(g, powBaseDerivative(a, b)) : null,
            n[1] ? mul(g, mul(y, logOfBase(a))) : null},
            (ta, tb, a, b, y) -> plus(ta == null ? null : mul(ta, powBaseDerivative(a, b)), tb == null ? null : mul(tb, mul(y, logOfBase(a)))),
            (u, v, a, b, y, sum) -> {
                Tensor aa = product(u[0], v[0], sum), ab = cross(u, v, sum), bb = product(u[1], v[1], sum);
                Tensor r = null;
                if (aa != null) r = mul(aa, exponentTimes(a, b, e -> powBaseDerivative(a, sub(e, 1))));
                if (ab != null) {
                    Tensor aIsZero = equal(a, zerosLike(a));
                    Tensor fab = add(mul(powBaseDerivative(a, b), logOfBase(a)), where(aIsZero, 0.0, pow(where(aIsZero, 1.0, a), sub(b, 1))));
                    r = plus(r, mul(ab, fab));
                }
                if (bb != null) r = plus(r, mul(bb, mul(y, square(logOfBase(a)))));
                return r;
            });

    /**
     * The activations' backward passes as one kernel each (a cotangent g through y = tanh(x) or
     * y = sigmoid(x), from y), instead of three or four elementwise passes; differentiable again.
     * tanhBackward(g, y) = g (1 - y^2): d/dg = tanhBackward(c, y), d/dy = -2 c g y;
     * D²[u, v] = -2y (ug vy + vg uy) - 2g uy vy.
     */
    public static final Primitive TANH_BACKWARD = binary("tanhBackward", BinaryOp.TANH_BACKWARD, (c, g, y, out, n) -> new Tensor[] {
            n[0] ? tanhBackward(c, y) : null,
            n[1] ? mul(mul(c, g), mul(y, -2)) : null},
            (tg, ty, g, y, out) -> plus(tg == null ? null : tanhBackward(tg, y), ty == null ? null : mul(ty, mul(mul(g, y), -2))),
            (u, v, g, y, out, sum) -> {
                Tensor gy = cross(u, v, sum), yy = product(u[1], v[1], sum);
                return plus(gy == null ? null : mul(gy, mul(y, -2)), yy == null ? null : mul(yy, mul(g, -2)));
            });
    /**
     * sigmoidBackward(g, y) = g y (1 - y): d/dg = sigmoidBackward(c, y), d/dy = c g (1 - 2y);
     * D²[u, v] = (1 - 2y)(ug vy + vg uy) - 2g uy vy.
     */
    public static final Primitive SIGMOID_BACKWARD = binary("sigmoidBackward", BinaryOp.SIGMOID_BACKWARD, (c, g, y, out, n) -> new Tensor[] {
            n[0] ? sigmoidBackward(c, y) : null,
            n[1] ? mul(mul(c, g), rsub(1, mul(y, 2))) : null},
            (tg, ty, g, y, out) -> plus(tg == null ? null : sigmoidBackward(tg, y), ty == null ? null : mul(ty, mul(g, rsub(1, mul(y, 2))))),
            (u, v, g, y, out, sum) -> {
                Tensor gy = cross(u, v, sum), yy = product(u[1], v[1], sum);
                return plus(gy == null ? null : mul(gy, rsub(1, mul(y, 2))), yy == null ? null : mul(yy, mul(g, -2)));
            });

    /** 1 where a > b else 0. A step function: no cotangent and no tangent for either input (tinygrad's CMPLT rule). */
    public static final Primitive GREATER = binary("greater", BinaryOp.GREATER, (g, a, b, y, n) -> new Tensor[] {null, null},
            (ta, tb, a, b, y) -> null, null);
    /** 1 where a == b else 0: no cotangent and no tangent for either input. */
    public static final Primitive EQUAL = binary("equal", BinaryOp.EQUAL, (g, a, b, y, n) -> new Tensor[] {null, null},
            (ta, tb, a, b, y) -> null, null);

    /** cond != 0 ? a : b; the condition gets no cotangent and carries no tangent. */
    public static final Primitive WHERE = Primitive.define("where", 3,
            (in, attrs) -> Layout.where(in[0], in[1], in[2], whereShape(in)),
            (g, in, y, attrs, n) -> new Tensor[] {
                    null,
                    n[1] ? sumTo(where(in[0], g, 0.0), in[1].shape()) : null,
                    n[2] ? sumTo(where(in[0], 0.0, g), in[2].shape()) : null},
            (t, in, y, attrs) -> {
                if (t[1] == null && t[2] == null) return null;
                Tensor ta = t[1] == null ? null : lift(t[1], y.rank()), tb = t[2] == null ? null : lift(t[2], y.rank());
                return ta == null ? where(in[0], 0.0, tb) : tb == null ? where(in[0], ta, 0.0) : where(in[0], ta, tb);
            },
            Primitive.LINEAR);

    public static final Primitive CAST = Primitive.define("cast", 1,
            (in, attrs) -> Layout.cast(in[0], (DType) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {cast(g, in[0].dtype())},
            (t, in, y, attrs) -> cast(t[0], (DType) attrs),
            Primitive.LINEAR);

    public static final Primitive IDENTITY = Primitive.define("identity", 1,
            (in, attrs) -> in[0],
            (g, in, y, attrs, n) -> new Tensor[] {g},
            (t, in, y, attrs) -> t[0],
            Primitive.LINEAR);

    // ------------------------------------------------------------ linear algebra

    /**
     * C = op(A) op(B). Its transpose rules are matmuls again:
     * dA = g op(B)^T (or op(B) g^T when A is transposed), dB = op(A)^T g (or g^T op(A)).
     * Bilinear: dC = op(tA) op(B) + op(A) op(tB), where the k directions of tA [k, m, n] are stacked into
     * one product [k*m, n] @ op(B); D²C[u, v] = op(uA) op(vB) + op(vA) op(uB).
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
            },
            (t, in, y, attrs) -> {
                MatMulFlags f = (MatMulFlags) attrs;
                return plus(t[0] == null ? null : tangentTimesMatrix(t[0], in[0], in[1], f),
                        t[1] == null ? null : matrixTimesTangent(in[0], t[1], in[1], f));
            },
            (u, v, in, y, attrs, sum) -> {
                MatMulFlags f = (MatMulFlags) attrs;
                Tensor r = null;
                if (u[0] != null && v[1] != null) r = batchedMatMul(full(u[0], in[0].shape()), full(v[1], in[1].shape()), f);
                if (v[0] != null && u[1] != null) r = plus(r, batchedMatMul(full(v[0], in[0].shape()), full(u[1], in[1].shape()), f));
                return r == null || !sum ? r : sumDirections(r);
            });

    // ------------------------------------------------------------ reductions

    public static final Primitive SUM = Primitive.define("sum", 1,
            (in, attrs) -> {
                Axes ax = (Axes) attrs;
                return backend().sum(in[0], ax.axes(), ax.keepDims());
            },
            (g, in, y, attrs, n) -> new Tensor[] {
                    broadcastTo(reshape(g, in[0].shape().reduce(((Axes) attrs).axes(), true)), in[0].shape())},
            (t, in, y, attrs) -> Ops.sum(full(t[0], in[0].shape()), shifted(((Axes) attrs).axes()), ((Axes) attrs).keepDims()),
            Primitive.LINEAR);

    /** Maximum along one axis; ties share the cotangent (and the tangent) equally (as PyTorch's amax). Piecewise linear. */
    public static final Primitive MAX = Primitive.define("max", 1,
            (in, attrs) -> {
                Axes ax = (Axes) attrs;
                return backend().max(in[0], ax.axes()[0], ax.keepDims());
            },
            (g, in, y, attrs, n) -> {
                Shape kept = in[0].shape().reduce(((Axes) attrs).axes(), true);
                return new Tensor[] {mul(broadcastTo(reshape(g, kept), in[0].shape()), maxShare(in[0], y, (Axes) attrs))};
            },
            (t, in, y, attrs) -> Ops.sum(mul(t[0], maxShare(in[0], y, (Axes) attrs)), shifted(((Axes) attrs).axes()), ((Axes) attrs).keepDims()),
            Primitive.LINEAR);

    /** Sums a broadcast tensor back down to a shape that broadcasts to it. */
    public static final Primitive SUM_TO = Primitive.define("sumTo", 1,
            (in, attrs) -> sumToForward(in[0], (Shape) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {broadcastTo(g, in[0].shape())},
            (t, in, y, attrs) -> {
                Shape target = (Shape) attrs;
                int k = t[0].shape().dim(0), lead = in[0].rank() - target.rank();
                int[] padded = new int[1 + in[0].rank()];
                java.util.Arrays.fill(padded, 1);
                padded[0] = k;
                System.arraycopy(target.dims(), 0, padded, 1 + lead, target.rank());
                return reshape(sumTo(full(t[0], in[0].shape()), Shape.of(padded)), withBatch(k, target));
            },
            Primitive.LINEAR);

    // ------------------------------------------------------------ shape and layout

    /** Its tangent is the input's, lifted to the target's rank: it stays broadcast (no copy). */
    public static final Primitive BROADCAST_TO = Primitive.define("broadcastTo", 1,
            (in, attrs) -> Layout.broadcastTo(in[0], (Shape) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {sumTo(g, in[0].shape())},
            (t, in, y, attrs) -> lift(t[0], ((Shape) attrs).rank()),
            Primitive.LINEAR);

    public static final Primitive RESHAPE = Primitive.define("reshape", 1,
            (in, attrs) -> Layout.reshape(in[0], (Shape) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {reshape(g, in[0].shape().dims())},
            (t, in, y, attrs) -> reshape(full(t[0], in[0].shape()), withBatch(t[0].shape().dim(0), (Shape) attrs)),
            Primitive.LINEAR);

    public static final Primitive PERMUTE = Primitive.define("permute", 1,
            (in, attrs) -> Layout.permute(in[0], (int[]) attrs),
            (g, in, y, attrs, n) -> new Tensor[] {permute(g, inversePermutation((int[]) attrs))},
            (t, in, y, attrs) -> {
                int[] perm = (int[]) attrs, p = new int[perm.length + 1];
                for (int i = 0; i < perm.length; i++) p[i + 1] = perm[i] + 1;
                return permute(t[0], p);
            },
            Primitive.LINEAR);

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
            },
            (t, in, y, attrs) -> {
                SliceSpec s = (SliceSpec) attrs;
                int k = t[0].shape().dim(0);
                return slice(full(t[0], in[0].shape()), withBatch(0, s.begin()), withBatch(k, s.size()));
            },
            Primitive.LINEAR);

    /** Zero padding; its rule is the slice that undoes it. */
    public static final Primitive PAD = Primitive.define("pad", 1,
            (in, attrs) -> {
                PadSpec p = (PadSpec) attrs;
                return Layout.pad(in[0], p.before(), p.after());
            },
            (g, in, y, attrs, n) -> new Tensor[] {slice(g, ((PadSpec) attrs).before(), in[0].shape().dims())},
            (t, in, y, attrs) -> {
                PadSpec p = (PadSpec) attrs;
                return pad(full(t[0], in[0].shape()), withBatch(0, p.before()), withBatch(0, p.after()));
            },
            Primitive.LINEAR);

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
            },
            (t, in, y, attrs) -> {
                int k = Tangents.batch(t);
                Tensor[] parts = new Tensor[in.length];
                for (int i = 0; i < in.length; i++) {
                    parts[i] = t[i] == null ? Backends.current().full(0, in[i].dtype(), withBatch(k, in[i].shape())) : full(t[i], in[i].shape());
                }
                return concat((Integer) attrs + 1, parts);
            },
            Primitive.LINEAR);

    /** Every primitive above, in one list: the gradcheck test walks it and counts it. */
    public static final List<Primitive> ALL = List.of(
            NEG, EXP, LOG, SIN, COS, TANH, SIGMOID, RELU, SQRT,
            ADD, MUL, DIV, POW, TANH_BACKWARD, SIGMOID_BACKWARD, GREATER, EQUAL, WHERE, CAST, IDENTITY,
            MATMUL, SUM, MAX, SUM_TO,
            BROADCAST_TO, RESHAPE, PERMUTE, SLICE, PAD, CONCAT);

    // ------------------------------------------------------------ how the table's rules are built

    private static Backend backend() {
        return Backends.current();
    }

    /** A function of a unary op's input x and output y = f(x): f'(x) or f''(x) as a tensor. */
    @FunctionalInterface
    private interface OfInputAndOutput {
        Tensor apply(Tensor x, Tensor y);
    }

    /** {@code s f'(x)} for a (co)tangent s, from x and y = f(x). */
    @FunctionalInterface
    private interface Scaling {
        Tensor apply(Tensor s, Tensor x, Tensor y);
    }

    /**
     * The derivative f'(x) of an elementwise unary op, stated once, and how it scales a (co)tangent s
     * into {@code s f'(x)}: with s = g that is the VJP, with s = t the JVP. {@code factor} is f'(x) as a
     * tensor (null when f' is a constant and {@code scaling} a linear map of s alone); {@code scaling}
     * is {@code s * factor} unless the op applies f' in fewer roundings or kernels: one division for a
     * reciprocal, or one fused kernel ({@link #fused}), which computes the same product.
     */
    private record Derivative(OfInputAndOutput factor, Scaling scaling) {
        /** f' = factor(x, y); s f' = s * factor. */
        static Derivative times(OfInputAndOutput factor) {
            return new Derivative(factor, (s, x, y) -> mul(s, factor.apply(x, y)));
        }

        /** f' = 1 / d(x, y); s f' = s / d (one rounding, not two). */
        static Derivative reciprocalOf(OfInputAndOutput d) {
            return new Derivative((x, y) -> reciprocal(d.apply(x, y)), (s, x, y) -> div(s, d.apply(x, y)));
        }

        /** A constant f', applied as the linear map {@code s -> s f'} (no tensor of f' at all). */
        static Derivative constant(UnaryOperator<Tensor> linear) {
            return new Derivative(null, (s, x, y) -> linear.apply(s));
        }

        /** The same f', with s f' computed by one kernel of s and y (tanhBackward, sigmoidBackward). */
        Derivative fused(BinaryOperator<Tensor> kernel) {
            return new Derivative(factor, (s, x, y) -> kernel.apply(s, y));
        }
    }

    @FunctionalInterface
    private interface BinaryRule {
        Tensor[] apply(Tensor g, Tensor a, Tensor b, Tensor y, boolean[] needed);
    }

    /** The tangent of a binary elementwise op from its inputs' tangents, each lifted to the output's rank (or null). */
    @FunctionalInterface
    private interface BinaryJvp {
        Tensor apply(Tensor ta, Tensor tb, Tensor a, Tensor b, Tensor y);
    }

    /** D²f[u, v] of a binary elementwise op; u, v hold the two inputs' tangents, lifted to the output's rank. */
    @FunctionalInterface
    private interface BinarySecondOrder {
        Tensor apply(Tensor[] u, Tensor[] v, Tensor a, Tensor b, Tensor y, boolean sumDirections);
    }

    /**
     * An elementwise unary primitive from its derivative: VJP {@code g f'(x)}, and JVP {@code t f'(x)} for one
     * direction; for k directions f'(x) is computed once, at x's size, and applied to all of them by one
     * multiply (a repeating operand: the kernels' fast path). Second-order term {@code f''(x) u v}, none
     * when {@code secondDerivative} is null (a linear or piecewise-linear op).
     */
    private static Primitive unary(String name, UnaryOp op, Derivative derivative, OfInputAndOutput secondDerivative) {
        return Primitive.define(name, 1,
                (in, attrs) -> backend().unary(op, in[0]),
                (g, in, y, attrs, n) -> new Tensor[] {derivative.scaling().apply(g, in[0], y)},
                // x and y seen as one direction, [1] ++ shape (a view): a single tangent then meets an operand of its own shape.
                (t, in, y, attrs) -> {
                    Tensor x1 = reshape(in[0], withBatch(1, in[0].shape())), y1 = reshape(y, withBatch(1, y.shape()));
                    Tensor tf = alongEveryElement(t[0], in[0].shape());
                    return derivative.factor() == null || tf.shape().dim(0) == 1 ? derivative.scaling().apply(tf, x1, y1)
                            : mul(tf, derivative.factor().apply(x1, y1));
                },
                secondDerivative == null ? Primitive.LINEAR
                        : (u, v, in, y, attrs, sum) -> mul(reshape(secondDerivative.apply(in[0], y), withBatch(1, y.shape())), product(u[0], v[0], sum)));
    }

    private static Primitive binary(String name, BinaryOp op, BinaryRule rule, BinaryJvp jvp, BinarySecondOrder second) {
        return Primitive.define(name, 2,
                (in, attrs) -> backend().binary(op, in[0], in[1]),
                (g, in, y, attrs, n) -> {
                    Tensor[] r = rule.apply(g, in[0], in[1], y, n);
                    return new Tensor[] {
                            n[0] && r[0] != null ? sumTo(r[0], in[0].shape()) : null,
                            n[1] && r[1] != null ? sumTo(r[1], in[1].shape()) : null};
                },
                (t, in, y, attrs) -> jvp.apply(liftOrNull(t[0], y.rank()), liftOrNull(t[1], y.rank()), in[0], in[1], y),
                second == null ? Primitive.LINEAR : (u, v, in, y, attrs, sum) -> {
                    Tensor[] lu = {liftOrNull(u[0], y.rank()), liftOrNull(u[1], y.rank())};
                    Tensor[] lv = u == v ? lu : new Tensor[] {liftOrNull(v[0], y.rank()), liftOrNull(v[1], y.rank())};
                    return second.apply(lu, lv, in[0], in[1], y, sum);
                });
    }

    /** The share of max's (co)tangent each element gets: 1/count at the maxima, else 0 (a constant). */
    private static Tensor maxShare(Tensor x, Tensor y, Axes ax) {
        Shape kept = x.shape().reduce(ax.axes(), true);
        Tensor mask = equal(x, broadcastTo(reshape(y, kept), x.shape()));
        return stopGradient(div(mask, Ops.sum(mask, ax.axes(), true)));
    }

    private static Tensor zerosLike(Tensor x) {
        return Tensor.scalar(0, x.dtype());
    }

    /** log a, with 1 in place of a where a = 0 (JAX's rule for the exponent's derivative of 0^b). */
    private static Tensor logOfBase(Tensor a) {
        return log(where(equal(a, zerosLike(a)), 1.0, a));
    }

    /** d/da a^b = b a^(b-1), 0 at a = b = 0 (see {@link #exponentTimes}). */
    private static Tensor powBaseDerivative(Tensor a, Tensor b) {
        return exponentTimes(a, b, e -> pow(a, sub(e, 1)));
    }

    /**
     * {@code b * power(b)}, for a power of a that may be infinite at a = 0 (a^(b-1), d/da a^(b-1)): 0 at
     * a = b = 0, where it would be 0 * inf = NaN, and only there, so that its derivatives in b pass
     * everywhere else (at b = 0, d/db [b a^(b-1)] = 1/a). Under the mask b is 1, so that the branch the
     * mask discards stays finite at every order (its cotangents and tangents there are 0, and 0 * inf
     * would be NaN).
     */
    private static Tensor exponentTimes(Tensor a, Tensor b, UnaryOperator<Tensor> power) {
        Tensor zeroToTheZero = mul(equal(a, zerosLike(a)), equal(b, zerosLike(b)));
        Tensor safeB = where(zeroToTheZero, 1.0, b);
        return where(zeroToTheZero, 0.0, mul(safeB, power.apply(safeB)));
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
