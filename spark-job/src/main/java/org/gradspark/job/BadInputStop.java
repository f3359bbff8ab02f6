package org.gradspark.job;

import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.gradspark.job.io.BadInputException;

/**
 * Fails a job at the first task that failed on bad input (a NaN row, a bad CSV row, a file an
 * executor cannot read): retrying the task cannot fix its data, so its stage is cancelled at once
 * instead of after {@code spark.task.maxFailures} attempts, and the job reports that task's message.
 *
 * <pre>{@code
 * try (BadInputStop stop = BadInputStop.watch(jsc.sc())) { ... run Spark jobs ...; }
 * catch (RuntimeException e) { stop.rethrowIfStopped(e); throw e; }
 * }</pre>
 */
final class BadInputStop extends SparkListener implements AutoCloseable {
    private final SparkContext sc;
    private volatile String message;

    private BadInputStop(SparkContext sc) {
        this.sc = sc;
    }

    static BadInputStop watch(SparkContext sc) {
        BadInputStop s = new BadInputStop(sc);
        sc.addSparkListener(s);
        return s;
    }

    @Override public void onTaskEnd(SparkListenerTaskEnd end) {
        if (message != null || !(end.reason() instanceof ExceptionFailure f) || !f.className().equals(BadInputException.class.getName())) return;
        message = f.description();
        sc.cancelStage(end.stageId(), "bad input, which a retry cannot fix: " + message);
    }

    /** The bad input that stopped the job, or null when none did. */
    BadInputException stopped(Throwable cause) {
        return message == null ? null : new BadInputException(message, cause);
    }

    @Override public void close() {
        sc.removeSparkListener(this);
    }
}
