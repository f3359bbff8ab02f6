package org.gradspark.job;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;
import scala.Tuple2;

/**
 * The distributed objective of a job, evaluated as often as its caller needs (an optimiser's loop,
 * {@code --repeat}): each evaluation broadcasts the weights afresh, runs every partition's
 * {@link PartitionTask} and reduces the partial gradients in partition order ({@link GradientReducer}),
 * so the same weights give the same bits on any cluster.
 *
 * <pre>{@code
 * JobInputs checked = JobInputs.check(cfg, Storage.of(jsc.hadoopConfiguration()));
 * try (Evaluator f = Evaluator.open(jsc, checked)) {
 *     Evaluator.Value v = f.evaluate(f.initialWeights());
 *     double loss = v.objective();   // sum over rows of out * s (divided by the rows used with --reduction mean)
 *     Map<String, Tensor> g = v.gradient();
 * }
 * }</pre>
 *
 * <p>With {@link #open} the rows are read (and checked) once, in the first evaluation, and kept in
 * the executors' memory; a task that meets bad input returns its message, which the evaluation
 * throws as a {@link BadInputException}, instead of failing and being retried.
 */
public final class Evaluator implements AutoCloseable {

    /**
     * Rows kept in an evaluation: row r is kept iff a hash of (seed, step, r) falls below
     * {@code fraction}, the same on any partitioning and cluster (a minibatch of about
     * {@code fraction × N} rows, a new one each step).
     */
    public record RowSample(double fraction, long seed, long step) implements java.io.Serializable {
        public RowSample {
            if (!(fraction > 0 && fraction <= 1)) throw new BadInputException("--minibatch-fraction: expected a value in (0, 1], got " + fraction);
        }

        /** Whether row {@code row} is in this step's sample. */
        public boolean keeps(long row) {
            long h = mix(mix(seed ^ 0x6A09E667F3BCC909L) ^ step * 0x9E3779B97F4A7C15L ^ mix(row));
            return (h >>> 11) * 0x1.0p-53 < fraction;
        }

        /** SplitMix64's finaliser: every input bit reaches every output bit. */
        private static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }

    /**
     * One evaluation: {@code objective} is exactly the function whose gradient {@code gradient} is,
     * {@code sum over kept rows of sum_j out_nj s_nj}, times 1/rowsUsed with {@code --reduction mean}
     * (with a loss, out_n is example n's loss and s_n its weight); {@code gradient} in the job's
     * dtype (the Hessian-vector product with {@code --mode hvp}); {@code partitions} in index order,
     * without their partial sums; {@code seconds} the whole evaluation, {@code tasksSeconds} the span of
     * its partitions' tasks (first launch to last end: {@link ProgressListener#tasksSeconds}), measured
     * for the gradient job only (NaN for an optimiser's evaluations, which it would slow down).
     */
    public record Value(double objective, Map<String, Tensor> gradient, long rowsUsed, double seconds, double tasksSeconds,
                        List<PartitionResult> partitions, StatisticsSums statistics) {}

    /**
     * The reduced gradient statistics of an evaluation ({@link StatisticsSpec}), float64, each summed over
     * partitions in index order: Σ_n g_n² and the GGN diagonal by weight key (empty when not asked), and
     * Σ_n |g_n|² over the rows used (NaN when neither the norms nor Σ g_n² were computed), and how many chunks took the
     * core's slow per-row path ({@code GradientStatistics.Path.PER_ROW}: a model without the dense layers' outer-product rules).
     */
    public record StatisticsSums(Map<String, Tensor> sumOfSquares, Map<String, Tensor> ggnDiagonal, double sumOfSquaredNorms, long perRowChunks) {}

    private final JavaSparkContext jsc;
    private final JobInputs checked;
    private final PartitionTask task;
    private final Broadcast<Storage> storage;
    private final int partitions;
    private final List<String> keys;
    private final List<Shape> shapes;
    private final long shardThreshold;
    private final JavaRDD<Integer> parts;
    private final boolean cache;
    private final boolean timesTasks;
    private JavaPairRDD<Integer, PartitionTask.Rows> kept;
    private Long fullBatchRows;
    private long broadcastNanos;

    private Evaluator(JavaSparkContext jsc, JobInputs checked, String inputGrads, boolean cache, boolean timesTasks) {
        if (checked.pending()) throw new IllegalStateException("the rows of " + checked.cfg().inputWhere() + " are not written yet");
        this.jsc = jsc;
        this.checked = checked;
        this.cache = cache;
        this.timesTasks = timesTasks;
        JobConfig cfg = checked.cfg();
        long n = checked.input().rows();
        int p = cfg.partitions() > 0 ? cfg.partitions() : jsc.defaultParallelism();
        this.partitions = (int) Math.max(1, Math.min(p, n));
        this.storage = jsc.broadcast(Storage.of(jsc.hadoopConfiguration()));
        this.task = new PartitionTask(cfg, checked.input(), checked.sens(), checked.labels(), inputGrads, partitions, storage);
        this.parts = jsc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions);
        if (cfg.modelClass() == null) checkTaskSize(jsc, cfg, n, partitions);
        this.keys = cfg.weightsWanted() ? checked.keys() : List.of();
        this.shapes = keys.stream().map(k -> checked.weights().get(k).shape()).toList();
        this.shardThreshold = shardThreshold(jsc);
    }

    /** The reducer of an evaluation with the statistics {@code stats}: their partial sums follow the gradient's, in float64 (PartitionStatistics' layout). */
    private GradientReducer reducer(StatisticsSpec stats) {
        PartitionStatistics.Layout more = PartitionStatistics.layout(keys, shapes, stats);
        List<String> all = new ArrayList<>(keys);
        all.addAll(more.keys());
        List<Shape> allShapes = new ArrayList<>(shapes);
        allShapes.addAll(more.shapes());
        List<org.gradspark.ad.DType> dtypes = new ArrayList<>(java.util.Collections.nCopies(keys.size(), checked.cfg().dtype()));
        dtypes.addAll(java.util.Collections.nCopies(more.keys().size(), org.gradspark.ad.DType.FLOAT64));
        return GradientReducer.of(all, allShapes, dtypes, partitions, shardThreshold);
    }

    /** An evaluator whose rows are read once and kept in the executors' memory (an optimiser's loop). */
    public static Evaluator open(JavaSparkContext jsc, JobInputs checked) {
        return new Evaluator(jsc, checked, null, true, false);
    }

    /**
     * The gradient job's evaluator: {@code inputGrads} is where the partitions write their input
     * derivatives (null: not wanted); the rows are kept in memory only when {@code cache}.
     */
    static Evaluator forJob(JavaSparkContext jsc, JobInputs checked, String inputGrads, boolean cache) {
        return new Evaluator(jsc, checked, inputGrads, cache, true);
    }

    /** The weights' keys in the model's order. */
    public List<String> keys() {
        return checked.keys();
    }

    /** {@code --weights}, or the seeded initialisation (or a user Cell's own). */
    public Map<String, Tensor> initialWeights() {
        return checked.weights();
    }

    public int partitions() {
        return partitions;
    }

    /** Whether the partial sums are reduce-scattered on the executors (large models) rather than summed on the driver. */
    public boolean sharded() {
        return reducer(checked.cfg().statistics()).sharded();
    }

    /** Time spent broadcasting weights so far. */
    long broadcastNanos() {
        return broadcastNanos;
    }

    /** The full-batch objective and gradient at {@code weights}. */
    public Value evaluate(Map<String, Tensor> weights) {
        return evaluate(weights, null, null);
    }

    /** The objective and gradient over this step's sample of the rows. */
    public Value evaluate(Map<String, Tensor> weights, RowSample sample) {
        return evaluate(weights, null, sample);
    }

    /**
     * DP-SGD's clipped sum over this step's sample of the rows ({@code sample} null: all):
     * {@code gradient} is {@code Σ_n g_n · min(1, C/|g_n|)} over the rows used (a zero g_n counts whole),
     * with no 1/N scale whatever {@code --reduction} says, {@code objective} the plain unscaled
     * {@code Σ_n o_n} over the same rows, and {@code rowsUsed} the number of rows in the sum (those in the
     * sample, less any left out by {@code --on-nan skip}): what a noisy mean divides by is the caller's.
     * g_n is the gradient of row n's term {@code o_n = Σ_j s_nj out_nj} (its loss times its --sens weight).
     *
     * <pre>{@code
     * Evaluator.Value v = f.evaluateClipped(w, new Evaluator.RowSample(0.01, seed, step), 1.0);
     * }</pre>
     *
     * @throws BadInputException when {@code clip} is not positive and finite
     */
    public Value evaluateClipped(Map<String, Tensor> weights, RowSample sample, double clip) {
        if (!(clip > 0 && clip < Double.POSITIVE_INFINITY)) throw new BadInputException("the clipping norm C must be positive and finite, got " + clip);
        if (!checked.cfg().weightsWanted() || checked.cfg().mode() != JobConfig.Mode.GRAD) {
            throw new IllegalStateException("a clipped sum is of the weights' per-example gradients: an evaluator of --wrt weights --mode grad");
        }
        Value v = evaluate(weights, null, null, sample, new StatisticsSpec(null, false, false, clip), 1.0);
        long used = 0;
        for (PartitionResult r : v.partitions()) used += r.rows() - r.skippedRows();
        return new Value(v.objective(), v.gradient(), used, v.seconds(), v.tasksSeconds(), v.partitions(), v.statistics());
    }

    /**
     * The full-batch product of a curvature matrix of the objective and {@code vector} (same keys and
     * shapes as the weights) at {@code weights}: the Hessian's ({@code --mode hvp}'s) or the Gauss-Newton
     * matrix's {@code J^T H_loss J} (J: the model's outputs by the weights), in {@link Value#gradient},
     * the partial products reduced in partition order as a gradient is (the same bits on any cluster);
     * {@link Value#objective} is the objective at {@code weights}.
     */
    public Value curvatureProduct(Map<String, Tensor> weights, Map<String, Tensor> vector, BatchGradient.Curvature kind) {
        JobModel.checkLike(vector, checked.weights(), "the curvature product's vector");
        return evaluate(weights, vector, kind, null, StatisticsSpec.NONE, Double.NaN);
    }

    /** One evaluation of the job's own statistics; {@code vector} is the hvp direction or grad-dot's V (or null), {@code sample} the rows kept (null: all). */
    Value evaluate(Map<String, Tensor> weights, Map<String, Tensor> vector, RowSample sample) {
        BatchGradient.Curvature product = checked.cfg().mode() == JobConfig.Mode.HVP ? BatchGradient.Curvature.HESSIAN : null;
        return evaluate(weights, vector, product, sample, checked.cfg().statistics(), Double.NaN);
    }

    /**
     * One evaluation: {@code vector} the direction of a {@code kind} product ({@code kind} null: no product;
     * the vector, if any, is grad-dot's V), {@code sample} the rows kept (null: all), with the statistics {@code stats};
     * {@code fixedScale} the objective's scale, or NaN for the job's (1/rows used with a mean).
     */
    private Value evaluate(Map<String, Tensor> weights, Map<String, Tensor> vector, BatchGradient.Curvature kind, RowSample sample, StatisticsSpec stats,
                           double fixedScale) {
        JobConfig cfg = checked.cfg();
        JobModel.checkLike(weights, checked.weights(), "the weights evaluated");
        long te = System.nanoTime();
        PartitionTask task = this.task;   // the closures below must not capture this Evaluator
        keepRows();
        long used = Double.isNaN(fixedScale) ? rowsUsed(sample) : -1;
        double scale = !Double.isNaN(fixedScale) ? fixedScale : cfg.reduction() == JobConfig.Reduction.MEAN ? 1.0 / used : 1.0;
        org.apache.spark.util.LongAccumulator rowsDone = jsc.sc().longAccumulator("gradspark rows");
        ProgressListener progress = new ProgressListener(checked.input().rows(), rowsDone, PROGRESS_SECONDS);
        jsc.sc().addSparkListener(progress);
        Broadcast<Map<String, Tensor>> bw = jsc.broadcast(weights);
        Broadcast<Map<String, Tensor>> bv = vector == null ? null : jsc.broadcast(vector);
        try {
            long tb = System.nanoTime();
            broadcastNanos += tb - te;
            JavaRDD<PartitionResult> computed = kept == null
                    ? parts.map(i -> task.runOrFailure(i, null, scale, bw.value(), bv == null ? null : bv.value(), kind, sample, stats, rowsDone))
                    : kept.map(p -> task.runOrFailure(p._1(), p._2(), scale, bw.value(), bv == null ? null : bv.value(), kind, sample, stats, rowsDone));
            Map<String, Tensor> reduced = new LinkedHashMap<>();
            List<PartitionResult> results = reducer(stats).reduce(computed, reduced);
            double objective = 0;
            for (PartitionResult r : results) objective += r.objective();
            double seconds = (System.nanoTime() - te) / 1e9;
            Map<String, Tensor> g = new LinkedHashMap<>();
            for (String k : keys) g.put(k, reduced.get(k));
            return new Value(objective, g, used, seconds, timesTasks ? tasksSeconds(progress) : Double.NaN, results, statisticsOf(stats, reduced));
        } finally {
            jsc.sc().removeSparkListener(progress);
            bw.destroy();
            if (bv != null) bv.destroy();
        }
    }

    /** The reduced statistics after the gradient's keys ({@link PartitionStatistics#layout}), by weight key; null when none were asked. */
    private StatisticsSums statisticsOf(StatisticsSpec stats, Map<String, Tensor> reduced) {
        if (!stats.any()) return null;
        Map<String, Tensor> squares = new LinkedHashMap<>(), ggn = new LinkedHashMap<>();
        for (String k : keys) {
            if (stats.sumOfSquares()) squares.put(k, reduced.get("sum-of-squares " + k));
            if (stats.ggnDiagonal()) ggn.put(k, reduced.get("ggn-diagonal " + k));
        }
        Tensor norms = reduced.get(PartitionStatistics.SQUARED_NORMS);
        return new StatisticsSums(squares, ggn, norms == null ? Double.NaN : norms.getDouble(0), (long) reduced.get(PartitionStatistics.PER_ROW_CHUNKS).getDouble(0));
    }

    /** The tasks' span once the listener has seen their ends, which Spark's listener bus may deliver after the job has returned. */
    private double tasksSeconds(ProgressListener progress) {
        try {
            jsc.sc().listenerBus().waitUntilEmpty(TASK_EVENTS_WAIT_MS);
        } catch (java.util.concurrent.TimeoutException e) {
            // A bus that far behind: the span of the ends it has delivered.
        }
        return progress.tasksSeconds();
    }

    /** How long an evaluation waits, at most, for the listener bus to deliver its tasks' ends. */
    private static final long TASK_EVENTS_WAIT_MS = 2000;

    /** With {@link #open}: the rows, read at their first use and kept in the executors' memory. */
    private void keepRows() {
        PartitionTask task = this.task;
        if (cache && kept == null) {
            kept = parts.mapToPair(i -> new Tuple2<>(i, task.readAllOrFailure(i))).persist(StorageLevel.MEMORY_ONLY());
        }
    }

    /**
     * SHA-256 digests of the rows by source ({@link RowsDigest}: {@code input}, and {@code sens},
     * {@code labels} when the job has them), computed by the tasks over the rows kept in memory (with
     * {@link #open}: read now if no evaluation has read them yet, and kept), or read for it.
     *
     * @throws BadInputException the bad input that stopped a partition's reading
     */
    public Map<String, String> rowsDigest() {
        PartitionTask task = this.task;
        keepRows();
        List<RowsDigest> digests = kept == null ? parts.map(i -> RowsDigest.of(i, task.chunks(i))).collect()
                : kept.map(p -> p._2().failure() != null ? RowsDigest.failed(p._1(), p._2().failure()) : RowsDigest.of(p._1(), p._2().chunks().iterator()))
                        .collect();
        return RowsDigest.combine(digests);
    }

    /**
     * The rows an evaluation uses: all, or with {@code --on-nan skip} or a sample those kept,
     * counted first (an exact integer, so a mean stays deterministic; one more read of the rows,
     * from memory when they are kept). A full batch is counted once.
     */
    private long rowsUsed(RowSample sample) {
        JobConfig cfg = checked.cfg();
        long n = checked.input().rows();
        boolean skips = cfg.onNan() == JobConfig.OnNan.SKIP && !(checked.input() instanceof RowSource.Synthetic);
        if (cfg.reduction() != JobConfig.Reduction.MEAN || (!skips && sample == null)) return n;
        if (sample == null && fullBatchRows != null) return fullBatchRows;
        PartitionTask task = this.task;
        List<PartitionTask.Kept> counts = new ArrayList<>(kept == null ? parts.map(i -> task.keptRows(i, null, sample)).collect()
                : kept.map(p -> task.keptRows(p._1(), p._2(), sample)).collect());
        counts.sort(java.util.Comparator.comparingInt(PartitionTask.Kept::index));
        long used = 0;
        for (PartitionTask.Kept k : counts) {
            if (k.failure() != null) throw new BadInputException(k.failure());
            used += k.rows();
        }
        if (used == 0) {
            throw new BadInputException(cfg.inputWhere() + (sample == null ? ": every row has a NaN or an infinity" : ": no row is in the sample of step "
                    + sample.step() + " (--minibatch-fraction " + sample.fraction() + ")") + "; --reduction mean has no rows to average");
        }
        if (sample == null) fullBatchRows = used;
        return used;
    }

    /** How often, at most, progress is logged (it also needs the executors' heartbeats: spark.executor.heartbeatInterval). */
    static final double PROGRESS_SECONDS = 5;

    /** Partial sums the driver may collect (partitions × parameters, float64 values: 2^25 is 256 MiB) before they are reduce-scattered instead. */
    static final long DEFAULT_SHARD_THRESHOLD = 1L << 25;

    /** From the thread's local property or the Spark conf ({@code spark.gradspark.shardThreshold}). */
    private static long shardThreshold(JavaSparkContext jsc) {
        String local = jsc.getLocalProperty("spark.gradspark.shardThreshold");
        return local != null ? Long.parseLong(local) : jsc.getConf().getLong("spark.gradspark.shardThreshold", DEFAULT_SHARD_THRESHOLD);
    }

    /**
     * The MLP's tasks fit in the heap that runs them: the driver's in local mode (local[N]: N tasks
     * at once), else {@code spark.executor.memory} with spark.executor.cores / spark.task.cpus tasks
     * at once (1 when unset).
     */
    private static void checkTaskSize(JavaSparkContext jsc, JobConfig cfg, long rows, int partitions) {
        org.apache.spark.SparkConf conf = jsc.getConf();
        MasterUrl master = new MasterUrl(jsc.master());
        // PartitionTask.firstRow splits the rows evenly: no partition holds more than this.
        long partitionRows = (rows + partitions - 1) / partitions;
        if (master.inProcess()) {
            int tasks = master.inProcessTaskSlots();
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), partitionRows, directions(cfg), Runtime.getRuntime().maxMemory(), tasks,
                    "--driver-memory");
        } else {
            int tasks = Math.max(1, conf.getInt("spark.executor.cores", 1) / Math.max(1, conf.getInt("spark.task.cpus", 1)));
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), partitionRows, directions(cfg), conf.getSizeAsBytes("spark.executor.memory", "1g"),
                    tasks, "--executor-memory (spark.executor.memory)");
        }
    }

    /** Values an activation carries in a task: 1, or with a per-example operator its tangents along the in directions (and second-order terms). */
    private static long directions(JobConfig cfg) {
        return cfg.inputsWanted() ? cfg.derivative().memoryFactor(cfg.layers()[0]) : 1;
    }

    /** Unpersists the kept rows and destroys the storage broadcast. */
    @Override public void close() {
        if (kept != null) kept.unpersist(false);
        kept = null;
        storage.destroy();
    }
}
