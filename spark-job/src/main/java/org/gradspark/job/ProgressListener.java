package org.gradspark.job;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/** Logs rows done and rows per second on the driver as the partitions of the compute stage finish. */
final class ProgressListener extends SparkListener {
    private static final System.Logger LOG = System.getLogger("org.gradspark.job.progress");
    private final long rows;
    private final int partitions;
    private final long started = System.nanoTime();
    private final boolean[] done;
    private long rowsDone;
    private int stageId = -1;

    ProgressListener(long rows, int partitions) {
        this.rows = rows;
        this.partitions = partitions;
        this.done = new boolean[partitions];
    }

    /** The id of the stage whose tasks are partition tasks (the first stage seen). */
    @Override public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        if (stageId < 0) stageId = end.stageId();
        if (end.stageId() != stageId || !end.taskInfo().successful()) return;
        int p = end.taskInfo().index();
        if (p < 0 || p >= partitions || done[p]) return;
        done[p] = true;
        rowsDone += PartitionTask.firstRow(rows, partitions, p + 1) - PartitionTask.firstRow(rows, partitions, p);
        double s = (System.nanoTime() - started) / 1e9;
        LOG.log(System.Logger.Level.INFO, String.format("GradSpark: %d/%d rows (%.0f%%), %.0f rows/s", rowsDone, rows, 100.0 * rowsDone / rows, rowsDone / Math.max(s, 1e-9)));
    }
}
