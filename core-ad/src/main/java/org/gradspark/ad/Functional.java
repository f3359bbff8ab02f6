package org.gradspark.ad;

import static org.gradspark.ad.Ops.concat;
import static org.gradspark.ad.Ops.reshape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The functional transforms of JAX and current MindSpore: {@code grad}, {@code valueAndGrad},
 * {@code vjp}, {@code jvp}, {@code jacrev}, {@code jacfwd}, {@code hessian}. Each takes an
 * {@link Fn} (a Cell or a lambda) and composes with the others and with {@link GradOperation}.
 *
 * <p>As with GradOperation, the gradient of a non-scalar output is that of the sum of its elements;
 * {@code hasAux} functions return {@code (out, aux...)}: only {@code out} is differentiated, and the
 * aux (the second part alone, or the tuple of all parts after the first, as MindSpore) comes back as
 * it is, still differentiable by an enclosing gradient (as JAX).
 * Forward mode ({@code jvp}, {@code jacfwd}) is the transpose of reverse mode: {@code J v} is the
 * derivative of {@code u -> J^T u} applied to {@code v}; it needs no separate tangent rules and
 * works for every primitive.
 */
public final class Functional {
    private Functional() {}

    /**
     * Runs {@code body} watching for non-finite values (PyTorch's {@code detect_anomaly}): the first
     * primitive, in the forward pass or in a derivative rule, whose inputs are all finite but whose
     * output holds a NaN or an infinity throws a {@link NonFiniteException} naming it. Every op's
     * output is scanned, so it costs a pass over each result: turn it on to find a NaN's origin.
     *
     * <pre>{@code
     * Tensor g = Functional.detectAnomaly(() -> grad(f).apply(x).asTensor());  // NonFiniteException: op 'log' ...
     * }</pre>
     */
    public static <T> T detectAnomaly(java.util.function.Supplier<T> body) {
        return Engine.watchingFinite(body);
    }

    /** d(sum f)/d(first input). */
    public static Fn grad(Fn f) {
        return grad(f, new int[] {0}, null, false);
    }

    /**
     * Gradients w.r.t. the inputs at {@code positions}: one Tensor for one position, else a tuple in
     * the order asked ({@code grad(f, 2, 0)} is {@code (df/dz, df/dx)}, as JAX's argnums); a position
     * asked twice gets its gradient twice.
     */
    public static Fn grad(Fn f, int... positions) {
        return grad(f, positions, null, false);
    }

    /**
     * MindSpore's {@code grad(fn, grad_position, weights, has_aux)}. Returns the position gradients
     * (Tensor or tuple), the weights' gradients (tuple) when positions is empty, or the pair of both;
     * with {@code hasAux} the pair {@code (gradients, aux)}.
     */
    public static Fn grad(Fn f, int[] positions, ParameterTuple weights, boolean hasAux) {
        return args -> {
            TensorTuple vg = valueAndGrad(f, positions, weights, hasAux).apply(args).asTuple();
            return hasAux ? TensorTuple.of(vg.get(1), auxOf(vg.get(0), "grad")) : vg.get(1);
        };
    }

    /**
     * {@code (f(x), grad f(x))}; with hasAux the value is f's whole output {@code (out, aux...)}
     * (MindSpore's value_and_grad; for a pair, JAX's {@code ((out, aux), grads)}).
     */
    public static Fn valueAndGrad(Fn f, int[] positions, ParameterTuple weights, boolean hasAux) {
        int[] pos = positions == null ? new int[0] : positions.clone();
        if (pos.length == 0 && weights == null) throw new IllegalArgumentException("grad: give positions, weights or both");
        return args -> {
            List<Parameter> ps = weights == null ? List.of() : weights.asList();
            boolean[] wrt = Recording.only(args.length, pos);
            Recording rec = Recording.of(f, args, wrt, ps);
            List<Tensor> outs = differentiated(rec.output, hasAux, "grad").leaves();
            Tensor[] targets = concatArrays(rec.inputVars, rec.paramVars);
            Tensor[] g = rec.pullback(outs, Recording.onesLike(outs), targets);
            // rec.inputVars follow the input order; the gradients follow the order asked (JAX's argnums).
            int[] slot = new int[args.length];
            for (int i = 0, k = 0; i < args.length; i++) if (wrt[i]) slot[i] = k++;
            Tensor[] gPos = new Tensor[pos.length];
            for (int j = 0; j < pos.length; j++) gPos[j] = g[slot[pos[j]]];
            Tensor[] gW = Arrays.copyOfRange(g, rec.inputVars.length, g.length);
            Value posGrads = gPos.length == 1 ? gPos[0] : Recording.tuple(gPos);
            Value grads = weights == null ? posGrads : pos.length == 0 ? Recording.tuple(gW) : TensorTuple.of(posGrads, Recording.tuple(gW));
            // aux is left out of this gradient only: an enclosing gradient still differentiates it (JAX).
            return TensorTuple.of(Recording.release(rec.output), grads);
        };
    }

    /** The result of {@link #vjp}: the output and its pullback. */
    public static final class Vjp {
        private final Recording rec;

        private Vjp(Recording rec) {
            this.rec = rec;
        }

        public Value output() { return Recording.release(rec.output); }

        /** One cotangent per input for cotangents of the output (one tensor per output part). */
        public TensorTuple pullback(Tensor... cotangents) {
            List<Tensor> outs = rec.outputs();
            Recording.checkCotangents(outs, Arrays.asList(cotangents), "vjp", "cotangent", "cotangent(s)");
            return Recording.tuple(rec.pullback(outs, Arrays.asList(cotangents), rec.inputVars));
        }
    }

    /** JAX's {@code vjp}: runs f at the primals and returns its output with the pullback. */
    public static Vjp vjp(Fn f, Tensor... primals) {
        return new Vjp(Recording.of(f, primals, Recording.all(primals.length), List.of()));
    }

    /** JAX's {@code jvp}: the pair {@code (f(primals), J tangents)}. */
    public static TensorTuple jvp(Fn f, Tensor[] primals, Tensor[] tangents) {
        Linearized lin = linearize(f, primals, Recording.all(primals.length));
        return TensorTuple.of(Recording.release(lin.output), lin.apply(tangents));
    }

    /** The Jacobian of f (one Tensor output) w.r.t. input {@code argnum} by reverse mode: shape out ++ in. */
    public static Fn jacrev(Fn f, int argnum) {
        return args -> {
            Recording rec = Recording.of(f, args, Recording.only(args.length, argnum), List.of());
            Tensor y = single(rec.output, "jacrev");
            Tensor x = args[argnum];
            List<Tensor> rows = new ArrayList<>();
            for (int i = 0; i < y.size(); i++) {
                Tensor g = rec.pullback(List.of(y), List.of(oneHot(y, i)), rec.inputVars)[0];
                rows.add(reshape(g, 1, x.size()));
            }
            return reshape(concat(0, rows.toArray(new Tensor[0])), concatDims(y.shape(), x.shape()));
        };
    }

    /** The Jacobian of f (one Tensor output) w.r.t. input {@code argnum} by forward mode: shape out ++ in. */
    public static Fn jacfwd(Fn f, int argnum) {
        return args -> {
            Linearized lin = linearize(f, args, Recording.only(args.length, argnum));
            Tensor y = single(lin.output, "jacfwd");
            Tensor x = args[argnum];
            List<Tensor> cols = new ArrayList<>();
            for (int j = 0; j < x.size(); j++) {
                Tensor col = lin.apply(new Tensor[] {oneHot(x, j)}).asTensor();
                cols.add(reshape(col, y.size(), 1));
            }
            return reshape(concat(1, cols.toArray(new Tensor[0])), concatDims(y.shape(), x.shape()));
        };
    }

    /** The Hessian {@code jacfwd(jacrev(f))} w.r.t. input {@code argnum}: shape out ++ in ++ in. */
    public static Fn hessian(Fn f, int argnum) {
        return jacfwd(jacrev(f, argnum), argnum);
    }

    /** Runs f and keeps {@code u -> J^T u} recorded, so that {@code J v} can be taken for many v. */
    private static final class Linearized {
        final Value output;
        final Tensor[] cotangentVars;
        final Tensor[] transposed;

        Linearized(Value output, Tensor[] cotangentVars, Tensor[] transposed) {
            this.output = output;
            this.cotangentVars = cotangentVars;
            this.transposed = transposed;
        }

        /** J v, one tensor per output part (a Tensor for a single output). */
        Value apply(Tensor[] tangents) {
            if (tangents.length != transposed.length) {
                throw new IllegalArgumentException("jvp: " + transposed.length + " primal(s) but " + tangents.length + " tangent(s)");
            }
            for (int i = 0; i < tangents.length; i++) {
                if (!tangents[i].shape().equals(transposed[i].shape())) {
                    throw new IllegalArgumentException("jvp: tangent " + i + " has shape " + tangents[i].shape() + " but its primal has shape " + transposed[i].shape());
                }
                if (tangents[i].dtype() != transposed[i].dtype()) {
                    throw new IllegalArgumentException("jvp: tangent " + i + " has dtype " + tangents[i].dtype().numpyName() + " but its primal has dtype "
                            + transposed[i].dtype().numpyName() + " (primal and tangent must match, as in JAX)");
                }
            }
            Tensor[] jv = Engine.backward(Arrays.asList(transposed), Arrays.asList(tangents), cotangentVars, Engine.enclosingGradientActive());
            return output instanceof Tensor ? jv[0] : Recording.tuple(jv);
        }
    }

    private static Linearized linearize(Fn f, Tensor[] primals, boolean[] wrt) {
        Engine.openLevel(List.of());
        try {
            Recording rec = Recording.of(f, primals, wrt, List.of());
            List<Tensor> outs = rec.outputs();
            Tensor[] us = outs.stream().map(o -> Engine.variable(Tensor.full(0, o.dtype(), o.shape()))).toArray(Tensor[]::new);
            Tensor[] jt = Engine.backward(outs, Arrays.asList(us), rec.inputVars, true);
            return new Linearized(rec.output, us, jt);
        } finally {
            Engine.closeLevel();
        }
    }

    // ------------------------------------------------------------ helpers

    private static Tensor single(Value v, String who) {
        if (v instanceof Tensor t) return t;
        throw new IllegalArgumentException(who + ": the function must return one Tensor, not a tuple");
    }

    private static Tensor oneHot(Tensor like, int index) {
        return Tensor.fromFunction(like.dtype(), like.shape(), i -> i == index ? 1.0 : 0.0);
    }

    private static int[] concatDims(Shape a, Shape b) {
        int[] d = Arrays.copyOf(a.dims(), a.rank() + b.rank());
        System.arraycopy(b.dims(), 0, d, a.rank(), b.rank());
        return d;
    }

    private static Tensor[] concatArrays(Tensor[] a, Tensor[] b) {
        Tensor[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The part of f's output a hasAux transform differentiates: the first of at least two, else all of it. */
    static Value differentiated(Value output, boolean hasAux, String who) {
        if (!hasAux) return output;
        if (!(output instanceof TensorTuple t) || t.size() < 2) {
            throw new IllegalArgumentException(who + "(hasAux=true): the function must return a tuple (out, aux...) of at least two parts, got "
                    + (output instanceof Tensor x ? "one Tensor of shape " + x.shape() : "a tuple of " + ((TensorTuple) output).size()));
        }
        return t.get(0);
    }

    /** The aux of a hasAux output (out, aux...): the second part when it is alone, else the tuple of all after the first. */
    static Value auxOf(Value output, String who) {
        differentiated(output, true, who);
        TensorTuple t = output.asTuple();
        return t.size() == 2 ? t.get(1) : new TensorTuple(t.parts().subList(1, t.size()));
    }
}
