package org.gradspark.job.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.BadInputStop;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.GradSparkKryoRegistrator;
import org.gradspark.job.exec.GradientReducer;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.PartWriter;
import org.gradspark.job.exec.PartitionResult;
import org.gradspark.job.exec.PartitionTask;
import org.gradspark.job.exec.PerExampleOutput;
import org.gradspark.job.exec.StatisticsSpec;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.JobOutput;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.RowSource;
import org.gradspark.job.io.Storage;
import org.gradspark.job.io.TabularInput;

/**
 * The {@code grad} job and its Java API: inputs checked once on the driver ({@link JobInputs}), the
 * rows of a Parquet/CSV input or a Dataset written as .npy parts first, then the evaluation loop
 * ({@link Evaluator}: one {@link PartitionTask} per partition, the partial gradients added in
 * partition-index order by a {@link GradientReducer}, so the result is bit-identical whatever ran
 * where and however often), and the outputs:  {@code grads.npz} or
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

    /** The directory under --out of the per-example input derivatives of --derivative nested or grad (parts or a Parquet dataset). */
    public static final String INPUT_GRADS = PerExampleOutput.INPUT_GRADS;

    /**
     * Runs the job on an existing Spark context (the Java API). Every path is a Hadoop path resolved
     * with {@code jsc.hadoopConfiguration()}: {@code hdfs://}, {@code s3a://}, {@code file:} or a
     * bare path on {@code fs.defaultFS}.
     *
     * @throws BadInputException naming the option, file, row or executor at fault
     */
    public static Result run(JavaSparkContext jsc, JobConfig cfg) {
        return run(jsc, JobInputs.check(cfg, Storage.of(jsc.hadoopConfiguration()),
                org.gradspark.job.exec.DriverMemoryCheck.Setting.of(jsc.master(), jsc.getConf(), Runtime.getRuntime().maxMemory())));
    }

    /** Runs inputs already checked (the CLI checks them before it starts Spark). */
    public static Result run(JavaSparkContext jsc, JobInputs checked) {
        if (!checked.pending()) return run(jsc, checked, null);
        JobConfig q = checked.cfg();
        return runMaterialized(jsc, checked, "--input " + Storage.display(q.input()),
                (st, dir) -> TabularInput.materialize(jsc, q.input(), q.featuresCol(), q.csvHeader(), q.onNan() == JobConfig.OnNan.FAIL, st, dir));
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
        JobInputs checked = JobInputs.checkForDataset(cfg, Storage.of(jsc.hadoopConfiguration()));
        return runMaterialized(jsc, checked, "the Dataset",
                (st, dir) -> TabularInput.materialize(rows, "the Dataset", featuresCol, cfg.onNan() == JobConfig.OnNan.FAIL, st, dir));
    }

    /** Runs checked inputs; {@code output} is the output already begun (rows materialised in it), or null. */
    private static Result run(JavaSparkContext jsc, JobInputs checked, JobOutput output) {
        long t0 = System.nanoTime();
        JobConfig cfg = checked.cfg();
        Storage storage = Storage.of(jsc.hadoopConfiguration());
        JobOutput out = output != null ? output : JobOutput.begin(storage, cfg.out());
        DriverHeap heap = new DriverHeap();
        BadInputStop stop = BadInputStop.watch(jsc.sc());
        String inputGrads = null;
        try {
            PerExampleOutput perExample = perExample(cfg);
            if (perExample != null) {
                String dir = perExample.dir();
                inputGrads = out.file(cfg.inputGradsFormat() == JobConfig.InputGradsFormat.NPY ? dir : "_" + dir + "_npy");
                storage.mkdirs(inputGrads);
            }
            Evaluation ev;
            long tSetup = System.nanoTime();
            try (Evaluator evaluator = Evaluator.forJob(jsc, checked, inputGrads, cfg.repeat() > 1)) {
                ev = evaluate(evaluator, checked);
            }
            long tCompute = System.nanoTime();
            requireFiniteResult(cfg, ev.last().gradient());
            if (cfg.weightsWanted()) {
                Npz.write(storage, out.file(cfg.mode() == JobConfig.Mode.HVP ? "hvp.npz" : "grads.npz"), ev.last().gradient(), Npz.Compression.STORED);
            }
            writeStatistics(storage, out, cfg, ev.last().statistics());
            int parts = ev.last().partitions().size();
            PartsWritten written = inputGrads == null ? new PartsWritten(null, null)
                    : finishParts(jsc, storage, cfg, inputGrads, parts, checked.input().rows(), out.file(perExample.dir()));
            long tEnd = System.nanoTime();
            Map<String, Double> phases = Map.of("setup_s", (tSetup - t0) / 1e9, "broadcast_s", ev.broadcastNanos() / 1e9,
                    "compute_reduce_s", (tCompute - tSetup - ev.broadcastNanos()) / 1e9, "write_s", (tEnd - tCompute) / 1e9);
            Map<String, Object> summary = summary(cfg, jsc, ev, heap, phases, (tEnd - t0) / 1e9, written.shape());
            if (cfg.statistics().any()) summary.putAll(statisticsSummary(cfg, checked, ev.last(), written.normQuantiles(), summary));
            JobSummary.write(storage, out.file("summary.json"), summary);
            storage.delete(out.file(TabularInput.ROWS_DIR), true);
            out.commit();
            return new Result(ev.last().gradient(), (Long) summary.get("rows"), (Long) summary.get("skipped_rows"), parts, (Double) summary.get("output_sum"),
                    cfg.out(), inputGrads == null ? null : Storage.child(cfg.out(), perExample.dir()), summary);
        } catch (Throwable e) {
            RuntimeException removed = vanished(storage, out, cfg, e);
            if (inputGrads != null) stop.awaitTasksEnded(30_000);   // tasks still writing parts under the temporary
            out.abort();
            if (removed != null) throw removed;
            BadInputException bad = stop.stopped(e);
            if (bad == null) bad = wrappedBadInput(e);
            if (bad != null) throw bad;
            if (e instanceof java.io.IOException io) throw Storage.unchecked("--out " + Storage.display(cfg.out()), io);
            throw sneaky(e);
        } finally {
            stop.close();
            heap.close();
        }
    }

    /** The per-example output the tasks write as parts: the input derivative of --wrt inputs|all, a --per-example statistic, or null. */
    private static PerExampleOutput perExample(JobConfig cfg) {
        return cfg.inputsWanted() ? cfg.derivative() : cfg.statistics().perExample();
    }

    /** The per-example parts' shape (rows first) and, when they are gradient norms, their quantiles (else null). */
    private record PartsWritten(List<Long> shape, Map<String, Double> normQuantiles) {}

    /**
     * After the tasks: the shape of the per-example parts in {@code parts}, the norms' quantiles (read from the
     * parts before a Parquet conversion removes them), then the parts completed ({@link InputGradients#finish}).
     */
    private static PartsWritten finishParts(JavaSparkContext jsc, Storage storage, JobConfig cfg, String parts, int partitions, long rows, String target)
            throws java.io.IOException {
        List<Long> shape = writtenShape(storage, cfg, PartWriter.partFile(parts, 0), rows);
        PerExampleOutput kind = perExample(cfg);
        Map<String, Double> quantiles = kind instanceof PerExampleOutput.GradNorm || kind instanceof PerExampleOutput.GradNormPerKey
                ? StatisticsSummary.normQuantiles(jsc, storage, parts, partitions) : null;
        InputGradients.finish(jsc, storage, cfg, parts, partitions, target);
        return new PartsWritten(shape, quantiles);
    }

    /** {@code grad_sum_squares.npz} and {@code ggn_diagonal.npz} (float64, the weights' keys), when asked: finite unless --check-finite none. */
    private static void writeStatistics(Storage storage, JobOutput out, JobConfig cfg, Evaluator.StatisticsSums sums) {
        if (sums == null) return;
        for (Map.Entry<String, Map<String, Tensor>> e : Map.of("grad_sum_squares.npz", sums.sumOfSquares(), "ggn_diagonal.npz", sums.ggnDiagonal()).entrySet()) {
            if (e.getValue().isEmpty()) continue;
            requireFinite(cfg, e.getKey(), e.getValue());
            Npz.write(storage, out.file(e.getKey()), e.getValue(), Npz.Compression.STORED);
        }
    }

    /**
     * summary.json's statistics: which were computed, the per-key norms' columns, and (without --clip, whose
     * gradient is not Σ g_n) the gradient noise scale over the rows used and the norms' quantiles.
     */
    private static Map<String, Object> statisticsSummary(JobConfig cfg, JobInputs checked, Evaluator.Value v, Map<String, Double> normQuantiles,
                                                         Map<String, Object> summary) {
        StatisticsSpec stats = cfg.statistics();
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        List<String> computed = new ArrayList<>();
        if (stats.sumOfSquares()) computed.add(StatisticsSpec.SUM_OF_SQUARES);
        if (stats.ggnDiagonal()) computed.add(StatisticsSpec.GGN_DIAGONAL);
        m.put("grad_stats", computed);
        if (stats.clip() > 0) m.put("clip", stats.clip());
        if (stats.perExample() instanceof PerExampleOutput.GradNormPerKey) m.put("grad_norms_columns", checked.keys());
        // Which computation ran: a model without the dense layers' outer-product rules takes the core's per-row path, about rows times slower.
        m.put("grad_stats_path", v.statistics().perRowChunks() == 0 ? "per-layer" : "per-row");
        if (stats.normsKnown() && stats.clip() == 0) {
            long rows = (Long) summary.get("rows_used");
            double scale = cfg.reduction() == JobConfig.Reduction.MEAN ? 1.0 / v.rowsUsed() : 1.0;
            Map<String, Object> terms = StatisticsSummary.noiseScale(v.gradient(), scale, v.statistics().sumOfSquaredNorms(), rows);
            m.put("gradient_noise_scale", terms.get("B"));
            m.put("gradient_noise_scale_terms", terms);
        }
        if (normQuantiles != null) m.put("per_example_grad_norm", normQuantiles);
        return m;
    }

    /**
     * The per-example output's shape, {@code rows} first, from the header of a part the tasks wrote:
     * for the MLP, checked against the kind's own row shape (a user Cell's outputs show only there).
     */
    private static List<Long> writtenShape(Storage storage, JobConfig cfg, String part, long rows) throws java.io.IOException {
        long[] header = org.gradspark.job.io.Npy.readHeader(storage, part).shape();
        List<Long> shape = new ArrayList<>();
        shape.add(rows);
        for (int k = 1; k < header.length; k++) shape.add(header[k]);
        if (cfg.modelClass() == null && cfg.inputsWanted()) {
            int[] layers = cfg.layers();
            int outputs = cfg.loss() == JobConfig.Loss.NONE ? layers[layers.length - 1] : 1;
            List<Long> expected = new ArrayList<>(List.of(rows));
            for (int d : cfg.derivative().rowShape(layers[0], outputs)) expected.add((long) d);
            if (!expected.equals(shape)) {
                throw new IllegalStateException(Storage.display(part) + " holds rows of " + shape + ", not the " + expected + " of --derivative " + cfg.derivative().name());
            }
        }
        return shape;
    }

    /** The evaluations of a run: the last one's results, each one's time, whether they agreed bit for bit. */
    private record Evaluation(Evaluator.Value last, List<Double> evaluations, boolean identical, boolean sharded, long broadcastNanos,
                              org.gradspark.job.exec.HeapEstimate driverEstimate) {}

    /** Evaluates {@code --repeat} times at the same weights (a benchmark of the loop an optimiser runs), each with the weights broadcast afresh. */
    private static Evaluation evaluate(Evaluator evaluator, JobInputs checked) {
        Evaluator.Value last = null;
        List<Double> seconds = new ArrayList<>();
        boolean identical = true;
        for (int e = 0; e < checked.cfg().repeat(); e++) {
            Evaluator.Value v = evaluator.evaluate(checked.weights(), checked.vector(), null);
            seconds.add(v.seconds());
            if (last != null && !sameBits(last.gradient(), v.gradient())) identical = false;
            last = v;
        }
        return new Evaluation(last, seconds, identical, evaluator.sharded(), evaluator.broadcastNanos(), evaluator.driverEstimate());
    }

    /** summary.json's content: what ran where ({@link JobSummary}), the phases, the evaluations, the reduction, the driver's heap, the outputs. */
    private static Map<String, Object> summary(JobConfig cfg, JavaSparkContext jsc, Evaluation ev, DriverHeap heap, Map<String, Double> phases,
                                               double wallSeconds, List<Long> inputGradsShape) {
        List<PartitionResult> results = ev.last().partitions();
        double outputSum = 0;
        for (PartitionResult r : results) outputSum += r.outputSum();
        Map<String, Object> summary = JobSummary.of(cfg, jsc, results, outputSum, phases, wallSeconds, ev.last().tasksSeconds());
        if (cfg.repeat() > 1) {
            // Each evaluation from its broadcast to its reduced gradient; the first also reads the rows.
            summary.put("evaluations_s", ev.evaluations());
            summary.put("evaluations_identical", ev.identical());
        }
        summary.put("reduction_path", ev.sharded() ? "sharded on the executors" : "collected, summed on the driver");
        summary.put("rows_used", (Long) summary.get("rows") - (Long) summary.get("skipped_rows"));
        if (cfg.reduction() == JobConfig.Reduction.MEAN) summary.put("mean_over_rows", ev.last().rowsUsed());
        summary.put("driver_heap", heap.report(ev.driverEstimate()));
        if (inputGradsShape != null) {
            // Under the output's own key, its directory (input_grads for nested/grad, laplacian, ..., grad_norms, grad_dots).
            PerExampleOutput kind = perExample(cfg);
            summary.put(kind.dir(), kind.summaryEntry(cfg.inputGradsFormat().name().toLowerCase(java.util.Locale.ROOT), inputGradsShape, results.size()));
        }
        return summary;
    }

    /**
     * The failure to report when a file vanished while the job ran (removed by another program or
     * user): the job's temporary output, or a file the executors read (--input, --sens, --labels)
     * that the failure names. What a task or the driver met next (an executor that "cannot see" the
     * temporary or "finds no such file", a part that cannot be renamed) only follows from that, and
     * would blame the executors' filesystem. Null when nothing vanished, or when the storage cannot
     * say (its own failure is then the one to report).
     */
    private static RuntimeException vanished(Storage storage, JobOutput out, JobConfig cfg, Throwable failure) {
        try {
            if (!storage.exists(out.temporary())) {
                return removed(failure, "--out " + Storage.display(out.out()) + ": the job's temporary output " + Storage.display(out.temporary()), out.temporary());
            }
            for (String option : List.of("--input", "--sens", "--labels")) {
                String file = cfg.inputFiles().get(option);
                if (file != null && mentions(failure, Storage.display(file)) && !storage.exists(file)) {
                    return removed(failure, option + " " + Storage.display(file), file);
                }
            }
            return null;
        } catch (java.io.IOException unknown) {
            return null;
        }
    }

    private static RuntimeException removed(Throwable failure, String what, String file) {
        java.io.FileNotFoundException gone = new java.io.FileNotFoundException(file);
        gone.addSuppressed(failure);   // in the log; not a cause, which the report would take for the reason (an executor's "cannot see")
        return new java.io.UncheckedIOException(what + " was removed while the job ran (by another program or user); nothing was written to --out", gone);
    }

    private static boolean mentions(Throwable failure, String text) {
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains(text)) return true;
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> RuntimeException sneaky(Throwable e) throws T {
        throw (T) e;
    }

    /**
     * A bad row found by a task arrives inside a SparkException (checked, so not a RuntimeException):
     * the BadInputException it carries, or null when {@code e} is not one or already is one.
     */
    private static BadInputException wrappedBadInput(Throwable e) {
        BadInputException bad = BadInputException.carriedBy(e);
        return bad != null && bad != e ? new BadInputException(bad.getMessage(), e) : null;
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

    /**
     * Rows from elsewhere (a Parquet/CSV file, a Dataset): {@code write} puts them into .npy parts
     * in the directory it is given (inside the job's temporary output), then the job runs on them,
     * with {@code name} naming the rows in error messages.
     */
    private static Result runMaterialized(JavaSparkContext jsc, JobInputs checked, String name,
                                          java.util.function.BiFunction<Storage, String, RowSource.NpyParts> write) {
        Storage storage = Storage.of(jsc.hadoopConfiguration());
        JobOutput out = JobOutput.begin(storage, checked.cfg().out());
        RowSource.NpyParts rows;
        try (BadInputStop stop = BadInputStop.watch(jsc.sc())) {
            try {
                rows = write.apply(storage, out.file(TabularInput.ROWS_DIR));
            } catch (Throwable e) {
                RuntimeException removed = vanished(storage, out, checked.cfg(), e);
                out.abort();
                if (removed != null) throw removed;
                BadInputException bad = stop.stopped(e);
                if (bad == null) bad = wrappedBadInput(e);
                if (bad != null) throw bad;
                throw sneaky(e);
            }
        }
        JobInputs complete;
        try {
            complete = checked.withRows(rows, name, storage);
        } catch (BadInputException e) {
            out.abort();   // the rows do not match the rest: run() never took over the output
            throw e;
        }
        return run(jsc, complete, out);
    }

    /**
     * The reduced gradients hold no NaN or infinity, unless {@code --check-finite none}: a job does
     * not report success with a non-finite {@code grads.npz}.
     */
    private static void requireFiniteResult(JobConfig cfg, Map<String, Tensor> grads) {
        requireFinite(cfg, cfg.mode() == JobConfig.Mode.HVP ? "hvp.npz" : "grads.npz", grads);
    }

    private static void requireFinite(JobConfig cfg, String file, Map<String, Tensor> grads) {
        if (cfg.checkFinite() == JobConfig.CheckFinite.NONE || grads == null) return;
        grads.forEach((key, t) -> {
            int bad = t.firstNonFinite();
            if (bad >= 0) {
                throw new BadInputException(file + " would hold " + t.getDouble(bad) + " at key '" + key + "', " + t.indexText(bad)
                        + (cfg.checkFinite() == JobConfig.CheckFinite.OPS ? "" : "; --check-finite ops names the op that produced it")
                        + "; --check-finite none writes it anyway");
            }
        });
    }

    /**
     * The Spark settings GradSpark relies on: Kryo with its registrator; and, unless set otherwise,
     * {@value #DIRECT_RESULT_BYTES} for {@code spark.task.maxDirectResultSize}, so that a partition's
     * float64 partial sums (8 bytes a parameter: 10.6 MB for a 1.3 M-parameter MLP) come back with its
     * task's status. Spark's default (1 MiB) stores a larger result in the executor's block manager,
     * from which the driver fetches it over the network in a second trip: on local[2] that was the
     * largest part of an evaluation's fixed cost ({@code bench/results/evaluation-overhead.md}).
     * Spark caps the value at {@code spark.rpc.message.maxSize} (128 MiB by default); a larger result
     * still takes the block manager.
     */
    public static SparkConf configure(SparkConf conf) {
        return conf.set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .set("spark.kryo.registrator", GradSparkKryoRegistrator.class.getName())
                .setIfMissing("spark.task.maxDirectResultSize", DIRECT_RESULT_BYTES);
    }

    /** GradSpark's {@code spark.task.maxDirectResultSize}: Spark's default RPC message limit. */
    static final String DIRECT_RESULT_BYTES = "128m";
}
