package org.gradspark.job.fit;

import java.util.List;
import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.RowSample;

/**
 * What {@code fit} minimises: a function of the model's weights, its value and gradient computed
 * together in one pass. The job's objective is the distributed {@code Evaluator} (rows kept in the
 * executors' memory, partial gradients reduced in partition order); tests use small closed forms.
 * The value must be exactly the function whose gradient is returned, and both must be the same bits
 * for the same weights (and sample): the optimisers' determinism and bit-for-bit resume rest on it.
 */
public interface FitObjective {

    /** The weight keys, in the model's order (the order of the optimisers' flat vector). */
    List<String> keys();

    /** Where the optimisation starts: {@code --weights}, or the seeded initialisation. */
    Map<String, Tensor> initialWeights();

    /**
     * The objective and its gradient (same keys, shapes and dtype as {@code weights}) over all rows
     * ({@code sample} null) or over the rows a {@link RowSample} keeps; {@link Evaluator.Value#objective}, {@code gradient},
     * {@code rowsUsed} and {@code seconds} are what fit reads.
     */
    Evaluator.Value evaluate(Map<String, Tensor> weights, RowSample sample);

    /**
     * The full-batch product of a curvature matrix of the objective (L2 term not included) with
     * {@code vector} (same keys and shapes as {@code weights}): the Hessian's, or the Gauss-Newton
     * matrix's {@code J^T H_loss J}; deterministic as {@link #evaluate} is. The second-order optimisers'
     * one need beyond {@link #evaluate}.
     *
     * @throws UnsupportedOperationException for an objective without curvature products (the default)
     */
    default Map<String, Tensor> curvatureProduct(Map<String, Tensor> weights, Map<String, Tensor> vector, org.gradspark.ad.batch.BatchGradient.Curvature kind) {
        throw new UnsupportedOperationException("this objective has no curvature products");
    }

    /**
     * {@code --solve dense}'s one pass at {@code weights}: the full-batch value and gradient ({@link #evaluate}'s
     * bits) and the Gauss-Newton matrix {@code J^T H_loss J} (L2 term not included), row-major P × P in the
     * order of {@link #keys} (each weight flattened row-major).
     *
     * @throws UnsupportedOperationException for an objective without it (the default)
     */
    default GaussNewtonSystem gaussNewtonSystem(Map<String, Tensor> weights) {
        throw new UnsupportedOperationException("this objective has no dense Gauss-Newton matrix");
    }

    /** A value and gradient with the Gauss-Newton matrix at the same weights. */
    record GaussNewtonSystem(Evaluator.Value value, double[] matrix) {}

    /**
     * The settings, by option, that the objective's bits depend on beyond what it is (the job's:
     * {@code --partitions}, {@code --chunk-rows}, {@code --backend}, {@code --on-nan}, which decide how
     * the float sums are split and ordered): a run resumed from a checkpoint must have the same. None
     * by default: an objective computed the same way whatever its settings.
     */
    default Map<String, Object> evaluationSettings() {
        return Map.of();
    }

    /**
     * Digests of the rows the objective is over, by source (the job's: {@code input}, {@code sens},
     * {@code labels}), recorded in each checkpoint: a run resumed from one must be over the same rows.
     * Asked at most once per run, before the first checkpoint is written or a checkpoint is resumed.
     * None by default: an objective without rows of its own.
     */
    default Map<String, String> rowsDigest() {
        return Map.of();
    }
}
