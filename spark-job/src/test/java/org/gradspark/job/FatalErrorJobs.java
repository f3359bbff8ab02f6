package org.gradspark.job;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.AccumulatorV2;
import org.gradspark.job.cli.Launcher;

/**
 * A launch ({@link Launcher#launch}, as gradspark-submit's commands) whose job meets a fatal error in
 * one of the driver's own Spark threads, run as a JVM of its own by {@link DriverFatalErrorTest}: each
 * argument names a thread, whose job is launched in turn. {@code task-result-getter}: the task's result throws an
 * {@link OutOfMemoryError} as the driver reads it. {@code dag-scheduler-event-loop}: an accumulator
 * throws one as the DAGScheduler merges a task's update into it, which ends the very thread that would
 * handle a cancel. {@code fatal-error-jobs-worker}: a thread of the job's own runs out of memory while the
 * job's thread waits on something that no cancel of Spark's jobs ends, with a temporary output begun
 * (in the directory {@code -DfatalErrorJobs.out} names). Exits as {@code gradspark-submit}'s application does, with the launch's code.
 */
public final class FatalErrorJobs {
    private FatalErrorJobs() {}

    /** Launches one job per argument, in turn (each launch's exit code on stdout), and exits with the last one's code. */
    public static void main(String[] args) {
        int code = 0;
        for (String thread : args) {
            code = Launcher.launch(new FailingCommand(thread), new String[0], System.out, System.err);
            System.out.println(thread + ": exit code " + code);
        }
        System.out.flush();
        System.setErr(new PrintStream(java.io.OutputStream.nullOutputStream()));   // as GradSparkMain: the run has said its line
        System.exit(code);
    }

    private record FailingCommand(String thread) implements Launcher.Command<String> {
        @Override public String usage() {
            return "FatalErrorJobs task-result-getter|dag-scheduler-event-loop";
        }

        @Override public String appName() {
            return "FatalErrorJobs";
        }

        @Override public String check(String[] args, Map<String, String> keys, SparkConf conf) {
            return thread;
        }

        @Override public void run(JavaSparkContext jsc, String thread, PrintStream out) {
            switch (thread) {
                case "task-result-getter" -> jsc.parallelize(List.of(1, 2), 2).map(i -> new ResultTooLargeToRead()).collect();
                case "dag-scheduler-event-loop" -> {
                    UnmergeableAccumulator acc = new UnmergeableAccumulator();
                    jsc.sc().register(acc, "unmergeable");
                    jsc.parallelize(List.of(1, 2), 2).foreach(i -> acc.add(1L));
                }
                case "fatal-error-jobs-worker" -> {
                    // A temporary output that the JVM's exit must remove, and a wait that no cancel of Spark's jobs ends.
                    org.gradspark.job.io.JobOutput.begin(org.gradspark.job.io.Storage.local(), System.getProperty("fatalErrorJobs.out"));
                    Thread worker = new Thread(() -> {
                        throw new OutOfMemoryError("Java heap space");
                    }, thread);
                    worker.start();
                    try {
                        new java.util.concurrent.CountDownLatch(1).await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
                default -> throw new IllegalArgumentException(thread);
            }
        }

        @Override public String interruptedLine(String thread) {
            return "stopped before the end";
        }
    }

    /** A task's result whose reading needs more memory than the driver has (Kryo reads it in the task-result-getter thread). */
    public static final class ResultTooLargeToRead implements KryoSerializable, java.io.Serializable {
        @Override public void write(Kryo kryo, Output output) {
            output.writeInt(1);
        }

        @Override public void read(Kryo kryo, Input input) {
            input.readInt();
            throw new OutOfMemoryError("Java heap space");
        }
    }

    /** An accumulator whose merge on the driver (in the DAGScheduler's event loop) runs out of memory. */
    public static final class UnmergeableAccumulator extends AccumulatorV2<Long, Long> {
        private long sum;

        @Override public boolean isZero() {
            return sum == 0;
        }

        @Override public AccumulatorV2<Long, Long> copy() {
            UnmergeableAccumulator c = new UnmergeableAccumulator();
            c.sum = sum;
            return c;
        }

        @Override public void reset() {
            sum = 0;
        }

        @Override public void add(Long v) {
            sum += v;
        }

        @Override public void merge(AccumulatorV2<Long, Long> other) {
            throw new OutOfMemoryError("Java heap space");
        }

        @Override public Long value() {
            return sum;
        }
    }
}
