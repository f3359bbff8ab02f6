package org.gradspark.job.exec;

/**
 * Which JVM runs the calling task, for the one-line errors that name the executor or host at fault:
 * Spark's executor id and the block manager's host, or the driver in local mode.
 */
final class ExecutorIdentity {
    private ExecutorIdentity() {}

    /** {@code executor 1 (host 10.0.0.5)}, or {@code the driver (host ...)} in local mode. */
    static String executorAndHost() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        String host;
        try {
            host = env != null ? env.blockManager().blockManagerId().host() : java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException | RuntimeException e) {
            host = "unknown";
        }
        String id = env == null ? "driver" : env.executorId();
        return (id.equals("driver") ? "the driver" : "executor " + id) + " (host " + host + ")";
    }

    /** Spark's id of this executor, {@code driver} in local mode or outside Spark. */
    static String executorId() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return env == null ? "driver" : env.executorId();
    }
}
