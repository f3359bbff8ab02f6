package org.gradspark.job.exec;

import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
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
public final class BadInputStop extends SparkListener implements AutoCloseable {
    private final SparkContext sc;
    private volatile String message;
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();

    private BadInputStop(SparkContext sc) {
        this.sc = sc;
    }

    public static BadInputStop watch(SparkContext sc) {
        BadInputStop s = new BadInputStop(sc);
        sc.addSparkListener(s);
        return s;
    }

    @Override public void onTaskStart(SparkListenerTaskStart start) {
        running.incrementAndGet();
    }

    @Override public void onTaskEnd(SparkListenerTaskEnd end) {
        running.decrementAndGet();
        if (message != null || !(end.reason() instanceof ExceptionFailure f) || !f.className().equals(BadInputException.class.getName())) return;
        message = f.description();
        sc.cancelStage(end.stageId(), "bad input, which a retry cannot fix: " + message);
    }

    /**
     * Waits, at most {@code timeoutMillis}, until every task started while watching has ended. When
     * a job fails, Spark reports it at once while its other tasks run on until they see they were
     * killed (at their next chunk); they may still be writing under the job's temporary output,
     * which the driver removes only after this.
     */
    public void awaitTasksEnded(long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try {
            sc.listenerBus().waitUntilEmpty(timeoutMillis);   // the starts and ends posted so far, counted
        } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
            return;
        }
        while (running.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The bad input that stopped the job, or null when none did. */
    public BadInputException stopped(Throwable cause) {
        return message == null ? null : new BadInputException(message, cause);
    }

    @Override public void close() {
        sc.removeSparkListener(this);
    }
}
