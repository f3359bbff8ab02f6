package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.Npy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradspark-submit fit} as users run it: the same command gives byte-identical
 * {@code weights.npz} on local[1], local[2] and a standalone cluster of two workers, and a driver killed (SIGKILL) after a checkpoint,
 * resumed with {@code --resume}, ends with the bytes of a run that was never stopped.
 */
class FitSubmittedTest {
    static final Duration TIMEOUT = Duration.ofMinutes(5);

    @TempDir static Path dir;
    static String[] job;

    @BeforeAll
    static void data() {
        Tensor x = Tensor.uniform(11, -1, 1, DType.FLOAT32, 20000, 8);
        Tensor y = Ops.tanh(Ops.matMul(x, Tensor.uniform(12, -1, 1, DType.FLOAT32, 8, 1)));
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), y);
        job = new String[] {"--layers", "8,32,1", "--activation", "tanh", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
            "--loss", "mse", "--partitions", "4", "--chunk-rows", "2000", "--backend", "cpu", "--optimizer", "lbfgs", "--iterations", "24", "--checkpoint-every", "4"};
    }

    private static String[] fit(String master, String out, String... more) {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.script("gradspark-submit"), "--master", master, "--conf", "spark.ui.enabled=false", "fit"));
        cmd.addAll(Arrays.asList(job));
        cmd.addAll(List.of("--out", out));
        cmd.addAll(Arrays.asList(more));
        return cmd.toArray(new String[0]);
    }

    private static byte[] weights(LocalCluster.Run r, Path out) throws IOException {
        LocalCluster.succeeded(r);
        assertTrue(r.stdout().contains("fit lbfgs: iteration "), r.stdout());
        return Files.readAllBytes(out.resolve("weights.npz"));
    }

    @Test
    void local1AndLocal2GiveTheSameWeights() throws IOException {
        byte[] one = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("l1"), fit("local[1]", dir.resolve("out-l1").toString())), dir.resolve("out-l1"));
        byte[] two = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("l2"), fit("local[2]", dir.resolve("out-l2").toString())), dir.resolve("out-l2"));
        assertArrayEquals(one, two);
    }

    @Test
    void aStandaloneClusterOfTwoWorkersGivesTheWeightsOfLocal1() throws IOException {
        LocalCluster.assumeWanted();
        byte[] one = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("c-l1"), fit("local[1]", dir.resolve("out-c-l1").toString())),
                dir.resolve("out-c-l1"));
        try (LocalCluster cluster = LocalCluster.start(dir.resolve("cluster"), 2)) {
            byte[] onCluster = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("c"), fit(cluster.masterUrl, dir.resolve("out-cluster").toString())),
                    dir.resolve("out-cluster"));
            assertArrayEquals(one, onCluster);
        }
    }

    @Test
    void aKilledDriverResumedGivesTheWeightsOfARunNeverStopped() throws Exception {
        byte[] never = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("never"), fit("local[2]", dir.resolve("out-never").toString())),
                dir.resolve("out-never"));
        Path out = dir.resolve("out-killed");
        Process p = LocalCluster.launch(Map.of(), dir.resolve("killed"), fit("local[2]", out.toString()));
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!Files.exists(out.resolve("checkpoints/iter-000008")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(p.isAlive(), "the fit ended before its second checkpoint: " + Files.readString(dir.resolve("killed/stdout")));
        // SIGKILL to the driver JVM (and the script): no shutdown hook, no clean-up, as a lost machine.
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor();
        assertFalse(Files.exists(out.resolve("_SUCCESS")));
        assertFalse(Files.exists(out.resolve("weights.npz")));
        String stopped = Files.readString(dir.resolve("killed/stdout"));
        LocalCluster.Run resumed = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("resumed"),
                fit("local[2]", out.toString(), "--resume", out.resolve("checkpoints").toString()));
        assertTrue(resumed.stdout().contains("fit: resuming from"), resumed.stdout());
        assertArrayEquals(never, weights(resumed, out), "killed after:\n" + stopped);
        assertEquals(Files.readString(dir.resolve("out-never/checkpoints/iter-000020/state.json")).replaceAll("\"(seconds|elapsed_s)\" : [^,\\n]+", ""),
                Files.readString(out.resolve("checkpoints/iter-000020/state.json")).replaceAll("\"(seconds|elapsed_s)\" : [^,\\n]+", ""),
                "the same history, evaluations included, but for the times");
    }
}
