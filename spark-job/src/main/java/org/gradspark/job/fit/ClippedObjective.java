package org.gradspark.job.fit;

import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.RowSample;

/**
 * A {@link FitObjective} of rows whose gradients can be clipped one by one: DP-SGD's query
 * ({@link DpSgd}). The job's objective is one ({@code EvaluatorObjective}, through the evaluator's
 * per-example gradient statistics).
 */
public interface ClippedObjective extends FitObjective {

    /**
     * Over the rows {@code sample} keeps: {@code gradient} Σ_n g_n·min(1, clip/|g_n|), g_n the gradient of
     * row n's term of the summed objective (no 1/rows scale whatever the reduction), {@code objective}
     * the unscaled Σ_n o_n over the same rows, {@code rowsUsed} how many rows are in the sums (0 for an
     * empty sample, which Poisson sampling may draw).
     */
    Evaluator.Value clippedSum(Map<String, Tensor> weights, RowSample sample, double clip);

    /** N, the rows the objective is over (whichever a sample keeps): DP-SGD divides by q·N. */
    long rows();
}
