package org.gradspark.job;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.div;
import static org.gradspark.ad.Ops.exp;
import static org.gradspark.ad.Ops.matMul;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.pow;
import static org.gradspark.ad.Ops.sin;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The grad job's gradient statistics (issue 27, item 2) against PyTorch's per-sample gradients
 * ({@code functorch.vmap(functorch.grad(...))}, then norms, dots, sums of squares, clipping, the
 * Jacobian-and-Hessian GGN diagonal: {@code grad_stats_peer.py}), float64, to 1e-9, on the MLP with
 * mse and on a user Cell (matMul, mul, div, pow, exp, sin) with softmax cross-entropy, both with
 * per-row sensitivities; and byte-identical outputs on local[1], local[2] and with the sharded
 * reduction. Needs python3 with torch and functorch (Debian's python3-torch) and is skipped without it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GradientStatisticsJobTest {
    private static final int ROWS = 30;
    private static final double C = 0.05;

    @TempDir
    static Path root;
    static Path mlp, cell;
    static Map<String, Tensor> mlpWeights, cellWeights, mlpExpected, cellExpected;
    static JavaSparkContext jsc;

    /** A user Cell of the ops the generic path must handle: sin(xW) * exp(c) + (xW)^2 / (c^2 + 1), [rows, 2]. */
    public static final class PeerCell extends Cell {
        private static final long serialVersionUID = 1L;
        private final Parameter w = new Parameter(Tensor.uniform(5, -1, 1, DType.FLOAT64, 3, 2), "w");
        private final Parameter c = new Parameter(Tensor.uniform(6, -1, 1, DType.FLOAT64, 2), "c");

        @Override public int inputCount() { return 1; }

        @Override public Tensor construct(Tensor... in) {
            Tensor z = matMul(in[0], w);
            return add(mul(sin(z), exp(c)), div(pow(z, 2.0), add(mul(c, c), 1.0)));
        }
    }

    /** Both models' rows and parameters, PyTorch's values for them (one python3 run), and a local[2] context. */
    @BeforeAll
    static void rowsPeerAndSpark() throws IOException {
        mlp = Files.createDirectories(root.resolve("mlp"));
        cell = Files.createDirectories(root.resolve("cell"));
        writeRows(mlp, Tensor.uniform(22, 0, 1, DType.FLOAT64, ROWS, 2));
        mlpWeights = JobModel.initialWeights(new int[] {3, 4, 2}, DType.FLOAT64, 3);
        // One-hot rows for softmax cross-entropy: [0, 1] on every third row, else [1, 0].
        writeRows(cell, Tensor.fromFunction(DType.FLOAT64, Shape.of(ROWS, 2), i -> (i / 2) % 3 == 0 ? (i % 2) : 1 - (i % 2)));
        JobModel built = JobModel.build(JobOptions.parse(Map.of(), "--model-class", PeerCell.class.getName(), "--layers", "3,2").model(), Map.of());
        cellWeights = new LinkedHashMap<>();
        for (int i = 0; i < built.keys().size(); i++) cellWeights.put(built.keys().get(i), built.params().get(i).value());
        writeParameters(mlp, mlpWeights);
        writeParameters(cell, cellWeights);
        peer(List.of(mlp.toString(), "mlp", "mse", cell.toString(), "cell", "softmax-cross-entropy"));
        mlpExpected = Npz.read(mlp.resolve("expected.npz"));
        cellExpected = Npz.read(cell.resolve("expected.npz"));
        jsc = TestSpark.start("local[2]", GradientStatisticsJobTest.class);
    }

    @AfterAll
    static void stop() {
        if (jsc != null) jsc.close();
    }

    @Test
    @Order(1)
    void aUserCellsStatisticsAreTorchsWithSoftmaxCrossEntropy() throws Exception {
        List<String> model = List.of("--model-class", PeerCell.class.getName(), "--layers", "3,2", "--loss", "softmax-cross-entropy");
        checkNormsSquaresGgnAndNoiseScale(job(cell, model, "a", "--per-example", "grad-norm", "--grad-stats", "sum-of-squares,ggn-diagonal"),
                cellExpected, cellWeights.keySet());
        checkDotsAndClippedSum(job(cell, model, "b", "--per-example", "grad-dot:" + cell.resolve("v.npz"), "--clip", String.valueOf(C)),
                cellExpected, cellWeights.keySet());
    }

    /** Last: it ends on a local[1] context. */
    @Test
    @Order(2)
    void theMlpsStatisticsAreTorchsAndTheSameBytesOnAnyMaster() throws Exception {
        Map<String, Tensor> expected = mlpExpected;
        List<String> model = List.of("--layers", "3,4,2", "--weights", mlp.resolve("w.npz").toString(), "--loss", "mse");
        Path a = job(mlp, model, "a2", "--per-example", "grad-norm", "--grad-stats", "sum-of-squares,ggn-diagonal");
        checkNormsSquaresGgnAndNoiseScale(a, expected, mlpWeights.keySet());
        checkDotsAndClippedSum(job(mlp, model, "b", "--per-example", "grad-dot:" + mlp.resolve("v.npz"), "--clip", String.valueOf(C)), expected,
                mlpWeights.keySet());
        Path perKey = job(mlp, model, "c", "--per-example", "grad-norm-per-key");
        close("grad_norms per key", parts(perKey.resolve("grad_norms")), expected.get("norms_per_key"));
        assertEquals(List.copyOf(mlpWeights.keySet()), toStrings(summary(perKey).get("grad_norms_columns")));
        assertEquals(List.of((long) ROWS, (long) mlpWeights.size()), toLongs(summary(perKey).get("grad_norms").get("shape")));
        checkARowLeftOut(model, expected);
        jsc.setLocalProperty("spark.gradspark.shardThreshold", "1");
        Path sharded = job(mlp, model, "a2-sharded", "--per-example", "grad-norm", "--grad-stats", "sum-of-squares,ggn-diagonal");
        jsc.setLocalProperty("spark.gradspark.shardThreshold", null);
        jsc.close();
        jsc = TestSpark.start("local[1]", GradientStatisticsJobTest.class);
        Path one = job(mlp, model, "a1", "--per-example", "grad-norm", "--grad-stats", "sum-of-squares,ggn-diagonal");
        for (String f : List.of("grads.npz", "grad_sum_squares.npz", "ggn_diagonal.npz", "grad_norms/part-00000.npy", "grad_norms/part-00002.npy")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(one.resolve(f)), f + ": local[2] vs local[1]");
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(sharded.resolve(f)), f + ": collected vs sharded reduction");
        }
        assertEquals(summary(a).get("gradient_noise_scale").asDouble(), summary(one).get("gradient_noise_scale").asDouble(), 0.0);
        assertEquals(summary(a).get("per_example_grad_norm"), summary(one).get("per_example_grad_norm"));
    }

    /** With --on-nan skip, a row with a NaN has a NaN norm, the others theirs; N and the quantiles are over the rows used. */
    private static void checkARowLeftOut(List<String> model, Map<String, Tensor> expected) throws IOException {
        Tensor x = Npy.read(mlp.resolve("x.npy"));
        double[] v = x.rawDoubles().clone();
        v[7 * 3 + 1] = Double.NaN;
        Path skipped = Files.createDirectories(mlp.resolve("skip"));
        Npy.write(skipped.resolve("x.npy"), Tensor.wrap(v, x.shape()));
        for (String f : List.of("y.npy", "s.npy")) Files.copy(mlp.resolve(f), skipped.resolve(f));
        Path out = job(skipped, model, "out", "--per-example", "grad-norm", "--on-nan", "skip");
        Tensor norms = parts(out.resolve("grad_norms"));
        for (int r = 0; r < ROWS; r++) {
            if (r == 7) assertTrue(Double.isNaN(norms.getDouble(r)), "the row left out has a NaN norm");
            else assertEquals(expected.get("norms").getDouble(r), norms.getDouble(r), 1e-9 * expected.get("norms").getDouble(r), "row " + r);
        }
        JsonNode s = summary(out);
        assertEquals(ROWS - 1, s.get("gradient_noise_scale_terms").get("rows").asLong());
        assertTrue(Double.isFinite(s.get("per_example_grad_norm").get("max").asDouble()), s.toString());
    }

    private static void checkNormsSquaresGgnAndNoiseScale(Path out, Map<String, Tensor> expected, java.util.Set<String> keys) throws IOException {
        close("grad_norms", parts(out.resolve("grad_norms")), expected.get("norms"));
        Map<String, Tensor> grads = Npz.read(out.resolve("grads.npz")), squares = Npz.read(out.resolve("grad_sum_squares.npz")),
                ggn = Npz.read(out.resolve("ggn_diagonal.npz"));
        for (String k : keys) {
            close("grads.npz " + k, grads.get(k), expected.get("sum_" + k));
            close("grad_sum_squares.npz " + k, squares.get(k), expected.get("squares_" + k));
            close("ggn_diagonal.npz " + k, ggn.get(k), expected.get("ggn_" + k));
        }
        JsonNode s = summary(out);
        double b = expected.get("noise_scale").getDouble(0);
        assertEquals(b, s.get("gradient_noise_scale").asDouble(), 1e-9 * Math.abs(b), "gradient_noise_scale");
        assertEquals(ROWS, s.get("gradient_noise_scale_terms").get("rows").asLong());
        String[] names = {"min", "median", "p99", "max"};
        for (int i = 0; i < names.length; i++) {
            double q = expected.get("quantiles").getDouble(i);
            assertEquals(q, s.get("per_example_grad_norm").get(names[i]).asDouble(), 1e-9 * q, names[i]);
        }
        assertEquals("grad-norm", s.get("grad_norms").get("per_example").asText());
        assertEquals(keys.contains("w0") ? "per-layer" : "per-row", s.get("grad_stats_path").asText(), "the MLP takes the outer-product rules, the Cell the per-row path");
        assertEquals(List.of((long) ROWS), toLongs(s.get("grad_norms").get("shape")));
    }

    private static void checkDotsAndClippedSum(Path out, Map<String, Tensor> expected, java.util.Set<String> keys) throws IOException {
        close("grad_dots", parts(out.resolve("grad_dots")), expected.get("dots"));
        Map<String, Tensor> grads = Npz.read(out.resolve("grads.npz"));
        for (String k : keys) close("clipped grads.npz " + k, grads.get(k), expected.get("clipped_" + k));
        // The clip must bite: some rows' norms are above C, so the clipped sum is not the plain one.
        Tensor norms = expected.get("norms");
        assertTrue(java.util.stream.IntStream.range(0, norms.size()).anyMatch(i -> norms.getDouble(i) > C)
                && java.util.stream.IntStream.range(0, norms.size()).anyMatch(i -> norms.getDouble(i) < C), "C between the smallest and largest norm");
        assertEquals(C, summary(out).get("clip").asDouble());
    }

    /** x, the labels given and s (per-row weights in (0, 2)). */
    private static void writeRows(Path d, Tensor labels) {
        Npy.write(d.resolve("x.npy"), Tensor.uniform(21, -1, 1, DType.FLOAT64, ROWS, 3));
        Npy.write(d.resolve("y.npy"), labels);
        Npy.write(d.resolve("s.npy"), Tensor.uniform(23, 0, 2, DType.FLOAT64, ROWS, 1));
    }

    /** The parameters by key (what the peer differentiates) and V, a reference gradient of their keys and shapes. */
    private static void writeParameters(Path d, Map<String, Tensor> w) {
        Npz.write(d.resolve("w.npz"), w);
        Map<String, Tensor> v = new LinkedHashMap<>();
        long seed = 30;
        for (Map.Entry<String, Tensor> e : w.entrySet()) v.put(e.getKey(), Tensor.uniform(seed++, -1, 1, DType.FLOAT64, e.getValue().shape().dims()));
        Npz.write(d.resolve("v.npz"), v);
    }

    /** Runs grad_stats_peer.py on (dir, model, loss) triples; skipped where no python3 has torch and functorch. */
    private static void peer(List<String> runs) throws IOException {
        Path script = root.resolve("peer.py");
        try (java.io.InputStream in = GradientStatisticsJobTest.class.getResourceAsStream("/grad_stats_peer.py")) {
            Files.write(script, in.readAllBytes());
        }
        // The first python3 with torch and functorch (a pyenv shim may hide the system's); exit 3: it has none.
        String r = "";
        for (String python : List.of("python3", "/usr/bin/python3")) {
            List<String> cmd = new ArrayList<>(List.of(python, script.toString(), String.valueOf(C)));
            cmd.addAll(runs);
            r = run(cmd);
            if (!r.startsWith("3:") && !r.startsWith("-1:")) break;
        }
        assumeTrue(!r.startsWith("3:") && !r.startsWith("-1:"), "no python3 with torch and functorch: " + r);
        assertTrue(r.startsWith("0:"), r);
    }

    /** The job on the rows in {@code d}, 3 partitions of chunks of 4 rows, float64, into d/name. */
    private static Path job(Path d, List<String> model, String name, String... stats) {
        List<String> args = new ArrayList<>(model);
        args.addAll(List.of("--input", d.resolve("x.npy").toString(), "--labels", d.resolve("y.npy").toString(), "--sens", d.resolve("s.npy").toString(),
                "--dtype", "float64", "--backend", "reference", "--partitions", "3", "--chunk-rows", "4", "--out", d.resolve(name).toString()));
        args.addAll(List.of(stats));
        GradientJob.run(jsc, JobOptions.parse(Map.of(), args.toArray(new String[0])));
        return d.resolve(name);
    }

    private static Tensor parts(Path partsDir) throws IOException {
        List<Double> all = new ArrayList<>();
        try (var files = Files.list(partsDir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().matches("part-\\d+\\.npy")).sorted().toList()) {
                Tensor t = Npy.read(p);
                assertEquals(DType.FLOAT64, t.dtype(), p.toString());
                for (int i = 0; i < t.size(); i++) all.add(t.getDouble(i));
            }
        }
        return Tensor.wrap(all.stream().mapToDouble(Double::doubleValue).toArray(), Shape.of(all.size()));
    }

    private static void close(String what, Tensor got, Tensor expected) {
        assertEquals(expected.size(), got.size(), what + ": size");
        for (int i = 0; i < got.size(); i++) {
            double e = expected.getDouble(i);
            assertEquals(e, got.getDouble(i), 1e-9 * Math.max(1e-3, Math.abs(e)), what + " [" + i + "]");
        }
    }

    private static JsonNode summary(Path out) throws IOException {
        return new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    }

    private static List<Long> toLongs(JsonNode a) {
        List<Long> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asLong()));
        return l;
    }

    private static List<String> toStrings(JsonNode a) {
        List<String> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asText()));
        return l;
    }

    /** "exit code: output" of a command. */
    private static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) p.destroyForcibly();
            return p.exitValue() + ": " + out;
        } catch (IOException e) {
            return "-1: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "-1: interrupted";
        }
    }
}
