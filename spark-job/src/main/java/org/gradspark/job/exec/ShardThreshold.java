package org.gradspark.job.exec;

import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code spark.gradspark.shardThreshold}: how many partial sums (partitions × parameters, float64 values)
 * the driver may collect before the evaluator reduce-scatters them on the executors instead
 * ({@link GradientReducer}). A setting of the Spark application, not of one job: the calling thread's local
 * property wins over the conf (a test shards one job of a context).
 */
public final class ShardThreshold {
    private ShardThreshold() {}

    static final String KEY = "spark.gradspark.shardThreshold";

    /** 2^25 values: 256 MiB of float64 partial sums. */
    public static final long DEFAULT = 1L << 25;

    /** From the thread's local property, else the Spark conf, else {@link #DEFAULT}. */
    static long of(JavaSparkContext jsc) {
        String local = jsc.getLocalProperty(KEY);
        return local != null ? Long.parseLong(local) : jsc.getConf().getLong(KEY, DEFAULT);
    }
}
