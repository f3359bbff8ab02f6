package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sum;

import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Fn;
import org.gradspark.ad.Functional;
import org.gradspark.ad.GradOperation;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.ParameterTuple;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;
import org.gradspark.ad.Value;
import org.gradspark.ad.backend.Backends;

/**
 * The derivatives a gradient job needs from one chunk of examples, all through
 * {@link GradOperation}. With per-example outputs {@code out = model(x)} (or the per-example loss
 * {@code loss(model(x), labels)}) and per-example sensitivities {@code s}:
 * <ul>
 *   <li>weight gradients {@code d sum(out * s) / dW} (a sum over the chunk's examples, so chunks add);</li>
 *   <li>input derivatives of order K, MindSpore's nesting: {@code g1 = d sum(out * s) / dx},
 *       {@code g(k+1) = d sum(g(k)) / dx} (per example, since row i of out depends on row i of x only);</li>
 *   <li>the Hessian-vector product {@code d/dW <d sum(out * s)/dW, v>} for a direction v in weight space;</li>
 *   <li>the Gauss-Newton-vector product {@code J^T H_loss J v} (J: the model's outputs by the weights).</li>
 * </ul>
 */
public final class BatchGradient {
    private BatchGradient() {}

    /** The weighted objective {@code sum(out * s)} as a cell of (x, s[, labels]). */
    private static final class Objective extends Cell {
        private static final long serialVersionUID = 1L;
        private final Cell model;
        private final Cell loss;

        Objective(Cell model, Cell loss) {
            this.model = model;
            this.loss = loss;
        }

        @Override public int inputCount() { return loss == null ? 2 : 3; }

        @Override public Tensor construct(Tensor... in) {
            Tensor out = model.call(in[0]);
            if (loss != null) out = loss.call(out, in[2]);
            return sum(mul(out, in[1]));
        }
    }

    /** The per-example outputs: the model's, or the loss of each example when a loss is given. */
    public static Tensor outputs(Cell model, Cell loss, Tensor x, Tensor labels) {
        Tensor out = model.call(x);
        return loss == null ? out : loss.call(out, labels);
    }

    /** {@code d sum(out * s) / dW} for each parameter, in the order given. */
    public static Tensor[] weightGradients(Cell model, Cell loss, List<Parameter> params, Tensor x, Tensor s, Tensor labels) {
        Cell g = new GradOperation(false, true, false).apply(new Objective(model, loss), new ParameterTuple(params));
        TensorTuple t = g.call(args(x, s, labels));
        return t.leaves().toArray(new Tensor[0]);
    }

    /** Weight gradients and the per-example outputs they came from (one forward pass for both). */
    public record WithOutputs(Tensor[] gradients, Tensor outputs) {}

    /**
     * {@link #weightGradients} and {@link #outputs} from one forward pass (the outputs ride along
     * as the gradient's auxiliary value), for callers that need both, like a job's output sum.
     */
    public static WithOutputs weightGradientsAndOutputs(Cell model, Cell loss, List<Parameter> params, Tensor x, Tensor s, Tensor labels) {
        Fn objective = in -> {
            Tensor out = outputs(model, loss, in[0], in.length > 2 ? in[2] : null);
            return TensorTuple.of(sum(mul(out, in[1])), out);
        };
        TensorTuple r = Functional.grad(objective, new int[0], new ParameterTuple(params), true).apply(args(x, s, labels)).asTuple();
        return new WithOutputs(r.get(0).asTuple().leaves().toArray(new Tensor[0]), (Tensor) r.get(1));
    }

    /** The K-th input derivative by K nested GradOperations (K >= 1), shaped like x. */
    public static Tensor inputDerivative(Cell model, Cell loss, int order, Tensor x, Tensor s, Tensor labels) {
        if (order < 1) throw new IllegalArgumentException("derivative order must be >= 1, got " + order);
        Cell g = new GradOperation().apply(new Objective(model, loss));
        for (int k = 2; k <= order; k++) g = new GradOperation().apply(new SumOf(g, loss == null ? 2 : 3));
        return g.call(args(x, s, labels));
    }

    /** {@code sum(f(args))}, so that the next GradOperation differentiates {@code sum g(k)}. */
    private static final class SumOf extends Cell {
        private static final long serialVersionUID = 1L;
        private final Cell f;
        private final int inputs;

        SumOf(Cell f, int inputs) {
            this.f = f;
            this.inputs = inputs;
        }

        @Override public int inputCount() { return inputs; }

        @Override public Tensor construct(Tensor... in) { return sum(f.<Tensor>call(in)); }
    }

    /** The Hessian-vector product in weight space: {@code d/dW sum_k <dObjective/dW_k, v_k>}. */
    public static Tensor[] hessianVectorProduct(Cell model, Cell loss, List<Parameter> params, Tensor[] v, Tensor x, Tensor s, Tensor labels) {
        if (v.length != params.size()) throw new IllegalArgumentException("hvp: " + params.size() + " parameters but " + v.length + " vector parts");
        Cell inner = new GradOperation(false, true, false).apply(new Objective(model, loss), new ParameterTuple(params));
        Cell directional = new Cell() {
            private static final long serialVersionUID = 1L;

            @Override public Tensor construct(Tensor... in) {
                Value g = inner.call(in);
                Tensor acc = null;
                List<Tensor> parts = g.leaves();
                for (int i = 0; i < parts.size(); i++) {
                    Tensor term = sum(mul(parts.get(i), v[i]));
                    acc = acc == null ? term : org.gradspark.ad.Ops.add(acc, term);
                }
                return acc;
            }
        };
        TensorTuple h = new GradOperation(false, true, false).apply(directional, new ParameterTuple(params)).call(args(x, s, labels));
        return h.leaves().toArray(new Tensor[0]);
    }

    /**
     * The Gauss-Newton-vector product in weight space, {@code G v = J^T H_loss J v}: J the Jacobian of
     * the model's outputs {@code z = model(x)} with respect to the weights, {@code H_loss} the Hessian of
     * the weighted loss {@code sum(loss(z, labels) * s)} with respect to z. One JVP of the model along v
     * ({@code u = J v}, {@link Functional#jvp(Fn, Tensor[], ParameterTuple, Tensor[])}), the loss's
     * Hessian-vector product in output space ({@code c = H_loss u}, a per-example product, cheap), then one
     * VJP of the model ({@code J^T c}, the weight gradient of {@code sum(z * c)}). For the per-example
     * mean squared error over m outputs {@code H_loss} is {@code 2 s_n / m} times the identity, so
     * {@code G = (2/m) J^T diag(s) J}; for softmax cross-entropy it is {@code s_n (diag(p) - p p^T)}.
     * G is positive semi-definite when the loss is convex in z and the sensitivities are >= 0.
     *
     * @throws IllegalArgumentException without a loss (the objective is then linear in z: G is 0), or
     *                                  when v does not have one part per parameter
     */
    public static Tensor[] gaussNewtonVectorProduct(Cell model, Cell loss, List<Parameter> params, Tensor[] v, Tensor x, Tensor s, Tensor labels) {
        if (loss == null) throw new IllegalArgumentException("gauss-newton: needs a loss of the model's outputs (without one the objective is linear in them)");
        if (v.length != params.size()) throw new IllegalArgumentException("gauss-newton: " + params.size() + " parameters but " + v.length + " vector parts");
        TensorTuple zu = Functional.jvp(in -> model.call(in[0]), new Tensor[] {x}, new ParameterTuple(params), v);
        Tensor z = zu.tensor(0), u = zu.tensor(1);
        Fn weightedLoss = in -> sum(mul(loss.call(in[0], labels), s));
        Tensor c = Functional.hvp(weightedLoss, new Tensor[] {z}, new Tensor[] {u}).tensor(0);
        return weightGradients(model, null, params, x, c, null);
    }

    /**
     * A per-example operator of the outputs with respect to x, one of {@link Operators}'
     * ({@code Operators::laplacian}, {@code Operators::hessianDiagonal}, {@code Operators::jacobian},
     * {@code Operators::hessian}): f maps x [rows, in] to [rows, out], and the result has one row
     * per example ([rows, out], [rows, out, in] or [rows, out, in, in]).
     */
    @FunctionalInterface
    public interface RowOperator {
        Tensor apply(org.gradspark.ad.Fn f, Tensor x);

        /**
         * This operator for a chunk whose first row is row {@code firstRow} of the whole batch: itself,
         * unless it draws per-row randomness from the row's index (a randomised Laplacian).
         */
        default RowOperator fromRow(long firstRow) {
            return this;
        }
    }

    /**
     * What a job asks of every chunk: the weight gradients (or, with {@code hvpVector}, the
     * Hessian-vector product in weight space), and an input derivative when {@code inputOrder} is
     * positive: MindSpore's nested gradients of order {@code inputOrder} ({@link #inputDerivative},
     * shaped like x, weighted by the sensitivities) when {@code operator} is null, else the
     * per-example {@code operator} of the outputs (the model's, or each example's loss); the
     * sensitivities are scaled by {@code scale} (1/N for a mean over N rows).
     */
    public record Request(boolean weights, Tensor[] hvpVector, int inputOrder, double scale, RowOperator operator, Curvature curvature) {
        public Request {
            if (curvature == null) curvature = Curvature.HESSIAN;
        }

        /** The exact Hessian's product along {@code hvpVector}. */
        public Request(boolean weights, Tensor[] hvpVector, int inputOrder, double scale, RowOperator operator) {
            this(weights, hvpVector, inputOrder, scale, operator, Curvature.HESSIAN);
        }

        /** MindSpore's nested input derivatives. */
        public Request(boolean weights, Tensor[] hvpVector, int inputOrder, double scale) {
            this(weights, hvpVector, inputOrder, scale, null, Curvature.HESSIAN);
        }

        /** This request for the chunk whose first row is row {@code firstRow} of the whole batch ({@link RowOperator#fromRow}). */
        public Request fromRow(long firstRow) {
            return operator == null ? this : new Request(weights, hvpVector, inputOrder, scale, operator.fromRow(firstRow), curvature);
        }

        /** The weights' curvature along {@code vector}: {@code kind}'s product, and nothing per example. */
        public static Request curvature(Curvature kind, Tensor[] vector, double scale) {
            return new Request(true, java.util.Objects.requireNonNull(vector, "vector"), 0, scale, null, kind);
        }
    }

    /** Which matrix a request's {@code hvpVector} is multiplied by. */
    public enum Curvature {
        /** The objective's Hessian in weight space ({@link #hessianVectorProduct}). */
        HESSIAN,
        /** The Gauss-Newton matrix {@code J^T H_loss J} ({@link #gaussNewtonVectorProduct}). */
        GAUSS_NEWTON
    }

    /**
     * The per-example operator of the outputs (the per-example loss as a column [rows, 1] when there
     * is one) with respect to x; rows in {@code skip} get 0.
     */
    public static Tensor operator(RowOperator kind, Cell model, Cell loss, Tensor x, Tensor labels, boolean[] skip) {
        org.gradspark.ad.Fn f = in -> {
            Tensor out = outputs(model, loss, in[0], labels);
            return out.rank() == 1 ? org.gradspark.ad.Ops.reshape(out, out.shape().dim(0), 1) : out;
        };
        Tensor d = kind.apply(f, x);
        return skip == null ? d : org.gradspark.ad.Ops.where(keepMask(skip, d.shape(), d.dtype()), d, 0.0);
    }

    /**
     * One chunk's share: the weight gradients or Hessian-vector product (null when not asked),
     * the per-example outputs (0 for rows left out), the input derivatives (null when not asked),
     * the number of rows left out, and the objective {@code sum(out * s * scale)} over the kept rows
     * (summed in float64): the value whose gradient {@code weightGradients} is.
     */
    public record ChunkResult(Tensor[] weightGradients, Tensor outputs, Tensor inputDerivative, int skipped, double objective) {}

    /**
     * One chunk of a batch as the gradient job computes it. The per-example outputs are
     * {@code out = model(x)}, or {@code loss(model(x), labels)}; the objective is
     * {@code sum(out * s * scale)} over the kept rows. A row in {@code skip} is left out: its
     * sensitivities become 0 and its features 0 (so it adds nothing, not even a NaN), and its output
     * is not summed.
     *
     * @param s           per-example sensitivities, shaped like {@code out} (or with a trailing 1); null: ones
     * @param skip        rows to leave out, or null for none
     * @param outputShape the outputs' shape when it is known without a forward pass (an MLP's
     *                    {@code [rows, out]}, {@code [rows]} with a loss): the weight gradient's own
     *                    forward pass then gives the outputs too; null: one more forward pass
     */
    public static ChunkResult chunk(Cell model, Cell loss, List<Parameter> params, Tensor x, Tensor s, Tensor labels, boolean[] skip,
                                    org.gradspark.ad.Shape outputShape, Request what) {
        org.gradspark.ad.DType dtype = x.dtype();
        boolean hvp = what.hvpVector() != null;
        org.gradspark.ad.Shape outShape = outputShape;
        boolean fused = outShape != null && skip == null && !hvp && what.weights();
        Tensor out = fused ? null : outputs(model, loss, x, labels);
        if (out != null) outShape = out.shape();
        if (s == null) s = Backends.current().full(1, dtype, outShape);
        else if (!s.shape().equals(outShape)) s = org.gradspark.ad.Ops.reshape(s, outShape);
        int skipped = 0;
        if (skip != null) {
            for (boolean b : skip) if (b) skipped++;
            s = mul(s, keepMask(skip, outShape, dtype));
            x = org.gradspark.ad.Ops.where(keepMask(skip, x.shape(), dtype), x, 0.0);
            // Skipped rows add nothing to the output sum either (their outputs at x = 0 are not data).
            out = mul(outputs(model, loss, x, labels), keepMask(skip, outShape, dtype));
        }
        s = mul(s, what.scale());
        Tensor[] weights = null;
        if (hvp) {
            weights = what.curvature() == Curvature.GAUSS_NEWTON ? gaussNewtonVectorProduct(model, loss, params, what.hvpVector(), x, s, labels)
                    : hessianVectorProduct(model, loss, params, what.hvpVector(), x, s, labels);
        } else if (fused) {
            WithOutputs g = weightGradientsAndOutputs(model, loss, params, x, s, labels);
            weights = g.gradients();
            out = g.outputs();
        } else if (what.weights()) {
            weights = weightGradients(model, loss, params, x, s, labels);
        }
        Tensor dx = what.inputOrder() <= 0 ? null : what.operator() == null
                ? inputDerivative(model, loss, what.inputOrder(), x, s, labels) : operator(what.operator(), model, loss, x, labels, skip);
        double objective = sum(mul(out.astype(org.gradspark.ad.DType.FLOAT64), s.astype(org.gradspark.ad.DType.FLOAT64))).getDouble(0);
        return new ChunkResult(weights, out, dx, skipped, objective);
    }

    /** 1 for kept rows and 0 for skipped ones, broadcast over a row's values. */
    private static Tensor keepMask(boolean[] skip, org.gradspark.ad.Shape like, org.gradspark.ad.DType dtype) {
        int width = like.size() / Math.max(1, skip.length);
        return Tensor.fromFunction(dtype, like, i -> skip[i / width] ? 0 : 1);
    }

    private static Tensor[] args(Tensor x, Tensor s, Tensor labels) {
        return labels == null ? new Tensor[] {x, s} : new Tensor[] {x, s, labels};
    }
}
