package org.gradspark.job.exec;

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
     * The seed of a {@link org.gradspark.ad.RowAware} Cell's draws in an evaluation over {@code sample}: a step over
     * a sample of the rows (Adam, SGD with --minibatch-fraction below 1) mixes its step into --seed, fresh
     * directions with its fresh rows as a stochastic PINN step draws them; a full-batch evaluation (L-BFGS, the
     * second-order solvers, full-batch Adam) keeps --seed, so the objective is one function of the weights, as line
     * searches and CG need.
     */
    static long drawSeed(JobConfig cfg, RowSample sample) {
        return sample == null ? cfg.seed() : org.gradspark.ad.LaplacianEstimator.rowSeed(cfg.seed(), sample.step());
    }

    /**
     * A {@link org.gradspark.ad.RowAware} Cell's draws for the chunk whose first row in the input is {@code firstRow}:
     * --estimator, the evaluation's seed ({@link #drawSeed}) and that row, so a row's directions do not depend on the
     * partitioning; other Cells are left as they are.
     */
    static void draw(org.gradspark.ad.Cell net, JobConfig cfg, long seed, long firstRow) {
        if (net instanceof org.gradspark.ad.RowAware cell) cell.drawFrom(new org.gradspark.ad.RowDraws(cfg.estimator(), seed, firstRow));
    }

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
