package org.gradspark.job.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.gradspark.ad.DType;
import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.nn.Activation;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.PerExampleOutput;
import org.gradspark.job.exec.StatisticsSpec;
import org.gradspark.job.io.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code grad} job's options. Each flag {@code --name} is also the key
 * {@code spark.gradspark.name} (from {@code conf/gradspark-defaults.conf} or {@code --conf});
 * flags on the command line win. Bad values are {@link BadInputException}s naming the option.
 */
@Command(name = "grad", mixinStandardHelpOptions = false, showDefaultValues = true, description = "Computes gradients over a partitioned batch on Spark.")
public final class JobOptions {
    public static final String KEY_PREFIX = "spark.gradspark.";

    // Every option's help names its default: picocli adds "Default: VALUE" (showDefaultValues); an
    // option without one says "  Default: none" and what happens then.
    @Option(names = "--model", description = "mlp (the built-in MLP of --layers) or class (with --model-class)") String model = "mlp";
    @Option(names = "--model-class", description = {"a user Cell with a no-argument constructor, instead of the MLP (its jar via --jars)",
        "  Default: none (the MLP)"}) String modelClass;
    @Option(names = "--layers", description = "the MLP's widths, input first (with --weights and no --layers: the weights' shapes)")
    String layers = "8,32,32,3";
    @Option(names = "--activation", description = "tanh|sin|sigmoid|relu|identity, after every layer but the last") String activation = "tanh";
    @Option(names = "--weights", description = {".npz with w0,b0,w1,b1,... (w_k [in, out], b_k [out])", "  Default: none (drawn from --seed)"}) String weights;
    @Option(names = "--seed", description = "seed of the drawn weights and of the --synthetic rows") long seed = 42;
    @Option(names = "--input", description = {".npy, .parquet or .csv of N rows of features (a Parquet/CSV directory: every file in it)",
        "  Default: none (--synthetic rows)"}) String input;
    @Option(names = "--features-col", description = {"parquet/csv: the array column of features", "  Default: none (every column, all numeric)"})
    String featuresCol;
    // picocli leaves a boolean's default out of the help unless told.
    @Option(names = "--csv-header", arity = "1", paramLabel = "true|false", showDefaultValue = CommandLine.Help.Visibility.ALWAYS,
            description = "whether each .csv file's first line names the columns; with true, a first line of numbers only is refused")
    boolean csvHeader = true;
    @Option(names = "--synthetic", description = "N synthetic rows (uniform in [-1, 1), drawn from --seed) when there is no --input") long synthetic = 100_000;
    @Option(names = "--sens", description = {".npy N x out output sensitivities", "  Default: none (ones)"}) String sens;
    @Option(names = "--labels", description = {".npy labels for --loss", "  Default: none (no loss)"}) String labels;
    @Option(names = "--loss", description = {"mse|softmax-cross-entropy (needs --labels)", "  Default: none (the model's outputs)"}) String loss;
    @Option(names = "--wrt", description = "weights|inputs|all") String wrt = "weights";
    @Option(names = "--order", description = "input derivative order K (--derivative nested)") int order = 1;
    @Option(names = "--derivative", description = "nested|grad|laplacian|hessian-diagonal|jacobian|hessian: the per-example input derivative with --wrt inputs|all;"
            + " nested: MindSpore's nesting of order --order; the others are per-example operators of the outputs")
    String derivative = "nested";
    @Option(names = "--estimator", description = "exact|hutchinson:K|stde:K: how --derivative laplacian (or, without it, a --model-class Cell that"
            + " implements org.gradspark.ad.RowAware) gets each point's Laplacian; hutchinson and stde average K random directions per point (drawn from --seed"
            + " and the row's index: the same on any partitioning), unbiased")
    String estimator = "exact";
    @Option(names = "--mode", description = "grad|hvp") String mode = "grad";
    @Option(names = "--vector", description = {".npz direction for --mode hvp, the weights' keys", "  Default: none"}) String vector;
    @Option(names = "--reduction", description = "sum|mean") String reduction = "sum";
    @Option(names = "--partitions", description = "partitions of the rows; 0: Spark's default parallelism") int partitions = 0;
    @Option(names = "--dtype", description = "float32|float64") String dtype = "float32";
    @Option(names = "--backend", description = "the kernels: auto, or a backend of this build (listed below)") String backend = "auto";
    @Option(names = "--chunk-rows", description = "rows per chunk inside a partition (executor memory follows this)") int chunkRows = 4096;
    @Option(names = "--on-nan", description = "fail|skip rows with NaN/Inf inputs") String onNan = "fail";
    @Option(names = "--out", description = "output directory (a Hadoop path: hdfs://, s3a://, file: or a bare path on fs.defaultFS)") String out = "gradspark-out";
    @Option(names = "--input-grads-format", description = "npy|parquet: input derivatives as input_grads/part-NNNNN.npy or a Parquet dataset (row, grad)")
    String inputGradsFormat = "npy";
    @Option(names = "--check-finite", description = "outputs|ops|none: refuse NaN/Inf in the results; ops also names the first op that made one (slower)")
    String checkFinite = "outputs";
    @Option(names = "--per-example", description = {"grad-norm|grad-norm-per-key|grad-dot:V.npz with --wrt weights: each example's weight-gradient norm,"
        + " its norm per weight key, or its dot product with V (the weights' keys), in grad_norms/ or grad_dots/ (README: Gradient statistics)",
        "  Default: none"}) String perExample;
    @Option(names = "--grad-stats", description = {"sum-of-squares,ggn-diagonal (either or both) with --wrt weights: the per-example gradients' sum of squares"
        + " (grad_sum_squares.npz) and the Gauss-Newton diagonal of --loss (ggn_diagonal.npz)", "  Default: none"}) String gradStats;
    @Option(names = "--clip", description = {"C > 0 with --wrt weights: grads.npz is the sum of the per-example gradients each clipped to norm C",
        "  Default: none (the plain sum)"}) Double clip;
    @Option(names = "--repeat", description = "evaluate N times in one application, rows kept in memory (benchmarks: each evaluation's time in summary.json)")
    int repeat = 1;

    /**
     * Settings under {@code spark.gradspark.*} that are not job options (read by the driver from
     * the Spark conf); any other key under the prefix must name an option.
     */
    public static final Set<String> SETTINGS = Set.of("logLevel", "shardThreshold", "warmUp", "clusterConsole", "executorWait");

    // Options whose value came from a spark.gradspark.* key (no flag overrode it): messages name the key too.
    private Map<String, String> keyOf = Map.of();
    // Whether --synthetic was on the command line (the defaults file always sets its key).
    private boolean syntheticGiven;
    // Whether --layers was on the command line: without it, --weights gives the widths.
    private boolean layersGiven;
    // Whether --csv-header was on the command line (the defaults file always sets its key).
    private boolean csvHeaderGiven;

    /**
     * Parses the flags after the {@code spark.gradspark.*} keys (which they override). Reads no
     * file: {@link JobInputs#check} checks what they name, once.
     *
     * @throws BadInputException naming the option (and the key it came from) at fault
     */
    public static JobConfig parse(Map<String, String> sparkConf, String... args) {
        JobOptions o = new JobOptions();
        // A value is what was written: "--out @x" is the path @x, not the contents of the file x (picocli's @-files).
        CommandLine cl = new CommandLine(o).setOverwrittenOptionsAllowed(true).setCaseInsensitiveEnumValuesAllowed(true).setExpandAtFiles(false);
        List<String> all = new ArrayList<>();
        Map<String, String> keyOf = new java.util.HashMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(sparkConf).entrySet()) {
            if (!e.getKey().startsWith(KEY_PREFIX)) continue;
            String name = e.getKey().substring(KEY_PREFIX.length());
            if (SETTINGS.contains(name)) continue;
            if (name.startsWith("fit.")) continue;   // the fit command's own keys (org.gradspark.job.cli.FitOptions)
            String flag = "--" + name;
            if (cl.getCommandSpec().findOption(flag) == null) {
                throw new BadInputException("unknown key " + e.getKey() + " (from --conf, a properties file or -D): there is no option "
                        + flag + "; each option --NAME is the key " + KEY_PREFIX + "NAME");
            }
            all.add(flag);
            all.add(e.getValue());
            if (!given(args, flag)) keyOf.put(flag, e.getKey());
        }
        all.addAll(Arrays.asList(args));
        try {
            cl.parseArgs(all.toArray(new String[0]));
        } catch (CommandLine.ParameterException e) {
            String msg = e.getMessage();
            for (Map.Entry<String, String> k : keyOf.entrySet()) msg = msg.replace("'" + k.getKey() + "'", "'" + k.getKey() + "' (key " + k.getValue() + ")");
            if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                msg += "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
            }
            throw new BadInputException("bad option: " + msg + " (gradspark-submit grad --help lists the options)");
        }
        o.keyOf = keyOf;
        o.syntheticGiven = given(args, "--synthetic");
        o.layersGiven = given(args, "--layers");
        o.csvHeaderGiven = given(args, "--csv-header");
        return o.toConfig();
    }

    private static boolean given(String[] args, String flag) {
        return Arrays.stream(args).anyMatch(a -> a.equals(flag) || a.startsWith(flag + "="));
    }

    /** The usage text: every option with its default. */
    public static String usage() {
        return new CommandLine(new JobOptions()).getUsageMessage() + backendsLine();
    }

    /**
     * The options' help (each with its default) without the synopsis, less the options named in
     * {@code leftOut}: another command's usage lists the job options it takes ({@code fit}'s).
     */
    public static String optionHelp(Set<String> leftOut) {
        CommandLine.Model.CommandSpec spec = new CommandLine(new JobOptions()).getCommandSpec();
        for (String name : leftOut) spec.remove(java.util.Objects.requireNonNull(spec.findOption(name), name));
        return new CommandLine.Help(spec, CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF)).optionList() + backendsLine();
    }

    private static String backendsLine() {
        return "Backends of this build: " + String.join(", ", org.gradspark.ad.backend.Backends.names()) + "\n";
    }

    /** The spec of the flags: each value parsed to its type, then checked together by {@link JobConfig.Builder#build()}. */
    private JobConfig toConfig() {
        JobConfig.Builder b = JobConfig.builder().optionNames(this::opt);
        if (modelClass != null) b.modelClass(modelClass);
        else if (!model.equals("mlp")) throw new BadInputException(opt("--model") + ": expected mlp (or --model-class NAME), got '" + model + "'");
        b.layers(weights != null && modelClass == null && !layersGiven ? null : widths());   // null: --weights' shapes give them (JobInputs)
        try {
            b.activation(Activation.Kind.parse(activation));
        } catch (IllegalArgumentException e) {
            throw new BadInputException(opt("--activation") + ": " + e.getMessage());
        }
        b.loss(loss == null ? JobConfig.Loss.NONE : choice(opt("--loss"), loss, JobConfig.Loss.class)).labels(labels);
        b.mode(choice(opt("--mode"), mode, JobConfig.Mode.class)).vector(vector).order(order);
        b.wrt(choice(opt("--wrt"), wrt, JobConfig.Wrt.class)).derivative(derivative()).sens(sens);
        // --estimator is --derivative laplacian's when it is asked, else a --model-class Cell's draws (RowAware).
        if (!derivative.equals("laplacian")) b.estimator(estimator());
        b.weights(weights).seed(seed).input(input).featuresCol(featuresCol);
        if (input == null || syntheticGiven) b.synthetic(synthetic);   // a key's (the defaults file's) --synthetic yields to --input
        if (csvHeaderGiven) b.csvHeader(csvHeader);
        else b.csvHeaderFromKey(csvHeader);
        b.partitions(partitions).repeat(repeat).chunkRows(chunkRows).backend(backend).dtype(switch (dtype) {
            case "float32" -> DType.FLOAT32;
            case "float64" -> DType.FLOAT64;
            default -> throw new BadInputException(opt("--dtype") + ": expected float32 or float64, got '" + dtype + "'");
        });
        b.reduction(choice(opt("--reduction"), reduction, JobConfig.Reduction.class)).onNan(choice(opt("--on-nan"), onNan, JobConfig.OnNan.class)).out(out)
                .inputGradsFormat(choice(opt("--input-grads-format"), inputGradsFormat, JobConfig.InputGradsFormat.class))
                .checkFinite(choice(opt("--check-finite"), checkFinite, JobConfig.CheckFinite.class));
        return b.statistics(statistics()).build();
    }

    /** --per-example, --grad-stats and --clip (checked against --wrt, --mode and --loss by the builder). */
    private StatisticsSpec statistics() {
        if (clip != null && !(clip > 0 && clip < Double.POSITIVE_INFINITY)) {
            throw new BadInputException(opt("--clip") + ": expected a positive, finite norm C, got " + clip);
        }
        Set<String> stats = StatisticsSpec.gradStats(opt("--grad-stats"), gradStats);
        return new StatisticsSpec(StatisticsSpec.perExample(opt("--per-example"), perExample), stats.contains(StatisticsSpec.SUM_OF_SQUARES),
                stats.contains(StatisticsSpec.GGN_DIAGONAL), clip == null ? 0 : clip);
    }

    /** --layers as widths. */
    private int[] widths() {
        int[] widths;
        try {
            widths = Arrays.stream(layers.split(",", -1)).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new BadInputException(opt("--layers") + ": expected comma-separated widths like 8,32,32,3, got '" + layers + "'");
        }
        if (widths.length < 2 || Arrays.stream(widths).anyMatch(w -> w <= 0)) {
            throw new BadInputException(opt("--layers") + ": needs at least an input and an output width, all positive, got '" + layers + "'");
        }
        return widths;
    }

    /** --derivative's kind (checked against --wrt, --mode, --order and --sens by the builder). */
    private PerExampleOutput derivative() {
        if (!PerExampleOutput.names().contains(derivative)) {
            throw new BadInputException(opt("--derivative") + ": expected " + String.join("|", PerExampleOutput.names()) + ", got '" + derivative + "'");
        }
        PerExampleOutput kind = PerExampleOutput.named(derivative, order);
        LaplacianEstimator how = estimator();
        return kind instanceof PerExampleOutput.Laplacian ? new PerExampleOutput.Laplacian(how, seed) : kind;
    }

    /** --estimator (checked against --derivative and --model-class by the builder). */
    private LaplacianEstimator estimator() {
        try {
            return LaplacianEstimator.parse(estimator);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(opt("--estimator") + ": " + e.getMessage());
        }
    }

    /** The option's name, and the spark.gradspark.* key its value came from, if it did. */
    private String opt(String name) {
        String key = keyOf.get(name);
        return key == null ? name : name + " (key " + key + ")";
    }

    private static <E extends Enum<E>> E choice(String option, String value, Class<E> type) {
        try {
            return Enum.valueOf(type, value.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            String allowed = String.join("|", Arrays.stream(type.getEnumConstants()).map(c -> c.name().toLowerCase(Locale.ROOT).replace('_', '-')).toList());
            throw new BadInputException(option + ": expected " + allowed + ", got '" + value + "'");
        }
    }
}
