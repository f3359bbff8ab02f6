package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Functional;
import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.Ops;
import org.gradspark.ad.RowDraws;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.examples.HighDimPoissonResidual;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.FitJob;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.cli.GradSparkMain;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.PerExampleOutput;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link org.gradspark.ad.RowAware} hook (issue 28, item 3): the job hands a residual Cell
 * {@code --estimator}, {@code --seed} and each chunk's first row in the input, so a row's randomised
 * Laplacian is drawn the same wherever the row lands. Proven on {@link HighDimPoissonResidual} in R^6:
 * per-row input derivatives of one chunk on local[1] and of chunks of 7 in 3 partitions on local[2] are
 * the same bits, and each row's equals the core's for that row alone at its own index (a hook that
 * passed the chunk's local index would give row 7 row 0's directions); fit gives byte-identical weights
 * on local[1] and local[2], other weights than exact or another seed, and resumes to the same bytes; a
 * Cell without the hook, K ≤ 0 and the gradient statistics with a randomised estimator exit 2 in one line.
 */
class RowAwareJobTest {
    private static final int D = 6, INTERIOR = 30, BOUNDARY = 10;
    private static final String CELL = Residual6.class.getName();

    /** The residual in R^6, for --model-class (a public no-argument constructor). */
    public static class Residual6 extends HighDimPoissonResidual {
        private static final long serialVersionUID = 1L;

        public Residual6() {
            super(D);
        }
    }

    @TempDir
    Path dir;

    @Test
    void eachRowsDrawsFollowItsIndexInTheInputOnAnyPartitioningAndFitIsTheSameOnAnyMaster() throws Exception {
        Tensor rows = HighDimPoissonResidual.rows(D, INTERIOR, BOUNDARY, 3);
        Npy.write(dir.resolve("x.npy"), rows);
        Npy.write(dir.resolve("zeros.npy"), Tensor.zeros(DType.FLOAT64, INTERIOR + BOUNDARY, 1));
        double[] oneChunk;
        byte[] fitLocal1;
        try (JavaSparkContext jsc = TestSpark.start("local[1]", RowAwareJobTest.class)) {
            oneChunk = inputGradients(jsc, "one", "1", "64");
            fitLocal1 = Files.readAllBytes(fit(jsc, "fit1", "hutchinson:2", "4").resolve("weights.npz"));
        }
        try (JavaSparkContext jsc = TestSpark.start("local[2]", RowAwareJobTest.class)) {
            double[] sevens = inputGradients(jsc, "sevens", "3", "7");
            assertTrue(Arrays.equals(oneChunk, sevens), "chunks of 7 in 3 partitions differ from one chunk");
            assertEachRowIsTheCoresAtItsOwnIndex(rows, sevens);
            var summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("sevens/summary.json").toFile());
            assertEquals("hutchinson:2", summary.get("model_estimator").asText());
            assertEquals(9, summary.get("model_seed").asLong());

            Path whole = fit(jsc, "fit2", "hutchinson:2", "4");
            assertTrue(Arrays.equals(fitLocal1, Files.readAllBytes(whole.resolve("weights.npz"))), "fit's weights on local[1] and local[2]");
            // The first step's loss, at the initial weights over the same sample: the draws and the seed change it.
            double first = firstLoss(whole);
            assertTrue(first != firstLoss(fit(jsc, "exact", "exact", "1")), "exact draws give the same loss");
            List<String> seed10 = fitArgs("seed10", "hutchinson:2", "1");
            seed10.set(seed10.indexOf("9"), "10");
            run(jsc, seed10);
            assertTrue(first != firstLoss(dir.resolve("seed10")), "another seed gives the same loss");

            // Resumed from the checkpoint of iteration 2: each step's draws (seed and step) are the same, so are the bytes.
            Path lost = dir.resolve("lost");
            Files.createDirectories(lost.resolve("checkpoints"));
            copyTree(whole.resolve("checkpoints/iter-000002"), lost.resolve("checkpoints/iter-000002"));
            List<String> args = fitArgs("lost", "hutchinson:2", "4");
            args.addAll(List.of("--resume", lost.resolve("checkpoints").toString()));
            run(jsc, args);
            assertTrue(Arrays.equals(Files.readAllBytes(whole.resolve("weights.npz")), Files.readAllBytes(lost.resolve("weights.npz"))), "resumed weights");
            // A resume with other draws would change the objective: refused before any iteration, naming the estimator.
            List<String> exact = fitArgs("other", "exact", "4");
            exact.addAll(List.of("--resume", whole.resolve("checkpoints").toString()));
            String refused = org.junit.jupiter.api.Assertions.assertThrows(org.gradspark.job.io.BadInputException.class, () -> run(jsc, exact)).getMessage();
            assertTrue(refused.contains("a checkpoint of another model or data (estimator was hutchinson:2, now unset)"), refused);
        }
    }

    /** Row r alone, drawn from the seed at index r, in the core: the job's row r (the reference backend's bits do not depend on the batch). */
    private static void assertEachRowIsTheCoresAtItsOwnIndex(Tensor rows, double[] job) {
        Residual6 cell = new Residual6();
        for (int r = 0; r < INTERIOR + BOUNDARY; r += 7) {
            Tensor row = Ops.slice(rows, new int[] {r, 0}, new int[] {1, D + 1});
            cell.drawFrom(new RowDraws(LaplacianEstimator.parse("hutchinson:2"), 9, r));   // the job's --seed 9
            double[] core = Functional.grad(cell).apply(row).asTensor().toDoubleArray();
            for (int j = 0; j < core.length; j++) {
                assertEquals(core[j], job[r * (D + 1) + j], 1e-12 * (1 + Math.abs(core[j])), "row " + r + ", column " + j);
            }
        }
    }

    /** grad --wrt inputs of the residual: each row's derivative depends on its own draws. */
    private double[] inputGradients(JavaSparkContext jsc, String name, String partitions, String chunkRows) {
        JobConfig cfg = JobOptions.parse(Map.of(), "--model-class", CELL, "--input", dir.resolve("x.npy").toString(), "--dtype", "float64", "--wrt", "inputs",
                "--derivative", "grad", "--estimator", "hutchinson:2", "--seed", "9", "--partitions", partitions, "--chunk-rows", chunkRows,
                "--backend", "reference", "--out", dir.resolve(name).toString());
        GradientJob.run(jsc, cfg);
        return Outputs.concatenated(dir.resolve(name), PerExampleOutput.INPUT_GRADS).toDoubleArray();
    }

    /** Adam over half the rows a step (fresh rows and fresh draws each step), {@code iterations} steps, a checkpoint every 2; --seed 9. */
    private List<String> fitArgs(String name, String estimator, String iterations) {
        return new ArrayList<>(List.of("--model-class", CELL, "--layers", (D + 1) + ",1", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("zeros.npy").toString(),
                "--loss", "mse", "--dtype", "float64", "--estimator", estimator, "--seed", "9", "--partitions", "3", "--chunk-rows", "8", "--backend", "reference",
                "--optimizer", "adam", "--learning-rate", "0.01", "--minibatch-fraction", "0.5", "--iterations", iterations, "--checkpoint-every", "2",
                "--out", dir.resolve(name).toString()));
    }

    private Path fit(JavaSparkContext jsc, String name, String estimator, String iterations) {
        run(jsc, fitArgs(name, estimator, iterations));
        return dir.resolve(name);
    }

    private static double firstLoss(Path out) throws java.io.IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("history.json").toFile()).get("iterations").get(0).get("loss").asDouble();
    }

    private static void run(JavaSparkContext jsc, List<String> args) {
        FitConfig fc = FitOptions.parse(Map.of(), args.toArray(new String[0]));
        FitJob.run(jsc, FitJob.prepare(fc, Storage.of(jsc.hadoopConfiguration())), null);
    }

    @Test
    void aCellWithoutTheHookNoDirectionsAndTheStatisticsExitTwoInOneLine() throws Exception {
        Npy.write(dir.resolve("x.npy"), HighDimPoissonResidual.rows(D, 8, 2, 3));
        Npy.write(dir.resolve("zeros.npy"), Tensor.zeros(DType.FLOAT64, 10, 1));
        Npy.write(dir.resolve("p.npy"), Tensor.uniform(1, -1, 1, DType.FLOAT64, 10, 2));
        String[] fit = {"fit", "--layers", (D + 1) + ",1", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("zeros.npy").toString(), "--loss", "mse", "--dtype", "float64",
            "--out", dir.resolve("o").toString()};
        String poisson = org.gradspark.ad.examples.PoissonResidual.class.getName();
        assertBad("--estimator stde:2: --model-class " + poisson + " does not implement org.gradspark.ad.RowAware", "fit", "--model-class", poisson,
                "--input", dir.resolve("p.npy").toString(), "--labels", dir.resolve("zeros.npy").toString(), "--loss", "mse", "--dtype", "float64",
                "--estimator", "stde:2", "--out", dir.resolve("o").toString());
        assertBad("--estimator hutchinson:4: --model-class " + poisson + " does not implement", "grad", "--model-class", poisson,
                "--input", dir.resolve("p.npy").toString(), "--dtype", "float64", "--estimator", "hutchinson:4", "--out", dir.resolve("o").toString());
        assertBad("--estimator: hutchinson:K needs K >= 1 directions per point, got 0", with(fit, "--model-class", CELL, "--estimator", "hutchinson:0"));
        assertBad("--estimator: stde:K needs K >= 1 coordinates per point, got -1", with(fit, "--model-class", CELL, "--estimator", "stde:-1"));
        assertBad("--estimator stde:2 is for --derivative laplacian, not nested (or for a --model-class Cell that implements org.gradspark.ad.RowAware)",
                with(fit, "--layers", (D + 1) + ",4,1", "--estimator", "stde:2"));
        assertBad("--estimator stde:2 with --dp-clip", with(fit, "--model-class", CELL, "--estimator", "stde:2", "--optimizer", "sgd",
                "--minibatch-fraction", "0.5", "--dp-clip", "1", "--dp-noise-multiplier", "1"));
        assertBad("--estimator stde:2 with --solve dense", with(fit, "--model-class", CELL, "--estimator", "stde:2", "--optimizer", "gauss-newton",
                "--solve", "dense"));
        assertBad("--estimator stde:2 with --per-example, --grad-stats or --clip", "grad", "--model-class", CELL, "--input", dir.resolve("x.npy").toString(),
                "--dtype", "float64", "--estimator", "stde:2", "--per-example", "grad-norm", "--out", dir.resolve("o").toString());
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    /** The command exits 2 with one line, "gradspark: ...", containing {@code expected}. */
    private static void assertBad(String expected, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = GradSparkMain.run(args, new PrintStream(out), new PrintStream(err));
        String e = err.toString();
        assertEquals(2, code, e);
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.startsWith("gradspark: ") && e.contains(expected), e);
    }

    private static String[] with(String[] a, String... more) {
        String[] r = Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, r, a.length, more.length);
        return r;
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }
}
