package org.gradspark.job.cli;

import java.time.Duration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.gradspark.job.exec.MasterUrl;

/**
 * What the driver saw of its Spark application while a job ran: whether any executor ever joined
 * it, and whether Spark stopped it on its own. On a cluster, a job that failed without an executor
 * never ran a task, so its failure says nothing about the data or the storage: the master did not
 * accept the application (a wrong URL, a master that is down) or gave it no executor (no worker
 * with the memory and cores asked). And once Spark has stopped the application itself (a master
 * that gave up on it), the job's failure is whatever the stop broke: a cancelled job, a broadcast
 * whose block directory was deleted. Both are asked when the failure reaches the driver, before
 * the driver closes the context itself (after that every context is stopped). No cluster manager gives
 * up on an application it cannot give an executor (Kubernetes leaves its pods Pending, a standalone
 * master waits for a worker with the memory asked): after {@code spark.gradspark.executorWait} with no
 * executor the watch stops the application itself, so that the job ends with that line instead of waiting forever.
 *
 * <pre>{@code
 * ApplicationWatch watch = ApplicationWatch.attach(jsc, Duration.ofMinutes(10));   // right after the context starts
 * try { ... run jobs ... }
 * catch (Exception e) { if (watch.stoppedBySpark()) ...; if (watch.noExecutorEverJoined()) "did --master accept it?" }
 * finally { jsc.close(); }
 * }</pre>
 */
public final class ApplicationWatch extends SparkListener {
    private final org.apache.spark.SparkContext sc;
    private final String master;
    private volatile boolean executorJoined;
    private volatile Duration gaveUpAfter;

    private ApplicationWatch(org.apache.spark.SparkContext sc) {
        this.sc = sc;
        this.master = sc.master();
    }

    /**
     * Starts watching {@code jsc}'s application (executors that joined before count too); on a cluster, stops it when
     * no executor has joined it {@code executorWait} after this call (zero: waits as long as Spark does, for ever). The
     * wait counts from here, once the context has started, not from the context's own start: on YARN that start includes
     * the application master's time in the queue, which is the cluster's business, not a missing executor.
     */
    public static ApplicationWatch attach(JavaSparkContext jsc, Duration executorWait) {
        ApplicationWatch w = new ApplicationWatch(jsc.sc());
        jsc.sc().addSparkListener(w);
        // The tracker lists the driver as well: more than one entry is an executor already registered.
        if (jsc.sc().statusTracker().getExecutorInfos().length > 1) w.executorJoined = true;
        if (!executorWait.isZero() && !new MasterUrl(w.master).inProcess()) {
            // A thread of its own: stopping the context takes a while, and must not hold a pool's thread meanwhile.
            Thread wait = new Thread(() -> {
                try {
                    Thread.sleep(executorWait.toMillis());
                    w.giveUpWithoutExecutor(executorWait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "gradspark-executor-wait");
            wait.setDaemon(true);
            wait.start();
        }
        return w;
    }

    /** The application stopped with the job's failure still to come: the failure is then this stop's. */
    private void giveUpWithoutExecutor(Duration waited) {
        if (executorJoined || sc.isStopped()) return;
        gaveUpAfter = waited;   // the job's failure line says it (Launcher.failed), and the log file with it
        sc.stop();
    }

    /** How long the watch waited before it stopped an application no executor joined; null when it did not. */
    public Duration gaveUpAfter() {
        return gaveUpAfter;
    }

    @Override public void onExecutorAdded(SparkListenerExecutorAdded added) {
        executorJoined = true;
    }

    /** The application's {@code --master}. */
    public String master() {
        return master;
    }

    /** Whether Spark has stopped the application on its own: asked before the driver closes the context. */
    public boolean stoppedBySpark() {
        return sc.isStopped();
    }

    /**
     * Whether this is a cluster's application (not {@code local} or {@code local[N]}, where the
     * driver runs the tasks itself) that no executor ever joined.
     */
    public boolean noExecutorEverJoined() {
        return !new MasterUrl(master).inProcess() && !executorJoined;
    }

    /**
     * Spark clears its console progress bar (when a user turns it on) at a job's end, not at its
     * failure: a line written over a bar left on screen would keep the bar's end when shorter.
     */
    public void clearProgressBar() {
        scala.Option<org.apache.spark.ui.ConsoleProgressBar> bar = sc.progressBar();
        if (bar.isDefined()) bar.get().finishAll();
    }
}
