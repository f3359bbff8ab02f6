package org.gradspark.job.exec;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;

/**
 * Logs on the driver, at most every {@code everySeconds} and at least as often as the executors'
 * heartbeats arrive, the rows done with rows per second and an ETA: the tasks add each chunk's rows
 * to an accumulator, whose value Spark sends with every executor heartbeat
 * ({@code spark.executor.heartbeatInterval}, which the CLI sets to 3 s) while the task runs, and with
 * its end. So a long job reports progress inside its partitions, not only when one finishes.
 * The rate is over the time since the first task launched (the driver's clock), not since the job
 * was asked for: Spark's and the executors' start-up, which can take longer than a small job's
 * tasks, would make it and the ETA wrong by as much. {@link #tasksSeconds} is that span for the
 * tasks that counted rows, from the first one's launch to the last one's end.
 */
public final class ProgressListener extends SparkListener {
    private static final System.Logger LOG = System.getLogger("org.gradspark.job.progress");
    private final long rows;
    private final long accumulator;
    private final double everySeconds;
    private final Map<Long, Long> byTask = new HashMap<>();   // the latest count each task reported
    private long firstLaunchMs = Long.MAX_VALUE;             // the first task launched since this listener was added
    private long rowTasksFirstLaunchMs = Long.MAX_VALUE;     // the tasks that counted rows: the first one's launch...
    private long rowTasksLastEndMs = Long.MIN_VALUE;         // ...and the last one's end
    private long finished;                                   // rows of tasks that ended successfully
    private long lastLogged = System.nanoTime();
    private long lastRows = -1;

    /** Reports {@code rowsDone}'s progress towards {@code rows}. */
    public ProgressListener(long rows, LongAccumulator rowsDone, double everySeconds) {
        this.rows = rows;
        this.accumulator = rowsDone.id();
        this.everySeconds = everySeconds;
    }

    @Override public synchronized void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        scala.collection.Iterator<Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>>> it = update.accumUpdates().iterator();
        while (it.hasNext()) {
            Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t = it.next();
            Long v = ours(t._4());
            if (v != null) byTask.put((Long) t._1(), v);
        }
        maybeLog(false);
    }

    @Override public synchronized void onTaskStart(SparkListenerTaskStart start) {
        firstLaunchMs = Math.min(firstLaunchMs, start.taskInfo().launchTime());
    }

    @Override public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        Long running = byTask.remove(end.taskInfo().taskId());
        if (end.taskInfo().successful()) {
            Long v = ours(end.taskInfo().accumulables());
            if (v != null || running != null) {
                rowTasksFirstLaunchMs = Math.min(rowTasksFirstLaunchMs, end.taskInfo().launchTime());
                rowTasksLastEndMs = Math.max(rowTasksLastEndMs, end.taskInfo().finishTime());
            }
            finished += v != null ? v : running != null ? running : 0;
            maybeLog(true);
        }
    }

    /**
     * Seconds from the launch of the first task that counted rows to the end of the last one (0 until
     * one has ended): the time the rows took in the tasks, waits between waves included, Spark's
     * start-up and the driver's work before and after the tasks not.
     */
    public synchronized double tasksSeconds() {
        return rowTasksLastEndMs < rowTasksFirstLaunchMs ? 0 : (rowTasksLastEndMs - rowTasksFirstLaunchMs) / 1e3;
    }

    private Long ours(scala.collection.Seq<AccumulableInfo> infos) {
        scala.collection.Iterator<AccumulableInfo> it = infos.iterator();
        while (it.hasNext()) {
            AccumulableInfo a = it.next();
            if (a.id() == accumulator && a.update().isDefined()) return ((Number) a.update().get()).longValue();
        }
        return null;
    }

    /** Rows done so far: the finished tasks' and the running ones' latest counts. */
    public synchronized long rowsDone() {
        long done = finished;
        for (long v : byTask.values()) done += v;
        return Math.min(done, rows);
    }

    private void maybeLog(boolean taskEnded) {
        long now = System.nanoTime();
        long done = rowsDone();
        boolean due = (now - lastLogged) / 1e9 >= everySeconds || (taskEnded && done == rows);
        if (!due || done == lastRows || done == 0) return;
        lastLogged = now;
        lastRows = done;
        LOG.log(System.Logger.Level.INFO, progressLine(System.currentTimeMillis()));
    }

    /** The progress at {@code nowMs} (the driver's clock): rows done, their rate since the first task launched, the ETA at that rate. */
    public synchronized String progressLine(long nowMs) {
        long done = rowsDone();
        double s = (nowMs - Math.min(firstLaunchMs, nowMs)) / 1e3, rate = done / Math.max(s, 1e-3);
        String eta = done >= rows ? "done" : "ETA " + duration((rows - done) / Math.max(rate, 1e-9));
        return String.format(Locale.ROOT, "GradSpark: %d/%d rows (%.0f%%), %.0f rows/s, %s", done, rows, 100.0 * done / rows, rate, eta);
    }

    public static String duration(double seconds) {
        long t = Math.round(seconds);
        return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", t / 3600, t / 60 % 60) : t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + " s";
    }
}
