package org.gradspark.job.fit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.gradspark.job.JobConfig;
import org.gradspark.job.JobOptions;
import org.gradspark.job.io.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code fit} command's own options; every other option is the {@code grad} job's (model, data,
 * loss, labels, sens as example weights, dtype, backend, partitions, out: {@link JobOptions}). Each
 * fit option {@code --NAME} is also the key {@code spark.gradspark.fit.NAME}; flags win.
 * {@code --reduction} is fit's too, because its default differs: {@code mean} for training.
 */
@Command(name = "fit", showDefaultValues = true, description = "Minimises the job's objective over its rows with L-BFGS, Adam, SGD, Gauss-Newton or Newton-CG, on Spark.")
public final class FitOptions {
    public static final String KEY_PREFIX = "spark.gradspark.fit.";

    @Option(names = "--optimizer", description = "lbfgs|adam|sgd|gauss-newton|newton-cg") String optimizer = "lbfgs";
    @Option(names = "--iterations", description = "optimiser iterations in all (a resumed run counts those before)") int iterations = 100;
    @Option(names = "--lbfgs-memory", description = "L-BFGS: (s, y) pairs kept") int lbfgsMemory = 10;
    @Option(names = "--tolerance", description = "L-BFGS: Breeze's convergence tolerance; gauss-newton, newton-cg: the gradient norm to stop at") double tolerance = 1e-9;
    @Option(names = "--cg-iterations", description = "gauss-newton, newton-cg: conjugate-gradient iterations (curvature products) per iteration, at most") int cgIterations = 50;
    @Option(names = "--cg-tolerance", description = "gauss-newton, newton-cg: CG stops at a residual below this fraction of the gradient's norm") double cgTolerance = 1e-4;
    @Option(names = "--damping", description = "gauss-newton, newton-cg: the starting Levenberg-Marquardt damping lambda") double damping = 1e-3;
    @Option(names = "--solve", description = "gauss-newton: cg (truncated CG on curvature products) or dense (the P x P Gauss-Newton matrix in one pass, "
            + "Cholesky on the driver; --loss mse, at most 2048 weights)") String solve = "cg";
    @Option(names = "--learning-rate", description = "Adam/SGD: step size") double learningRate = 0.001;
    @Option(names = "--beta1", description = "Adam: first moment decay") double beta1 = 0.9;
    @Option(names = "--beta2", description = "Adam: second moment decay") double beta2 = 0.999;
    @Option(names = "--epsilon", description = "Adam: denominator term") double epsilon = 1e-8;
    @Option(names = "--minibatch-fraction", description = "Adam/SGD: share of the rows per step (seeded by --seed and the step)") double minibatchFraction = 1.0;
    @Option(names = "--l2", description = "L2 penalty l2/2 * |w|^2 over every parameter") double l2 = 0;
    @Option(names = "--dp-clip", description = {"DP-SGD (Adam/SGD, --minibatch-fraction q < 1): each row's gradient clipped to this norm C, noise added",
            "  Default: none (plain steps)"}) Double dpClip;
    @Option(names = "--dp-noise-multiplier", description = {"DP-SGD: sigma, the noise N(0, sigma^2 C^2) per coordinate of the clipped sum", "  Default: none"})
    Double dpNoiseMultiplier;
    @Option(names = "--dp-delta", description = {"DP-SGD: the delta at which epsilon is reported", "  Default: 1/N, N the input's rows"}) Double dpDelta;
    @Option(names = "--checkpoint-every", description = "iterations between checkpoints in --out/checkpoints (0: none)") int checkpointEvery = 10;
    @Option(names = "--resume", description = {"a checkpoint directory, or --out/checkpoints (the latest)", "  Default: none (a fresh start)"}) String resume;
    @Option(names = "--reduction", description = "sum|mean (fit's default: mean)") String reduction = "mean";
    @CommandLine.Unmatched List<String> jobArgs = new ArrayList<>();

    /**
     * The fit command's spec: the job's spec, the optimiser's settings, the resume directory (null: a
     * fresh start); built by {@link #builder} (the Java API) or by {@link #parse} (the CLI). Paths are
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

    /**
     * Parses fit's flags after its {@code spark.gradspark.fit.*} keys, and the rest as the {@code grad}
     * job's options (after their keys). Reads no file.
     *
     * @throws BadInputException naming the option or key at fault
     */
    public static FitConfig parse(Map<String, String> sparkConf, String... args) {
        FitOptions o = new FitOptions();
        // A value is what was written: "--resume @x" is the path @x, not the contents of the file x (picocli's @-files).
        CommandLine cl = new CommandLine(o).setOverwrittenOptionsAllowed(true).setExpandAtFiles(false);
        List<String> all = new ArrayList<>();
        Map<String, String> jobKeys = new HashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(sparkConf).entrySet()) {
            if (!e.getKey().startsWith(KEY_PREFIX)) {
                jobKeys.put(e.getKey(), e.getValue());
                continue;
            }
            String flag = "--" + e.getKey().substring(KEY_PREFIX.length());
            if (cl.getCommandSpec().findOption(flag) == null) {
                throw new BadInputException("unknown key " + e.getKey() + ": fit has no option " + flag + "; each fit option --NAME is the key " + KEY_PREFIX + "NAME");
            }
            all.add(flag);
            all.add(e.getValue());
        }
        all.addAll(Arrays.asList(args));
        try {
            cl.parseArgs(all.toArray(new String[0]));
        } catch (CommandLine.ParameterException e) {
            throw new BadInputException("bad option: " + e.getMessage() + " (gradspark-submit fit --help lists the options)");
        }
        FitSettings.Optimizer opt = FitSettings.Optimizer.parse("--optimizer", o.optimizer);
        List<String> job = new ArrayList<>(o.jobArgs);
        job.add("--reduction");
        job.add(o.reduction);
        JobConfig cfg;
        try {
            cfg = JobOptions.parse(jobKeys, job.toArray(new String[0]));
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage().replace("gradspark-submit grad --help", "gradspark-submit fit --help"), e);
        }
        return FitConfig.builder(cfg).optimizer(opt).iterations(o.iterations).lbfgsMemory(o.lbfgsMemory).tolerance(o.tolerance).learningRate(o.learningRate)
                .beta1(o.beta1).beta2(o.beta2).epsilon(o.epsilon).minibatchFraction(o.minibatchFraction).l2(o.l2).checkpointEvery(o.checkpointEvery)
                .dp(o.dpSgd()).secondOrder(new FitSettings.SecondOrder(o.cgIterations, o.cgTolerance, o.damping, FitSettings.Solve.parse("--solve", o.solve))).resume(o.resume).build();
    }

    /** DP-SGD's settings when --dp-clip is given (with its --dp-noise-multiplier: no default noise); the other two alone are refused. */
    private DpSgd dpSgd() {
        if (dpClip == null) {
            if (dpNoiseMultiplier != null) throw new BadInputException("--dp-noise-multiplier " + dpNoiseMultiplier + ": only with --dp-clip C (DP-SGD)");
            if (dpDelta != null) throw new BadInputException("--dp-delta " + dpDelta + ": only with --dp-clip C (DP-SGD)");
            return null;
        }
        if (dpNoiseMultiplier == null) {
            throw new BadInputException("--dp-clip " + dpClip + ": needs --dp-noise-multiplier sigma (the noise N(0, sigma^2 C^2) that makes the steps private)");
        }
        return new DpSgd(dpClip, dpNoiseMultiplier, dpDelta == null ? Double.NaN : dpDelta);
    }

    /**
     * The grad job's options that fit's help leaves out: those it refuses unless left at their default
     * (what is computed: {@code --wrt}, {@code --mode}, {@code --order}, {@code --derivative},
     * {@code --vector}, {@code --repeat}, the gradient statistics), those it does not use (the input derivatives' format;
     * {@code --check-finite}, as fit refuses a non-finite objective itself; the Parquet/CSV options, as
     * fit reads .npy rows), and {@code --reduction}, which is fit's own.
     */
    static final Set<String> NOT_FIT_OPTIONS = Set.of("--wrt", "--mode", "--order", "--derivative", "--vector", "--repeat",
            "--input-grads-format", "--check-finite", "--features-col", "--csv-header", "--reduction", "--per-example", "--grad-stats", "--clip");

    /** The usage text: fit's options, then the job's that fit takes, each with its default. */
    public static String usage() {
        return new CommandLine(new FitOptions()).getUsageMessage() + "\nand the grad job's options (model, data, loss, dtype, backend, partitions, --out):\n"
                + JobOptions.optionHelp(NOT_FIT_OPTIONS);
    }
}
