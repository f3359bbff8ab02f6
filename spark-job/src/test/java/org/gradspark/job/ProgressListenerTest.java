package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;
import scala.Option;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Progress inside the partitions (issue 19, item 2): the rows the running tasks reported with their
 * executors' heartbeats count as done; a task's later report replaces its earlier one; a finished
 * task's final count stays; another accumulator is ignored. And in a real job every row is counted once.
 */
class ProgressListenerTest {
    private static SparkListenerExecutorMetricsUpdate heartbeat(long accumulator, long... taskAndRows) {
        List<Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>>> updates = new java.util.ArrayList<>();
        for (int i = 0; i < taskAndRows.length; i += 2) {
            AccumulableInfo info = new AccumulableInfo(accumulator, Option.apply("gradspark rows"), Option.apply((Object) taskAndRows[i + 1]),
                    Option.empty(), false, false, Option.empty());
            updates.add(new Tuple4<>(taskAndRows[i], 0, 0, CollectionConverters.asScala(List.of(info)).toSeq()));
        }
        return new SparkListenerExecutorMetricsUpdate("1", CollectionConverters.asScala(updates).toSeq(), scala.collection.immutable.Map$.MODULE$.empty());
    }

    @Test
    void rowsReportedByRunningTasksCount() {
        LongAccumulator acc = new LongAccumulator();
        acc.metadata_$eq(new org.apache.spark.util.AccumulatorMetadata(4711, Option.apply("gradspark rows"), false));
        ProgressListener p = new ProgressListener(10_000, acc, 0);
        p.onExecutorMetricsUpdate(heartbeat(4711, 1, 4096, 2, 1000));
        assertEquals(5096, p.rowsDone());
        p.onExecutorMetricsUpdate(heartbeat(4711, 1, 5000));
        assertEquals(6000, p.rowsDone(), "task 1's later report replaces its earlier one");
        p.onExecutorMetricsUpdate(heartbeat(99, 3, 7000));
        assertEquals(6000, p.rowsDone(), "another accumulator");
        assertEquals("1m05s", ProgressListener.duration(65));
        assertEquals("2h01m", ProgressListener.duration(7260));
        assertEquals("9 s", ProgressListener.duration(9.2));
    }

    @Test
    void inARealJobEveryRowIsCountedOnce() throws Exception {
        try (JavaSparkContext jsc = new JavaSparkContext(GradientJob.configure(new SparkConf().setMaster("local[2]").setAppName("ProgressListenerTest"))
                .set("spark.ui.enabled", "false"))) {
            jsc.setLogLevel("WARN");
            LongAccumulator acc = jsc.sc().longAccumulator("gradspark rows");
            ProgressListener p = new ProgressListener(1000, acc, 0);
            jsc.sc().addSparkListener(p);
            jsc.parallelize(java.util.stream.IntStream.range(0, 1000).boxed().toList(), 4).foreach(i -> acc.add(1));
            jsc.sc().listenerBus().waitUntilEmpty();
            assertEquals(1000, p.rowsDone());
        }
    }

    /** While tasks run, their counts arrive with the heartbeats: progress is seen before any task ends. */
    @Test
    void progressArrivesWhileTheTasksRun() throws Exception {
        try (JavaSparkContext jsc = new JavaSparkContext(GradientJob.configure(new SparkConf().setMaster("local[2]").setAppName("ProgressListenerTest"))
                .set("spark.ui.enabled", "false").set("spark.executor.heartbeatInterval", "500ms"))) {
            jsc.setLogLevel("WARN");
            LongAccumulator acc = jsc.sc().longAccumulator("gradspark rows");
            ProgressListener p = new ProgressListener(80, acc, 0);
            java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
            jsc.sc().addSparkListener(p);
            jsc.sc().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
                @Override public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) { ended.set(true); }
            });
            Thread job = new Thread(() -> jsc.parallelize(java.util.stream.IntStream.range(0, 80).boxed().toList(), 2).foreach(i -> {
                Thread.sleep(50);   // 2 s a task
                acc.add(1);
            }));
            job.start();
            long seenWhileRunning = 0;
            while (job.isAlive()) {
                if (!ended.get()) seenWhileRunning = Math.max(seenWhileRunning, p.rowsDone());
                Thread.sleep(20);
            }
            assertTrue(seenWhileRunning > 0, "rows seen before the first task ended: " + seenWhileRunning);
            jsc.sc().listenerBus().waitUntilEmpty();
            assertEquals(80, p.rowsDone());
        }
    }
}
