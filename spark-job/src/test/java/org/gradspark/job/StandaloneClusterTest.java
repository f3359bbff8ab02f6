package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone cluster (a Master and 2 Workers of 1 core each on 127.0.0.1, started from the
 * project's jars by {@code submit-scripts/local-cluster}) loses an executor mid-job: the JVM of one
 * that is running a task is killed with SIGKILL. Spark runs the lost tasks again and the job,
 * submitted through {@code submit-scripts/gradspark-submit}, still exits with 0, and its
 * {@code grads.npz} is byte-identical to an undisturbed run on the cluster and to {@code local[2]}.
 * Skipped only when GRADSPARK_SKIP_CLUSTER_TESTS=1.
 */
class StandaloneClusterTest {
    /** Six tasks of 60000 rows on two 1-core executors: three waves, each task seconds long. */
    static final String[] JOB = {"--layers", "8,64,64,3", "--activation", "tanh", "--dtype", "float64", "--synthetic", "360000",
        "--partitions", "6", "--chunk-rows", "4096", "--seed", "11", "--backend", "cpu"};
    static final Duration JOB_TIMEOUT = Duration.ofMinutes(4);

    @TempDir
    static Path dir;
    static LocalCluster cluster;

    @BeforeAll
    static void startCluster() {
        if (LocalCluster.skipped()) return;  // the test reports itself skipped
        long t0 = System.nanoTime();
        cluster = LocalCluster.start(dir.resolve("cluster"), 2);
        log("cluster started in %.1f s (%s)", seconds(t0), cluster.masterUrl);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) cluster.close();
    }

    @Test
    void killingAnExecutorMidJobChangesNoBit() throws IOException {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        byte[] undisturbed = grads(LocalCluster.await(cluster.submit(dir.resolve("undisturbed"), options("undisturbed")),
                dir.resolve("undisturbed"), JOB_TIMEOUT), "undisturbed");
        log("undisturbed run on the cluster: %.1f s", seconds(t0));
        // The summary reports what the executors ran: the cpu backend, every partition on an executor, none on the driver.
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dir.resolve("undisturbed").resolve("out").resolve("summary.json").toFile());
        assertTrue(summary.get("backend").asText().startsWith("cpu on "), summary.toString());
        assertFalse(summary.get("partitions_per_executor").has("driver"), summary.toString());
        int partitions = 0;
        for (com.fasterxml.jackson.databind.JsonNode count : summary.get("partitions_per_executor")) partitions += count.asInt();
        assertEquals(6, partitions, summary.toString());

        t0 = System.nanoTime();
        Set<String> earlierApps = applications();
        Process job = cluster.submit(dir.resolve("killed"), options("killed"));
        LocalCluster.Executor victim = anExecutorRunningATask(job, earlierApps);
        victim.process().destroyForcibly();  // SIGKILL
        assertTrue(victim.process().onExit().completeOnTimeout(null, 30, TimeUnit.SECONDS).join() != null, "executor did not die");
        log("killed executor %s (pid %d) after %.1f s", cluster.dir.relativize(victim.workDir()), victim.process().pid(), seconds(t0));
        LocalCluster.Run killed = LocalCluster.await(job, dir.resolve("killed"), JOB_TIMEOUT);
        byte[] afterKill = grads(killed, "killed");
        log("run with a killed executor: %.1f s", seconds(t0));
        // The kill hit the job while it ran: the driver saw the executor go (with its running task, when
        // Spark attributes the task to it before the worker reports the exit; which comes first is a race).
        assertTrue(killed.stderr().contains("ExecutorLostFailure") || killed.stderr().contains("Lost executor"),
                "the driver never noticed the lost executor; driver log:\n" + killed.stderr());

        t0 = System.nanoTime();
        LocalCluster.Run local = LocalCluster.run(JOB_TIMEOUT, Map.of(), dir.resolve("local2"),
                LocalCluster.submitCommand("local[2]", List.of(), options("local2")));
        byte[] local2 = grads(local, "local2");
        log("local[2] run: %.1f s", seconds(t0));

        assertArrayEquals(undisturbed, afterKill, "grads.npz after losing an executor differs from the undisturbed run");
        assertArrayEquals(local2, undisturbed, "grads.npz on the cluster differs from local[2]");
    }

    /** Waits until an executor of an application started after {@code earlierApps} runs a task. */
    private static LocalCluster.Executor anExecutorRunningATask(Process job, Set<String> earlierApps) {
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue(job.isAlive(), "the job ended before any executor ran a task");
            for (LocalCluster.Executor e : cluster.executors()) {
                if (!earlierApps.contains(e.workDir().getParent().getFileName().toString()) && e.runsATask()) return e;
            }
            sleep(200);
        }
        job.destroyForcibly();
        return fail("no executor ran a task within " + JOB_TIMEOUT);
    }

    /** The application directories the workers have made so far. */
    private static Set<String> applications() throws IOException {
        Set<String> apps = new HashSet<>();
        try (Stream<Path> workers = Files.list(cluster.dir)) {
            for (Path w : workers.filter(Files::isDirectory).toList()) {
                try (Stream<Path> a = Files.list(w)) {
                    a.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("app-")).forEach(apps::add);
                }
            }
        }
        return apps;
    }

    private static String[] options(String name) {
        List<String> o = new ArrayList<>(List.of(JOB));
        o.addAll(List.of("--out", dir.resolve(name).resolve("out").toString()));
        return o.toArray(new String[0]);
    }

    private static byte[] grads(LocalCluster.Run run, String name) {
        LocalCluster.succeeded(run);
        try {
            return Files.readAllBytes(dir.resolve(name).resolve("out").resolve("grads.npz"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static void log(String format, Object... args) {
        System.out.printf("StandaloneClusterTest: " + format + "%n", args);
    }
}
