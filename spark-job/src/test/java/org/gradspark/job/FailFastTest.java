package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task that meets bad input is not retried (issue 15, item 4): with 4 attempts allowed per task
 * ({@code local[2,4]}, as {@code spark.task.maxFailures} on a cluster), each partition runs once, no
 * task fails (the bad row's message comes back as the partition's result), and the job reports that row.
 */
class FailFastTest {
    @TempDir
    Path dir;

    @Test
    void aBadRowStopsTheJobWithoutARetry() throws Exception {
        // The bad row is the last chunk of its partition: each attempt works a while before it finds it.
        int n = 100_000;
        float[] v = new float[n * 4];
        for (int i = 0; i < v.length; i++) v[i] = (i % 13) / 13f;
        v[(n - 1) * 4 + 2] = Float.NaN;
        Npy.write(dir.resolve("x.npy"), Tensor.wrap(v, org.gradspark.ad.Shape.of(n, 4)));
        SparkConf conf = GradientJob.configure(new SparkConf().setMaster("local[2,4]").setAppName("FailFastTest"))
                .set("spark.kryo.registrationRequired", "true").set("spark.ui.enabled", "false");
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            jsc.setLogLevel("ERROR");
            AtomicInteger failedTasks = new AtomicInteger();
            java.util.Map<Integer, Integer> attempts = new java.util.concurrent.ConcurrentHashMap<>();
            jsc.sc().addSparkListener(new SparkListener() {
                @Override public void onTaskStart(org.apache.spark.scheduler.SparkListenerTaskStart start) {
                    attempts.merge(start.taskInfo().index(), 1, Integer::sum);
                }

                @Override public void onTaskEnd(SparkListenerTaskEnd end) {
                    if (!end.taskInfo().successful()) failedTasks.incrementAndGet();
                }
            });
            JobConfig cfg = JobOptions.parse(Map.of(), "--layers", "4,64,64,2", "--input", dir.resolve("x.npy").toString(), "--partitions", "2",
                    "--chunk-rows", "1000", "--backend", "cpu", "--out", dir.resolve("out").toString());
            BadInputException e = assertThrows(BadInputException.class, () -> GradientJob.run(jsc, cfg));
            assertTrue(e.getMessage().contains("row " + (n - 1) + ": column 2 is NaN"), e.getMessage());
            jsc.sc().listenerBus().waitUntilEmpty();
            // The task returns the bad row's message instead of failing: Spark has nothing to retry.
            // (When it threw: 4 attempts of 4 on local[2,4]; with a cancelling listener, 1 to 3 depending on timing.)
            assertEquals(java.util.Map.of(0, 1, 1, 1), attempts, "attempts per partition");
            assertEquals(0, failedTasks.get(), "failed tasks");
        }
    }
}
