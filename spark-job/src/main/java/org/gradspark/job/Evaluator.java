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
                        List<PartitionResult> partitions) {}

    private final JavaSparkContext jsc;
    private final JobInputs checked;
    private final PartitionTask task;
    private final Broadcast<Storage> storage;
    private final int partitions;
    private final GradientReducer reducer;
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
        if (cfg.modelClass() == null) checkTaskSize(jsc, cfg);
        List<String> keys = cfg.weightsWanted() ? checked.keys() : List.of();
        List<Shape> shapes = keys.stream().map(k -> checked.weights().get(k).shape()).toList();
        this.reducer = GradientReducer.of(keys, shapes, cfg.dtype(), partitions, shardThreshold(jsc));
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
        return reducer.sharded();
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
     * The full-batch product of a curvature matrix of the objective and {@code vector} (same keys and
     * shapes as the weights) at {@code weights}: the Hessian's ({@code --mode hvp}'s) or the Gauss-Newton
     * matrix's {@code J^T H_loss J} (J: the model's outputs by the weights), in {@link Value#gradient},
     * the partial products reduced in partition order as a gradient is (the same bits on any cluster);
     * {@link Value#objective} is the objective at {@code weights}.
     */
    public Value curvatureProduct(Map<String, Tensor> weights, Map<String, Tensor> vector, BatchGradient.Curvature kind) {
        JobModel.checkLike(vector, checked.weights(), "the curvature product's vector");
        return evaluate(weights, vector, kind, null);
    }

    /** One evaluation; {@code vector} is the hvp direction (or null), {@code sample} the rows kept (null: all). */
    Value evaluate(Map<String, Tensor> weights, Map<String, Tensor> vector, RowSample sample) {
        return evaluate(weights, vector, BatchGradient.Curvature.HESSIAN, sample);
    }

    /** One evaluation; {@code vector} the direction of a {@code kind} product (or null: the gradient), {@code sample} the rows kept (null: all). */
    private Value evaluate(Map<String, Tensor> weights, Map<String, Tensor> vector, BatchGradient.Curvature kind, RowSample sample) {
        JobConfig cfg = checked.cfg();
        JobModel.checkLike(weights, checked.weights(), "the weights evaluated");
        long te = System.nanoTime();
        PartitionTask task = this.task;   // the closures below must not capture this Evaluator
        keepRows();
        long used = rowsUsed(sample);
        double scale = cfg.reduction() == JobConfig.Reduction.MEAN ? 1.0 / used : 1.0;
        org.apache.spark.util.LongAccumulator rowsDone = jsc.sc().longAccumulator("gradspark rows");
        ProgressListener progress = new ProgressListener(checked.input().rows(), rowsDone, PROGRESS_SECONDS);
        jsc.sc().addSparkListener(progress);
        Broadcast<Map<String, Tensor>> bw = jsc.broadcast(weights);
        Broadcast<Map<String, Tensor>> bv = vector == null ? null : jsc.broadcast(vector);
        try {
            long tb = System.nanoTime();
            broadcastNanos += tb - te;
            JavaRDD<PartitionResult> computed = kept == null
                    ? parts.map(i -> task.runOrFailure(i, null, scale, bw.value(), bv == null ? null : bv.value(), kind, sample, rowsDone))
                    : kept.map(p -> task.runOrFailure(p._1(), p._2(), scale, bw.value(), bv == null ? null : bv.value(), kind, sample, rowsDone));
            Map<String, Tensor> g = new LinkedHashMap<>();
            List<PartitionResult> results = reducer.reduce(computed, g);
            double objective = 0;
            for (PartitionResult r : results) objective += r.objective();
            double seconds = (System.nanoTime() - te) / 1e9;
            return new Value(objective, g, used, seconds, timesTasks ? tasksSeconds(progress) : Double.NaN, results);
        } finally {
            jsc.sc().removeSparkListener(progress);
            bw.destroy();
            if (bv != null) bv.destroy();
        }
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
    private static void checkTaskSize(JavaSparkContext jsc, JobConfig cfg) {
        org.apache.spark.SparkConf conf = jsc.getConf();
        String master = jsc.master();
        if (master.equals("local") || master.startsWith("local[")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\d+|\\*)").matcher(master);
            int tasks = !m.find() ? 1 : m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), directions(cfg), Runtime.getRuntime().maxMemory(), tasks, "--driver-memory");
        } else {
            int tasks = Math.max(1, conf.getInt("spark.executor.cores", 1) / Math.max(1, conf.getInt("spark.task.cpus", 1)));
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), directions(cfg), conf.getSizeAsBytes("spark.executor.memory", "1g"), tasks,
                    "--executor-memory (spark.executor.memory)");
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
