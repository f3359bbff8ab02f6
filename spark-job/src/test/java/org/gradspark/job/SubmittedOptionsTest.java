package org.gradspark.job;

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
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the options mean, through the real {@code submit-scripts/gradspark-submit} (issue 23, items 4,
 * 5, 12, 15): a path is that path (no globs, no {@code @file}), a CSV's first line is a header only
 * when {@code --csv-header} says so and a header-less CSV is not silently one row short, and
 * {@code tutorial --help} answers without running the tutorial.
 */
class SubmittedOptionsTest {
    static final Duration TIMEOUT = Duration.ofMinutes(3);

    /** Every glob character Hadoop knows, a space and a percent sign (with hex digits after it, as a URI escape has). */
    static final String ODD = "[1]{a,b}?* %41";

    @TempDir
    Path dir;

    private LocalCluster.Run submit(String command, String... options) {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.script("gradspark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false", command));
        cmd.addAll(Arrays.asList(options));
        return LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-" + System.nanoTime()), cmd.toArray(new String[0]));
    }

    /** {@code rows} CSV lines of 4 numbers (row i holds i/8, -i/16, 1, i%3; row 0 is 0.0,0.0,1,0), after a header line when {@code header}. */
    private Path csv(String name, int rows, boolean header) throws IOException {
        StringBuilder b = new StringBuilder(header ? "a,b,c,d\n" : "");
        for (int i = 0; i < rows; i++) b.append(String.format(Locale.ROOT, "%s,%s,1,%d%n", i / 8.0, -i / 16.0, i % 3));
        return Files.writeString(dir.resolve(name), b.toString());
    }

    /**
     * A CSV and a Parquet dataset whose names hold glob characters are read alone, beside files their
     * names match as globs ({@code x?.csv} read {@code xa.csv} too: 610 rows for 600; {@code x[1].csv}
     * was PATH_NOT_FOUND), and beside the name a URI decoder would make of {@code %41}. The readers
     * that never globbed (.npz weights, .npy sensitivities) and the writers (--out, a Parquet
     * input_grads/) take such names too.
     */
    @Test
    void aPathIsThatPathNotAGlob() throws IOException {
        Path named = csv("x" + ODD + ".csv", 600, true);
        csv("x1aZ %41.csv", 10, true);          // matches x[1]{a,b}?* %41.csv as a glob
        csv("x1bZZ %41.csv", 7, true);          // so does this
        csv("x" + ODD.replace("%41", "A") + ".csv", 5, true);
        Path weights = dir.resolve("w" + ODD + ".npz");
        Npz.write(weights, JobModel.initialWeights(new int[] {4, 2, 1}, DType.FLOAT32, 7));
        Path csvOut = dir.resolve("out" + ODD);
        LocalCluster.Run r = submit("grad", "--layers", "4,2,1", "--input", named.toString(), "--weights", weights.toString(), "--out", csvOut.toString());
        LocalCluster.succeeded(r);
        assertTrue(r.stdout().contains("GradSpark grad: 600 rows in "), r.stdout());
        assertTrue(Files.exists(csvOut.resolve("grads.npz")), "no grads.npz in " + csvOut);

        Path parquet = dir.resolve("p" + ODD + ".parquet");
        parquets(Map.of(parquet, 300, dir.resolve("p1aZ %41.parquet"), 11));
        Path sens = dir.resolve("s" + ODD + ".npy");
        Npy.write(sens, Tensor.uniform(3, -1, 1, DType.FLOAT32, 300, 1));
        Path parquetOut = dir.resolve("pout" + ODD);
        r = submit("grad", "--layers", "4,2,1", "--input", parquet.toString(), "--sens", sens.toString(), "--wrt", "all", "--input-grads-format", "parquet",
                "--out", parquetOut.toString());
        LocalCluster.succeeded(r);
        assertTrue(r.stdout().contains("GradSpark grad: 300 rows in "), r.stdout());
        try (java.util.stream.Stream<Path> parts = Files.list(parquetOut.resolve("input_grads"))) {
            assertTrue(parts.anyMatch(p -> p.toString().endsWith(".parquet")), "no Parquet part in " + parquetOut.resolve("input_grads"));
        }
    }

    /** Parquet datasets (directories) of the given rows of 4 doubles, each written under a plain name and renamed. */
    private void parquets(Map<Path, Integer> rowsByDir) throws IOException {
        SparkSession spark = SparkSession.builder().master("local[1]").appName("parquet fixture").config("spark.ui.enabled", "false").getOrCreate();
        try {
            for (Map.Entry<Path, Integer> e : rowsByDir.entrySet()) {
                Path plain = dir.resolve("parquet-" + System.nanoTime());
                spark.range(e.getValue()).selectExpr("id / 8.0 as a", "-id / 16.0 as b", "1.0 as c", "cast(id % 3 as double) as d").coalesce(1)
                        .write().parquet(plain.toString());
                Files.move(plain, e.getKey());
            }
        } finally {
            spark.stop();
        }
    }

    /**
     * A CSV without a header line lost its first row (599 of 600, exit 0): by default one line says to
     * pass --csv-header false, which reads all 600.
     */
    @Test
    void aCsvWithoutAHeaderLineIsRefusedUnlessCsvHeaderFalse() throws IOException {
        Path rows = csv("rows.csv", 600, false);
        Path out = dir.resolve("out");
        LocalCluster.Run r = submit("grad", "--layers", "4,2,1", "--input", rows.toString(), "--out", out.toString());
        SubmittedFailuresTest.assertFailure(r, 2, dir, "--input " + rows + ": its first line (0.0,0.0,1,0) holds only numbers", "--csv-header false");
        assertFalse(Files.exists(out));
        r = submit("grad", "--layers", "4,2,1", "--input", rows.toString(), "--csv-header", "false", "--out", out.toString());
        LocalCluster.succeeded(r);
        assertTrue(r.stdout().contains("GradSpark grad: 600 rows in "), r.stdout());
    }

    /**
     * picocli replaced a value "@FILE" by FILE's contents: {@code --out @evil} wrote where the file
     * {@code evil} said, also as a key ({@code --conf spark.gradspark.out=@evil}) and in fit. Each run's
     * working directory holds the file {@code evil}; {@code @evil} is a directory beside it.
     */
    @Test
    void anAtSignStartsAPathLikeAnyOtherCharacter() throws IOException {
        String script = LocalCluster.script("gradspark-submit");
        String[][] runs = {
            {script, "--master", "local[2]", "--conf", "spark.ui.enabled=false", "grad", "--layers", "4,2,1", "--synthetic", "64", "--out", "@evil"},
            {script, "--master", "local[2]", "--conf", "spark.ui.enabled=false", "--conf", "spark.gradspark.out=@evil", "grad", "--layers", "4,2,1",
                "--synthetic", "64"},
            {script, "--master", "local[2]", "--conf", "spark.ui.enabled=false", "fit", "--layers", "4,1", "--synthetic", "64", "--iterations", "1",
                "--out", "@evil"}};
        for (String[] run : runs) {
            Path cwd = Files.createDirectories(dir.resolve("run-" + System.nanoTime()));
            Files.writeString(cwd.resolve("evil"), cwd.resolve("hijacked").toString());
            LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), cwd, run));
            String what = String.join(" ", Arrays.copyOfRange(run, 5, run.length));
            assertTrue(Files.exists(cwd.resolve("@evil/_SUCCESS")), what + " did not write @evil");
            assertFalse(Files.exists(cwd.resolve("hijacked")), what + " wrote where the file evil says");
        }
    }

    /** tutorial --help ran the tutorial; it prints a usage line and exits 0, and tutorial refuses options it does not have. */
    @Test
    void tutorialHelp() {
        LocalCluster.Run r = submit("tutorial", "--help");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().startsWith("usage: gradspark-submit [spark-submit options] tutorial\n"), r.stdout());
        assertFalse(r.stdout().contains("In [2]"), "the tutorial ran:\n" + r.stdout());
        SubmittedFailuresTest.assertFailure(submit("tutorial", "--layers", "4,1"), 2, dir, "tutorial takes no options, got '--layers'");
    }

    /**
     * Issue 28, item 3: an estimator with K = 0 exits 2 with one line through the script, before Spark
     * starts (no backend was chosen, no --out made); BadInputTest has the other bad estimators.
     */
    @Test
    void aBadEstimatorIsOneLineBeforeSparkStarts() {
        Path out = dir.resolve("est-out");
        LocalCluster.Run zero = submit("grad", "--layers", "4,2,1", "--synthetic", "64", "--wrt", "inputs", "--derivative", "laplacian",
                "--estimator", "hutchinson:0", "--out", out.toString());
        SubmittedFailuresTest.assertFailure(zero, 2, dir, "--estimator: hutchinson:K needs K >= 1 directions per point, got 0");
        assertFalse(zero.stderr().contains("GradSpark backend") || zero.stderr().contains("SparkContext"), zero.stderr());
        assertFalse(Files.exists(out));
    }

    /**
     * {@code --derivative hessian} (issue 25, item 2): the per-example Hessian {@code ∂² out_j / ∂x_i ∂x_k},
     * [rows, out, in, in], of an MLP through the script, over 3 partitions of uneven chunks; row by row
     * equal to core-ad's {@code Functional.hessian} (float64, 1e-12), and to central differences of the
     * outputs; its summary entry names it, its directory and its shape.
     */
    @Test
    void perExampleHessianThroughTheScript() throws IOException {
        int rows = 40;
        Tensor x = Tensor.uniform(11, -1, 1, DType.FLOAT64, rows, 3);
        Path xs = dir.resolve("x.npy");
        Npy.write(xs, x);
        Path ws = dir.resolve("w.npz");
        Npz.write(ws, JobModel.initialWeights(new int[] {3, 7, 2}, DType.FLOAT64, 5));
        String[] job = {"--layers", "3,7,2", "--activation", "tanh", "--dtype", "float64", "--weights", ws.toString(), "--input", xs.toString(),
            "--wrt", "inputs", "--derivative", "hessian", "--partitions", "3", "--chunk-rows", "6", "--backend", "reference",
            "--out", dir.resolve("out").toString()};
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("hessian-run"), LocalCluster.submitCommand("local[2]", List.of(), job)));
        Tensor got = Outputs.concatenated(dir.resolve("out"), "hessian");
        assertEquals(org.gradspark.ad.Shape.of(rows, 2, 3, 3), got.shape());
        assertEquals(3, Outputs.parts(dir.resolve("out"), "hessian").size());
        org.gradspark.ad.Cell net = JobModel.build(JobOptions.parse(Map.of(), job), Npz.read(ws)).network();
        org.gradspark.ad.Fn f = a -> org.gradspark.ad.Ops.reshape(net.<Tensor>call(org.gradspark.ad.Ops.reshape(a[0], 1, 3)), 2);
        double[] h = got.toDoubleArray();
        for (int n = 0; n < rows; n++) {
            Tensor row = Tensor.wrap(Arrays.copyOfRange(x.toDoubleArray(), n * 3, (n + 1) * 3), org.gradspark.ad.Shape.of(3));
            Tensor expected = org.gradspark.ad.Functional.hessian(f, 0).apply(row).asTensor();
            Tensor mine = Tensor.wrap(Arrays.copyOfRange(h, n * 18, (n + 1) * 18), org.gradspark.ad.Shape.of(2, 3, 3));
            assertTrue(mine.allClose(expected, 1e-12, 1e-12), "row " + n + ": " + mine + " vs Functional.hessian " + expected);
            double[] xr = row.toDoubleArray(), fd = finiteDifferenceHessian(f, xr, 1e-4);
            for (int k = 0; k < 18; k++) assertEquals(fd[k], h[n * 18 + k], 1e-6, "row " + n + ", entry " + k + " against finite differences");
        }
        com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("out/summary.json").toFile()).get("hessian");
        assertEquals("hessian", d.get("derivative").asText());
        assertEquals("hessian", d.get("path").asText());
        assertEquals("[" + rows + ",2,3,3]", d.get("shape").toString());
    }

    /** {@code (f(x+h e_i+h e_k) - f(x+h e_i-h e_k) - f(x-h e_i+h e_k) + f(x-h e_i-h e_k)) / 4h²} for each output j, [out, in, in] flat. */
    private static double[] finiteDifferenceHessian(org.gradspark.ad.Fn f, double[] x, double h) {
        int in = x.length, out = 2;
        double[] fd = new double[out * in * in];
        for (int i = 0; i < in; i++) {
            for (int k = 0; k < in; k++) {
                double[] pp = at(f, x, i, h, k, h), pm = at(f, x, i, h, k, -h), mp = at(f, x, i, -h, k, h), mm = at(f, x, i, -h, k, -h);
                for (int j = 0; j < out; j++) fd[(j * in + i) * in + k] = (pp[j] - pm[j] - mp[j] + mm[j]) / (4 * h * h);
            }
        }
        return fd;
    }

    private static double[] at(org.gradspark.ad.Fn f, double[] x, int i, double di, int k, double dk) {
        double[] p = x.clone();
        p[i] += di;
        p[k] += dk;
        return f.apply(Tensor.wrap(p, org.gradspark.ad.Shape.of(p.length))).asTensor().toDoubleArray();
    }
}
