package org.gradspark.job.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.fit.DpSgd;
import org.gradspark.job.fit.FitSettings;
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
