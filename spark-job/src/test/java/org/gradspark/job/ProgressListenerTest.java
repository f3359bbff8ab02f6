package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.util.LongAccumulator;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.exec.ProgressListener;
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

    private static org.apache.spark.scheduler.TaskInfo task(long id, long launchedMs) {
        return new org.apache.spark.scheduler.TaskInfo(id, 0, 0, 0, launchedMs, "1", "127.0.0.1", org.apache.spark.scheduler.TaskLocality.PROCESS_LOCAL(), false);
    }

    private static SparkListenerTaskEnd ended(org.apache.spark.scheduler.TaskInfo info, long endMs, long accumulator, long rows) {
        info.markFinished(org.apache.spark.TaskState.FINISHED(), endMs);
        info.setAccumulables(CollectionConverters.asScala(List.of(new AccumulableInfo(accumulator, Option.apply("gradspark rows"),
                Option.apply((Object) rows), Option.apply((Object) rows), false, false, Option.empty()))).toList());
        return new SparkListenerTaskEnd(0, 0, "ResultTask", org.apache.spark.Success$.MODULE$, info, null, null);
    }

    /**
     * Rows per second and the ETA are over the time since the first task launched, not since the job was
     * asked for: executors that took 10 s to start do not turn 500 rows in 1 s of tasks into "45 rows/s,
     * ETA 11 s". The tasks' span runs from the first launch to the last end of the tasks that counted rows.
     */
    @Test
    void theRateIsOverTheTasksNotSparksStartUp() {
        LongAccumulator acc = new LongAccumulator();
        acc.metadata_$eq(new org.apache.spark.util.AccumulatorMetadata(4711, Option.apply("gradspark rows"), false));
        ProgressListener p = new ProgressListener(1000, acc, 3600);
        long launched = System.currentTimeMillis() + 10_000;   // the executors' start-up
        org.apache.spark.scheduler.TaskInfo first = task(1, launched), second = task(2, launched + 200);
        p.onTaskStart(new SparkListenerTaskStart(0, 0, first));
        p.onTaskStart(new SparkListenerTaskStart(0, 0, second));
        p.onExecutorMetricsUpdate(heartbeat(4711, 1, 300, 2, 200));
        assertEquals("GradSpark: 500/1000 rows (50%), 500 rows/s, ETA 1 s", p.progressLine(launched + 1000));
        assertEquals(0, p.tasksSeconds(), "no task has ended");
        p.onTaskEnd(ended(first, launched + 1500, 4711, 500));
        p.onTaskEnd(ended(second, launched + 1700, 4711, 500));
        assertEquals("GradSpark: 1000/1000 rows (100%), 500 rows/s, done", p.progressLine(launched + 2000));
        assertEquals(1.7, p.tasksSeconds(), 1e-9);
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
