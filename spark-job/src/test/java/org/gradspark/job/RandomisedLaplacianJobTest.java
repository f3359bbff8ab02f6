package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --derivative laplacian --estimator hutchinson:K|stde:K} (issue 28, item 3): each row's directions
 * come from {@code --seed} and the row's index in the input, so one partition in one chunk on
 * {@code local[1]} and three partitions of uneven chunks on {@code local[2]} write the same values to
 * the bit on the reference backend (whose bits do not depend on a block's size, as a BLAS kernel's do; hutchinson
 * here, stde's chunks are checked against the whole batch below and in core-ad); they are core-ad's {@link Operators#laplacian(org.gradspark.ad.Fn, Tensor, LaplacianEstimator, long, long)}
 * over the whole batch, and summary.json names the estimator and the seed.
 */
class RandomisedLaplacianJobTest {
    private static final int ROWS = 40, IN = 12;

    @TempDir
    Path dir;

    @Test
    void local1InOneChunkAndLocal2InThreePartitionsWriteTheSameBits() throws IOException {
        Tensor x = Tensor.uniform(11, -1, 1, DType.FLOAT64, ROWS, IN);
        Path xs = dir.resolve("x.npy");
        Npy.write(xs, x);
        Path ws = dir.resolve("w.npz");
        Npz.write(ws, JobModel.initialWeights(new int[] {IN, 16, 2}, DType.FLOAT64, 5));
        double[] local1;
        Map<String, double[]> local2 = new LinkedHashMap<>();
        try (JavaSparkContext jsc = TestSpark.start("local[1]", RandomisedLaplacianJobTest.class)) {
            local1 = run(jsc, "local1", job(xs, ws, "hutchinson:3", "1", "64"));
        }
        try (JavaSparkContext jsc = TestSpark.start("local[2]", RandomisedLaplacianJobTest.class)) {
            for (String e : List.of("hutchinson:3", "stde:4")) local2.put(e, run(jsc, "local2-" + e.replace(":", ""), job(xs, ws, e, "3", "7")));
        }
        assertTrue(Arrays.equals(local1, local2.get("hutchinson:3")), "local[2] in 3 partitions differs from local[1] in one chunk");
        Cell net = JobModel.build(JobOptions.parse(Map.of(), job(xs, ws, "exact", "1", "64")), Npz.read(ws)).network();
        for (Map.Entry<String, double[]> e : local2.entrySet()) {
            double[] core = Operators.laplacian(net, x, LaplacianEstimator.parse(e.getKey()), 9, 0).toDoubleArray();
            for (int i = 0; i < core.length; i++) assertEquals(core[i], e.getValue()[i], 1e-12 * (1 + Math.abs(core[i])), e.getKey() + ", value " + i);
            var entry = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("local2-" + e.getKey().replace(":", "")).resolve("summary.json").toFile())
                    .get("laplacian");
            assertEquals(e.getKey(), entry.get("estimator").asText());
            assertEquals(9, entry.get("seed").asLong());
        }
    }

    private static String[] job(Path xs, Path ws, String estimator, String partitions, String chunkRows) {
        return new String[] {"--layers", IN + ",16,2", "--dtype", "float64", "--weights", ws.toString(), "--input", xs.toString(), "--wrt", "inputs",
            "--derivative", "laplacian", "--estimator", estimator, "--seed", "9", "--partitions", partitions, "--chunk-rows", chunkRows, "--backend", "reference"};
    }

    /** Runs the job and returns its Laplacian, the parts in order. */
    private double[] run(JavaSparkContext jsc, String name, String[] job) {
        List<String> args = new ArrayList<>(List.of(job));
        args.addAll(List.of("--out", dir.resolve(name).toString()));
        GradientJob.run(jsc, JobOptions.parse(Map.of(), args.toArray(new String[0])));
        assertTrue(Files.exists(dir.resolve(name).resolve("_SUCCESS")));
        return Outputs.concatenated(dir.resolve(name), "laplacian").toDoubleArray();
    }
}
