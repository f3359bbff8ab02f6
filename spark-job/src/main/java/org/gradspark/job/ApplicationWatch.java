package org.gradspark.job;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;

/**
 * What the driver saw of its Spark application while a job ran: whether any executor ever joined
 * it. On a cluster, a job that failed without one never ran a task, so its failure says nothing
 * about the data or the storage: the master did not accept the application (a wrong URL, a master
 * that is down) or gave it no executor (no worker with the memory and cores asked). Known from
 * Spark's events as they happen, not from the context's state afterwards, which the driver itself
 * stops on the way out whatever the failure was.
 *
 * <pre>{@code
 * ApplicationWatch watch = ApplicationWatch.attach(jsc);   // right after the context starts
 * ... run jobs; on a failure: if (watch.noExecutorEverJoined()) "did --master accept it?"
 * }</pre>
 */
public final class ApplicationWatch extends SparkListener {
    private final String master;
    private volatile boolean executorJoined;

    private ApplicationWatch(String master) {
        this.master = master;
    }

    /** Starts watching {@code jsc}'s application (executors that joined before count too). */
    public static ApplicationWatch attach(JavaSparkContext jsc) {
        ApplicationWatch w = new ApplicationWatch(jsc.master());
        jsc.sc().addSparkListener(w);
        // The tracker lists the driver as well: more than one entry is an executor already registered.
        if (jsc.sc().statusTracker().getExecutorInfos().length > 1) w.executorJoined = true;
        return w;
    }

    @Override public void onExecutorAdded(SparkListenerExecutorAdded added) {
        executorJoined = true;
    }

    /** The application's {@code --master}. */
    public String master() {
        return master;
    }

    /**
     * Whether this is a cluster's application (not {@code local} or {@code local[N]}, where the
     * driver runs the tasks itself) that no executor ever joined.
     */
    public boolean noExecutorEverJoined() {
        boolean local = master.equals("local") || master.startsWith("local[");
        return !local && !executorJoined;
    }
}
