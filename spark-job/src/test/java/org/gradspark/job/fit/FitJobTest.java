package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.TestSpark;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.FitJob;
import org.gradspark.job.cli.FitMain;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fit on Spark (local[2], the job's distributed objective): least squares to NumPy's lstsq
 * solution, a softmax classifier's monotone loss under L-BFGS, a lost driver resumed to the same
 * bytes, the outputs, and bad input exiting with code 2 and one line.
 */
class FitJobTest {
    static JavaSparkContext jsc;

    @TempDir Path dir;

    @BeforeAll
    static void start() {
        jsc = TestSpark.start("local[2]", FitJobTest.class);
    }

    @AfterAll
    static void stop() {
        jsc.close();
    }

    private FitJob.Result fit(String... args) {
        FitConfig fc = FitOptions.parse(Map.of(), args);
        return FitJob.run(jsc, FitJob.prepare(fc, Storage.of(jsc.hadoopConfiguration())), null);
    }

    /** Rows x [n, d] and targets y = x·w + 0.5 + noise, as .npy files; returns the LeastSquares twin. */
    private LeastSquares leastSquaresFiles(int n, int d) {
        LeastSquares ls = new LeastSquares(n, d, 5, DType.FLOAT64);
        Npy.write(dir.resolve("x.npy"), ls.x);
        Npy.write(dir.resolve("y.npy"), ls.y);
        return ls;
    }

    @Test
    void lbfgsOnAnIdentityMlpReachesTheLeastSquaresSolution() throws Exception {
        LeastSquares ls = leastSquaresFiles(2000, 6);
        FitJob.Result r = fit("--layers", "6,1", "--activation", "identity", "--input", dir.resolve("x.npy").toString(), "--labels",
                dir.resolve("y.npy").toString(), "--loss", "mse", "--dtype", "float64", "--partitions", "3", "--optimizer", "lbfgs", "--iterations", "100",
                "--out", dir.resolve("out").toString());
        double[] ref = ls.solution();   // NumPy's lstsq solves the same normal equations (full column rank)
        double num = 0, den = 0;
        for (int j = 0; j < 7; j++) {
            double got = j < 6 ? r.weights().get("w0").getDouble(j) : r.weights().get("b0").getDouble(0);
            num += (got - ref[j]) * (got - ref[j]);
            den += ref[j] * ref[j];
        }
        assertTrue(Math.sqrt(num / den) < 1e-5, "relative error " + Math.sqrt(num / den) + " (" + r.stopReason() + ")");
        // The job's mse is the mean over an example's outputs, with --reduction mean over rows: the same objective.
        for (String f : FitJob.FINAL) assertTrue(Files.exists(dir.resolve("out").resolve(f)), f);
        assertTrue(Files.exists(dir.resolve("out/_SUCCESS")));
        JsonNode h = new ObjectMapper().readTree(dir.resolve("out/history.json").toFile());
        assertEquals(r.history().size(), h.get("iterations").size());
        assertEquals(r.finalLoss(), h.get("iterations").get(r.history().size() - 1).get("loss").asDouble());
        JsonNode s = new ObjectMapper().readTree(dir.resolve("out/summary.json").toFile());
        assertEquals("lbfgs", s.get("optimizer").asText());
        assertEquals(3, s.get("partitions").asInt());
        byte[] png = Files.readAllBytes(dir.resolve("out/loss.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        Map<String, Tensor> w = Npz.read(dir.resolve("out/weights.npz"));
        assertEquals(List.of("w0", "b0"), List.copyOf(w.keySet()), "the keys of --weights");
    }

    @Test
    void aSoftmaxClassifiersLossDecreasesMonotonicallyUnderLbfgs() {
        int n = 1500;
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT32, n, 4);
        double[] labels = new double[n];
        for (int i = 0; i < n; i++) {
            double a = x.get(i, 0) + 0.5 * x.get(i, 1), b = x.get(i, 2) - x.get(i, 3);
            labels[i] = a > 0.3 ? 0 : b > 0 ? 1 : 2;
        }
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), Tensor.wrap(labels, Shape.of(n)));
        FitJob.Result r = fit("--layers", "4,16,3", "--activation", "tanh", "--input", dir.resolve("x.npy").toString(), "--labels",
                dir.resolve("y.npy").toString(), "--loss", "softmax-cross-entropy", "--partitions", "2", "--iterations", "40", "--out",
                dir.resolve("out").toString());
        List<IterationRecord> h = r.history();
        assertTrue(h.size() > 20, h.size() + " iterations: " + r.stopReason());
        for (int i = 1; i < h.size(); i++) assertTrue(h.get(i).loss() <= h.get(i - 1).loss(), "iteration " + i + ": " + h.get(i - 1).loss() + " -> " + h.get(i).loss());
        assertTrue(h.get(h.size() - 1).loss() < 0.5 * h.get(0).loss(), h.get(0).loss() + " -> " + h.get(h.size() - 1).loss());
    }

    @Test
    void aFitStoppedAfterACheckpointAndResumedWritesTheSameWeights() throws Exception {
        leastSquaresFiles(1200, 8);
        String[] common = {"--layers", "8,6,1", "--activation", "tanh", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
                "--loss", "mse", "--partitions", "2", "--iterations", "14", "--checkpoint-every", "3"};
        fit(with(common, "--out", dir.resolve("whole").toString()));
        // A driver lost after iteration 7: what it left is --out/checkpoints up to iteration 6, no _SUCCESS.
        Path lost = dir.resolve("lost");
        Files.createDirectories(lost.resolve("checkpoints"));
        for (String it : List.of("iter-000003", "iter-000006")) copyTree(dir.resolve("whole/checkpoints").resolve(it), lost.resolve("checkpoints").resolve(it));
        FitJob.Result resumed = fit(with(common, "--out", lost.toString(), "--resume", lost.resolve("checkpoints").toString()));
        assertEquals(6, ((Map<?, ?>) resumed.summary().get("resumed_from")).get("iteration"));
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("whole/weights.npz")), Files.readAllBytes(lost.resolve("weights.npz"))),
                "weights.npz byte-identical");
        JsonNode a = new ObjectMapper().readTree(dir.resolve("whole/history.json").toFile()), b = new ObjectMapper().readTree(lost.resolve("history.json").toFile());
        for (int i = 0; i < a.get("iterations").size(); i++) {
            assertEquals(a.get("iterations").get(i).get("loss").asDouble(), b.get("iterations").get(i).get("loss").asDouble());
            assertEquals(a.get("iterations").get(i).get("evaluations").asInt(), b.get("iterations").get(i).get("evaluations").asInt());
        }
        for (String it : List.of("iter-000009", "iter-000012")) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("whole/checkpoints").resolve(it).resolve("optimizer.npz")),
                    Files.readAllBytes(lost.resolve("checkpoints").resolve(it).resolve("optimizer.npz"))), it);
        }
    }

    @Test
    void adamOnTheEvaluatorsMinibatchesLearnsAndResumesToTheSameBytes() throws Exception {
        leastSquaresFiles(1000, 4);
        String[] common = {"--layers", "4,1", "--activation", "identity", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
            "--loss", "mse", "--partitions", "3", "--optimizer", "adam", "--learning-rate", "0.1", "--minibatch-fraction", "0.4", "--l2", "0.001",
            "--iterations", "12", "--checkpoint-every", "4"};
        FitJob.Result a = fit(with(common, "--out", dir.resolve("a").toString()));
        List<IterationRecord> h = a.history();
        assertEquals(12, h.size());
        assertTrue(h.stream().map(IterationRecord::rows).distinct().count() > 1, "a new sample each step");
        assertTrue(h.stream().allMatch(r -> r.rows() > 300 && r.rows() < 500), "about 40% of the rows: " + h.stream().map(IterationRecord::rows).toList());
        assertTrue(a.finalLoss() < h.get(0).loss() / 2, h.get(0).loss() + " -> " + a.finalLoss());
        Path b = dir.resolve("b");
        copyTree(dir.resolve("a/checkpoints/iter-000004"), b.resolve("checkpoints/iter-000004"));
        fit(with(common, "--out", b.toString(), "--resume", b.resolve("checkpoints").toString()));
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a/weights.npz")), Files.readAllBytes(b.resolve("weights.npz"))));
    }

    /**
     * DP-SGD through the job's evaluator: with σ = 0 and a clip no row's gradient reaches, a step is plain SGD's with the
     * step's summed gradient over q·N instead of over the rows sampled (weights from zero: w1·q·N = w1_plain·rows); a small
     * clip bounds it by rows·C/(q·N).
     */
    @Test
    void dpSgdWithoutNoiseAndAClipNoRowReachesIsPlainSgdOverQTimesN() throws Exception {
        leastSquaresFiles(800, 4);
        Map<String, Tensor> zero = new java.util.LinkedHashMap<>();
        zero.put("w0", Tensor.zeros(DType.FLOAT64, 4, 1));
        zero.put("b0", Tensor.zeros(DType.FLOAT64, 1));
        Npz.write(dir.resolve("w.npz"), zero);
        String[] common = {"--layers", "4,1", "--activation", "identity", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
            "--loss", "mse", "--dtype", "float64", "--weights", dir.resolve("w.npz").toString(), "--partitions", "2", "--optimizer", "sgd", "--learning-rate", "0.1",
            "--minibatch-fraction", "0.25", "--iterations", "1", "--checkpoint-every", "0"};
        FitJob.Result plain = fit(with(common, "--out", dir.resolve("plain").toString()));
        FitJob.Result dp = fit(with(common, "--out", dir.resolve("dp").toString(), "--dp-clip", "1e9", "--dp-noise-multiplier", "0"));
        long rows = plain.history().get(0).rows();
        assertEquals(rows, dp.history().get(0).rows(), "the same Poisson sample");
        double qN = 0.25 * 800;
        for (String k : List.of("w0", "b0")) {
            double[] p = plain.weights().get(k).toDoubleArray(), d = dp.weights().get(k).toDoubleArray();
            for (int i = 0; i < p.length; i++) assertEquals(p[i] * rows, d[i] * qN, 1e-12 * Math.abs(p[i] * rows), k + "[" + i + "]");
        }
        JsonNode h = new ObjectMapper().readTree(dir.resolve("dp/history.json").toFile());
        assertTrue(h.get("iterations").get(0).get("epsilon").isNull(), "sigma 0: no privacy, epsilon null (infinite)");
        assertTrue(new ObjectMapper().readTree(dir.resolve("dp/summary.json").toFile()).get("dp_sgd").get("epsilon").isNull());

        FitJob.Result clipped = fit(with(common, "--out", dir.resolve("clipped").toString(), "--dp-clip", "0.01", "--dp-noise-multiplier", "0"));
        double norm = clipped.history().get(0).gradNorm();
        assertTrue(norm <= rows * 0.01 / qN * (1 + 1e-12) && norm < plain.history().get(0).gradNorm(), norm + " vs plain " + plain.history().get(0).gradNorm());
    }

    @Test
    void aDpSgdFitStoppedAfterACheckpointAndResumedWritesTheSameBytesAndEpsilons() throws Exception {
        leastSquaresFiles(400, 4);
        String[] common = {"--layers", "4,1", "--activation", "identity", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
            "--loss", "mse", "--partitions", "2", "--optimizer", "adam", "--learning-rate", "0.05", "--minibatch-fraction", "0.3", "--dp-clip", "0.5",
            "--dp-noise-multiplier", "1.0", "--iterations", "6", "--checkpoint-every", "3"};
        FitJob.Result a = fit(with(common, "--out", dir.resolve("a").toString()));
        Path b = dir.resolve("b");
        copyTree(dir.resolve("a/checkpoints/iter-000003"), b.resolve("checkpoints/iter-000003"));
        fit(with(common, "--out", b.toString(), "--resume", b.resolve("checkpoints").toString()));
        for (String f : List.of("weights.npz", "checkpoints/iter-000006/optimizer.npz")) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a").resolve(f)), Files.readAllBytes(b.resolve(f))), f + " byte-identical");
        }
        RdpAccountant accountant = new RdpAccountant(0.3, 1.0);
        JsonNode ha = new ObjectMapper().readTree(dir.resolve("a/history.json").toFile()), hb = new ObjectMapper().readTree(b.resolve("history.json").toFile());
        for (int i = 0; i < 6; i++) {
            double eps = accountant.epsilon(i + 1, 1.0 / 400).epsilon();
            assertEquals(eps, ha.get("iterations").get(i).get("epsilon").asDouble(), "the default delta is 1/N");
            assertEquals(eps, hb.get("iterations").get(i).get("epsilon").asDouble());
            assertEquals(ha.get("iterations").get(i).get("loss").asDouble(), hb.get("iterations").get(i).get("loss").asDouble());
        }
        JsonNode dp = new ObjectMapper().readTree(dir.resolve("a/summary.json").toFile()).get("dp_sgd");
        assertEquals(accountant.epsilon(6, 1.0 / 400).epsilon(), dp.get("epsilon").asDouble());
        assertEquals(1.0 / 400, dp.get("delta").asDouble());
        assertEquals(6, dp.get("steps").asInt());
        assertEquals(a.history().get(5).epsilon(), dp.get("epsilon").asDouble());
    }

    @Test
    void checkpointsAndOutputsGoToHdfsAndResumeFromThere() throws Exception {
        leastSquaresFiles(600, 4);
        try (org.gradspark.job.io.MiniHdfs hdfs = org.gradspark.job.io.MiniHdfs.start(dir.resolve("hdfs"))) {
            String x = hdfs.put(dir.resolve("x.npy"), "/in/x.npy"), y = hdfs.put(dir.resolve("y.npy"), "/in/y.npy");
            String[] common = {"--layers", "4,3,1", "--activation", "tanh", "--input", x, "--labels", y, "--loss", "mse", "--partitions", "2",
                "--iterations", "6", "--checkpoint-every", "2"};
            fit(with(common, "--out", hdfs.uriOf("/fit/whole")));
            org.apache.hadoop.fs.FileSystem fs = hdfs.fileSystem();
            for (String f : List.of("weights.npz", "history.json", "loss.png", "summary.json", "_SUCCESS", "checkpoints/iter-000004/optimizer.npz")) {
                assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/fit/whole/" + f)), f);
            }
            // Resume from the HDFS checkpoint at iteration 4 into another --out on HDFS: the same weights.
            fs.mkdirs(new org.apache.hadoop.fs.Path("/fit/again/checkpoints"));
            org.apache.hadoop.fs.FileUtil.copy(fs, new org.apache.hadoop.fs.Path("/fit/whole/checkpoints/iter-000004"), fs,
                    new org.apache.hadoop.fs.Path("/fit/again/checkpoints/iter-000004"), false, fs.getConf());
            fit(with(common, "--out", hdfs.uriOf("/fit/again"), "--resume", hdfs.uriOf("/fit/again/checkpoints")));
            assertTrue(java.util.Arrays.equals(read(fs, "/fit/whole/weights.npz"), read(fs, "/fit/again/weights.npz")));
            // Labels of the same count but other values, on HDFS: refused by the rows' digest, before any iteration.
            Npy.write(dir.resolve("y-other.npy"), Ops.add(Npy.read(dir.resolve("y.npy")), 0.001));
            String otherY = hdfs.put(dir.resolve("y-other.npy"), "/in/y-other.npy");
            fs.mkdirs(new org.apache.hadoop.fs.Path("/fit/other/checkpoints"));
            org.apache.hadoop.fs.FileUtil.copy(fs, new org.apache.hadoop.fs.Path("/fit/whole/checkpoints/iter-000004"), fs,
                    new org.apache.hadoop.fs.Path("/fit/other/checkpoints/iter-000004"), false, fs.getConf());
            BadInputException e = assertThrows(BadInputException.class,
                    () -> fit(with(common, "--labels", otherY, "--out", hdfs.uriOf("/fit/other"), "--resume", hdfs.uriOf("/fit/other/checkpoints"))));
            assertTrue(e.getMessage().contains("rows_digest labels was"), e.getMessage());
            assertEquals(List.of("iter-000004"),
                    Checkpoint.list(Storage.of(fs.getConf()), hdfs.uriOf("/fit/other/checkpoints")).stream().map(Storage::name).toList(), "no iteration ran");
        }
    }

    private static byte[] read(org.apache.hadoop.fs.FileSystem fs, String path) throws java.io.IOException {
        try (var in = fs.open(new org.apache.hadoop.fs.Path(path))) {
            return in.readAllBytes();
        }
    }

    @Test
    void badInputExitsWithCodeTwoAndOneLine() throws Exception {
        leastSquaresFiles(300, 3);
        String[] data = {"--layers", "3,1", "--activation", "identity", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
                "--loss", "mse", "--out", dir.resolve("o").toString()};
        assertBad("--optimizer: unknown optimiser 'newton', expected lbfgs, adam, sgd, gauss-newton or newton-cg", with(data, "--optimizer", "newton"));
        assertBad("--iterations: expected >= 0, got -3", with(data, "--iterations", "-3"));
        assertBad("--minibatch-fraction 0.5: L-BFGS needs the full batch", with(data, "--minibatch-fraction", "0.5"));
        assertBad("--wrt inputs: fit optimises the weights", with(data, "--wrt", "inputs"));
        String[] dp = with(data, "--optimizer", "sgd", "--minibatch-fraction", "0.1");
        assertBad("--dp-clip: expected a finite value > 0, got 0.0", with(dp, "--dp-clip", "0", "--dp-noise-multiplier", "1"));
        assertBad("--dp-clip: expected a finite value > 0, got -2.0", with(dp, "--dp-clip", "-2", "--dp-noise-multiplier", "1"));
        assertBad("--dp-noise-multiplier: expected a finite value >= 0, got -0.5", with(dp, "--dp-clip", "1", "--dp-noise-multiplier", "-0.5"));
        assertBad("--dp-delta: expected 0 < delta < 1, got 1.0", with(dp, "--dp-clip", "1", "--dp-noise-multiplier", "1", "--dp-delta", "1"));
        assertBad("--dp-delta: expected 0 < delta < 1, got 0.0", with(dp, "--dp-clip", "1", "--dp-noise-multiplier", "1", "--dp-delta", "0"));
        assertBad("--dp-clip with --optimizer lbfgs", with(data, "--dp-clip", "1", "--dp-noise-multiplier", "1"));
        assertBad("--dp-clip with --minibatch-fraction 1", with(data, "--optimizer", "adam", "--dp-clip", "1", "--dp-noise-multiplier", "1"));
        assertBad("--dp-clip 1.0: needs --dp-noise-multiplier sigma", with(dp, "--dp-clip", "1"));
        assertBad("--dp-noise-multiplier 1.0: only with --dp-clip C", with(dp, "--dp-noise-multiplier", "1"));
        assertBad("--reduction sum with --dp-clip", with(dp, "--dp-clip", "1", "--dp-noise-multiplier", "1", "--reduction", "sum"));
        assertBad("--resume", with(data, "--resume", dir.resolve("nowhere").toString()));
        // A checkpoint of another model.
        fit(with(data, "--iterations", "4", "--checkpoint-every", "2", "--out", dir.resolve("first").toString()));
        String[] other = {"--layers", "3,4,1", "--activation", "identity", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
                "--loss", "mse", "--out", dir.resolve("o2").toString(), "--resume", dir.resolve("first/checkpoints").toString()};
        assertBad("a checkpoint of another model or data (model was mlp [3,1] identity, now mlp [3,4,1] identity)", other);
        // An unfinished fit's --out without --resume.
        Files.createDirectories(dir.resolve("unfinished/checkpoints/iter-000002"));
        Files.writeString(dir.resolve("unfinished/checkpoints/iter-000002/state.json"), "{}");
        assertBad("holds the checkpoints of an unfinished fit", with(data, "--out", dir.resolve("unfinished").toString()));
    }

    /** fit exits 2 with one line, "gradspark: ...", containing {@code expected}. */
    static void assertBad(String expected, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = FitMain.run(args, new PrintStream(out), new PrintStream(err));
        String e = err.toString();
        assertEquals(2, code, e);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.startsWith("gradspark: ") && e.contains(expected), e);
    }

    static String[] with(String[] a, String... more) {
        String[] r = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, r, a.length, more.length);
        return r;
    }

    static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    /**
     * A default --partitions is Spark's parallelism, known once Spark runs: a checkpoint of 3 partitions
     * resumed on local[2] without --partitions is refused then, before any iteration, and so are
     * synthetic rows of another --seed (the same count, other values).
     */
    @Test
    void aResumeThatWouldRunOnOtherPartitionsOrRowsIsRefusedBeforeAnyIteration() throws Exception {
        leastSquaresFiles(600, 3);
        String[] common = {"--layers", "3,4,1", "--activation", "tanh", "--synthetic", "600", "--labels", dir.resolve("y.npy").toString(), "--loss", "mse",
            "--iterations", "6", "--checkpoint-every", "2"};
        fit(with(common, "--partitions", "3", "--seed", "5", "--out", dir.resolve("three").toString()));
        Path out = dir.resolve("resumed");
        copyTree(dir.resolve("three/checkpoints/iter-000004"), out.resolve("checkpoints/iter-000004"));
        String[] resume = with(common, "--out", out.toString(), "--resume", out.resolve("checkpoints").toString());
        BadInputException e = assertThrows(BadInputException.class, () -> fit(with(resume, "--seed", "5")));
        assertTrue(e.getMessage().startsWith("--resume " + out.resolve("checkpoints/iter-000004/state.json"))
                && e.getMessage().contains("--partitions was 3, now 2"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> fit(with(resume, "--partitions", "3", "--seed", "6")));
        assertTrue(e.getMessage().contains("rows_digest input was"), e.getMessage());
        try (var files = Files.list(out.resolve("checkpoints"))) {
            assertEquals(List.of("iter-000004"), files.map(f -> f.getFileName().toString()).toList(), "no iteration ran");
        }
        fit(with(resume, "--partitions", "3", "--seed", "5"));   // the same rows and settings: resumed
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("three/weights.npz")), Files.readAllBytes(out.resolve("weights.npz"))));
    }
}
