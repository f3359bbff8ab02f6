package org.gradspark.job.exec;

import java.util.List;
import java.util.function.LongFunction;
import org.apache.spark.SparkConf;
import org.gradspark.ad.DType;

/**
 * The driver's heap against what a job's evaluations make it hold ({@link HeapEstimate#driver}): refused in one
 * line before Spark starts, naming the parts, the need, the heap and {@code --driver-memory}.
 *
 * <p>Before Spark starts the settings come from the submitted conf ({@link Setting#submitted}): the master (local
 * mode runs the tasks in the driver's heap too), {@code --partitions} or else the parallelism Spark will choose
 * (local[N]: N; {@code spark.default.parallelism}; on a cluster, where it is the executors' cores, Spark's least,
 * 2), the sharding threshold, the result getters and the largest direct result. Once Spark runs,
 * {@link TaskMemoryCheck} checks again with the partitions Spark chose and the chunks' activations.
 */
public final class DriverMemoryCheck {
    private DriverMemoryCheck() {}

    /** Spark's own default of {@code spark.resultGetter.threads}. */
    static final int RESULT_GETTERS = 4;

    /**
     * Where the driver runs and what Spark will do with the job's results, as far as known before Spark starts.
     *
     * @param inProcessSlots tasks at once in the driver's JVM (local mode), 0 on a cluster
     * @param parallelism    the partitions when {@code --partitions} is not given
     * @param state          more terms by the weights' count (a fit's optimiser state; none for grad)
     */
    public record Setting(long heapBytes, int inProcessSlots, int parallelism, long shardThreshold, int resultGetters, long maxDirectResult,
                          LongFunction<List<HeapEstimate.Term>> state) {

        /** What spark-submit gave this JVM (its system properties; local[*] when no master), with this JVM's heap. */
        public static Setting submitted() {
            SparkConf conf = new SparkConf();
            return of(conf.get("spark.master", "local[*]"), conf, Runtime.getRuntime().maxMemory());
        }

        /** The setting of {@code master} with {@code conf}'s keys and a heap of {@code heapBytes}. */
        public static Setting of(String master, SparkConf conf, long heapBytes) {
            MasterUrl m = new MasterUrl(master);
            int slots = m.inProcess() ? m.inProcessTaskSlots() : 0;
            int parallelism = conf.getInt("spark.default.parallelism", m.inProcess() ? slots : 2);
            // GradSpark's own default (GradientJob.configure), capped by Spark at the RPC message's size (a count of MiB).
            long direct = Math.min(conf.getSizeAsBytes("spark.task.maxDirectResultSize", "128m"), (long) conf.getInt("spark.rpc.message.maxSize", 128) << 20);
            return new Setting(heapBytes, slots, parallelism, conf.getLong(ShardThreshold.KEY, ShardThreshold.DEFAULT),
                    conf.getInt("spark.resultGetter.threads", RESULT_GETTERS), direct, w -> List.of());
        }

        /** The partitions {@code cfg}'s evaluations will have: {@code --partitions}, or else the parallelism Spark will choose. */
        public int partitions(JobConfig cfg) {
            return cfg.partitions() > 0 ? cfg.partitions() : parallelism;
        }

        /** The same with a fit's optimiser state. */
        public Setting withState(LongFunction<List<HeapEstimate.Term>> more) {
            return new Setting(heapBytes, inProcessSlots, parallelism, shardThreshold, resultGetters, maxDirectResult, more);
        }
    }

    /**
     * The load of {@code cfg}'s evaluations on {@code weights} values of {@code itemBytes} each: the gradient's
     * values with the float64 statistics reduced after them, a vector broadcast with the weights, the partitions,
     * the reducer {@link GradientReducer#of} will choose, and {@code activations} bytes a task.
     */
    static HeapEstimate.Load load(JobConfig cfg, long weights, int itemBytes, Setting s, int partitions, double activations) {
        StatisticsSpec stats = cfg.statistics();
        long perWeight = (stats.sumOfSquares() ? 1 : 0) + (stats.ggnDiagonal() ? 1 : 0);
        long reduced = cfg.weightsWanted() ? weights * (1 + perWeight) : 0;
        boolean vector = cfg.vector() != null || stats.dotVector() != null;
        boolean sharded = (long) partitions * reduced >= s.shardThreshold() && reduced > 0;
        return new HeapEstimate.Load(weights, itemBytes, reduced, vector, partitions, sharded, s.resultGetters(), s.maxDirectResult(), activations);
    }

    /**
     * Refuses, before Spark starts, a job whose driver cannot hold {@code weights} values of {@code dtype}'s size
     * through an evaluation (and the setting's optimiser state), naming {@code model} ({@code --layers ...} or
     * {@code --model-class ...}).
     *
     * @throws org.gradspark.job.io.BadInputException naming the parts, the need, the heap and --driver-memory
     */
    public static void require(JobConfig cfg, String model, long weights, DType dtype, Setting s) {
        int partitions = s.partitions(cfg);
        HeapEstimate.Load l = load(cfg, weights, dtype.bytes(), s, partitions, 0);
        HeapEstimate e = HeapEstimate.driver(l, s.inProcessSlots()).plus(s.state().apply(weights));
        e.requireFits(String.format(java.util.Locale.ROOT, "%s: %d parameters (%s, %d partitions, %s%s)", model, weights, dtype.numpyName(), partitions,
                l.sharded() ? "sharded reduction" : "collected reduction", s.inProcessSlots() > 0 ? ", " + s.inProcessSlots() + " tasks in the driver" : ""),
                s.heapBytes(), "the driver", "raise --driver-memory");
    }
}
