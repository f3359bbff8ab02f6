package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.GaussNewtonMatrix;
import org.gradspark.job.TestSpark;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.FitJob;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fit --optimizer gauss-newton --solve dense} on Spark: the distributed matrix is the core's over all
 * rows and its gradient the evaluation's bits; the dense solve reaches, in the same iterations, a loss that
 * CG truncated at a few products and L-BFGS do not; a stopped run resumes bit for bit; local[1] writes the
 * same bytes as local[2]; bad options exit 2 with one line.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DenseGaussNewtonFitTest {
    static JavaSparkContext jsc;

    @TempDir static Path dir;

    @BeforeAll
    static void start() {
        jsc = TestSpark.start("local[2]", DenseGaussNewtonFitTest.class);
    }

    @AfterAll
    static void stop() {
        if (jsc != null) jsc.close();
    }

    private static FitJob.Result fit(String... args) {
        FitConfig fc = FitOptions.parse(Map.of(), args);
        return FitJob.run(jsc, FitJob.prepare(fc, Storage.of(jsc.hadoopConfiguration())), null);
    }

    private static String[] teacherRows(int n) {
        return SecondOrderFitTest.teacherRows(dir, n);
    }

    @Test
    @Order(1)
    void theDistributedMatrixIsTheCoresOverAllRowsAndItsGradientTheEvaluations() {
        String[] data = teacherRows(90);
        FitConfig fc = FitOptions.parse(Map.of(), FitJobTest.with(data, "--partitions", "3", "--chunk-rows", "16", "--out", dir.resolve("o").toString()));
        try (Evaluator e = Evaluator.open(jsc, JobInputs.check(fc.job(), Storage.local()))) {
            Map<String, Tensor> w = e.initialWeights();
            Evaluator.GaussNewtonSystem system = e.gaussNewtonSystem(w);
            Evaluator.Value v = e.evaluate(w);
            assertEquals(v.objective(), system.objective(), 0.0, "the objective's bits");
            for (String k : e.keys()) assertArrayEquals(v.gradient().get(k).toDoubleArray(), system.gradient().get(k).toDoubleArray(), 0.0, k);
            JobModel m = JobModel.build(fc.job(), w);
            int p = GaussNewtonMatrix.size(m.params());
            double[] core = new double[p * p];
            GaussNewtonMatrix.accumulate(core, m.network(), m.params(), Npy.read(dir.resolve("x.npy")), null, null, 1.0 / 90);
            assertEquals(25 * 25, system.matrix().length);
            for (int i = 0; i < core.length; i++) assertEquals(core[i], system.matrix()[i], 1e-13 * (1 + Math.abs(core[i])), "entry " + i);
        }
    }

    /**
     * Six iterations each on the teacher's rows: the dense solve's loss is far below Gauss-Newton's with CG cut
     * at 3 products and below L-BFGS's (a factor 100).
     */
    @Test
    @Order(2)
    void theDenseSolveReachesALossThatTruncatedCgAndLbfgsDoNotInTheSameIterations() {
        String[] data = FitJobTest.with(teacherRows(150), "--iterations", "6", "--checkpoint-every", "0");
        FitJob.Result dense = fit(FitJobTest.with(data, "--optimizer", "gauss-newton", "--solve", "dense", "--damping", "1e-6", "--out", dir.resolve("dense").toString()));
        FitJob.Result cg = fit(FitJobTest.with(data, "--optimizer", "gauss-newton", "--cg-iterations", "3", "--damping", "1e-6", "--out", dir.resolve("cg").toString()));
        FitJob.Result lbfgs = fit(FitJobTest.with(data, "--optimizer", "lbfgs", "--out", dir.resolve("lbfgs").toString()));
        assertTrue(dense.finalLoss() < cg.finalLoss() / 100 && dense.finalLoss() < lbfgs.finalLoss() / 100,
                "dense " + dense.finalLoss() + " (" + dense.stopReason() + "), cg " + cg.finalLoss() + ", lbfgs " + lbfgs.finalLoss() + ": " + dense.history());
        for (IterationRecord r : dense.history().subList(1, dense.history().size())) assertEquals(0, r.solve().products(), "no CG products: " + r);
    }

    /** The resumed fit's options; the local[1] run repeats them. */
    private static String[] resumed() {
        return FitJobTest.with(teacherRows(200), "--optimizer", "gauss-newton", "--solve", "dense", "--iterations", "5", "--checkpoint-every", "2");
    }

    @Test
    @Order(3)
    void aDenseFitStoppedAfterACheckpointAndResumedWritesTheSameBytes() throws Exception {
        String[] common = resumed();
        fit(FitJobTest.with(common, "--out", dir.resolve("whole").toString()));
        Path lost = dir.resolve("lost");
        FitJobTest.copyTree(dir.resolve("whole/checkpoints/iter-000002"), lost.resolve("checkpoints/iter-000002"));
        FitJob.Result resumed = fit(FitJobTest.with(common, "--out", lost.toString(), "--resume", lost.resolve("checkpoints").toString()));
        assertEquals(2, ((Map<?, ?>) resumed.summary().get("resumed_from")).get("iteration"));
        for (String f : List.of("weights.npz", "history.json", "checkpoints/iter-000004/optimizer.npz")) {
            if (f.equals("history.json")) continue;   // its seconds differ; its values are compared below
            assertArrayEquals(Files.readAllBytes(dir.resolve("whole").resolve(f)), Files.readAllBytes(lost.resolve(f)), f);
        }
        var a = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("whole/history.json").toFile()).get("iterations");
        var b = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lost.resolve("history.json").toFile()).get("iterations");
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String f : List.of("loss", "grad_norm", "step", "evaluations", "lambda")) assertEquals(a.get(i).get(f).asText(), b.get(i).get(f).asText(), i + " " + f);
        }
        // The dense run's checkpoint is not a CG run's: resumed with --solve cg it is refused before any iteration.
        Path other = dir.resolve("other");
        FitJobTest.copyTree(dir.resolve("whole/checkpoints/iter-000002"), other.resolve("checkpoints/iter-000002"));
        String[] cg = FitJobTest.with(teacherRows(200), "--optimizer", "gauss-newton", "--iterations", "5", "--out", other.toString(), "--resume",
                other.resolve("checkpoints").toString());
        FitJobTest.assertBad("--solve", cg);
    }

    /** The resumed test's whole local[2] run again on local[1]: the same bytes. */
    @Test
    @Order(4)
    void localOneWritesTheSameBytesAsLocalTwo() throws Exception {
        jsc.close();
        jsc = TestSpark.start("local[1]", DenseGaussNewtonFitTest.class);
        fit(FitJobTest.with(resumed(), "--out", dir.resolve("one").toString()));
        for (String f : List.of("weights.npz", "checkpoints/iter-000002/optimizer.npz", "checkpoints/iter-000004/optimizer.npz")) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("whole").resolve(f)), Files.readAllBytes(dir.resolve("one").resolve(f)), f + ": local[2] vs local[1]");
        }
    }

    /** After the local[1] run: FitMain starts its own Spark context, as gradspark-submit's does. */
    @Test
    @Order(5)
    void badOptionsExitWithCodeTwoAndOneLine() {
        jsc.close();
        jsc = null;
        String[] data = FitJobTest.with(teacherRows(50), "--out", dir.resolve("bad").toString());
        FitJobTest.assertBad("--solve dense: only with --optimizer gauss-newton", FitJobTest.with(data, "--optimizer", "newton-cg", "--solve", "dense"));
        FitJobTest.assertBad("--solve: unknown solve 'qr', expected cg or dense", FitJobTest.with(data, "--optimizer", "gauss-newton", "--solve", "qr"));
        // 3-64-32-1: 2369 weights, above the 2048 a dense matrix may have.
        Npy.write(dir.resolve("x3.npy"), Tensor.uniform(1, -1, 1, DType.FLOAT64, 20, 3));
        Npy.write(dir.resolve("y3.npy"), Tensor.uniform(2, -1, 1, DType.FLOAT64, 20, 1));
        Npy.write(dir.resolve("c3.npy"), Tensor.zeros(DType.FLOAT64, 20, 2));
        String[] wide = {"--layers", "3,64,32,1", "--input", dir.resolve("x3.npy").toString(), "--labels", dir.resolve("y3.npy").toString(), "--loss", "mse",
            "--dtype", "float64", "--optimizer", "gauss-newton", "--solve", "dense", "--out", dir.resolve("wide").toString()};
        FitJobTest.assertBad("--solve dense: the model has 2369 weights, above the 2048", wide);
        assertTrue(!Files.exists(dir.resolve("wide")), "nothing written");
        String[] classes = {"--layers", "3,2", "--input", dir.resolve("x3.npy").toString(), "--labels", dir.resolve("c3.npy").toString(), "--loss",
            "softmax-cross-entropy", "--dtype", "float64", "--optimizer", "gauss-newton", "--solve", "dense", "--out", dir.resolve("ce").toString()};
        FitJobTest.assertBad("--solve dense: assembles the Gauss-Newton matrix of --loss mse only, got --loss softmax-cross-entropy", classes);
    }


}
