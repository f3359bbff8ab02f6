package org.gradspark.job.api;

import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.fit.DpSgd;
import org.gradspark.job.fit.FitSettings;
import org.gradspark.job.io.BadInputException;

/**
 * The fit command's spec: the job's spec, the optimiser's settings, the resume directory (null: a
 * fresh start); built by {@link #builder} (the Java API) or by {@code FitOptions#parse} (the CLI). Paths are
 * as given (qualified by {@link FitJob#prepare}).
 */
public record FitConfig(JobConfig job, FitSettings settings, String resume) {
    /**
     * A fit of {@code job}'s objective over its weights, with fit's defaults (L-BFGS, 100 iterations, a
     * checkpoint every 10). The job's {@code --reduction} is its own: fit's CLI makes {@code mean} the default.
     */
    public static Builder builder(JobConfig job) {
        return new Builder(java.util.Objects.requireNonNull(job, "job"));
    }

    /** Builds a {@link FitConfig}: typed settings, checked together in {@link #build()} with the CLI's lines. */
    public static final class Builder {
        private final JobConfig job;
        private FitSettings.Optimizer optimizer = FitSettings.Optimizer.LBFGS;
        private int iterations = 100, lbfgsMemory = 10, checkpointEvery = 10;
        private double tolerance = 1e-9, learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, minibatchFraction = 1.0, l2 = 0;
        private String resume;
        private DpSgd dp;
        private FitSettings.SecondOrder secondOrder = FitSettings.SecondOrder.DEFAULTS;

        private Builder(JobConfig job) { this.job = job; }

        /** Gauss-Newton and Newton-CG: CG iterations and tolerance, the starting damping. */
        public Builder secondOrder(FitSettings.SecondOrder so) { secondOrder = java.util.Objects.requireNonNull(so); return this; }

        public Builder optimizer(FitSettings.Optimizer o) { optimizer = java.util.Objects.requireNonNull(o); return this; }

        /** Iterations in all (a resumed run counts those before). */
        public Builder iterations(int n) { iterations = n; return this; }

        public Builder lbfgsMemory(int pairs) { lbfgsMemory = pairs; return this; }

        public Builder tolerance(double t) { tolerance = t; return this; }

        public Builder learningRate(double rate) { learningRate = rate; return this; }

        public Builder beta1(double b) { beta1 = b; return this; }

        public Builder beta2(double b) { beta2 = b; return this; }

        public Builder epsilon(double e) { epsilon = e; return this; }

        /** Adam/SGD: the share of the rows per step, sampled from the job's seed and the step. */
        public Builder minibatchFraction(double f) { minibatchFraction = f; return this; }

        public Builder l2(double lambda) { l2 = lambda; return this; }

        /** DP-SGD's clipping, noise and δ (NaN: 1/N); null: plain steps. */
        public Builder dp(DpSgd settings) { dp = settings; return this; }

        /** Iterations between checkpoints in --out/checkpoints (0: none). */
        public Builder checkpointEvery(int n) { checkpointEvery = n; return this; }

        /** A checkpoint directory, or --out/checkpoints (the latest); null: a fresh start. */
        public Builder resume(String dir) { resume = dir; return this; }

        /**
         * The fit's spec: the job must compute its weights' gradient once per evaluation.
         *
         * @throws BadInputException naming the option at fault, as the CLI does
         */
        public FitConfig build() {
            if (job.wrt() != JobConfig.Wrt.WEIGHTS) throw new BadInputException("--wrt " + job.wrt().name().toLowerCase() + ": fit optimises the weights (--wrt weights)");
            if (job.mode() != JobConfig.Mode.GRAD) throw new BadInputException("--mode hvp: fit evaluates gradients (--mode grad)");
            if (job.repeat() != 1) throw new BadInputException("--repeat: not a fit option (--iterations says how many steps)");
            requireCurvature(optimizer, job);
            requireDenseSolve(optimizer, job, secondOrder.solve());
            if (job.statistics().any()) {
                throw new BadInputException("--per-example, --grad-stats and --clip: not fit options (they are the grad job's gradient statistics)");
            }
            if (dp != null && !(job.estimator() instanceof org.gradspark.ad.LaplacianEstimator.Exact)) {
                throw new BadInputException("--estimator " + job.estimator().spelling() + " with --dp-clip: DP-SGD's clipped sum evaluates the Cell row by row, "
                        + "which would not start each row's draws at its own index; use --estimator exact");
            }
            if (dp != null && job.reduction() != JobConfig.Reduction.MEAN) {
                throw new BadInputException("--reduction sum with --dp-clip: a DP-SGD step is (clipped sum + noise) / (q*N), a mean by construction; "
                        + "leave --reduction at mean");
            }
            return new FitConfig(job, new FitSettings(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon,
                    minibatchFraction, job.seed(), l2, checkpointEvery, dp, secondOrder), resume);
        }

        /**
         * {@code --solve dense} assembles Gauss-Newton's {@code J^T H_loss J} for mse, where {@code H_loss} is
         * {@code 2 s_n / m} times the identity (the residual least-squares problems it is for); Newton-CG's
         * Hessian and softmax cross-entropy's per-row {@code H_loss} are the CG path's. The matrix is assembled
         * row by row, so a RowAware Cell's randomised draws (which start at a chunk's first row) are refused with it.
         */
        private static void requireDenseSolve(FitSettings.Optimizer optimizer, JobConfig job, FitSettings.Solve solve) {
            if (solve != FitSettings.Solve.DENSE) return;
            if (optimizer != FitSettings.Optimizer.GAUSS_NEWTON) {
                throw new BadInputException("--solve dense: only with --optimizer gauss-newton (got " + optimizer.cli() + "; newton-cg solves by --solve cg)");
            }
            if (job.loss() != JobConfig.Loss.MSE) {
                throw new BadInputException("--solve dense: assembles the Gauss-Newton matrix of --loss mse only, got --loss "
                        + job.loss().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + "; use --solve cg");
            }
            if (!(job.estimator() instanceof org.gradspark.ad.LaplacianEstimator.Exact)) {
                throw new BadInputException("--estimator " + job.estimator().spelling() + " with --solve dense: the Gauss-Newton matrix evaluates the Cell "
                        + "row by row, which would not start each row's draws at its own index; use --estimator exact or --solve cg");
            }
        }

        /**
         * Gauss-Newton needs a loss convex in the model's outputs, whose Hessian H_loss makes
         * {@code J^T H_loss J} positive semi-definite: mse or softmax cross-entropy (with --loss none
         * the objective is linear in the outputs and that matrix is 0). Newton-CG needs float64: its
         * Hessian products are forward-over-reverse sums whose float32 rounding (relative 1e-7 of terms
         * that cancel) decides CG's curvature tests and the LM ratio near a minimum, where the steps are small.
         */
        private static void requireCurvature(FitSettings.Optimizer optimizer, JobConfig job) {
            if (optimizer == FitSettings.Optimizer.GAUSS_NEWTON && job.loss() == JobConfig.Loss.NONE) {
                throw new BadInputException("--optimizer gauss-newton needs --loss mse or softmax-cross-entropy (its matrix is J^T H_loss J; with --loss "
                        + "none the objective is linear in the model's outputs): give a loss and --labels, or use --optimizer newton-cg");
            }
            if (optimizer == FitSettings.Optimizer.NEWTON_CG && job.dtype() != org.gradspark.ad.DType.FLOAT64) {
                throw new BadInputException("--optimizer newton-cg needs --dtype float64 (the Hessian products' float32 rounding decides its curvature "
                        + "tests near a minimum); got --dtype " + job.dtype().numpyName() + ", or use --optimizer gauss-newton");
            }
        }
    }
}
