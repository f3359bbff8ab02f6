package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.Success$;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * For the same rows and partitioning, {@code grads.npz} is byte-identical whatever runs the job:
 * {@code local[1]}, {@code local[2]}, {@code local[2,3]} with a task whose first attempt fails, and
 * a standalone cluster (Master and 2 Workers started by {@code submit-scripts/local-cluster}, the job
 * submitted through {@code submit-scripts/gradspark-submit}); with the partial gradients collected
 * on the driver and with them reduce-scattered on the executors (a shuffle). Partial gradients are
 * added in partition-index order, so neither which task finishes first nor a retry changes a bit.
 */
class DeterminismTest {
    /** float64, so that any change in the order of additions shows in the last bits. */
    static final String[] JOB = {"--layers", "8,32,32,3", "--activation", "tanh", "--dtype", "float64", "--synthetic", "20000",
        "--partitions", "6", "--chunk-rows", "1000", "--seed", "7", "--backend", "cpu"};
    /** Reduce-scatter even this small gradient (1,4xx values) on the executors. */
    static final Map<String, String> SHARDED = Map.of("spark.gradspark.shardThreshold", "1");

    @TempDir
    static Path dir;
    static Backend before;
    static byte[] local1;

    @BeforeAll
    static void cpuBackendAndTheLocal1Result() throws IOException {
        // In local mode the tasks run in this JVM, on the backend it has chosen: the one --backend cpu gives executors.
        try {
            before = Backends.current();
        } catch (IllegalArgumentException e) {
            before = null;  // this JVM's default is not available here; nothing to restore
        }
        Backends.use(Backends.byName("cpu"));
        local1 = runInProcess("local[1]", "local1", Map.of(), null, JOB);
    }

    @AfterAll
    static void restoreBackend() {
        if (before != null) Backends.use(before);
    }

    @Test
    void local2GivesTheBytesOfLocal1() throws IOException {
        assertArrayEquals(local1, runInProcess("local[2]", "local2", Map.of(), null, JOB));
    }

    @Test
    void theShardedReductionOnLocal2GivesTheBytesOfLocal1() throws IOException {
        assertArrayEquals(local1, runInProcess("local[2]", "local2-sharded", SHARDED, null, JOB));
    }

    @Test
    void aRetriedTaskOnLocal2With3AttemptsGivesTheBytesOfLocal1() throws IOException {
        assertArrayEquals(local1, withAFailedFirstAttempt("local2-retry", Map.of()));
    }

    @Test
    void aRetriedTaskBeforeTheShuffleOfTheShardedReductionGivesTheBytesOfLocal1() throws IOException {
        assertArrayEquals(local1, withAFailedFirstAttempt("local2-retry-sharded", SHARDED));
    }

    @Test
    void aStandaloneClusterGivesTheBytesOfLocal1WithEitherReduction() throws IOException {
        LocalCluster.assumeWanted();
        // OpenBLAS's bits depend on its thread count; executors get 1 (gradspark-submit), so must this JVM (the build sets it).
        assertEquals("1", System.getenv("OPENBLAS_NUM_THREADS"), "run this test with OPENBLAS_NUM_THREADS=1, as the build does");
        try (LocalCluster cluster = LocalCluster.start(dir.resolve("cluster"), 2)) {
            assertArrayEquals(local1, onTheCluster(cluster, "cluster", List.of()), "collected on the driver");
            assertArrayEquals(local1, onTheCluster(cluster, "cluster-sharded", List.of("--conf", "spark.gradspark.shardThreshold=1")),
                    "reduce-scattered on the executors");
        }
    }

    /** The comparisons above have teeth: other partitions add the same rows in another order, and float64 addition is not associative. */
    @Test
    void anotherPartitioningChangesTheLastBits() throws IOException {
        String[] fivePartitions = JOB.clone();
        fivePartitions[List.of(JOB).indexOf("--partitions") + 1] = "5";
        assertFalse(Arrays.equals(local1, runInProcess("local[2]", "local2-5partitions", Map.of(), null, fivePartitions)));
    }

    /** On local[2,3] (three attempts per task), the first attempt of partition 0 throws; returns grads.npz. */
    private static byte[] withAFailedFirstAttempt(String name, Map<String, String> conf) throws IOException {
        AtomicInteger injected = new AtomicInteger();
        Backend cpu = Backends.current();
        Backends.use(failingTheFirstAttemptOfPartition0(cpu, injected));
        TaskFailures failures = new TaskFailures();
        byte[] bytes;
        try {
            bytes = runInProcess("local[2,3]", name, conf, failures, JOB);
        } finally {
            Backends.use(cpu);
        }
        assertEquals(1, injected.get(), "the first attempt of partition 0 should have failed");
        assertTrue(failures.count() >= 1, "Spark should have seen a failed task (and run it again)");
        return bytes;
    }

    /** Runs the job on an in-process Spark context of {@code master} (one at a time) and returns grads.npz. */
    private static byte[] runInProcess(String master, String name, Map<String, String> extraConf, SparkListener listener, String... job)
            throws IOException {
        SparkConf conf = GradientJob.configure(new SparkConf().setMaster(master).setAppName("DeterminismTest " + name))
                .set("spark.kryo.registrationRequired", "true")
                .set("spark.ui.enabled", "false");
        extraConf.forEach(conf::set);
        Path out = dir.resolve(name);
        List<String> args = new ArrayList<>(List.of(job));
        args.addAll(List.of("--out", out.toString()));
        // Closing the context drains its listener bus, so a listener has seen every event afterwards.
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            jsc.setLogLevel("WARN");
            if (listener != null) jsc.sc().addSparkListener(listener);
            GradientJob.run(jsc, JobOptions.parse(Map.of(), args.toArray(new String[0])));
        }
        return Files.readAllBytes(out.resolve("grads.npz"));
    }

    /** Submits JOB to the cluster through gradspark-submit and returns grads.npz. */
    private static byte[] onTheCluster(LocalCluster cluster, String name, List<String> submitOptions) throws IOException {
        Path out = dir.resolve(name).resolve("out");
        List<String> options = new ArrayList<>(List.of(JOB));
        options.addAll(List.of("--out", out.toString()));
        Process job = cluster.submit(dir.resolve(name), submitOptions, options.toArray(new String[0]));
        LocalCluster.succeeded(LocalCluster.await(job, dir.resolve(name), Duration.ofMinutes(4)));
        return Files.readAllBytes(out.resolve("grads.npz"));
    }

    /** {@code backend}, except that the first kernel call from the first attempt of a partition-0 task throws (once). */
    static Backend failingTheFirstAttemptOfPartition0(Backend backend, AtomicInteger injected) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) -> {
            TaskContext task = TaskContext.get();
            boolean kernel = !method.getName().equals("name") && !method.getName().equals("device");
            if (kernel && task != null && task.partitionId() == 0 && task.attemptNumber() == 0 && injected.compareAndSet(0, 1)) {
                throw new IllegalStateException("injected failure: first attempt of partition 0 (DeterminismTest)");
            }
            try {
                return method.invoke(backend, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    /** Counts the tasks that ended other than successfully. */
    static final class TaskFailures extends SparkListener {
        private final AtomicInteger failed = new AtomicInteger();

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            if (end.reason() != Success$.MODULE$) failed.incrementAndGet();
        }

        int count() {
            return failed.get();
        }
    }
}
