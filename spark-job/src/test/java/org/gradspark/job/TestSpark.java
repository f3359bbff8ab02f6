package org.gradspark.job;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.job.api.GradientJob;

/**
 * The in-process Spark context the job's tests run on: the job's own settings
 * ({@link GradientJob#configure}), Kryo with every class registered (as the README promises for
 * users' jobs), no web UI, Spark's own log at WARN.
 */
public final class TestSpark {
    private TestSpark() {}

    /** A context on {@code master} (local[2], local[4], ...) named after the test class; the caller closes it. */
    public static JavaSparkContext start(String master, Class<?> test) {
        SparkConf conf = GradientJob.configure(new SparkConf().setMaster(master).setAppName(test.getSimpleName()))
                .set("spark.kryo.registrationRequired", "true")
                .set("spark.ui.enabled", "false");
        JavaSparkContext jsc = new JavaSparkContext(conf);
        jsc.setLogLevel("WARN");
        return jsc;
    }
}
