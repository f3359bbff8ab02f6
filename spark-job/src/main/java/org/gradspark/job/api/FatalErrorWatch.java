package org.gradspark.job.api;

import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.SparkContext;

/**
 * Ends the run when a fatal error (an {@link OutOfMemoryError}, any {@link VirtualMachineError}) ends
 * a thread of the driver other than the one that runs the job. Spark's driver threads (the
 * {@code task-result-getter} pool that reads the tasks' results, the DAGScheduler's event loop) catch
 * only non-fatal errors: a fatal one ends the thread, the task it handled is never marked finished or
 * failed, and the job's {@code runJob} waits for ever (issue 26: a 50M-parameter reduction with
 * {@code --driver-memory 1g} hung until it was killed by hand).
 *
 * <p>The rule: the first such error is recorded with its thread, and the context's jobs are cancelled
 * once that thread has ended, so that the job fails in its own thread, which reports {@link #line()}
 * and closes as any failed job does ({@link #takeReport}). That holds where the thread that died is the
 * DAGScheduler's event loop too: Spark cancels the jobs itself when an event (the cancel) is posted to
 * a loop that has ended. Where no cancel ends the job's thread (it waits on something else than a
 * Spark job), the watch prints the line itself {@code reportWait} after the cancel and exits the JVM
 * with {@link #exitCode()}: the shutdown hooks remove the job's temporary output and release its locks;
 * a JVM whose hooks have not ended {@code hooksWait} later is halted. The error's stack trace goes to
 * the log ({@code org.gradspark.failure}), never the console.
 *
 * <p>A JVM-wide uncaught-exception handler, and an exit, are the application's to decide, not a
 * library's: {@code gradspark-submit} installs the watch for its commands; an application of one's own
 * that calls {@link GradientJob#run} may opt in:
 *
 * <pre>{@code
 * try (FatalErrorWatch watch = FatalErrorWatch.install(System.err)) {   // before the context starts
 *     JavaSparkContext jsc = new JavaSparkContext(GradientJob.configure(conf));
 *     watch.cancels(jsc.sc());
 *     try {
 *         GradientJob.run(jsc, inputs);
 *     } catch (RuntimeException e) {
 *         if (watch.takeReport()) System.err.println(watch.line());   // the job was cancelled for the recorded error
 *         throw e;
 *     } finally {
 *         jsc.close();
 *     }
 * }
 * }</pre>
 */
public final class FatalErrorWatch implements Thread.UncaughtExceptionHandler, AutoCloseable {
    /** How long the job's own thread has to report the error after the cancel, before the watch exits the JVM. */
    public static final Duration REPORT_WAIT = Duration.ofSeconds(5);
    /** How long the shutdown hooks (and a job's close after its report) may take before the JVM is halted. */
    public static final Duration HOOKS_WAIT = Duration.ofSeconds(20);

    private static final int WATCHING = 0;
    private static final int RECORDED = 1;
    private static final int REPORTED = 2;   // by the job's thread (takeReport)
    private static final int EXITING = 3;    // by the watch itself
    private static final int CLOSED = 4;

    private final PrintStream err;
    private final Thread.UncaughtExceptionHandler previous;
    private final Duration reportWait;
    private final Duration hooksWait;
    private final AtomicInteger state = new AtomicInteger(WATCHING);
    private final CountDownLatch recorded = new CountDownLatch(1);
    private final CountDownLatch reportedOrClosed = new CountDownLatch(1);
    private final CountDownLatch closed = new CountDownLatch(1);
    // Started at install, not when the error comes: a thread created in a JVM out of memory may not start.
    private final Thread watcher;
    private volatile SparkContext context;
    /** The first fatal error and its thread, set before the state says RECORDED: whoever sees the state sees it. */
    private final AtomicReference<Fatal> first = new AtomicReference<>();

    private record Fatal(Thread thread, Throwable error) {}

    private FatalErrorWatch(PrintStream err, Duration reportWait, Duration hooksWait) {
        this.err = err;
        this.previous = Thread.getDefaultUncaughtExceptionHandler();
        this.reportWait = reportWait;
        this.hooksWait = hooksWait;
        this.watcher = new Thread(this::watch, "gradspark-fatal-error-watch");
        watcher.setDaemon(true);
    }

    /** Installs the watch as the JVM's default uncaught-exception handler; its lines go to {@code err}. */
    public static FatalErrorWatch install(PrintStream err) {
        return install(err, REPORT_WAIT, HOOKS_WAIT);
    }

    static FatalErrorWatch install(PrintStream err, Duration reportWait, Duration hooksWait) {
        FatalErrorWatch w = new FatalErrorWatch(err, reportWait, hooksWait);
        Thread.setDefaultUncaughtExceptionHandler(w);
        w.watcher.start();
        return w;
    }

    /** The context whose jobs a fatal error cancels (set once it has started). */
    public void cancels(SparkContext sc) {
        this.context = sc;
        if (state.get() == RECORDED) sc.cancelAllJobs();   // an error while the context started
    }

    @Override
    public void uncaughtException(Thread t, Throwable e) {
        if (e instanceof VirtualMachineError && state.get() == WATCHING && first.compareAndSet(null, new Fatal(t, e))) {
            if (state.compareAndSet(WATCHING, RECORDED)) recorded.countDown();   // else closed meanwhile: the run is over
            return;
        }
        if (previous != null) {
            previous.uncaughtException(t, e);
        } else if (e instanceof VirtualMachineError) {   // a later fatal error: the first one's line is the run's
            org.slf4j.LoggerFactory.getLogger("org.gradspark.failure").error("a further fatal error in thread " + t.getName(), e);
        } else {   // what the JVM does without a default handler, on System.err as it is now (the driver's log while a context closes)
            System.err.print("Exception in thread \"" + t.getName() + "\" ");
            e.printStackTrace(System.err);
        }
    }

    /** Whether a fatal error has been recorded. */
    public boolean fired() {
        return first.get() != null;
    }

    /** The recorded error, or null. */
    public Throwable error() {
        Fatal f = first.get();
        return f == null ? null : f.error();
    }

    /** 2 for an out of memory (the user's to raise), 1 for any other fatal error. */
    public int exitCode() {
        return error() instanceof OutOfMemoryError ? 2 : 1;
    }

    /**
     * The one line for the recorded error, without the {@code gradspark: } prefix: for an out of
     * memory, {@code out of memory in the driver (heap 989 MiB) in Spark's thread task-result-getter-1:
     * raise --driver-memory}.
     */
    public String line() {
        Throwable error = error();
        String where = " in " + (fromSpark(error) ? "Spark's thread " : "the driver's thread ") + first.get().thread().getName();
        if (error instanceof OutOfMemoryError) {
            return "out of memory in the driver (heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB)" + where + ": raise --driver-memory";
        }
        return "a fatal error in the driver (" + error + ")" + where;
    }

    /**
     * Called by the job's thread once its job has failed: whether the failure is the recorded error's
     * (then the caller prints {@link #line()}, and the watch neither prints nor exits). False when no
     * error was recorded, or when the watch has already printed the line and is exiting the JVM.
     * After a report the caller closes the context and then the watch within {@link #HOOKS_WAIT}:
     * a close that hangs on what the error broke would hang the run again, so the watch exits the JVM then.
     */
    public boolean takeReport() {
        if (state.compareAndSet(RECORDED, REPORTED)) {
            reportedOrClosed.countDown();
            return true;
        }
        return false;
    }

    /** Whether the watch has printed the line itself and is exiting the JVM (an interrupt notice then keeps quiet). */
    public boolean exiting() {
        return state.get() == EXITING;
    }

    /** Puts the previous default handler back and stops the watch. */
    @Override
    public void close() {
        if (Thread.getDefaultUncaughtExceptionHandler() == this) Thread.setDefaultUncaughtExceptionHandler(previous);
        state.compareAndSet(WATCHING, CLOSED);
        closed.countDown();
        reportedOrClosed.countDown();
        watcher.interrupt();
    }

    private void watch() {
        try {
            recorded.await();
            Fatal f = first.get();
            org.slf4j.LoggerFactory.getLogger("org.gradspark.failure").error("fatal error in thread " + f.thread().getName() + ": cancelling the jobs", f.error());
            // The handler runs in the thread before it ends: Spark's event loop takes a cancel posted before then
            // into its queue, which nothing reads any more; posted after, the dead loop makes Spark cancel the jobs itself.
            f.thread().join(reportWait.toMillis());
            cancelJobs();
            if (!reportedOrClosed.await(reportWait.toMillis(), TimeUnit.MILLISECONDS) && state.compareAndSet(RECORDED, EXITING)) {
                org.slf4j.LoggerFactory.getLogger("org.gradspark.failure").error("the job did not end within " + reportWait.toSeconds()
                        + " s of the cancel (the thread that died may be the one that handles it): exiting");
                String log = System.getProperty("gradspark.logFile");
                err.println("gradspark: " + line() + (exitCode() == 1 && log != null ? " (stack trace in " + log + ")" : ""));
                err.flush();
                exit(exitCode());
                return;
            }
            // Reported by the job's thread: its close of the context may still hang on what the error broke.
            if (state.get() == REPORTED && !closed.await(hooksWait.toMillis(), TimeUnit.MILLISECONDS)) exit(exitCode());
        } catch (InterruptedException closing) {
            // closed: nothing to do
        } catch (Throwable e) {   // even the log or the line may fail in a JVM out of memory: the exit must still come
            if (state.get() == EXITING || state.compareAndSet(RECORDED, EXITING)) exit(exitCode());
        }
    }

    /** Cancels the context's jobs: their threads then fail and report; a context that is stopping cannot, and the wait decides. */
    private void cancelJobs() {
        SparkContext sc = context;
        if (sc == null) return;
        try {
            sc.cancelAllJobs();
        } catch (RuntimeException stopped) {
            org.slf4j.LoggerFactory.getLogger("org.gradspark.failure").warn("cannot cancel the jobs after a fatal error", stopped);
        }
    }

    /** {@link System#exit}, with a halt if the shutdown hooks have not ended {@code hooksWait} later. */
    private void exit(int code) {
        try {
            Thread halt = new Thread(() -> {
                try {
                    Thread.sleep(hooksWait.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
                Runtime.getRuntime().halt(code);
            }, "gradspark-fatal-error-halt");
            halt.setDaemon(true);
            halt.start();
        } catch (Throwable noThread) {   // no thread to be had: the exit without its bound, rather than none
            // nothing more to do
        }
        System.exit(code);
    }

    private static boolean fromSpark(Throwable e) {
        for (StackTraceElement f : e.getStackTrace()) {
            if (f.getClassName().startsWith("org.apache.spark.")) return true;
        }
        return false;
    }
}
