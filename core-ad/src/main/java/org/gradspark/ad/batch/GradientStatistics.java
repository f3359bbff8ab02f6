package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.reshape;
import static org.gradspark.ad.Ops.sum;
import static org.gradspark.ad.Ops.where;

import java.util.IdentityHashMap;
import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.RecordedForward;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.nn.PerExampleMSELoss;
import org.gradspark.ad.nn.SoftmaxCrossEntropy;

/**
 * Per-example gradient statistics of one chunk, from one forward and one backward pass where the model allows.
 *
 * <p>Notation (issue 27): {@code g_n = d o_n / dW}, the gradient with respect to every parameter of
 * row n's term {@code o_n = sum_j s_nj out_nj} of the summed objective ({@code out_n} is row n's loss
 * when a loss is given), with no 1/N scale. From them:
 * <ul>
 *   <li>norms {@code |g_n|} and norms per parameter {@code |g_n,k|};</li>
 *   <li>dots {@code g_n . v} with a given v (one part per parameter);</li>
 *   <li>the sum of squares {@code sum_n g_n^2} per parameter (the empirical Fisher diagonal when o is a loss);</li>
 *   <li>the clipped sum {@code sum_n g_n min(1, C / |g_n|)} (DP-SGD's; a zero gradient counts with factor 1);</li>
 *   <li>the GGN diagonal {@code sum_n s_n diag(J_n^T H_n J_n)}, J_n the Jacobian of the model's outputs of row n
 *       with respect to the parameters and H_n the Hessian of the loss with respect to those outputs.</li>
 * </ul>
 *
 * <p>Two paths compute them ({@link Path}). {@link Path#PER_LAYER} applies when every parameter is a
 * dense layer's weight (used once, as the right operand of {@code [rows, in] @ [in, out]}) or bias
 * (used once, broadcast-added over rows) and every recorded op keeps rows apart: example n's weight
 * gradient is then the outer product {@code a_n (x) delta_n} of the layer's input and its output
 * cotangent, so {@code |g_n,W|^2 = |a_n|^2 |delta_n|^2}, {@code sum_n g_n,W^2 = (a^2)^T (delta^2)},
 * {@code g_n,W . V = rowsum((a V) * delta)} and the clipped sum is {@code a^T (c * delta)} with
 * {@code c_n = min(1, C / |g_n|)}: one forward and one backward pass plus a few products over the saved
 * a and delta, never an array of rows x parameters. The GGN diagonal takes one more backward pass per
 * model output (from the columns of a symmetric factor of H_n, as BackPACK's DiagGGN). Any other model
 * takes {@link Path#PER_ROW}: one backward pass per row (and per output for the GGN diagonal), correct
 * for every primitive and about {@code rows} times the cost of one chunk gradient.
 */
public final class GradientStatistics {
    private GradientStatistics() {}

    /** The loss whose Hessian the GGN diagonal uses; it must be the loss cell given. */
    public enum CurvatureLoss { MSE, SOFTMAX_CROSS_ENTROPY }

    /** Which computation ran: the per-layer outer-product rules, or one backward pass per row. */
    public enum Path { PER_LAYER, PER_ROW }

    /** What to compute; clip <= 0 means no clipping; dotWith null means no dots; ggnLoss null means no GGN diagonal. */
    public record Request(boolean norms, boolean normsPerKey, Tensor[] dotWith, boolean sumOfSquares, double clip, CurvatureLoss ggnLoss) {
        public Request {
            if (Double.isNaN(clip) || Double.isInfinite(clip)) throw new IllegalArgumentException("gradient statistics: clip must be a finite number, got " + clip);
        }

        boolean clipped() { return clip > 0; }
    }

    /**
     * gradient: the plain sum over rows of g_n (or, with clip > 0, the clipped sum sum_n g_n*min(1, C/|g_n|));
     * norms [rows] float64 |g_n| (null unless asked, but always computed when clip > 0);
     * normsPerKey [rows, K] float64 in the params' order; dots [rows] float64 g_n.v; sumOfSquares per param (shape of the param,
     * float64) sum_n g_n^2; ggnDiagonal per param (float64) sum_n s_n diag(J_n^T H_n J_n) (s_n = 1 without sensitivities);
     * outputs and objective as BatchGradient's ChunkResult (0 for skipped rows);
     * path: which computation ran.
     */
    public record Result(Tensor[] gradient, Tensor norms, Tensor normsPerKey, Tensor dots, Tensor[] sumOfSquares, Tensor[] ggnDiagonal,
                         Tensor outputs, double objective, Path path) {}

    /**
     * The statistics of one chunk, with {@link BatchGradient#chunk}'s conventions: {@code s} null means
     * ones, else it is reshaped to the outputs' shape; a row in {@code skip} is left out (its features and
     * sensitivities become 0, its output 0; its norm and dot are 0 and it adds to no sum); the objective
     * is {@code sum(out * s)} over the kept rows in float64.
     *
     * @throws IllegalArgumentException naming the parameter and shapes when {@code what.dotWith} does not fit
     *         the parameters, or when the GGN loss is not the loss given
     */
    public static Result compute(Cell model, Cell loss, List<Parameter> params, Tensor x, Tensor s, Tensor labels, boolean[] skip, Request what) {
        checkRequest(loss, labels, params, what);
        Tensor kept = StatisticsChunk.maskedRows(x, labels, skip);
        RecordedForward tape = PerLayerStatistics.record(model, loss, params, kept, labels);
        StatisticsChunk chunk = StatisticsChunk.of(kept, s, labels, skip, Ops.stopGradient(tape.outputs().get(0)));
        PerLayerStatistics.LayerRule[] rules = PerLayerStatistics.rules(tape, params, what, chunk.rows());
        if (rules != null) return PerLayerStatistics.compute(tape, rules, params, chunk, what);
        Tensor[] plainSum = what.clipped() ? null : tape.pullback(tape.outputs().get(0), chunk.s(), new IdentityHashMap<>());
        return PerRowStatistics.compute(model, loss, params, chunk, what, plainSum);
    }

    private static void checkRequest(Cell loss, Tensor labels, List<Parameter> params, Request what) {
        Tensor[] v = what.dotWith();
        if (v != null) {
            if (v.length != params.size()) {
                throw new IllegalArgumentException("gradient statistics: " + params.size() + " parameters but " + v.length + " parts to dot with");
            }
            for (int i = 0; i < v.length; i++) {
                if (v[i] == null || !v[i].shape().equals(params.get(i).shape())) {
                    throw new IllegalArgumentException("gradient statistics: the part to dot with parameter " + i + " '" + params.get(i).name() + "' has shape "
                            + (v[i] == null ? "null" : v[i].shape().toString()) + " but the parameter has shape " + params.get(i).shape());
                }
            }
        }
        CurvatureLoss c = what.ggnLoss();
        if (c == null) return;
        if (loss == null || labels == null) throw new IllegalArgumentException("gradient statistics: the GGN diagonal needs a loss and labels");
        boolean fits = c == CurvatureLoss.MSE ? loss instanceof PerExampleMSELoss : loss instanceof SoftmaxCrossEntropy sce && sce.perExample();
        if (!fits) {
            throw new IllegalArgumentException("gradient statistics: GGN loss " + c + " does not match the loss cell " + loss.getClass().getSimpleName()
                    + (c == CurvatureLoss.MSE ? " (expected PerExampleMSELoss)" : " (expected SoftmaxCrossEntropy with reduction none)"));
        }
    }

    /**
     * A chunk as both paths see it: features with skipped rows zeroed, sensitivities shaped like the
     * outputs (0 on skipped rows), the per-example outputs (0 on skipped rows) and the objective.
     */
    record StatisticsChunk(Tensor x, Tensor s, Tensor labels, boolean[] skip, Tensor outputs, double objective) {
        int rows() { return x.shape().dim(0); }

        boolean skipped(int n) { return skip != null && skip[n]; }

        /** x with its skipped rows set to 0 (they may hold NaN), after checking that skip and labels have x's rows. */
        static Tensor maskedRows(Tensor x, Tensor labels, boolean[] skip) {
            if (x.rank() < 1) throw new IllegalArgumentException("gradient statistics: x must have one row per example, got shape " + x.shape());
            int rows = x.shape().dim(0);
            if (skip != null && skip.length != rows) {
                throw new IllegalArgumentException("gradient statistics: skip has " + skip.length + " entries but x has " + rows + " rows");
            }
            if (labels != null && (labels.rank() < 1 || labels.shape().dim(0) != rows)) {
                throw new IllegalArgumentException("gradient statistics: labels " + labels.shape() + " do not have x's " + rows + " rows");
            }
            return skip == null ? x : where(keepMask(skip, x.shape(), x.dtype()), x, 0.0);
        }

        /** The chunk of the masked rows x and their per-example outputs out (before masking). */
        static StatisticsChunk of(Tensor x, Tensor s, Tensor labels, boolean[] skip, Tensor out) {
            int rows = x.shape().dim(0);
            if (out.rank() < 1 || out.shape().dim(0) != rows) {
                throw new IllegalArgumentException("gradient statistics: the outputs " + out.shape() + " do not have one row per example (" + rows + " rows)");
            }
            if (s == null) s = Backends.current().full(1, out.dtype(), out.shape());
            else if (!s.shape().equals(out.shape())) {
                if (s.size() != out.size()) {
                    throw new IllegalArgumentException("gradient statistics: sensitivities " + s.shape() + " do not fit the outputs " + out.shape());
                }
                s = reshape(s, out.shape());
            }
            if (skip != null) {
                Tensor keep = keepMask(skip, out.shape(), out.dtype());
                s = mul(s, keep);
                out = where(keep, out, 0.0);
            }
            double objective = sum(mul(out.astype(DType.FLOAT64), s.astype(DType.FLOAT64))).getDouble(0);
            return new StatisticsChunk(x, s, labels, skip, out, objective);
        }
    }

    /** 1 for kept rows and 0 for skipped ones, broadcast over a row's values. */
    static Tensor keepMask(boolean[] skip, Shape like, DType dtype) {
        int width = like.size() / Math.max(1, skip.length);
        return Tensor.fromFunction(dtype, like, i -> skip[i / width] ? 0 : 1);
    }
}
