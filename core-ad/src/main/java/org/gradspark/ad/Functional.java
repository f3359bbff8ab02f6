package org.gradspark.ad;

import static org.gradspark.ad.Ops.broadcastTo;
import static org.gradspark.ad.Ops.concat;
import static org.gradspark.ad.Ops.reshape;
import static org.gradspark.ad.Ops.transpose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gradspark.ad.backend.Backends;

/**
 * The functional transforms of JAX and current MindSpore: {@code grad}, {@code valueAndGrad},
 * {@code vjp}, {@code jvp}, {@code linearize}, {@code jacrev}, {@code jacfwd}, {@code hessian}. Each takes an
 * {@link Fn} (a Cell or a lambda) and composes with the others and with {@link GradOperation}.
 *
 * <p>As with GradOperation, the gradient of a non-scalar output is that of the sum of its elements;
 * {@code hasAux} functions return {@code (out, aux...)}: only {@code out} is differentiated, and the
 * aux (the second part alone, or the tuple of all parts after the first, as MindSpore) comes back as
 * it is, still differentiable by an enclosing gradient (as JAX).
 * Forward mode ({@code jvp}, {@code jacfwd}, and so {@code hessian} = forward-over-reverse) runs the
 * primitives' JVP rules over one recorded forward pass, about the cost of one more forward pass;
 * {@code jacfwd} pushes all the basis directions of an input through at once, as one batch of
 * tangents. {@code linearize} keeps the older construction, the transpose of reverse mode
 * ({@code J t} is the derivative of {@code u -> J^T u} along t, a double VJP), as a cross-check.
 * Per-example differential operators (Laplacian, Hessian diagonal) are in {@link Operators}.
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
            int[] slot = slots(wrt);
            Tensor[] gPos = new Tensor[pos.length];
            for (int j = 0; j < pos.length; j++) gPos[j] = g[slot[pos[j]]];
            Tensor[] gW = Arrays.copyOfRange(g, rec.inputVars.length, g.length);
            Value posGrads = gPos.length == 1 ? gPos[0] : Recording.tuple(gPos);
            Value grads = weights == null ? posGrads : pos.length == 0 ? Recording.tuple(gW) : TensorTuple.of(posGrads, Recording.tuple(gW));
            // aux is left out of this gradient only: an enclosing gradient still differentiates it (JAX).
            return TensorTuple.of(Recording.release(rec.output), grads);
        };
    }

    /** The result of {@link #vjp}: the output, its pullback, and the aux of a hasAux function. */
    public static final class Vjp {
        private final Recording rec;
        private final boolean hasAux;

        private Vjp(Recording rec, boolean hasAux) {
            this.rec = rec;
            this.hasAux = hasAux;
            differentiated(rec.output, hasAux, "vjp");
        }

        /** The output that is pulled back (with hasAux, the first part of f's output). */
        public Value output() { return Recording.release(differentiated(rec.output, hasAux, "vjp")); }

        /** The aux of a hasAux function: the second part of its output, or the tuple of all after the first. */
        public Value aux() {
            if (!hasAux) throw new IllegalStateException("vjp: aux() needs vjp(f, primals, hasAux=true)");
            return Recording.release(auxOf(rec.output, "vjp"));
        }

        /** One cotangent per input for cotangents of the output (one tensor per output part). */
        public TensorTuple pullback(Tensor... cotangents) {
            List<Tensor> outs = differentiated(rec.output, hasAux, "vjp").leaves();
            Recording.checkCotangents(outs, Arrays.asList(cotangents), "vjp", "cotangent", "cotangent(s)");
            return Recording.tuple(rec.pullback(outs, Arrays.asList(cotangents), rec.inputVars));
        }

        /** The cotangent of a tuple output as one tuple (MindSpore's form), or one Tensor. */
        public TensorTuple pullback(Value cotangent) {
            return pullback(cotangent.leaves().toArray(new Tensor[0]));
        }
    }

    /** JAX's {@code vjp}: runs f at the primals and returns its output with the pullback. */
    public static Vjp vjp(Fn f, Tensor... primals) {
        return vjp(f, primals, false);
    }

    /** JAX's and MindSpore's {@code vjp(f, *primals, has_aux)}: with hasAux, {@link Vjp#aux} holds the aux. */
    public static Vjp vjp(Fn f, Tensor[] primals, boolean hasAux) {
        return new Vjp(Recording.of(f, primals, Recording.all(primals.length), List.of()), hasAux);
    }

    /** JAX's {@code jvp}: the pair {@code (f(primals), J tangents)}. */
    public static TensorTuple jvp(Fn f, Tensor[] primals, Tensor[] tangents) {
        return jvp(f, primals, tangents, false);
    }

    /**
     * {@code jvp(f, primals, tangents, has_aux)}: {@code (out, J tangents)}, with hasAux {@code (out, J tangents, aux)}.
     * One forward pass recorded, then the primitives' JVP rules along it.
     */
    public static TensorTuple jvp(Fn f, Tensor[] primals, Tensor[] tangents, boolean hasAux) {
        checkTangents(primals, tangents, false);
        Tensor[] batched = new Tensor[tangents.length];
        for (int i = 0; i < tangents.length; i++) batched[i] = reshape(tangents[i], TangentAlgebra.withBatch(1, tangents[i].shape()));
        return forward(f, primals, batched, hasAux, false);
    }

    /**
     * Forward mode for k directions at once: each tangent is {@code [k] ++ primal shape}, and the
     * result is {@code (out, tangents of out)}, each {@code [k] ++ out shape}; one sweep, in which a
     * linear layer is one matrix product over the stacked [k*rows, in] tangents (JAX's
     * {@code vmap(jvp)} over the tangents).
     *
     * <pre>{@code
     * Tensor dirs = Tensor.uniform(1, -1, 1, DType.FLOAT64, 4, 8, 3);         // 4 directions for x [8, 3]
     * Tensor jt = Functional.jvpBatch(net, new Tensor[] {x}, new Tensor[] {dirs}).tensor(1);  // [4, 8, out]
     * }</pre>
     */
    public static TensorTuple jvpBatch(Fn f, Tensor[] primals, Tensor[] tangents) {
        checkTangents(primals, tangents, true);
        return forward(f, primals, tangents, false, true);
    }

    /**
     * The Hessian-vector product {@code H v} of a scalar f, by forward-over-reverse (the JVP rules
     * along the recorded gradient): one tensor per primal, as PyTorch's
     * {@code torch.autograd.functional.hvp}.
     */
    public static TensorTuple hvp(Fn f, Tensor[] primals, Tensor[] v) {
        int[] all = new int[primals.length];
        for (int i = 0; i < all.length; i++) all[i] = i;
        Fn gradient = args -> {
            Value g = grad(f, all).apply(args);
            return g instanceof Tensor t ? TensorTuple.of(t) : g;
        };
        return jvp(gradient, primals, v).get(1).asTuple();
    }

    private static void checkTangents(Tensor[] primals, Tensor[] tangents, boolean batched) {
        if (tangents.length != primals.length) {
            throw new IllegalArgumentException("jvp: " + primals.length + " primal(s) but " + tangents.length + " tangent(s)");
        }
        for (int i = 0; i < tangents.length; i++) {
            Shape want = primals[i].shape(), have = tangents[i].shape();
            boolean ok = batched ? have.rank() == want.rank() + 1 && have.rank() > 0 && TangentAlgebra.withBatch(have.dim(0), want).equals(have)
                    : have.equals(want);
            if (!ok) {
                throw new IllegalArgumentException("jvp: tangent " + i + " has shape " + have + " but its primal has shape " + want
                        + (batched ? " (a batch of tangents is [k] ++ the primal's shape)" : ""));
            }
            if (tangents[i].dtype() != primals[i].dtype()) {
                throw new IllegalArgumentException("jvp: tangent " + i + " has dtype " + tangents[i].dtype().numpyName() + " but its primal has dtype "
                        + primals[i].dtype().numpyName() + " (primal and tangent must match, as in JAX)");
            }
        }
        if (batched) Tangents.batch(tangents);
    }

    /**
     * The JVP with respect to weights: {@code (f(args), J_W t)}, the derivative of f's output along
     * one tangent per weight ({@code t_k} shaped like {@code weights.get(k)}), the arguments held
     * fixed. One recorded forward pass and one forward sweep, as {@link #jvp}; with the weights'
     * gradient ({@code grad(f, {}, weights)}, the VJP) it makes the Gauss-Newton product
     * {@code J^T H J t} without a second reverse pass.
     *
     * <pre>{@code
     * TensorTuple r = Functional.jvp(net, new Tensor[] {x}, new ParameterTuple(net.trainableParams()), directions);
     * Tensor jt = r.tensor(1);   // shaped like net(x)
     * }</pre>
     */
    public static TensorTuple jvp(Fn f, Tensor[] args, ParameterTuple weights, Tensor[] tangents) {
        List<Parameter> ps = weights.asList();
        checkTangents(ps.toArray(new Tensor[0]), tangents, false);
        Tensor[] batched = new Tensor[tangents.length];
        for (int i = 0; i < tangents.length; i++) batched[i] = reshape(tangents[i], TangentAlgebra.withBatch(1, tangents[i].shape()));
        Recording rec = Recording.of(f, args, new boolean[args.length], ps);
        return forward(rec, rec.paramVars, batched, false, false);
    }

    /** (out, J t[, aux]) for tangents with a leading batch axis; without keepBatch that axis (of size 1) is dropped. */
    private static TensorTuple forward(Fn f, Tensor[] primals, Tensor[] tangents, boolean hasAux, boolean keepBatch) {
        Recording rec = Recording.of(f, primals, Recording.all(primals.length), List.of());
        return forward(rec, rec.inputVars, tangents, hasAux, keepBatch);
    }

    /** (out, J t[, aux]) of a recorded pass for tangents of its variables {@code vars} (its inputs' or its weights'). */
    private static TensorTuple forward(Recording rec, Tensor[] vars, Tensor[] tangents, boolean hasAux, boolean keepBatch) {
        Value out = differentiated(rec.output, hasAux, "jvp");
        List<Tensor> ys = out.leaves();
        Tensor[] ty = ForwardMode.sweep(ys, vars, tangents);
        int k = tangents.length == 0 ? 1 : tangents[0].shape().dim(0);
        Tensor[] jv = new Tensor[ys.size()];
        for (int i = 0; i < jv.length; i++) {
            Tensor y = ys.get(i);
            Shape full = TangentAlgebra.withBatch(k, y.shape());
            Tensor t = ty[i] == null ? Backends.current().full(0, y.dtype(), full) : broadcastTo(ty[i], full);
            jv[i] = keepBatch ? t : reshape(t, y.shape());
        }
        Value jt = rebuild(out, jv);
        return hasAux ? TensorTuple.of(Recording.release(out), jt, Recording.release(auxOf(rec.output, "jvp")))
                : TensorTuple.of(Recording.release(out), jt);
    }

    /**
     * JAX's {@code linearize}: runs f once at the primals and keeps {@code t -> J t}, so that the
     * Jacobian-vector product can be taken for many tangents at the cost of one backward pass each.
     *
     * <pre>{@code
     * Functional.Linearized lin = Functional.linearize(f, x);
     * Tensor jt = lin.apply(t).asTensor();   // = jvp(f, {x}, {t}).tensor(1)
     * }</pre>
     */
    public static Linearized linearize(Fn f, Tensor... primals) {
        return linearize(f, primals, Recording.all(primals.length), false);
    }

    /**
     * The Jacobian of f w.r.t. input {@code argnum} by reverse mode: shape out ++ in, or one Jacobian
     * per output for a tuple output.
     */
    public static Fn jacrev(Fn f, int argnum) {
        return jacrev(f, new int[] {argnum}, false);
    }

    /**
     * JAX's {@code jacrev(f, argnums, has_aux)}, MindSpore's {@code jacrev(fn, grad_position, has_aux)}:
     * for each output (the output's tuple structure kept) the Jacobian w.r.t. each position asked, of
     * shape out ++ in (a tuple over the positions, in the order asked, when there are several); with
     * hasAux, the pair {@code (jacobians, aux)}. One pullback per output element.
     */
    public static Fn jacrev(Fn f, int[] argnums, boolean hasAux) {
        int[] pos = positions(argnums, "jacrev");
        return args -> {
            boolean[] wrt = Recording.only(args.length, pos);
            int[] slot = slots(wrt);
            Recording rec = Recording.of(f, args, wrt, List.of());
            Value jac = mapLeaves(differentiated(rec.output, hasAux, "jacrev"), y -> {
                Tensor[][] rows = new Tensor[rec.inputVars.length][y.size()];
                for (int i = 0; i < y.size(); i++) {
                    Tensor[] g = rec.pullback(List.of(y), List.of(oneHot(y, i)), rec.inputVars);
                    for (int v = 0; v < g.length; v++) rows[v][i] = reshape(g[v], 1, g[v].size());
                }
                Tensor[] perPosition = new Tensor[pos.length];
                for (int j = 0; j < pos.length; j++) {
                    Tensor x = args[pos[j]];
                    perPosition[j] = y.size() == 0 ? Backends.current().full(0, x.dtype(), Shape.of(concatDims(y.shape(), x.shape())))
                            : reshape(concat(0, rows[slot[pos[j]]]), concatDims(y.shape(), x.shape()));
                }
                return pos.length == 1 ? perPosition[0] : Recording.tuple(perPosition);
            });
            return hasAux ? TensorTuple.of(jac, Recording.release(auxOf(rec.output, "jacrev"))) : jac;
        };
    }

    /** The Jacobian of f w.r.t. input {@code argnum} by forward mode: shape out ++ in, one per output for a tuple. */
    public static Fn jacfwd(Fn f, int argnum) {
        return jacfwd(f, new int[] {argnum}, false);
    }

    /**
     * {@link #jacrev(Fn, int[], boolean)}'s results by forward mode: for each position, all of its
     * basis directions in one sweep (a batch of tangents, the identity).
     */
    public static Fn jacfwd(Fn f, int[] argnums, boolean hasAux) {
        int[] pos = positions(argnums, "jacfwd");
        return args -> {
            boolean[] wrt = Recording.only(args.length, pos);
            int[] slot = slots(wrt);
            Recording rec = Recording.of(f, args, wrt, List.of());
            Value out = differentiated(rec.output, hasAux, "jacfwd");
            List<Tensor> ys = out.leaves();
            Tensor[][] blocks = new Tensor[ys.size()][pos.length];
            for (int j = 0; j < pos.length; j++) {
                Tensor x = args[pos[j]];
                int n = x.size();
                Tensor[] tangents = new Tensor[rec.inputVars.length];
                tangents[slot[pos[j]]] = n == 0 ? null : reshape(identity(n, x.dtype()), TangentAlgebra.withBatch(n, x.shape()));
                Tensor[] ty = n == 0 ? new Tensor[ys.size()] : ForwardMode.sweep(ys, rec.inputVars, tangents);
                for (int k = 0; k < ys.size(); k++) {
                    Tensor y = ys.get(k);
                    int[] dims = concatDims(y.shape(), x.shape());
                    blocks[k][j] = ty[k] == null ? Backends.current().full(0, y.dtype(), Shape.of(dims))
                            : reshape(transpose(reshape(broadcastTo(ty[k], TangentAlgebra.withBatch(n, y.shape())), n, y.size())), dims);
                }
            }
            int[] next = {0};
            Value jac = mapLeaves(out, y -> {
                Tensor[] b = blocks[next[0]++];
                return pos.length == 1 ? b[0] : Recording.tuple(b);
            });
            return hasAux ? TensorTuple.of(jac, Recording.release(auxOf(rec.output, "jacfwd"))) : jac;
        };
    }

    /** The n x n identity matrix. */
    static Tensor identity(int n, DType dtype) {
        return Tensor.fromFunction(dtype, Shape.of(n, n), i -> i / n == i % n ? 1.0 : 0.0);
    }

    /** The Hessian {@code jacfwd(jacrev(f))} w.r.t. input {@code argnum}: shape out ++ in ++ in. */
    public static Fn hessian(Fn f, int argnum) {
        return hessian(f, new int[] {argnum}, false);
    }

    /**
     * JAX's {@code hessian(f, argnums, has_aux)} = {@code jacfwd(jacrev(f, argnums), argnums)}: for several
     * positions the blocks {@code ((H_00, H_01), (H_10, H_11))}; with hasAux, {@code (hessian, aux)}.
     */
    public static Fn hessian(Fn f, int[] argnums, boolean hasAux) {
        return jacfwd(jacrev(f, argnums, hasAux), argnums, hasAux);
    }

    /**
     * A function linearized at its primals (JAX's {@code linearize}): f ran once, and {@code u -> J^T u}
     * is kept recorded, so that {@code J t} is one backward pass over it for each tangent t (the
     * double-VJP construction of forward mode, kept beside the JVP rules as a cross-check).
     */
    public static final class Linearized {
        private final Value differentiated;
        private final Tensor[] cotangentVars;
        private final Tensor[] transposed;

        private Linearized(Value fullOutput, boolean hasAux, Tensor[] cotangentVars, Tensor[] transposed) {
            this.differentiated = differentiated(fullOutput, hasAux, "linearize");
            this.cotangentVars = cotangentVars;
            this.transposed = transposed;
        }

        /** f's output at the primals (with hasAux, its first part). */
        public Value output() { return Recording.release(differentiated); }

        /** J t, one tensor per output part (a Tensor for a single output); one tangent per primal, of its shape and dtype. */
        public Value apply(Tensor... tangents) {
            checkTangents(transposed, tangents, false);
            Tensor[] jv = Engine.backward(Arrays.asList(transposed), Arrays.asList(tangents), cotangentVars, Engine.enclosingGradientActive());
            return rebuild(differentiated, jv);
        }
    }

    private static Linearized linearize(Fn f, Tensor[] primals, boolean[] wrt, boolean hasAux) {
        Engine.openLevel(List.of());
        try {
            Recording rec = Recording.of(f, primals, wrt, List.of());
            List<Tensor> outs = differentiated(rec.output, hasAux, "linearize").leaves();
            Tensor[] us = outs.stream().map(o -> Engine.variable(Backends.current().full(0, o.dtype(), o.shape()))).toArray(Tensor[]::new);
            Tensor[] jt = Engine.backward(outs, Arrays.asList(us), rec.inputVars, true);
            return new Linearized(rec.output, hasAux, us, jt);
        } finally {
            Engine.closeLevel();
        }
    }

    // ------------------------------------------------------------ helpers

    private static int[] positions(int[] argnums, String who) {
        if (argnums == null || argnums.length == 0) throw new IllegalArgumentException(who + ": give at least one position");
        return argnums.clone();
    }

    /** For each input, its index among the inputs differentiated (those marked in wrt), in input order. */
    private static int[] slots(boolean[] wrt) {
        int[] slot = new int[wrt.length];
        for (int i = 0, k = 0; i < wrt.length; i++) if (wrt[i]) slot[i] = k++;
        return slot;
    }

    /** The same tuple structure with each Tensor replaced by {@code f} of it, depth first. */
    private static Value mapLeaves(Value v, java.util.function.Function<Tensor, Value> f) {
        if (v instanceof Tensor t) return f.apply(t);
        return new TensorTuple(((TensorTuple) v).parts().stream().map(p -> mapLeaves(p, f)).toList());
    }

    /** {@code like}'s tuple structure filled with {@code leaves} in depth-first order. */
    private static Value rebuild(Value like, Tensor[] leaves) {
        int[] next = {0};
        return mapLeaves(like, t -> leaves[next[0]++]);
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
