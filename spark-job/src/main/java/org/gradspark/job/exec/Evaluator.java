package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.RowSource;
import org.gradspark.job.io.Storage;

/**
 * The distributed objective of a job, evaluated as often as its caller needs (an optimiser's loop,
 * {@code --repeat}): each evaluation broadcasts the weights afresh, runs every partition's
 * {@link PartitionTask} and reduces the partial gradients in partition order ({@link GradientReducer}),
 * so the same weights give the same bits on any cluster, then destroys the broadcasts (the shape of
 * MLlib's {@code RDDLossFunction}). The rest is others': the rows kept in memory
 * ({@link PartitionsInMemory}), the minibatch ({@link RowSample}), the progress ({@link EvaluationProgress}),
 * the tasks' memory ({@link TaskMemoryCheck}), the reduction's sharding ({@link ShardThreshold}).
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
     * One evaluation: {@code objective} is exactly the function whose gradient {@code gradient} is,
     * {@code sum over kept rows of sum_j out_nj s_nj}, times 1/rowsUsed with {@code --reduction mean}
     * (with a loss, out_n is example n's loss and s_n its weight); {@code gradient} in the job's
     * dtype (the Hessian-vector product with {@code --mode hvp}); {@code partitions} in index order,
     * without their partial sums; {@code seconds} the whole evaluation, {@code tasksSeconds} the span of
     * its partitions' tasks (first launch to last end: {@link ProgressListener#tasksSeconds}), measured
     * for the gradient job only (NaN for an optimiser's evaluations, which it would slow down).
     */
    public record Value(double objective, Map<String, Tensor> gradient, long rowsUsed, double seconds, double tasksSeconds,
                        List<PartitionResult> partitions, StatisticsSums statistics) {
        /** A value computed without partitions (a closed form, a test's objective): no tasks' span, no statistics. */
        public Value(double objective, Map<String, Tensor> gradient, long rowsUsed, double seconds) {
            this(objective, gradient, rowsUsed, seconds, Double.NaN, List.of(), null);
        }
    }

    /**
     * The reduced gradient statistics of an evaluation ({@link StatisticsSpec}), float64, each summed over
     * partitions in index order: Σ_n g_n² and the GGN diagonal by weight key (empty when not asked), and
     * Σ_n |g_n|² over the rows used (NaN when neither the norms nor Σ g_n² were computed), and how many chunks took the
     * core's slow per-row path ({@code GradientStatistics.Path.PER_ROW}: a model without the dense layers' outer-product rules).
     */
    public record StatisticsSums(Map<String, Tensor> sumOfSquares, Map<String, Tensor> ggnDiagonal, double sumOfSquaredNorms, long perRowChunks) {
        /** The {@code reduced} statistics after the gradient's keys ({@link PartitionStatistics#layout}), by weight key of {@code keys}; null when none were asked. */
        static StatisticsSums of(StatisticsSpec stats, List<String> keys, Map<String, Tensor> reduced) {
            if (!stats.any()) return null;
            Map<String, Tensor> squares = new LinkedHashMap<>(), ggn = new LinkedHashMap<>();
            for (String k : keys) {
                if (stats.sumOfSquares()) squares.put(k, reduced.get("sum-of-squares " + k));
                if (stats.ggnDiagonal()) ggn.put(k, reduced.get("ggn-diagonal " + k));
            }
            Tensor norms = reduced.get(PartitionStatistics.SQUARED_NORMS);
            return new StatisticsSums(squares, ggn, norms == null ? Double.NaN : norms.getDouble(0), (long) reduced.get(PartitionStatistics.PER_ROW_CHUNKS).getDouble(0));
        }
    }

    private final JavaSparkContext jsc;
    private final JobInputs checked;
    private final PartitionRows rows;
    private final PartitionTask task;
    private final Broadcast<Storage> storage;
    private final int partitions;
    private final List<String> keys;
    private final List<Shape> shapes;
    private final long shardThreshold;
    private final PartitionsInMemory parts;
    private final boolean timesTasks;
    private Long fullBatchRows;
    private long broadcastNanos;
    private final HeapEstimate driverEstimate;

    private Evaluator(JavaSparkContext jsc, JobInputs checked, String inputGrads, boolean cache, boolean timesTasks) {
        if (checked.pending()) throw new IllegalStateException("the rows of " + checked.cfg().inputWhere() + " are not written yet");
        this.jsc = jsc;
        this.checked = checked;
        this.timesTasks = timesTasks;
        JobConfig cfg = checked.cfg();
        long n = checked.input().rows();
        int p = cfg.partitions() > 0 ? cfg.partitions() : jsc.defaultParallelism();
        this.partitions = (int) Math.max(1, Math.min(p, n));
        this.storage = jsc.broadcast(Storage.of(jsc.hadoopConfiguration()));
        this.rows = new PartitionRows(cfg, checked.input(), checked.sens(), checked.labels(), partitions, storage);
        this.task = new PartitionTask(cfg, rows, inputGrads, storage);
        this.parts = new PartitionsInMemory(jsc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions), rows, cache);
        this.driverEstimate = TaskMemoryCheck.check(jsc, checked, n, partitions);
        this.keys = cfg.weightsWanted() ? checked.keys() : List.of();
        this.shapes = keys.stream().map(k -> checked.weights().get(k).shape()).toList();
        this.shardThreshold = ShardThreshold.of(jsc);
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
    public static Evaluator forJob(JavaSparkContext jsc, JobInputs checked, String inputGrads, boolean cache) {
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

    /** What an evaluation makes the driver hold at its peak, term by term ({@link HeapEstimate#driver}; in local mode with the tasks). */
    public HeapEstimate driverEstimate() {
        return driverEstimate;
    }

    /** Time spent broadcasting weights so far. */
    public long broadcastNanos() {
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
     * Evaluator.Value v = f.evaluateClipped(w, new RowSample(0.01, seed, step), 1.0);
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

    /**
     * A dense Gauss-Newton pass: the full-batch objective and gradient (the bits {@link #evaluate} gives) and the
     * Gauss-Newton matrix {@code G = J^T H_loss J} of {@code --loss mse} (row-major P × P, float64, weights in
     * key order), in one distributed evaluation: each partition assembles its rows' share, the shares summed
     * in partition order (the same bits on any cluster).
     */
    public record GaussNewtonSystem(double objective, Map<String, Tensor> gradient, long rowsUsed, double[] matrix) {}

    /** Partial matrices the driver collects at most, partitions × P² float64 values (2^25: 256 MiB), as {@link #DEFAULT_SHARD_THRESHOLD}. */
    public static final long DENSE_GAUSS_NEWTON_VALUES = 1L << 25;

    /** {@link GaussNewtonSystem} at {@code weights} (an evaluator {@link #open}ed for fit, whose rows are kept). */
    public GaussNewtonSystem gaussNewtonSystem(Map<String, Tensor> weights) {
        JobModel.checkLike(weights, checked.weights(), "the weights evaluated");
        if (!parts.keeps() || checked.cfg().loss() != JobConfig.Loss.MSE) throw new IllegalStateException("a dense Gauss-Newton pass is fit's, with --loss mse");
        int p = 0;
        for (Shape s : shapes) p += s.size();
        if ((long) p * p * partitions > DENSE_GAUSS_NEWTON_VALUES) {
            throw new BadInputException("--solve dense: " + partitions + " partitions x " + p + "^2 values of their partial Gauss-Newton matrices exceed "
                    + DENSE_GAUSS_NEWTON_VALUES + " (256 MiB on the driver): use fewer --partitions or --solve cg");
        }
        PartitionTask task = this.task;
        long used = rowsUsed(null);
        double scale = checked.cfg().reduction() == JobConfig.Reduction.MEAN ? 1.0 / used : 1.0;
        Broadcast<Map<String, Tensor>> bw = jsc.broadcast(weights);
        try {
            List<PartitionGramian> shares = parts.map((i, kept) -> task.gramianOrFailure(i, kept, scale, bw.value())).collect();
            PartitionGramian.Sum sum = PartitionGramian.sum(shares, keys.size(), p);
            Map<String, Tensor> g = new LinkedHashMap<>();
            for (int k = 0; k < keys.size(); k++) g.put(keys.get(k), Tensor.of(sum.gradient()[k], shapes.get(k).dims()).astype(checked.cfg().dtype()));
            return new GaussNewtonSystem(sum.objective(), g, used, sum.matrix());
        } finally {
            bw.destroy();
        }
    }

    /** One evaluation of the job's own statistics; {@code vector} is the hvp direction or grad-dot's V (or null), {@code sample} the rows kept (null: all). */
    public Value evaluate(Map<String, Tensor> weights, Map<String, Tensor> vector, RowSample sample) {
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
        long used = Double.isNaN(fixedScale) ? rowsUsed(sample) : -1;
        double scale = !Double.isNaN(fixedScale) ? fixedScale : cfg.reduction() == JobConfig.Reduction.MEAN ? 1.0 / used : 1.0;
        try (EvaluationProgress progress = new EvaluationProgress(jsc, checked.input().rows())) {
            org.apache.spark.util.LongAccumulator rowsDone = progress.rowsDone();
            Broadcast<Map<String, Tensor>> bw = jsc.broadcast(weights);
            Broadcast<Map<String, Tensor>> bv = vector == null ? null : jsc.broadcast(vector);
            try {
                long tb = System.nanoTime();
                broadcastNanos += tb - te;
                JavaRDD<PartitionResult> computed = parts.map((i, kept) -> task.runOrFailure(i, kept, scale, bw.value(), bv == null ? null : bv.value(), kind,
                        sample, stats, rowsDone));
                Map<String, Tensor> reduced = new LinkedHashMap<>();
                List<PartitionResult> results = reducer(stats).reduce(computed, reduced);
                double objective = 0;
                for (PartitionResult r : results) objective += r.objective();
                double seconds = (System.nanoTime() - te) / 1e9;
                Map<String, Tensor> g = new LinkedHashMap<>();
                for (String k : keys) g.put(k, reduced.get(k));
                return new Value(objective, g, used, seconds, timesTasks ? progress.tasksSeconds() : Double.NaN, results, StatisticsSums.of(stats, keys, reduced));
            } finally {
                bw.destroy();
                if (bv != null) bv.destroy();
            }
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
        PartitionRows rows = this.rows;   // the closure must not capture this Evaluator
        List<RowsDigest> digests = parts.map((i, kept) -> kept == null ? RowsDigest.of(i, rows.chunks(i))
                : kept.failure() != null ? RowsDigest.failed(i, kept.failure()) : RowsDigest.of(i, kept.chunks().iterator())).collect();
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
        PartitionRows rows = this.rows;   // the closure must not capture this Evaluator
        List<PartitionRows.Kept> counts = new ArrayList<>(parts.map((i, kept) -> rows.keptRows(i, kept, sample)).collect());
        counts.sort(java.util.Comparator.comparingInt(PartitionRows.Kept::index));
        long used = 0;
        for (PartitionRows.Kept k : counts) {
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

    /** Unpersists the kept rows and destroys the storage broadcast. */
    @Override public void close() {
        parts.close();
        storage.destroy();
    }
}
