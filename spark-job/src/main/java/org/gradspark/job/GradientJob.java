package org.gradspark.job;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.storage.StorageLevel;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;
import scala.Tuple2;

/**
 * The {@code grad} job and its Java API: checks the inputs on the driver, runs one
 * {@link PartitionTask} per partition, adds the partial gradients in partition-index order (so the
 * result is bit-identical whatever ran where and however often), and writes {@code grads.npz} or
 * {@code hvp.npz}, {@code input_grads/part-NNNNN.npy} (by the executors) and {@code summary.json}
 * into a temporary directory that is moved into place only on success ({@link JobOutput}). Every
 * file is read and written through {@link Storage}, on any Hadoop filesystem.
 */
public final class GradientJob {
    private GradientJob() {}

    /**
     * What a run produced (also written to summary.json). {@code out} is the output directory's
     * URI; {@code inputGradients} the directory of the per-partition input derivatives in it
     * ({@code out/input_grads}), or null when they were not asked for.
     */
    public record Result(Map<String, Tensor> gradients, long rows, long skippedRows, int partitions, double outputSum, String out,
                         String inputGradients, Map<String, Object> summary) {}

    /** The directory under --out of the per-example input derivatives (parts or a Parquet dataset). */
    public static final String INPUT_GRADS = "input_grads";

    /**
     * Runs the job on an existing Spark context (the Java API; the CLI calls this too). Every path
     * is a Hadoop path resolved with {@code jsc.hadoopConfiguration()}: {@code hdfs://},
     * {@code s3a://}, {@code file:} or a bare path on {@code fs.defaultFS}.
     */
    public static Result run(JavaSparkContext jsc, JobConfig cfg) {
        Storage storage = Storage.of(jsc.hadoopConfiguration());
        if (cfg.input() != null && TabularInput.handles(cfg.input())) return runTabular(jsc, storage, cfg);
        return run(jsc, storage, check(cfg, storage), null);
    }

    /** Runs checked inputs; {@code output} is the output already begun (rows materialised in it), or null. */
    private static Result run(JavaSparkContext jsc, Storage storage, Inputs checked, JobOutput output) {
        long t0 = System.nanoTime();
        JobConfig cfg = checked.cfg();
        Map<String, Tensor> weights = checked.weights(), vector = checked.vector();
        RowSource input = checked.input();
        long n = input.rows();

        int partitions = cfg.partitions() > 0 ? cfg.partitions() : jsc.defaultParallelism();
        partitions = (int) Math.max(1, Math.min(partitions, n));
        JobOutput out = output != null ? output : JobOutput.begin(storage, cfg.out());
        DriverHeap heap = new DriverHeap();
        Broadcast<Storage> bs = jsc.broadcast(storage);
        BadInputStop stop = BadInputStop.watch(jsc.sc());
        try {
            String inputGrads = null;
            if (cfg.inputsWanted()) {
                inputGrads = out.file(cfg.inputGradsFormat() == JobConfig.InputGradsFormat.NPY ? INPUT_GRADS : "_input_grads_npy");
                storage.mkdirs(inputGrads);
            }
            long tSetup = System.nanoTime();
            PartitionTask task = new PartitionTask(cfg, input, checked.sens(), checked.labels(), inputGrads, partitions, bs);
            Evaluation ev = evaluate(jsc, cfg, task, weights, vector, n, partitions);
            long tCompute = System.nanoTime();
            requireFiniteResult(cfg, ev.grads());
            if (cfg.weightsWanted()) Npz.write(storage, out.file(cfg.mode() == JobConfig.Mode.HVP ? "hvp.npz" : "grads.npz"), ev.grads(), Npz.Compression.STORED);
            if (inputGrads != null) InputGradients.finish(jsc, storage, cfg, inputGrads, partitions, out.file(INPUT_GRADS), input.width());
            long tEnd = System.nanoTime();
            Map<String, Double> phases = Map.of("setup_s", (tSetup - t0) / 1e9, "broadcast_s", ev.broadcastNanos() / 1e9,
                    "compute_reduce_s", ev.computeNanos() / 1e9, "write_s", (tEnd - tCompute) / 1e9);
            Map<String, Object> summary = summary(cfg, jsc, ev, heap, phases, (tEnd - t0) / 1e9, inputGrads == null ? null : List.of(n, (long) input.width()));
            JobSummary.write(storage, out.file("summary.json"), summary);
            storage.delete(out.file(TabularInput.ROWS_DIR), true);
            out.commit();
            return new Result(ev.grads(), (Long) summary.get("rows"), (Long) summary.get("skipped_rows"), partitions, (Double) summary.get("output_sum"),
                    cfg.out(), inputGrads == null ? null : Storage.child(cfg.out(), INPUT_GRADS), summary);
        } catch (Throwable e) {
            out.abort();
            BadInputException bad = stop.stopped(e);
            if (bad == null) bad = wrappedBadInput(e);
            if (bad != null) throw bad;
            if (e instanceof java.io.IOException io) throw Storage.unchecked("--out " + Storage.display(cfg.out()), io);
            throw sneaky(e);
        } finally {
            stop.close();
            bs.destroy();
            heap.close();
        }
    }

    /** summary.json's content: what ran where ({@link JobSummary}), the phases, the evaluations, the reduction, the driver's heap, the outputs. */
    private static Map<String, Object> summary(JobConfig cfg, JavaSparkContext jsc, Evaluation ev, DriverHeap heap, Map<String, Double> phases,
                                               double wallSeconds, List<Long> inputGradsShape) {
        double outputSum = 0;
        for (PartitionResult r : ev.results()) outputSum += r.outputSum();
        Map<String, Object> summary = JobSummary.of(cfg, jsc, ev.results(), outputSum, phases, wallSeconds);
        if (cfg.repeat() > 1) {
            // Each evaluation from its broadcast to its reduced gradient; the first also reads the rows.
            summary.put("evaluations_s", ev.evaluations());
            summary.put("evaluations_identical", ev.identical());
        }
        summary.put("reduction_path", ev.sharded() ? "sharded on the executors" : "collected, summed on the driver");
        summary.put("rows_used", (Long) summary.get("rows") - (Long) summary.get("skipped_rows"));
        if (cfg.reduction() == JobConfig.Reduction.MEAN) summary.put("mean_over_rows", ev.rowsUsed());
        summary.put("driver_heap", heap.report());
        if (inputGradsShape != null) {
            summary.put("input_grads", Map.of("path", INPUT_GRADS, "format", cfg.inputGradsFormat().name().toLowerCase(), "shape", inputGradsShape,
                    "parts", ev.results().size()));
        }
        return summary;
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> RuntimeException sneaky(Throwable e) throws T {
        throw (T) e;
    }

    /** The evaluations' outcome: the last gradients, the partitions' results, timings. */
    private record Evaluation(Map<String, Tensor> grads, List<PartitionResult> results, List<Double> evaluations, boolean identical,
                              boolean sharded, long broadcastNanos, long computeNanos, long rowsUsed) {}

    /** Evaluates the gradient {@code --repeat} times, each with the weights broadcast afresh, reduced in partition order. */
    private static Evaluation evaluate(JavaSparkContext jsc, JobConfig cfg, PartitionTask task, Map<String, Tensor> weights,
                                       Map<String, Tensor> vector, long n, int partitions) {
        JavaRDD<Integer> parts = jsc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions);
        // With --repeat, each partition's rows are read (and checked) once, in the first evaluation,
        // and kept in the executors' memory, as an optimiser's loop keeps its data.
        JavaPairRDD<Integer, List<PartitionTask.Chunk>> kept = cfg.repeat() == 1 ? null
                : parts.mapToPair(i -> new Tuple2<>(i, task.readAll(i))).persist(StorageLevel.MEMORY_ONLY());
        List<String> keys = JobModel.build(cfg, weights).keys();
        int[] sizes = keys.stream().mapToInt(k -> weights.get(k).size()).toArray();
        long totalSize = java.util.Arrays.stream(sizes).asLongStream().sum();
        boolean sharded = cfg.weightsWanted() && (long) partitions * totalSize >= shardThreshold(jsc);
        // A mean divides by the rows used: with --on-nan skip, those without a NaN or an infinity, counted
        // first (an exact integer, so the result stays deterministic; it costs one more read of the rows).
        long used = n;
        if (cfg.reduction() == JobConfig.Reduction.MEAN && cfg.onNan() == JobConfig.OnNan.SKIP && !(task.source() instanceof RowSource.Synthetic)) {
            used = kept == null ? parts.map(task::keptRows).reduce(Long::sum) : kept.map(p -> PartitionTask.keptRows(p._2().iterator())).reduce(Long::sum);
            if (used == 0) throw new BadInputException(cfg.inputWhere() + ": every row has a NaN or an infinity; --reduction mean has no rows to average");
        }
        double scale = cfg.reduction() == JobConfig.Reduction.MEAN ? 1.0 / used : 1.0;
        ProgressListener progress = new ProgressListener(n, partitions);
        jsc.sc().addSparkListener(progress);
        Map<String, Tensor> grads = null;
        List<PartitionResult> results = null;
        List<Double> evaluations = new ArrayList<>();
        boolean identical = true;
        long broadcastNanos = 0, computeNanos = 0;
        try {
            // Each evaluation broadcasts the weights afresh (in an optimiser they change every step).
            for (int e = 0; e < cfg.repeat(); e++) {
                long te = System.nanoTime();
                Broadcast<Map<String, Tensor>> bw = jsc.broadcast(weights);
                Broadcast<Map<String, Tensor>> bv = vector == null ? null : jsc.broadcast(vector);
                try {
                    long tb = System.nanoTime();
                    JavaRDD<PartitionResult> computed = kept == null
                            ? parts.map(i -> task.run(i, scale, bw.value(), bv == null ? null : bv.value()))
                            : kept.map(p -> task.run(p._1(), p._2().iterator(), scale, bw.value(), bv == null ? null : bv.value()));
                    Map<String, Tensor> g = new LinkedHashMap<>();
                    results = sharded ? reduceSharded(computed, cfg, keys, sizes, weights, partitions, g) : collect(computed, cfg, keys, weights, g);
                    long tc = System.nanoTime();
                    broadcastNanos += tb - te;
                    computeNanos += tc - tb;
                    evaluations.add((tc - te) / 1e9);
                    if (grads != null && !sameBits(grads, g)) identical = false;
                    grads = g;
                } finally {
                    bw.destroy();
                    if (bv != null) bv.destroy();
                }
            }
        } finally {
            jsc.sc().removeSparkListener(progress);
            if (kept != null) kept.unpersist(false);
        }
        return new Evaluation(grads, results, evaluations, identical, sharded, broadcastNanos, computeNanos, used);
    }

    /**
     * A bad row found by a task arrives inside a SparkException (checked, so not a RuntimeException):
     * the BadInputException it carries, or null when {@code e} is not one or already is one.
     */
    private static BadInputException wrappedBadInput(Throwable e) {
        BadInputException bad = GradSparkMain.badInputIn(e);
        return bad != null && bad != e ? new BadInputException(bad.getMessage(), e) : null;
    }

    /**
     * Runs the job on the rows of a Dataset from the caller's own Spark application: the features
     * are every column (all numeric), or the numeric array column {@code featuresCol} (null: every
     * column). The rows keep the Dataset's order (partition by partition), which is the row order of
     * the input derivatives and the order in which {@code --sens} and {@code --labels} rows are
     * matched; {@code cfg.input()} must be null.
     *
     * @throws BadInputException naming the column or row at fault
     */
    public static Result run(JavaSparkContext jsc, JobConfig cfg, Dataset<Row> rows, String featuresCol) {
        if (cfg.input() != null) throw new BadInputException("--input " + cfg.input() + ": not used when the rows come from a Dataset; leave it unset");
        Storage storage = Storage.of(jsc.hadoopConfiguration());
        return runMaterialized(jsc, storage, cfg, "the Dataset", (st, dir) -> TabularInput.materialize(rows, "the Dataset", featuresCol, cfg.onNan() == JobConfig.OnNan.FAIL, st, dir));
    }

    /**
     * Partial sums the driver may collect (partitions × parameters, float64 values: 2^25 is 256 MiB)
     * before the partials are reduce-scattered on the executors instead, so that it then holds one copy.
     */
    static final long DEFAULT_SHARD_THRESHOLD = 1L << 25;

    /** From the thread's local property or the Spark conf ({@code spark.gradspark.shardThreshold}). */
    private static long shardThreshold(JavaSparkContext jsc) {
        String local = jsc.getLocalProperty("spark.gradspark.shardThreshold");
        return local != null ? Long.parseLong(local) : jsc.getConf().getLong("spark.gradspark.shardThreshold", DEFAULT_SHARD_THRESHOLD);
    }

    /** The collected path: every partition's partial sums to the driver, added there in partition order. */
    private static List<PartitionResult> collect(JavaRDD<PartitionResult> computed, JobConfig cfg, List<String> keys, Map<String, Tensor> weights,
                                                 Map<String, Tensor> grads) {
        List<PartitionResult> results = new ArrayList<>(computed.collect());
        results.sort(Comparator.comparingInt(PartitionResult::index));
        if (cfg.weightsWanted()) {
            double[][] total = OrderedSum.of(results);
            for (int k = 0; k < keys.size(); k++) {
                grads.put(keys.get(k), Tensor.wrap(total[k], weights.get(keys.get(k)).shape()).astype(cfg.dtype()));
            }
        }
        return results.stream().map(PartitionResult::withoutPartials).toList();
    }

    /** Whether two evaluations gave the same gradients, bit for bit. */
    private static boolean sameBits(Map<String, Tensor> a, Map<String, Tensor> b) {
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            Tensor x = e.getValue(), y = b.get(e.getKey());
            for (int i = 0; i < x.size(); i++) {
                if (Double.doubleToRawLongBits(x.getDouble(i)) != Double.doubleToRawLongBits(y.getDouble(i))) return false;
            }
        }
        return true;
    }

    /** The sharded path: summed shards arrive one at a time and are cast straight into the result tensors. */
    private static List<PartitionResult> reduceSharded(JavaRDD<PartitionResult> computed, JobConfig cfg, List<String> keys, int[] sizes,
                                                       Map<String, Tensor> weights, int partitions, Map<String, Tensor> grads) {
        int shards = Math.max(1, Math.min(partitions, (int) Math.min(Integer.MAX_VALUE, java.util.Arrays.stream(sizes).asLongStream().sum())));
        boolean f32 = cfg.dtype() == org.gradspark.ad.DType.FLOAT32;
        Object[] buffers = new Object[sizes.length];
        for (int k = 0; k < sizes.length; k++) buffers[k] = f32 ? new float[sizes[k]] : new double[sizes[k]];
        long[] starts = new long[sizes.length + 1];
        for (int k = 0; k < sizes.length; k++) starts[k + 1] = starts[k] + sizes[k];
        List<PartitionResult> metas = new ArrayList<>(ShardedReduction.run(computed, starts[sizes.length], shards, (shard, offset, values) -> {
            for (int k = 0; k < sizes.length; k++) {
                long lo = Math.max(offset, starts[k]), hi = Math.min(offset + values.length, starts[k + 1]);
                for (long e = lo; e < hi; e++) {
                    double v = values[(int) (e - offset)];
                    if (f32) ((float[]) buffers[k])[(int) (e - starts[k])] = (float) v;
                    else ((double[]) buffers[k])[(int) (e - starts[k])] = v;
                }
            }
        }));
        metas.sort(Comparator.comparingInt(PartitionResult::index));
        for (int k = 0; k < keys.size(); k++) {
            org.gradspark.ad.Shape shape = weights.get(keys.get(k)).shape();
            grads.put(keys.get(k), f32 ? Tensor.wrap((float[]) buffers[k], shape) : Tensor.wrap((double[]) buffers[k], shape));
        }
        return metas;
    }

    /** What {@link #check} read: the configuration with every path qualified, the weights, where the rows come from, and the hvp direction (or null). */
    record Inputs(JobConfig cfg, Map<String, Tensor> weights, RowSource input, RowSource sens, RowSource labels, Map<String, Tensor> vector) {}

    /**
     * Checks everything the job names before any work is done: {@code --out}, the weights and the
     * hvp vector (read whole), and the headers of the input, sensitivities and labels against each
     * other and {@code --layers}, on whatever filesystem they are. Needs no Spark context, so the
     * CLI runs it before starting one.
     *
     * @throws BadInputException naming the option and file (and key or row) at fault
     */
    static Inputs check(JobConfig given, Storage storage) {
        JobConfig cfg = given.qualified(storage);
        JobOutput.check(storage, cfg.out(), cfg.inputFiles());
        if (cfg.modelClass() == null) JobModel.checkSize(cfg.layers(), cfg.dtype(), Runtime.getRuntime().maxMemory());
        Map<String, Tensor> weights = loadWeights(cfg, storage);
        RowSource input;
        if (cfg.input() != null && TabularInput.handles(cfg.input())) {
            // Read with Spark in run(); here only what needs no Spark.
            try {
                if (!storage.exists(cfg.input())) throw new BadInputException("--input " + Storage.display(cfg.input()) + ": no such file or directory");
            } catch (java.io.IOException e) {
                throw new BadInputException("--input " + Storage.failure(cfg.input(), e).getMessage(), e);
            }
            return new Inputs(cfg, weights, null, null, null, null);
        }
        if (cfg.inputParts() != null) {
            input = cfg.inputParts();
        } else if (cfg.input() == null) {
            input = new RowSource.Synthetic(cfg.syntheticRows(), cfg.layers()[0], cfg.seed());
        } else {
            Npy.Header h = named("--input", () -> Npy.readHeader(storage, cfg.input()));
            String where = cfg.inputWhere();
            if (h.rank() < 1 || h.rank() > 2) {
                throw new BadInputException(where + ": shape " + shapeText(h) + ", expected rows of features (N, features)");
            }
            if (h.rows() == 0) throw new BadInputException(where + ": no rows");
            input = new RowSource.NpyRows(cfg.input(), h);
        }
        if (input.width() <= 0) throw new BadInputException(cfg.inputWhere() + ": rows of " + (input instanceof RowSource.NpyRows r
                ? r.header().rowWidth() : "no") + " values are more than one tensor holds (2^31 - 9 at most)");
        if (cfg.partitions() > input.rows()) {
            throw new BadInputException("--partitions " + cfg.partitions() + ": more than the " + input.rows() + " rows of " + cfg.inputWhere()
                    + " (a partition needs rows; thousands each keep the tasks' overhead small)");
        }
        if (cfg.modelClass() == null && input.width() != cfg.layers()[0]) {
            throw new BadInputException(cfg.inputWhere() + ": rows have " + input.width() + " values but --layers starts with " + cfg.layers()[0]);
        }
        long n = input.rows();
        int outWidth = cfg.layers()[cfg.layers().length - 1];
        RowSource sens = companion(storage, cfg.sens(), "--sens", n, cfg.loss() == JobConfig.Loss.NONE ? outWidth : 1);
        RowSource labels = cfg.loss() == JobConfig.Loss.SOFTMAX_CROSS_ENTROPY ? classLabels(storage, cfg.labels(), n, outWidth)
                : companion(storage, cfg.labels(), "--labels", n, outWidth);
        Map<String, Tensor> vector = null;
        if (cfg.vector() != null) {
            vector = named("--vector", () -> Npz.read(storage, cfg.vector(), Npz.DEFAULT_MAX_INFLATED_BYTES));
            JobModel.checkLike(vector, weights, "--vector " + Storage.display(cfg.vector()));
            requireFinite(vector, "--vector " + Storage.display(cfg.vector()));
        }
        return new Inputs(cfg, weights, input, sens, labels, vector);
    }

    /**
     * A Parquet or CSV input: its rows are first written as .npy parts by the executors, inside the
     * job's temporary output (removed before the commit), then the job runs on those.
     */
    private static Result runTabular(JavaSparkContext jsc, Storage storage, JobConfig cfg) {
        JobConfig q = cfg.qualified(storage);
        return runMaterialized(jsc, storage, q, "--input " + Storage.display(q.input()),
                (st, dir) -> TabularInput.materialize(jsc, q.input(), q.featuresCol(), q.onNan() == JobConfig.OnNan.FAIL, st, dir));
    }

    /**
     * Rows from elsewhere (a Parquet/CSV file, a Dataset): {@code write} puts them into .npy parts
     * in the directory it is given (inside the job's temporary output), then the job runs on them,
     * with {@code name} naming the rows in error messages.
     */
    private static Result runMaterialized(JavaSparkContext jsc, Storage storage, JobConfig given, String name,
                                          java.util.function.BiFunction<Storage, String, RowSource.NpyParts> write) {
        JobConfig cfg = given.qualified(storage);
        JobOutput.check(storage, cfg.out(), cfg.inputFiles());
        JobOutput out = JobOutput.begin(storage, cfg.out());
        RowSource.NpyParts rows;
        try (BadInputStop stop = BadInputStop.watch(jsc.sc())) {
            try {
                rows = write.apply(storage, out.file(TabularInput.ROWS_DIR));
            } catch (Throwable e) {
                out.abort();
                BadInputException bad = stop.stopped(e);
                if (bad == null) bad = wrappedBadInput(e);
                if (bad != null) throw bad;
                throw sneaky(e);
            }
        }
        try {
            return run(jsc, storage, check(cfg.withRows(rows, name), storage), out);
        } catch (BadInputException e) {
            out.abort();   // check() refused the rows: run() never took over the output
            throw e;
        }
    }

    /**
     * Labels of a softmax classifier: one-hot rows (N, classes), or class indices as PyTorch's
     * CrossEntropyLoss takes them (int64, int32 or integral floats of shape (N,)), read as one-hot rows.
     */
    private static RowSource classLabels(Storage storage, String file, long n, int classes) {
        if (file == null) return null;
        Npy.Header h = named("--labels", () -> Npy.readHeader(storage, file, true));
        String where = "--labels " + Storage.display(file);
        if (h.rank() == 1 && (h.integer() || classes > 1)) {
            if (h.rows() != n) throw new BadInputException(where + ": has " + h.rows() + " class indices but the input has " + n + " rows");
            return new RowSource.ClassIndices(new RowSource.NpyRows(file, h), classes, "--labels");
        }
        if (h.integer()) {
            throw new BadInputException(where + ": " + h.dtypeName() + " of shape " + shapeText(h) + "; integer labels are class indices of shape (N,)");
        }
        return companion(storage, file, "--labels", n, classes);
    }

    /** Sensitivities or labels: N rows of the given width (or a 1-D array of N when width is 1). */
    private static RowSource companion(Storage storage, String file, String option, long n, int width) {
        if (file == null) return null;
        Npy.Header h = named(option, () -> Npy.readHeader(storage, file));
        String where = option + " " + Storage.display(file);
        if (h.rank() < 1) throw new BadInputException(where + ": shape (), expected " + n + " rows");
        if (h.rows() != n) throw new BadInputException(where + ": has " + h.rows() + " rows but the input has " + n);
        long rowWidth = h.rank() == 1 ? 1 : h.rowWidth();
        if (rowWidth != width) throw new BadInputException(where + ": rows have " + rowWidth + (rowWidth == 1 ? " value" : " values") + ", expected " + width);
        return new RowSource.NpyRows(file, h);
    }

    /** Every array of an .npz input holds finite values only, or the first NaN/infinity is named. */
    private static void requireFinite(Map<String, Tensor> arrays, String where) {
        arrays.forEach((key, t) -> {
            int bad = t.firstNonFinite();
            if (bad >= 0) throw new BadInputException(where + ", key '" + key + "': " + t.getDouble(bad) + " at " + t.indexText(bad));
        });
    }

    /**
     * The reduced gradients hold no NaN or infinity, unless {@code --check-finite none}: a job does
     * not report success with a non-finite {@code grads.npz}.
     */
    private static void requireFiniteResult(JobConfig cfg, Map<String, Tensor> grads) {
        if (cfg.checkFinite() == JobConfig.CheckFinite.NONE || grads == null) return;
        String file = cfg.mode() == JobConfig.Mode.HVP ? "hvp.npz" : "grads.npz";
        grads.forEach((key, t) -> {
            int bad = t.firstNonFinite();
            if (bad >= 0) {
                throw new BadInputException(file + " would hold " + t.getDouble(bad) + " at key '" + key + "', " + t.indexText(bad)
                        + (cfg.checkFinite() == JobConfig.CheckFinite.OPS ? "" : "; --check-finite ops names the op that produced it")
                        + "; --check-finite none writes it anyway");
            }
        });
    }

    /** Runs a reader, prefixing its message (which names the file) with the option that named the file. */
    private static <T> T named(String option, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (BadInputException e) {
            throw new BadInputException(option + " " + e.getMessage(), e);
        }
    }

    private static String shapeText(Npy.Header h) {
        return java.util.Arrays.toString(h.shape()).replace('[', '(').replace(']', ')');
    }

    private static Map<String, Tensor> loadWeights(JobConfig cfg, Storage storage) {
        if (cfg.modelClass() != null) {
            if (cfg.weights() != null) throw new BadInputException("--weights is not supported with --model-class (the Cell initialises its own)");
            Map<String, Tensor> w = new LinkedHashMap<>();
            JobModel m = JobModel.build(cfg, Map.of());
            for (int i = 0; i < m.keys().size(); i++) w.put(m.keys().get(i), m.params().get(i).value());
            return w;
        }
        if (cfg.weights() == null) return JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed());
        Map<String, Tensor> w = named("--weights", () -> Npz.read(storage, cfg.weights(), Npz.DEFAULT_MAX_INFLATED_BYTES));
        JobModel.checkWeights(w, cfg.layers(), "--weights " + Storage.display(cfg.weights()));
        requireFinite(w, "--weights " + Storage.display(cfg.weights()));
        return w;
    }

    /** The Spark settings GradSpark relies on: Kryo with its registrator. */
    public static SparkConf configure(SparkConf conf) {
        return conf.set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .set("spark.kryo.registrator", GradSparkKryoRegistrator.class.getName());
    }
}
