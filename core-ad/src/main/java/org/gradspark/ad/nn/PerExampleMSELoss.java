package org.gradspark.ad.nn;

import static org.gradspark.ad.Ops.mean;
import static org.gradspark.ad.Ops.square;
import static org.gradspark.ad.Ops.sub;

import org.gradspark.ad.Cell;
import org.gradspark.ad.Tensor;

/**
 * One squared error per example: {@code mean_j (prediction_ij - target_ij)^2} for each row i, shape
 * {@code [rows]} (what a batch job weights by per-example sensitivities and sums).
 */
public final class PerExampleMSELoss extends Cell {
    private static final long serialVersionUID = 1L;

    @Override public int inputCount() { return 2; }

    /** {@code construct(prediction, target)}, both {@code [rows, outputs]}. */
    @Override public Tensor construct(Tensor... in) {
        return mean(square(sub(in[0], in[1])), -1, false);
    }
}
