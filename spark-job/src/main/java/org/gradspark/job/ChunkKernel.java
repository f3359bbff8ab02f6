package org.gradspark.job;

import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;

/**
 * A partition's core call on one chunk of its rows, and the partial sums it keeps: what
 * {@link PartitionTask}'s one chunk loop runs. {@link GradientChunkKernel}: the gradient, per-example
 * outputs and curvature products ({@code BatchGradient}); {@link StatisticsChunkKernel}: the gradient
 * statistics ({@code GradientStatistics}).
 */
interface ChunkKernel {

    /**
     * What one chunk adds to the partition's result besides the kernel's own partial sums: its per-example
     * outputs (summed into the job's sum of outputs), its share of the objective, how many of its rows were
     * left out, and its rows of the partition's part file (null when the kernel writes none).
     */
    record Outcome(Tensor outputs, double objective, long skippedRows, Tensor partRows) {}

    /** The dtype of the partition's part file, or null when this kernel writes none. */
    DType partDType();

    /** Runs the core on the chunk whose first row is {@code firstRow}, rows {@code skip} left out (null: none), and adds to the partial sums. */
    Outcome add(long firstRow, Tensor x, Tensor s, Tensor y, boolean[] skip);

    /** The partition's partial sums, in the order the job's reducer adds them. */
    double[][] partials();

    /**
     * The core {@code call} on a chunk of rows {@code x} from {@code firstRow}: a user Cell that does not fit
     * the rows is named in one line; with --check-finite ops, the first op that turns finite values into NaN or
     * an infinity is named ({@link NanPolicy#watchingOps}).
     */
    static <T> T guarded(JobConfig cfg, NanPolicy nan, long firstRow, Tensor x, java.util.function.Supplier<T> call) {
        return nan.watchingOps(firstRow, x.shape().dim(0), () -> {
            try {
                return call.get();
            } catch (IllegalArgumentException e) {
                // A user Cell that does not fit the rows (a width, a shape) is the user's mistake: one line naming it.
                if (cfg.modelClass() == null) throw e;
                throw new BadInputException("--model-class " + cfg.modelClass() + " on rows of " + x.shape().dim(1) + " values from "
                        + cfg.inputWhere() + (cfg.input() == null && cfg.inputName() == null ? " (--layers' first width)" : "") + ": " + e.getMessage(), e);
            }
        });
    }
}
