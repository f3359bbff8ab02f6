package org.gradspark.job.exec;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.gradspark.ad.DType;
import org.gradspark.ad.nn.Activation;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.RowSource;
import org.gradspark.job.io.TabularInput;

/**
 * The grad job's spec: everything a gradient job is asked to do, immutable, built by a
 * {@link Builder} with typed values and checked once, in {@link Builder#build()}, with the messages
 * the CLI gives. {@code JobOptions} makes one from the CLI flags and {@code spark.gradspark.*} keys;
 * a Java program builds its own:
 *
 * <pre>{@code
 * JobConfig job = JobConfig.builder().layers(3, 16, 2).synthetic(10_000).wrt(JobConfig.Wrt.ALL).out("hdfs://nn:8020/out").build();
 * JobConfig again = job.toBuilder().out("hdfs://nn:8020/out2").build();
 * }</pre>
 *
 * Paths are strings as the user gave them (a Hadoop path: {@code hdfs://}, {@code s3a://},
 * {@code file:} or bare), fully qualified by {@link #qualified} before the job reads them. The spec
 * travels to the tasks (it is {@link Serializable}).
 */
public final class JobConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Loss { NONE, MSE, SOFTMAX_CROSS_ENTROPY }

    public enum Wrt { WEIGHTS, INPUTS, ALL }

    public enum Mode { GRAD, HVP }

    public enum Reduction { SUM, MEAN }

    public enum OnNan { FAIL, SKIP }

    /**
     * Non-finite values in the results: {@code OUTPUTS} refuses to write a NaN or an infinity into
     * grads.npz or the input derivatives; {@code OPS} also watches every op and names the first that
     * produced one ({@code Functional.detectAnomaly}, slower); {@code NONE} writes whatever came out.
     */
    public enum CheckFinite { OUTPUTS, OPS, NONE }

    /** How the per-example input derivatives are written under {@code --out/input_grads}. */
    public enum InputGradsFormat { NPY, PARQUET }

    /**
     * The model and how it is computed: a user Cell class ({@code cellClass}), else the built-in MLP of
     * {@code layers} (null until read from the weights) with {@code activation} after every layer but
     * the last; the per-example {@code loss}; the dtype and the backend. What an executor's warm-up needs.
     */
    public record Model(String cellClass, int[] layers, Activation.Kind activation, Loss loss, DType dtype, String backend) implements Serializable {
        public Model {
            layers = layers == null ? null : layers.clone();
            Objects.requireNonNull(activation, "activation");
            Objects.requireNonNull(loss, "loss");
            Objects.requireNonNull(dtype, "dtype");
            Objects.requireNonNull(backend, "backend");
        }

        @Override public int[] layers() { return layers == null ? null : layers.clone(); }

        /** The same model with the MLP's widths {@code widths}. */
        public Model withLayers(int[] widths) {
            return new Model(cellClass, widths, activation, loss, dtype, backend);
        }

        /**
         * The MLP's model as one line of {@code key=value} words, {@code backend=cpu dtype=float32
         * layers=8,32,3 activation=tanh loss=none}: how it travels in a Spark setting (an executor's
         * warm-up, {@link #ofText}).
         */
        public String text() {
            if (cellClass != null || layers == null) throw new IllegalStateException("only the MLP of known widths has a text form: " + this);
            return "backend=" + backend + " dtype=" + dtype.numpyName() + " layers=" + String.join(",", Arrays.stream(layers).mapToObj(String::valueOf).toList())
                    + " activation=" + lower(activation) + " loss=" + lower(loss);
        }

        /**
         * The MLP's model of {@link #text()}.
         *
         * @throws IllegalArgumentException naming the word that is not one of the five keys, a key missing, or a value that is not one
         */
        public static Model ofText(String text) {
            java.util.Map<String, String> v = new java.util.HashMap<>();
            for (String word : text.trim().split("\\s+")) {
                int eq = word.indexOf('=');
                String key = eq < 0 ? word : word.substring(0, eq);
                if (eq < 0 || !List.of("backend", "dtype", "layers", "activation", "loss").contains(key) || v.put(key, word.substring(eq + 1)) != null) {
                    throw new IllegalArgumentException("not a model's text: '" + word + "' in '" + text + "'");
                }
            }
            if (v.size() != 5) throw new IllegalArgumentException("not a model's text (backend, dtype, layers, activation and loss): '" + text + "'");
            int[] widths = Arrays.stream(v.get("layers").split(",")).mapToInt(Integer::parseInt).toArray();
            return new Model(null, widths, Activation.Kind.parse(v.get("activation")), Loss.valueOf(v.get("loss").toUpperCase(Locale.ROOT).replace('-', '_')),
                    DType.valueOf(v.get("dtype").toUpperCase(Locale.ROOT)), v.get("backend"));
        }

        @Override public boolean equals(Object o) {
            return o instanceof Model m && Objects.equals(cellClass, m.cellClass) && Arrays.equals(layers, m.layers) && activation == m.activation
                    && loss == m.loss && dtype == m.dtype && backend.equals(m.backend);
        }

        @Override public int hashCode() { return Objects.hash(cellClass, Arrays.hashCode(layers), activation, loss, dtype, backend); }

        @Override public String toString() {
            return "Model[" + (cellClass != null ? "cellClass=" + cellClass : "layers=" + (layers == null ? "from the weights" : Arrays.toString(layers))
                    + ", activation=" + lower(activation)) + ", loss=" + lower(loss) + ", dtype=" + dtype.numpyName() + ", backend=" + backend + "]";
        }
    }

    /**
     * The rows and what goes with them: an {@code input} file (.npy, or Parquet/CSV with
     * {@code featuresCol} and {@code csvHeader}), else {@code syntheticRows} drawn rows, or the rows
     * already written as .npy parts ({@code parts}, a Parquet/CSV input or a Dataset, named
     * {@code name} in messages); the sensitivities and labels files (null: ones, no loss).
     */
    public record Data(String input, String featuresCol, boolean csvHeader, long syntheticRows, String sens, String labels,
                       String name, RowSource.NpyParts parts) implements Serializable {}

    private final Model model;
    private final Data data;
    private final String weights;
    private final long seed;
    private final Wrt wrt;
    private final int order;
    private final PerExampleOutput derivative;
    private final Mode mode;
    private final String vector;
    private final Reduction reduction;
    private final int partitions;
    private final int chunkRows;
    private final OnNan onNan;
    private final String out;
    private final int repeat;
    private final InputGradsFormat inputGradsFormat;
    private final CheckFinite checkFinite;
    private final StatisticsSpec statistics;
    private final org.gradspark.ad.LaplacianEstimator estimator;

    private JobConfig(Builder b) {
        model = new Model(b.cellClass, b.layers, b.activation, b.loss, b.dtype, b.backend);
        data = new Data(b.input, b.featuresCol, b.csvHeader, b.input == null ? b.syntheticRows : 0, b.sens, b.labels, b.name, b.parts);
        weights = b.weights;
        seed = b.seed;
        wrt = b.wrt;
        order = b.order;
        derivative = b.derivative instanceof PerExampleOutput.Nested ? new PerExampleOutput.Nested(b.order) : b.derivative;
        mode = b.mode;
        vector = b.vector;
        reduction = b.reduction;
        partitions = b.partitions;
        chunkRows = b.chunkRows;
        onNan = b.onNan;
        out = b.out;
        repeat = b.repeat;
        inputGradsFormat = b.inputGradsFormat;
        checkFinite = b.checkFinite;
        statistics = b.statistics;
        estimator = b.estimator;
    }

    /** A builder with the CLI's defaults (the MLP 8,32,32,3 with tanh, 100,000 synthetic rows, the weights' gradient into gradspark-out). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this spec's values: {@code spec.toBuilder().out(other).build()} is the same job writing elsewhere. */
    public Builder toBuilder() {
        Builder b = new Builder().model(model).weights(weights).seed(seed).wrt(wrt).order(order).derivative(derivative).mode(mode).vector(vector)
                .reduction(reduction).partitions(partitions).chunkRows(chunkRows).onNan(onNan).out(out).repeat(repeat)
                .inputGradsFormat(inputGradsFormat).checkFinite(checkFinite).statistics(statistics).estimator(estimator);
        b.input = data.input();
        b.featuresCol = data.featuresCol();
        b.csvHeader = data.csvHeader();
        b.syntheticRows = data.syntheticRows();
        b.sens = data.sens();
        b.labels = data.labels();
        b.name = data.name();
        b.parts = data.parts();
        return b;
    }

    public Model model() { return model; }

    public Data data() { return data; }

    public String modelClass() { return model.cellClass(); }

    /** The MLP's widths, input first; null until read from --weights (no --layers given), and for a user Cell. */
    public int[] layers() { return model.layers(); }

    public Activation.Kind activation() { return model.activation(); }

    /** The weights file; null: drawn from {@link #seed}. */
    public String weights() { return weights; }

    public long seed() { return seed; }

    /** The rows' file; null: synthetic rows, or the rows as .npy parts ({@link #inputParts}). */
    public String input() { return data.input(); }

    public String featuresCol() { return data.featuresCol(); }

    public boolean csvHeader() { return data.csvHeader(); }

    public long syntheticRows() { return data.syntheticRows(); }

    /** The sensitivities file; null: ones. */
    public String sens() { return data.sens(); }

    /** The labels file; null: no loss. */
    public String labels() { return data.labels(); }

    public Loss loss() { return model.loss(); }

    public Wrt wrt() { return wrt; }

    /** The order of the nested input derivatives (--order; 1 for the operators). */
    public int order() { return order; }

    /** The per-example output of --wrt inputs|all: nested of {@link #order}, or an operator of the outputs. */
    public PerExampleOutput derivative() { return derivative; }

    /**
     * How a {@link org.gradspark.ad.RowAware} {@code --model-class} Cell's Laplacians are drawn (from {@link #seed} and
     * each chunk's first row): {@code --estimator} unless it is {@code --derivative laplacian}'s; exact by default.
     */
    public org.gradspark.ad.LaplacianEstimator estimator() { return estimator; }

    public Mode mode() { return mode; }

    /** The HVP direction file (--mode hvp). */
    public String vector() { return vector; }

    public Reduction reduction() { return reduction; }

    /** 0: Spark's default parallelism. */
    public int partitions() { return partitions; }

    public DType dtype() { return model.dtype(); }

    public String backend() { return model.backend(); }

    public int chunkRows() { return chunkRows; }

    public OnNan onNan() { return onNan; }

    public String out() { return out; }

    /** Evaluations in one application (benchmarks); the outputs are the last one's. */
    public int repeat() { return repeat; }

    public InputGradsFormat inputGradsFormat() { return inputGradsFormat; }

    public CheckFinite checkFinite() { return checkFinite; }

    /** The per-example gradient statistics asked ({@code --per-example}, {@code --grad-stats}, {@code --clip}); {@link StatisticsSpec#NONE}: none. */
    public StatisticsSpec statistics() { return statistics; }

    /** Null: named by --input; else what the rows were read from. */
    public String inputName() { return data.name(); }

    /** Non-null: the rows, written as .npy parts (Parquet/CSV, a Dataset). */
    public RowSource.NpyParts inputParts() { return data.parts(); }

    /**
     * The same job reading its rows from .npy parts (a Parquet/CSV input or a Dataset written out);
     * {@code name} still names the rows' origin in error messages.
     */
    public JobConfig withRows(RowSource.NpyParts rows, String name) {
        Builder b = toBuilder();
        b.input = null;
        b.featuresCol = null;
        b.name = name;
        b.parts = rows;
        return b.build();
    }

    /** The same job writing to another --out (fit checks its inputs against a directory its checkpoints are not in). */
    public JobConfig withOut(String dir) {
        return toBuilder().out(dir).build();
    }

    /** The same job with the MLP's widths (read from --weights when --layers was not given). */
    public JobConfig withLayers(int[] widths) {
        return toBuilder().layers(widths).build();
    }

    /**
     * The same job with every path fully qualified by {@code storage} ({@code hdfs://nn:8020/x.npy},
     * {@code file:/home/me/x.npy}), so that the driver and every executor mean the same file.
     *
     * @throws BadInputException naming the option whose path has no filesystem or is not a path
     */
    public JobConfig qualified(org.gradspark.job.io.Storage storage) {
        Builder b = toBuilder().weights(q(storage, "--weights", weights)).vector(q(storage, "--vector", vector)).out(q(storage, "--out", out));
        b.input = q(storage, "--input", data.input());
        b.sens = q(storage, "--sens", data.sens());
        b.labels = q(storage, "--labels", data.labels());
        b.statistics(statistics.withDotVector(q(storage, "--per-example grad-dot:", statistics.dotVector())));
        return b.build();
    }

    private static String q(org.gradspark.job.io.Storage storage, String option, String path) {
        if (path == null) return null;
        try {
            return storage.qualify(path);
        } catch (BadInputException e) {
            throw new BadInputException(option + " " + e.getMessage(), e);
        }
    }

    /** The files the job reads, by option (values null when not given). */
    public java.util.Map<String, String> inputFiles() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("--input", data.input());
        m.put("--weights", weights);
        m.put("--sens", data.sens());
        m.put("--labels", data.labels());
        m.put("--vector", vector);
        m.put("--per-example grad-dot:", statistics.dotVector());
        return m;
    }

    /** How error messages name the rows: {@code --input FILE}, {@code synthetic input} or the Dataset. */
    public String inputWhere() {
        if (data.name() != null) return data.name();
        return data.input() == null ? "synthetic input" : "--input " + org.gradspark.job.io.Storage.display(data.input());
    }

    public boolean weightsWanted() { return wrt != Wrt.INPUTS || mode == Mode.HVP; }

    public boolean inputsWanted() { return wrt != Wrt.WEIGHTS && mode == Mode.GRAD; }

    private List<Object> values() {
        return Arrays.asList(model, data, weights, seed, wrt, order, derivative, mode, vector, reduction, partitions, chunkRows, onNan, out, repeat,
                inputGradsFormat, checkFinite, statistics, estimator);
    }

    @Override public boolean equals(Object o) {
        return o instanceof JobConfig c && values().equals(c.values());
    }

    @Override public int hashCode() { return values().hashCode(); }

    @Override public String toString() { return "JobConfig" + values(); }

    /** An enum's value as the CLI writes it: {@code SOFTMAX_CROSS_ENTROPY} is {@code softmax-cross-entropy}. */
    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * Builds a {@link JobConfig}: each setter takes a typed value; {@link #build()} checks them
     * together (one line naming the option at fault, a {@link BadInputException}).
     */
    public static final class Builder {
        private String cellClass;
        private int[] layers;
        private boolean layersGiven;
        private Activation.Kind activation = Activation.Kind.TANH;
        private Loss loss = Loss.NONE;
        private DType dtype = DType.FLOAT32;
        private String backend = "auto";
        private String weights;
        private long seed = 42;
        private String input;
        private String featuresCol;
        private boolean csvHeader = true;
        private boolean csvHeaderGiven;
        private long syntheticRows = 100_000;
        private boolean syntheticGiven;
        private String sens;
        private String labels;
        private String name;
        private RowSource.NpyParts parts;
        private Wrt wrt = Wrt.WEIGHTS;
        private int order = 1;
        private PerExampleOutput derivative = new PerExampleOutput.Nested(1);
        private org.gradspark.ad.LaplacianEstimator estimator = org.gradspark.ad.LaplacianEstimator.EXACT;
        private Mode mode = Mode.GRAD;
        private String vector;
        private Reduction reduction = Reduction.SUM;
        private int partitions;
        private int chunkRows = 4096;
        private OnNan onNan = OnNan.FAIL;
        private String out = "gradspark-out";
        private int repeat = 1;
        private InputGradsFormat inputGradsFormat = InputGradsFormat.NPY;
        private CheckFinite checkFinite = CheckFinite.OUTPUTS;
        private StatisticsSpec statistics = StatisticsSpec.NONE;
        private UnaryOperator<String> optionName = UnaryOperator.identity();

        private Builder() {}

        /** All of the model at once (an executor's warm-up, a copy). */
        public Builder model(Model m) {
            cellClass = m.cellClass();
            layers(m.layers());
            activation = m.activation();
            loss = m.loss();
            dtype = m.dtype();
            backend = m.backend();
            return this;
        }

        /** A user Cell with a public no-argument constructor instead of the MLP (--model-class). */
        public Builder modelClass(String className) { cellClass = className; return this; }

        /** The MLP's widths, input first (null: read from {@link #weights}); not given: those of the weights, else 8,32,32,3. */
        public Builder layers(int... widths) { layers = widths == null ? null : widths.clone(); layersGiven = true; return this; }

        public Builder activation(Activation.Kind kind) { activation = Objects.requireNonNull(kind); return this; }

        /** The per-example loss of the outputs and {@link #labels}; {@link Loss#NONE}: the outputs themselves. */
        public Builder loss(Loss kind) { loss = Objects.requireNonNull(kind); return this; }

        public Builder dtype(DType type) { dtype = Objects.requireNonNull(type); return this; }

        /** auto, or a backend of this build ({@code Backends.names()}). */
        public Builder backend(String name) { backend = Objects.requireNonNull(name); return this; }

        /** A .npz of w0,b0,w1,b1,...; null: drawn from {@link #seed}. */
        public Builder weights(String path) { weights = path; return this; }

        public Builder seed(long value) { seed = value; return this; }

        /** The rows: a .npy, .parquet or .csv (a Parquet/CSV directory: every file in it). */
        public Builder input(String path) { input = path; return this; }

        public Builder featuresCol(String column) { featuresCol = column; return this; }

        public Builder csvHeader(boolean header) { csvHeader = header; csvHeaderGiven = true; return this; }

        /** --csv-header from a {@code spark.gradspark.*} key, which the defaults file always sets: not refused with an input that is not a CSV. */
        public Builder csvHeaderFromKey(boolean header) { csvHeader = header; return this; }

        /** N synthetic rows instead of an input. */
        public Builder synthetic(long rows) { syntheticRows = rows; syntheticGiven = true; return this; }

        public Builder sens(String path) { sens = path; return this; }

        public Builder labels(String path) { labels = path; return this; }

        public Builder wrt(Wrt what) { wrt = Objects.requireNonNull(what); return this; }

        /** The order K of the nested input derivatives. */
        public Builder order(int k) { order = k; return this; }

        /** The per-example output with --wrt inputs|all ({@link PerExampleOutput#named}); nested takes {@link #order}. */
        public Builder derivative(PerExampleOutput kind) { derivative = Objects.requireNonNull(kind); return this; }

        /** A {@link org.gradspark.ad.RowAware} Cell's draws ({@code --derivative laplacian}'s estimator is its {@link PerExampleOutput.Laplacian}'s). */
        public Builder estimator(org.gradspark.ad.LaplacianEstimator how) { estimator = Objects.requireNonNull(how); return this; }

        public Builder mode(Mode m) { mode = Objects.requireNonNull(m); return this; }

        public Builder vector(String path) { vector = path; return this; }

        public Builder reduction(Reduction r) { reduction = Objects.requireNonNull(r); return this; }

        public Builder partitions(int n) { partitions = n; return this; }

        public Builder chunkRows(int rows) { chunkRows = rows; return this; }

        public Builder onNan(OnNan policy) { onNan = Objects.requireNonNull(policy); return this; }

        public Builder out(String path) { out = Objects.requireNonNull(path, "out"); return this; }

        public Builder repeat(int times) { repeat = times; return this; }

        public Builder inputGradsFormat(InputGradsFormat format) { inputGradsFormat = Objects.requireNonNull(format); return this; }

        public Builder checkFinite(CheckFinite check) { checkFinite = Objects.requireNonNull(check); return this; }

        /** The per-example gradient statistics of {@code --wrt weights} ({@link StatisticsSpec}). */
        public Builder statistics(StatisticsSpec spec) { statistics = Objects.requireNonNull(spec); return this; }

        /** How messages name an option: the CLI adds the {@code spark.gradspark.*} key its value came from. */
        public Builder optionNames(UnaryOperator<String> namer) { optionName = namer; return this; }

        private String opt(String option) { return optionName.apply(option); }

        /**
         * The spec, its values checked together.
         *
         * @throws BadInputException naming the option at fault, as the CLI does
         */
        public JobConfig build() {
            if (!layersGiven) layers = weights != null && cellClass == null ? null : new int[] {8, 32, 32, 3};
            checkModel();
            checkWhatIsComputed();
            checkStatistics();
            checkEstimator();
            checkRows();
            if (partitions < 0) throw new BadInputException(opt("--partitions") + ": expected >= 0, got " + partitions);
            if (repeat < 1 || repeat > 10_000) throw new BadInputException(opt("--repeat") + ": expected 1..10000, got " + repeat);
            if (chunkRows <= 0) throw new BadInputException(opt("--chunk-rows") + ": expected > 0, got " + chunkRows);
            List<String> backends = org.gradspark.ad.backend.Backends.names();
            if (!backends.contains(backend)) {
                throw new BadInputException(opt("--backend") + ": expected " + String.join(", ", backends) + ", got '" + backend + "'");
            }
            return new JobConfig(this);
        }

        private void checkModel() {
            if (layers != null && (layers.length < 2 || Arrays.stream(layers).anyMatch(w -> w <= 0))) {
                throw new BadInputException(opt("--layers") + ": needs at least an input and an output width, all positive, got '"
                        + String.join(",", Arrays.stream(layers).mapToObj(String::valueOf).toList()) + "'");
            }
            if (layers == null && (cellClass == null && weights == null)) throw new BadInputException("--layers: needed without --weights");
            if ((loss == Loss.NONE) != (labels == null)) {
                throw new BadInputException(labels == null ? "--loss " + lower(loss) + " needs --labels Y.npy" : "--labels needs --loss mse|softmax-cross-entropy");
            }
        }

        /** --mode, --vector, --order, --wrt and --derivative together. */
        private void checkWhatIsComputed() {
            if ((mode == Mode.HVP) != (vector != null)) {
                throw new BadInputException(vector == null ? "--mode hvp needs --vector V.npz" : "--vector is only used with --mode hvp");
            }
            if (order < 1 || order > 8) throw new BadInputException(opt("--order") + ": expected 1..8, got " + order);
            if (order != 1 && (wrt == Wrt.WEIGHTS || mode == Mode.HVP)) {
                throw new BadInputException(opt("--order") + " " + order + " is the order of the input derivatives, which "
                        + (mode == Mode.HVP ? "--mode hvp does not compute" : "--wrt weights does not compute: use --wrt inputs or --wrt all"));
            }
            if (derivative instanceof PerExampleOutput.Nested) return;
            String kind = derivative.name();
            if (wrt == Wrt.WEIGHTS || mode == Mode.HVP) {
                throw new BadInputException(opt("--derivative") + " " + kind + " is an input derivative: use --wrt inputs or --wrt all with --mode grad");
            }
            if (order != 1) throw new BadInputException(opt("--order") + " " + order + " is for --derivative nested, not " + kind);
            if (!derivative.weightedBySens() && sens != null) {
                throw new BadInputException(opt("--sens") + " is not used with --derivative " + kind
                        + ": it is per output component (sensitivities weight --derivative nested or grad)");
            }
        }

        /**
         * The statistics are of the weights' per-example gradients: only with {@code --wrt weights --mode grad}
         * (not beside an input derivative), and the GGN diagonal only of a loss whose Hessian it takes.
         */
        private void checkStatistics() {
            if (!statistics.any()) return;
            String asked = statistics.perExample() != null ? opt("--per-example") + " " + statistics.perExample().name()
                    : statistics.clip() > 0 ? opt("--clip") + " " + statistics.clip() : opt("--grad-stats");
            if (mode == Mode.HVP) throw new BadInputException(asked + " is a statistic of the per-example gradients, which --mode hvp does not compute");
            if (wrt != Wrt.WEIGHTS) {
                throw new BadInputException(asked + " is a statistic of the per-example weight gradients: use --wrt weights (not --wrt " + lower(wrt)
                        + (wrt == Wrt.ALL ? ", which adds a per-example input derivative" : "") + ")");
            }
            if (statistics.ggnDiagonal() && loss == Loss.NONE) {
                throw new BadInputException(opt("--grad-stats") + " " + StatisticsSpec.GGN_DIAGONAL + " needs --loss mse|softmax-cross-entropy (the Hessian of the loss w.r.t. the outputs)");
            }
        }

        /**
         * A randomised Cell estimator draws for a --model-class Cell (which the job checks implements RowAware; the
         * CLI's --estimator with --derivative laplacian is that derivative's, in its PerExampleOutput.Laplacian).
         * Not with the gradient statistics: their per-row path calls the Cell one row at a time, as a batch that
         * would start at the chunk's first row, not at the row's own.
         */
        private void checkEstimator() {
            if (estimator instanceof org.gradspark.ad.LaplacianEstimator.Exact) return;
            String given = opt("--estimator") + " " + estimator.spelling();
            if (cellClass == null) {
                throw new BadInputException(given + " is for --derivative laplacian, not " + derivative.name()
                        + " (or for a --model-class Cell that implements org.gradspark.ad.RowAware)");
            }
            if (statistics.any()) {
                throw new BadInputException(given + " with --per-example, --grad-stats or --clip: the statistics evaluate the Cell row by row, "
                        + "which would not start each row's draws at its own index; use --estimator exact");
            }
        }

        /** The rows: one of --input and --synthetic, and the Parquet/CSV options only with such an input. */
        private void checkRows() {
            if (input != null && syntheticGiven) {
                throw new BadInputException("--synthetic " + syntheticRows + " and --input " + input + " both name the rows: give one");
            }
            if (syntheticRows <= 0 && input == null && parts == null) {
                throw new BadInputException(opt("--synthetic") + ": expected a positive row count, got " + syntheticRows);
            }
            if (featuresCol != null && (input == null || !TabularInput.handles(input))) {
                throw new BadInputException(opt("--features-col") + ": only used with a .parquet or .csv --input");
            }
            if (csvHeaderGiven && (input == null || !TabularInput.isCsv(input))) {
                throw new BadInputException("--csv-header " + csvHeader + ": only used with a .csv --input");
            }
        }
    }
}
