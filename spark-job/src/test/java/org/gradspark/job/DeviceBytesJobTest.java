package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.BackendSettings;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 24, item 1, through the job: on the resident opencl backend (PoCL here) what each partition's
 * kernels moved between host and device, as summary.json reports it, stays within the bound of a chunk
 * crossing the bus once: in, the partition's rows, its sensitivities and the weights (and the HVP's
 * vector); out, the weights' gradient (or HVP) and the per-example outputs (and the per-example
 * Laplacian), each within 3% (what is over: the rules' scalar constants, uploaded once per value, a
 * few hundred bytes). A copy-per-op backend moves about 100 times that (ResidentTrafficTest).
 * Every op runs on the device (gradspark.opencl.hostBelow=0: this model's small ops would otherwise
 * stay on the host, and move nothing).
 */
class DeviceBytesJobTest {
    static JavaSparkContext jsc;
    static String savedHostBelow;
    static final int IN = 8, HIDDEN = 64, OUT = 2, ROWS = 4096, PARTS = 2, F32 = 4;
    static final long WEIGHTS = (long) IN * HIDDEN + HIDDEN + HIDDEN * HIDDEN + HIDDEN + HIDDEN * OUT + OUT;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(org.gradspark.gpu.opencl.OpenCLBackend.available() || System.getenv("GRADSPARK_REQUIRE_OPENCL") != null,
                "no OpenCL device");
        savedHostBelow = System.getProperty(BackendSettings.OPENCL_HOST_BELOW);
        System.setProperty(BackendSettings.OPENCL_HOST_BELOW, "0");
        jsc = TestSpark.start("local[2]", DeviceBytesJobTest.class);
    }

    @AfterAll
    static void stop() {
        if (jsc != null) jsc.close();
        if (savedHostBelow == null) System.clearProperty(BackendSettings.OPENCL_HOST_BELOW);
        else System.setProperty(BackendSettings.OPENCL_HOST_BELOW, savedHostBelow);
    }

    private JsonNode run(String name, String... args) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of("--layers", IN + "," + HIDDEN + "," + HIDDEN + "," + OUT, "--synthetic", String.valueOf(ROWS),
                "--partitions", String.valueOf(PARTS), "--backend", "opencl", "--dtype", "float32", "--out", dir.resolve(name).toString()));
        all.addAll(List.of(args));
        GradientJob.run(jsc, JobOptions.parse(Map.of(), all.toArray(String[]::new)));
        return new ObjectMapper().readTree(dir.resolve(name).resolve("summary.json").toFile());
    }

    /** Each partition within {@code in} and {@code out} elements (float32), 3% over at most, and something moved each way. */
    private static void assertWithin(JsonNode summary, long inPerRow, long inFixed, long outPerRow, long outFixed) {
        JsonNode parts = summary.get("per_partition");
        assertEquals(PARTS, parts.size(), summary.toString());
        for (JsonNode p : parts) {
            long rows = p.get("rows").asLong(), in = p.get("device_bytes_in").asLong(), out = p.get("device_bytes_out").asLong();
            long inBound = (rows * inPerRow + inFixed) * F32, outBound = (rows * outPerRow + outFixed) * F32;
            assertTrue(in > 0 && in <= inBound * 1.03, "bytes in " + in + " against the bound " + inBound + ": " + p);
            assertTrue(out > 0 && out <= outBound * 1.03, "bytes out " + out + " against the bound " + outBound + ": " + p);
            assertTrue(p.get("backend").asText().startsWith("opencl on "), p.toString());
        }
    }

    @Test
    void theWeightGradientCrossesOnce() throws Exception {
        assertWithin(run("grad"), IN + OUT, WEIGHTS, OUT, WEIGHTS);
    }

    @Test
    void theHessianVectorProductCrossesOnce() throws Exception {
        Map<String, Tensor> v = new java.util.LinkedHashMap<>();
        int[][] shapes = {{IN, HIDDEN}, {HIDDEN}, {HIDDEN, HIDDEN}, {HIDDEN}, {HIDDEN, OUT}, {OUT}};
        for (int k = 0; k < shapes.length; k++) v.put((k % 2 == 0 ? "w" : "b") + k / 2, Tensor.uniform(k, -1, 1, DType.FLOAT32, shapes[k]));
        Npz.write(dir.resolve("v.npz"), v);
        assertWithin(run("hvp", "--mode", "hvp", "--vector", dir.resolve("v.npz").toString()), IN + OUT, 2 * WEIGHTS, OUT, WEIGHTS);
    }

    @Test
    void thePerExampleLaplacianCrossesOnce() throws Exception {
        // The Laplacian sweeps take the identity basis of the input space as a constant: d x d more in.
        assertWithin(run("laplacian", "--wrt", "inputs", "--derivative", "laplacian"), IN + OUT, (long) IN * IN + WEIGHTS, 2 * OUT, 0);
    }
}
