package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.gradspark.job.TestSpark;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.FitJob;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fit --optimizer gauss-newton} and {@code newton-cg} on Spark (local[2], the job's distributed
 * curvature products): on a teacher network's targets Gauss-Newton ends far below L-BFGS after the
 * same (three) iterations; a run stopped after a checkpoint and resumed writes the same bytes;
 * bad options and an edited damping exit 2 with one line.
 */
class SecondOrderFitTest {
    static JavaSparkContext jsc;

    @TempDir Path dir;

    @BeforeAll
    static void start() {
        jsc = TestSpark.start("local[2]", SecondOrderFitTest.class);
    }

    @AfterAll
    static void stop() {
        jsc.close();
    }

    private FitJob.Result fit(String... args) {
        FitConfig fc = FitOptions.parse(Map.of(), args);
        return FitJob.run(jsc, FitJob.prepare(fc, Storage.of(jsc.hadoopConfiguration())), null);
    }

    private String[] teacherRows(int n) {
        return teacherRows(dir, n);
    }

    /** Rows x [n, 2] and the targets of a 2-6-1 tanh teacher, float64 .npy files in {@code dir}; the job options that read them into a 2-6-1 student (25 weights). */
    static String[] teacherRows(Path dir, int n) {
        Tensor x = Tensor.uniform(5, -1, 1, DType.FLOAT64, n, 2);
        Sequential teacher = new Sequential(new Dense(Tensor.uniform(6, -1.5, 1.5, DType.FLOAT64, 2, 6), Tensor.uniform(7, -0.5, 0.5, DType.FLOAT64, 6)),
                Activation.tanh(), new Dense(Tensor.uniform(8, -1, 1, DType.FLOAT64, 6, 1), Tensor.uniform(9, -0.2, 0.2, DType.FLOAT64, 1)));
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), teacher.<Tensor>call(x));
        return new String[] {"--layers", "2,6,1", "--activation", "tanh", "--input", dir.resolve("x.npy").toString(), "--labels",
            dir.resolve("y.npy").toString(), "--loss", "mse", "--dtype", "float64", "--partitions", "2"};
    }

    @Test
    void gaussNewtonEndsFarBelowLbfgsAfterTheSameIterations() throws Exception {
        String[] data = teacherRows(300);
        FitJob.Result lbfgs = fit(FitJobTest.with(data, "--optimizer", "lbfgs", "--iterations", "3", "--checkpoint-every", "0", "--out", dir.resolve("lbfgs").toString()));
        FitJob.Result gn = fit(FitJobTest.with(data, "--optimizer", "gauss-newton", "--iterations", "3", "--cg-iterations", "10", "--checkpoint-every", "0", "--out",
                dir.resolve("gn").toString()));
        // Here about 5e-5 against 4e-3: a factor 20 leaves room for other rounding, not for a first-order rate.
        assertTrue(gn.finalLoss() < lbfgs.finalLoss() / 20, "gauss-newton " + gn.finalLoss() + " (" + gn.stopReason() + "), lbfgs " + lbfgs.finalLoss()
                + ": " + gn.history());
        List<IterationRecord> h = gn.history();
        for (int i = 1; i < h.size(); i++) {
            assertTrue(h.get(i).loss() < h.get(i - 1).loss(), "iteration " + i + ": " + h.get(i - 1).loss() + " -> " + h.get(i).loss());
            assertTrue(h.get(i).solve().cgIterations() >= 1 && h.get(i).solve().products() == h.get(i).solve().cgIterations(), h.get(i).toString());
        }
        JsonNode first = new ObjectMapper().readTree(dir.resolve("gn/history.json").toFile()).get("iterations").get(1);
        for (String f : List.of("cg_iterations", "products", "lambda")) assertTrue(first.has(f), f + " in history.json: " + first);
        // Newton-CG on the exact Hessian (float64) also descends.
        FitJob.Result ncg = fit(FitJobTest.with(data, "--optimizer", "newton-cg", "--iterations", "2", "--cg-iterations", "6", "--checkpoint-every", "0", "--out",
                dir.resolve("ncg").toString()));
        assertTrue(ncg.finalLoss() < 0.1 * ncg.history().get(0).loss(), ncg.history().get(0).loss() + " -> " + ncg.finalLoss() + ": " + ncg.history());
    }

    /** The evaluator's product, chunks over 3 partitions reduced in order, is the core's over all rows at once. */
    @Test
    void theDistributedGaussNewtonProductIsTheCoresOverAllRows() {
        String[] data = teacherRows(90);
        FitConfig fc = FitOptions.parse(Map.of(), FitJobTest.with(data, "--partitions", "3", "--chunk-rows", "16", "--out", dir.resolve("o").toString()));
        try (org.gradspark.job.exec.Evaluator e = org.gradspark.job.exec.Evaluator.open(jsc, org.gradspark.job.exec.JobInputs.check(fc.job(), Storage.local()))) {
            Map<String, Tensor> w = e.initialWeights(), v = new java.util.LinkedHashMap<>();
            int seed = 60;
            for (Map.Entry<String, Tensor> k : w.entrySet()) v.put(k.getKey(), Tensor.uniform(seed++, -1, 1, DType.FLOAT64, k.getValue().shape().dims()));
            org.gradspark.job.exec.JobModel m = org.gradspark.job.exec.JobModel.build(fc.job(), w);
            Tensor x = Npy.read(dir.resolve("x.npy")), y = Npy.read(dir.resolve("y.npy"));
            Tensor s = Tensor.full(1.0 / 90, DType.FLOAT64, org.gradspark.ad.Shape.of(90));   // --reduction mean, fit's default
            Tensor[] vs = m.keys().stream().map(v::get).toArray(Tensor[]::new);
            for (org.gradspark.ad.batch.BatchGradient.Curvature kind : org.gradspark.ad.batch.BatchGradient.Curvature.values()) {
                Map<String, Tensor> ours = e.curvatureProduct(w, v, kind).gradient();
                Tensor[] core = kind == org.gradspark.ad.batch.BatchGradient.Curvature.GAUSS_NEWTON
                        ? org.gradspark.ad.batch.BatchGradient.gaussNewtonVectorProduct(m.network(), org.gradspark.job.exec.JobModel.loss(fc.job().loss()), m.params(), vs, x, s, y)
                        : org.gradspark.ad.batch.BatchGradient.hessianVectorProduct(m.network(), org.gradspark.job.exec.JobModel.loss(fc.job().loss()), m.params(), vs, x, s, y);
                for (int i = 0; i < core.length; i++) {
                    Tensor a = ours.get(m.keys().get(i));
                    for (int j = 0; j < a.size(); j++) {
                        assertEquals(core[i].getDouble(j), a.getDouble(j), 1e-12 * (1 + Math.abs(core[i].getDouble(j))), kind + " " + m.keys().get(i) + "[" + j + "]");
                    }
                }
            }
        }
    }

    @Test
    void aGaussNewtonFitStoppedAfterACheckpointAndResumedWritesTheSameBytes() throws Exception {
        String[] common = FitJobTest.with(teacherRows(200), "--optimizer", "gauss-newton", "--iterations", "5", "--checkpoint-every", "2", "--cg-iterations", "6");
        fit(FitJobTest.with(common, "--out", dir.resolve("whole").toString()));
        Path lost = dir.resolve("lost");
        FitJobTest.copyTree(dir.resolve("whole/checkpoints/iter-000002"), lost.resolve("checkpoints/iter-000002"));
        FitJob.Result resumed = fit(FitJobTest.with(common, "--out", lost.toString(), "--resume", lost.resolve("checkpoints").toString()));
        assertEquals(2, ((Map<?, ?>) resumed.summary().get("resumed_from")).get("iteration"));
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("whole/weights.npz")), Files.readAllBytes(lost.resolve("weights.npz"))),
                "weights.npz byte-identical");
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("whole/checkpoints/iter-000004/optimizer.npz")),
                Files.readAllBytes(lost.resolve("checkpoints/iter-000004/optimizer.npz"))), "the later checkpoint's state byte-identical");
        JsonNode a = new ObjectMapper().readTree(dir.resolve("whole/history.json").toFile()).get("iterations");
        JsonNode b = new ObjectMapper().readTree(lost.resolve("history.json").toFile()).get("iterations");
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String f : List.of("loss", "grad_norm", "step", "evaluations", "cg_iterations", "products", "lambda")) {
                assertEquals(a.get(i).get(f).asText(), b.get(i).get(f).asText(), "iteration " + i + " " + f);
            }
        }
        // A checkpoint whose damping was edited is refused before any iteration.
        Path edited = dir.resolve("edited");
        FitJobTest.copyTree(dir.resolve("whole/checkpoints/iter-000002"), edited.resolve("checkpoints/iter-000002"));
        Path state = edited.resolve("checkpoints/iter-000002/state.json");
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(state.toFile());
        ((ObjectNode) json.get("history").get(2)).put("lambda", 0.5);
        new ObjectMapper().writeValue(state.toFile(), json);
        FitJobTest.assertBad("'lambda' is", FitJobTest.with(common, "--out", edited.toString(), "--resume", edited.resolve("checkpoints").toString()));
    }

    /**
     * The Poisson PINN in residual form ({@code --model-class}, labels 0): each evaluation is at the weights
     * the optimiser moved to (a user Cell's own initial weights are replaced), so Gauss-Newton lowers the loss.
     */
    @Test
    void gaussNewtonOnThePoissonResidualCellLowersItsLoss() {
        int n = 48;
        Npy.write(dir.resolve("p.npy"), Tensor.uniform(3, -1, 1, DType.FLOAT64, n, 2));
        Npy.write(dir.resolve("zeros.npy"), Tensor.zeros(DType.FLOAT64, n, 1));
        FitJob.Result r = fit("--model-class", "org.gradspark.ad.examples.PoissonResidual", "--layers", "2,1", "--dtype", "float64", "--input",
                dir.resolve("p.npy").toString(), "--labels", dir.resolve("zeros.npy").toString(), "--loss", "mse", "--partitions", "2", "--optimizer",
                "gauss-newton", "--iterations", "2", "--cg-iterations", "5", "--checkpoint-every", "0", "--out", dir.resolve("poisson").toString());
        assertEquals(3, r.history().size(), r.stopReason() + ": " + r.history());
        assertTrue(r.finalLoss() < 0.9 * r.history().get(0).loss(), r.history().get(0).loss() + " -> " + r.finalLoss());
        assertTrue(r.weights().containsKey("pinn.u.net.layers.0.weight"), r.weights().keySet().toString());
    }

    @Test
    void badOptionsExitWithCodeTwoAndOneLine() {
        Npy.write(dir.resolve("x.npy"), Tensor.uniform(1, -1, 1, DType.FLOAT32, 50, 3));
        Npy.write(dir.resolve("y.npy"), Tensor.uniform(2, -1, 1, DType.FLOAT32, 50, 1));
        String[] data = {"--layers", "3,1", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(), "--loss", "mse",
            "--out", dir.resolve("o").toString()};
        String[] noLoss = {"--layers", "3,1", "--input", dir.resolve("x.npy").toString(), "--out", dir.resolve("o").toString()};
        FitJobTest.assertBad("--optimizer gauss-newton needs --loss mse or softmax-cross-entropy", FitJobTest.with(noLoss, "--optimizer", "gauss-newton"));
        FitJobTest.assertBad("--optimizer newton-cg needs --dtype float64", FitJobTest.with(data, "--optimizer", "newton-cg"));
        FitJobTest.assertBad("--cg-iterations: expected 1..100000, got 0", FitJobTest.with(data, "--optimizer", "gauss-newton", "--cg-iterations", "0"));
        FitJobTest.assertBad("--cg-tolerance: expected 0 < tolerance < 1, got 1.5", FitJobTest.with(data, "--optimizer", "gauss-newton", "--cg-tolerance", "1.5"));
        FitJobTest.assertBad("--damping: expected a finite value > 0, got -1.0", FitJobTest.with(data, "--optimizer", "gauss-newton", "--damping", "-1"));
        FitJobTest.assertBad("--minibatch-fraction 0.5: gauss-newton needs the full batch", FitJobTest.with(data, "--optimizer", "gauss-newton", "--minibatch-fraction", "0.5"));
    }
}
