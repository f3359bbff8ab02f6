package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark's GPU scheduling, through {@code submit-scripts/gradspark-submit} on a real standalone cluster:
 * PoCL with two CPU devices ({@code POCL_DEVICES="pthread pthread"}) stands in for two GPUs. One Worker
 * of 2 cores offers GPU addresses 0 and 1 (found by {@code conf/gpu-discovery.sh}); the executor takes
 * both ({@code spark.executor.resource.gpu.amount=2}), each task one ({@code spark.task.resource.gpu.amount=1}).
 * <ul>
 *   <li>two tasks ran at once on the two devices (overlapping times in summary.json, addresses 0 and 1),
 *       and grads.npz equals the cpu backend's float64 run within the parity tests' tolerance;</li>
 *   <li>a Worker whose discovery script offers address 7 (no such device): exit 2, one line naming
 *       the address, the executor and its host.</li>
 * </ul>
 * Skipped when GRADSPARK_SKIP_CLUSTER_TESTS=1, and where PoCL is not the only OpenCL driver (the
 * discovery script must find PoCL's two devices).
 */
class GpuSchedulingTest {
    static final String[] JOB = {"--layers", "8,64,64,3", "--activation", "tanh", "--dtype", "float64", "--synthetic", "12000",
        "--partitions", "6", "--chunk-rows", "1000", "--seed", "5"};
    static final List<String> GPU_JOB = List.of("--conf", "spark.executor.resource.gpu.amount=2", "--conf", "spark.task.resource.gpu.amount=1");
    static final Duration TIMEOUT = Duration.ofMinutes(4);
    static final Map<String, String> TWO_POCL_DEVICES = Map.of("POCL_DEVICES", "pthread pthread");

    @TempDir
    static Path dir;
    static LocalCluster cluster;

    @BeforeAll
    static void startCluster() {
        if (LocalCluster.skipped()) return;
        LocalCluster.Run found = LocalCluster.run(Duration.ofMinutes(1), TWO_POCL_DEVICES, dir.resolve("discovery"), discoveryScript());
        Assumptions.assumeTrue(found.exitCode() == 0 && found.stdout().strip().equals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}"),
                "conf/gpu-discovery.sh with POCL_DEVICES='pthread pthread' does not find PoCL's two devices here: " + found.stdout() + found.stderr());
        cluster = LocalCluster.start(dir.resolve("cluster"), 1, workerWithGpus(2, null));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) cluster.close();
    }

    /** A Worker of 2 cores, two PoCL devices, {@code amount} GPUs from the discovery script (its addresses forced when given). */
    static Map<String, String> workerWithGpus(int amount, String forcedAddresses) {
        Map<String, String> env = new java.util.HashMap<>(TWO_POCL_DEVICES);
        env.put("GRADSPARK_WORKER_CORES", "2");
        env.put("SPARK_WORKER_OPTS", "-Dspark.worker.resource.gpu.amount=" + amount + " -Dspark.worker.resource.gpu.discoveryScript=" + discoveryScript());
        if (forcedAddresses != null) env.put("GRADSPARK_GPU_ADDRESSES", forcedAddresses);
        return env;
    }

    static String discoveryScript() {
        return LocalCluster.HOME.resolve("conf").resolve("gpu-discovery.sh").toString();
    }

    @Test
    void twoTasksRunAtOnceEachOnItsOwnDeviceWithTheCpuBackendsGradients() throws IOException {
        LocalCluster.assumeWanted();
        Path gpuOut = dir.resolve("gpu").resolve("out");
        LocalCluster.succeeded(LocalCluster.await(cluster.submit(dir.resolve("gpu"), GPU_JOB, options("opencl", gpuOut)), dir.resolve("gpu"), TIMEOUT));
        Path cpuOut = dir.resolve("cpu").resolve("out");
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("cpu"),
                LocalCluster.submitCommand("local[2]", List.of(), options("cpu", cpuOut))));

        JsonNode summary = new ObjectMapper().readTree(gpuOut.resolve("summary.json").toFile());
        JsonNode parts = summary.get("per_partition");
        assertEquals(6, parts.size(), summary.toString());
        assertEquals("used", summary.get("gpu_assignment").asText(), summary.toString());
        Set<String> addresses = new HashSet<>();
        for (JsonNode p : parts) {
            assertEquals("used", p.get("gpu_assignment").asText(), p.toString());
            assertEquals(List.of(p.get("address").asText()), List.of(p.get("gpu_addresses").get(0).asText()), p.toString());
            assertTrue(p.get("device").asText().contains("pthread"), p.toString());
            // Its kernels ran there: the rows went to that device and the results came back.
            assertTrue(p.get("device_bytes_in").asLong() > 0 && p.get("device_bytes_out").asLong() > 0, p.toString());
            addresses.add(p.get("address").asText());
        }
        assertEquals(Set.of("0", "1"), addresses, parts.toString());
        assertTrue(ranAtOnceOnTwoDevices(parts), "no two partitions overlapped in time on different addresses: " + parts);

        Map<String, Tensor> onGpus = Npz.read(gpuOut.resolve("grads.npz")), onCpu = Npz.read(cpuOut.resolve("grads.npz"));
        assertEquals(onCpu.keySet(), onGpus.keySet());
        for (String k : onCpu.keySet()) {
            Tensor g = onGpus.get(k), c = onCpu.get(k);
            assertEquals(c.shape(), g.shape(), k);
            for (int i = 0; i < c.size(); i++) {
                // The parity tests' float64 elementwise tolerance (BackendParityContract).
                double tol = 1e-5 * Math.abs(c.getDouble(i)) + 1e-12;
                if (!(Math.abs(g.getDouble(i) - c.getDouble(i)) <= tol)) fail(k + "[" + i + "]: opencl " + g.getDouble(i) + ", cpu " + c.getDouble(i));
            }
        }
    }

    /** Whether two partitions' [start, end] intervals intersect while their addresses differ. */
    private static boolean ranAtOnceOnTwoDevices(JsonNode parts) {
        for (JsonNode a : parts) {
            for (JsonNode b : parts) {
                if (!a.get("address").asText().equals(b.get("address").asText())
                        && a.get("start_ms").asLong() < b.get("end_ms").asLong() && b.get("start_ms").asLong() < a.get("end_ms").asLong()) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void anAddressThatNamesNoDeviceExits2NamingItTheExecutorAndTheHost() {
        LocalCluster.assumeWanted();
        try (LocalCluster seven = LocalCluster.start(dir.resolve("cluster-7"), 1, workerWithGpus(1, "7"))) {
            Path out = dir.resolve("seven").resolve("out");
            LocalCluster.Run r = LocalCluster.await(seven.submit(dir.resolve("seven"),
                    List.of("--conf", "spark.executor.resource.gpu.amount=1", "--conf", "spark.task.resource.gpu.amount=1"), options("opencl", out)),
                    dir.resolve("seven"), TIMEOUT);
            SubmittedFailuresTest.assertFailure(r, 2, dir.resolve("seven"), "GPU address '7' names no OpenCL device", "executor ", "(host 127.0.0.1)",
                    "--backend opencl");
            System.out.println("GpuSchedulingTest: address 7 gave: " + r.stderr().strip().lines().reduce((a, b) -> b).orElse(""));
            assertFalse(out.toFile().exists(), "nothing written at --out");
        }
    }

    private static String[] options(String backend, Path out) {
        List<String> o = new ArrayList<>(List.of(JOB));
        o.addAll(List.of("--backend", backend, "--out", out.toString()));
        return o.toArray(new String[0]);
    }
}
