package org.gradspark.job.exec;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * One evaluation's progress: the accumulator its tasks add each chunk's rows to, and the
 * {@link ProgressListener} that logs them on the driver and measures the tasks' span, from its
 * opening to its {@link #close}.
 *
 * <pre>{@code
 * try (EvaluationProgress progress = new EvaluationProgress(jsc, rows)) {
 *     LongAccumulator rowsDone = progress.rowsDone();   // captured by the tasks' closure
 *     ... run the tasks ...
 *     double span = progress.tasksSeconds();
 * }
 * }</pre>
 */
final class EvaluationProgress implements AutoCloseable {
    /** How often, at most, progress is logged (it also needs the executors' heartbeats: spark.executor.heartbeatInterval). */
    static final double EVERY_SECONDS = 5;

    /** How long {@link #tasksSeconds} waits, at most, for the listener bus to deliver the tasks' ends. */
    private static final long TASK_EVENTS_WAIT_MS = 2000;

    private final JavaSparkContext jsc;
    private final LongAccumulator rowsDone;
    private final ProgressListener listener;

    /** Starts listening for the progress of an evaluation over {@code rows} rows. */
    EvaluationProgress(JavaSparkContext jsc, long rows) {
        this.jsc = jsc;
        this.rowsDone = jsc.sc().longAccumulator("gradspark rows");
        this.listener = new ProgressListener(rows, rowsDone, EVERY_SECONDS);
        jsc.sc().addSparkListener(listener);
    }

    /** The accumulator the tasks add their rows to. */
    LongAccumulator rowsDone() {
        return rowsDone;
    }

    /** The tasks' span once the listener has seen their ends, which Spark's listener bus may deliver after the job has returned. */
    double tasksSeconds() {
        try {
            jsc.sc().listenerBus().waitUntilEmpty(TASK_EVENTS_WAIT_MS);
        } catch (java.util.concurrent.TimeoutException e) {
            // A bus that far behind: the span of the ends it has delivered.
        }
        return listener.tasksSeconds();
    }

    @Override public void close() {
        jsc.sc().removeSparkListener(listener);
    }
}
