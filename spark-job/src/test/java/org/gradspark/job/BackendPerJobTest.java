package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backend belongs to the job, not to the JVM: two jobs of one application started at once from
 * two threads, one with {@code --backend cpu} and one with {@code --backend reference}, each give the
 * bits they give alone, and each summary names its own backend.
 */
class BackendPerJobTest {
    static JavaSparkContext jsc;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() {
        // Four task slots: both jobs' partitions run at the same time, threads of this JVM.
        jsc = TestSpark.start("local[4]", BackendPerJobTest.class);
    }

    @AfterAll
    static void stop() {
        jsc.close();
    }

    /** float32 tanh: the cpu backend's Vector-API tanh and the reference's Math.tanh differ in the last bits. */
    private static JobConfig job(String backend, String out) {
        return JobOptions.parse(Map.of(), "--layers", "8,64,64,3", "--activation", "tanh", "--dtype", "float32", "--synthetic", "6000",
                "--partitions", "2", "--chunk-rows", "250", "--seed", "3", "--backend", backend, "--out", dir.resolve(out).toString());
    }

    private static byte[] grads(String out) throws Exception {
        return Files.readAllBytes(dir.resolve(out).resolve("grads.npz"));
    }

    @Test
    void twoJobsWithDifferentBackendsAtOnceEachGiveTheirOwnBits() throws Exception {
        GradientJob.run(jsc, job("cpu", "cpu-alone"));
        GradientJob.run(jsc, job("reference", "reference-alone"));
        byte[] cpu = grads("cpu-alone"), reference = grads("reference-alone");
        assertFalse(java.util.Arrays.equals(cpu, reference), "the two backends must give different bits, or this test has no teeth");
        // The JVM's default is neither job's business: it stays what it was.
        String jvmDefault = Backends.jvmDefault().name();

        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 3; round++) {
                CyclicBarrier together = new CyclicBarrier(2);
                String c = "cpu-" + round, r = "reference-" + round;
                Future<GradientJob.Result> onCpu = two.submit(() -> {
                    together.await();
                    return GradientJob.run(jsc, job("cpu", c));
                });
                Future<GradientJob.Result> onReference = two.submit(() -> {
                    together.await();
                    return GradientJob.run(jsc, job("reference", r));
                });
                GradientJob.Result rc = onCpu.get(300, TimeUnit.SECONDS), rr = onReference.get(300, TimeUnit.SECONDS);
                assertArrayEquals(cpu, grads(c), "round " + round + ": the cpu job's gradient changed when a reference job ran beside it");
                assertArrayEquals(reference, grads(r), "round " + round + ": the reference job's gradient changed when a cpu job ran beside it");
                assertTrue(String.valueOf(rc.summary().get("backend")).startsWith("cpu on "), "round " + round + ": " + rc.summary().get("backend"));
                assertTrue(String.valueOf(rr.summary().get("backend")).startsWith("reference on "), "round " + round + ": " + rr.summary().get("backend"));
            }
        } finally {
            two.shutdownNow();
        }
        assertEquals(jvmDefault, Backends.jvmDefault().name());
    }

    @Test
    void aScopedBackendIsTheThreadsOnly() throws Exception {
        var reference = Backends.require("reference");
        try (Backends.Scope s = Backends.scoped(reference)) {
            assertEquals("reference", Backends.current().name());
            String[] elsewhere = new String[1];
            Thread t = new Thread(() -> elsewhere[0] = Backends.current().name());
            t.start();
            t.join();
            assertEquals(Backends.jvmDefault().name(), elsewhere[0], "another thread keeps the JVM's default");
            try (Backends.Scope inner = Backends.scoped(Backends.require("cpu"))) {
                assertEquals("cpu", Backends.current().name());
            }
            assertEquals("reference", Backends.current().name(), "closing a scope restores the one around it");
        }
        assertEquals(Backends.jvmDefault().name(), Backends.current().name());
    }
}
