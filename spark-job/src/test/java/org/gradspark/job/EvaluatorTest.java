package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.exec.RowsDigest;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.RowSource;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation loop an optimiser drives: the objective is the function whose gradient comes with
 * it (checked against the core on all rows in one JVM, in float64), rows are read once, the same
 * weights give the same bits, and a row sample is the same set of rows whatever the partitioning.
 */
class EvaluatorTest {
    static JavaSparkContext jsc;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        jsc = TestSpark.start("local[2]", EvaluatorTest.class);
    }

    @AfterAll
    static void stop() {
        jsc.close();
    }

    private final Tensor x = Tensor.uniform(11, -1, 1, DType.FLOAT64, 600, 3);
    private final Tensor y = Tensor.uniform(12, -1, 1, DType.FLOAT64, 600, 2);
    private final Tensor s = Tensor.uniform(13, 0, 2, DType.FLOAT64, 600, 1);

    private JobInputs inputs(String partitions, String... more) throws Exception {
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), y);
        Npy.write(dir.resolve("s.npy"), s);
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--layers", "3,6,2", "--activation", "tanh", "--dtype", "float64",
                "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(), "--sens", dir.resolve("s.npy").toString(),
                "--loss", "mse", "--reduction", "mean", "--partitions", partitions, "--chunk-rows", "77", "--backend", "reference",
                "--out", dir.resolve("unused").toString()));
        args.addAll(java.util.List.of(more));
        return JobInputs.check(JobOptions.parse(Map.of(), args.toArray(new String[0])), Storage.of(jsc.hadoopConfiguration()));
    }

    /** sum over the given rows of s_n * loss_n / rows, and its weight gradient, by the core on those rows at once. */
    private static Object[] inOneJvm(JobInputs in, Map<String, Tensor> w, Tensor x, Tensor y, Tensor s) {
        JobModel m = JobModel.build(in.cfg(), w);
        double rows = x.shape().dim(0);
        Tensor out = BatchGradient.outputs(m.network(), JobModel.loss(in.cfg().loss()), x, y);
        double objective = Ops.sum(Ops.mul(out, Ops.reshape(s, out.shape()))).getDouble(0) / rows;
        Tensor[] g = BatchGradient.weightGradients(m.network(), JobModel.loss(in.cfg().loss()), m.params(), x, Ops.mul(Ops.reshape(s, out.shape()), 1 / rows), y);
        return new Object[] {objective, g};
    }

    /**
     * The task-size check counts a chunk's rows as at most a partition's: 2 rows a partition of a hidden layer so
     * wide that 4096 rows of its activations in each of local[2]'s tasks would outgrow this JVM's heap (issue 26,
     * item 5: gradspark-bench's 50M-parameter reduction, 4 rows a partition, was refused for 4096 rows' activations).
     */
    @Test
    void smallPartitionsAreSizedByTheirRows() {
        int hidden = (int) (Runtime.getRuntime().maxMemory() / (4L * 4096 * 4)) + 1000;
        JobInputs in = JobInputs.check(JobOptions.parse(Map.of(), "--layers", "1," + hidden + ",1", "--synthetic", "4", "--partitions", "2",
                "--chunk-rows", "4096", "--out", dir.resolve("unused").toString()), Storage.of(jsc.hadoopConfiguration()));
        try (Evaluator f = Evaluator.open(jsc, in)) {
            assertEquals(2 * hidden + hidden + 1, f.initialWeights().values().stream().mapToLong(t -> t.shape().size()).sum());
        }
    }

    @Test
    void theObjectiveIsTheFunctionWhoseGradientComesWithIt() throws Exception {
        JobInputs in = inputs("3");
        try (Evaluator f = Evaluator.open(jsc, in)) {
            Map<String, Tensor> w = f.initialWeights();
            Evaluator.Value v = f.evaluate(w);
            Object[] expected = inOneJvm(in, w, x, y, s);
            assertEquals((Double) expected[0], v.objective(), 1e-12 * Math.abs((Double) expected[0]));
            Tensor[] g = (Tensor[]) expected[1];
            for (int k = 0; k < g.length; k++) assertTrue(v.gradient().get(f.keys().get(k)).allClose(g[k], 1e-12, 1e-14), f.keys().get(k));
            assertEquals(600, v.rowsUsed());
            // Other weights (an optimiser's next step), then the first again: the same bits as the first time.
            Map<String, Tensor> w2 = new LinkedHashMap<>();
            w.forEach((k, t) -> w2.put(k, Ops.mul(t, 0.5)));
            Evaluator.Value v2 = f.evaluate(w2);
            assertEquals((Double) inOneJvm(in, w2, x, y, s)[0], v2.objective(), 1e-12);
            Evaluator.Value again = f.evaluate(w);
            assertEquals(Double.doubleToRawLongBits(v.objective()), Double.doubleToRawLongBits(again.objective()));
            for (String k : f.keys()) assertArrayEquals(v.gradient().get(k).toDoubleArray(), again.gradient().get(k).toDoubleArray());
        }
    }

    /**
     * A partition's partial sums larger than Spark's default direct result (1 MiB) come back with its
     * task's status ({@link GradientJob#configure}), not through the executor's block manager and a second
     * fetch by the driver, which Spark records as the task "getting result".
     */
    @Test
    void largePartialSumsComeBackWithTheTaskNotFetchedAgain() throws Exception {
        java.util.List<org.apache.spark.scheduler.SparkListenerTaskEnd> ends = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        org.apache.spark.scheduler.SparkListener listener = new org.apache.spark.scheduler.SparkListener() {
            @Override public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) { ends.add(e); }
        };
        // 8-400-400-1: 164,401 parameters, 1.3 MB of float64 partial sums a partition.
        JobConfig cfg = JobOptions.parse(Map.of(), new String[] {"--layers", "8,400,400,1", "--synthetic", "32", "--partitions", "2", "--dtype", "float32",
                "--backend", "reference", "--out", dir.resolve("unused").toString()});
        jsc.sc().addSparkListener(listener);
        try (Evaluator f = Evaluator.open(jsc, JobInputs.check(cfg, Storage.of(jsc.hadoopConfiguration())))) {
            f.evaluate(f.initialWeights());
            jsc.sc().listenerBus().waitUntilEmpty(10_000);
        } finally {
            jsc.sc().removeSparkListener(listener);
        }
        assertEquals(2, ends.size());
        for (org.apache.spark.scheduler.SparkListenerTaskEnd e : ends) {
            assertTrue(e.taskMetrics().resultSize() > 8 * 164_401, "result of " + e.taskMetrics().resultSize() + " bytes");
            assertFalse(e.taskInfo().gettingResult(), "task " + e.taskInfo().index() + "'s result was stored and fetched again");
        }
    }

    @Test
    void aSampleIsTheSameRowsOnAnyPartitioningAndTheMeanIsOverThem() throws Exception {
        RowSample sample = new RowSample(0.3, 42, 7);
        java.util.List<Integer> rows = new java.util.ArrayList<>();
        for (int i = 0; i < 600; i++) if (sample.keeps(i)) rows.add(i);
        assertTrue(rows.size() > 130 && rows.size() < 230, "a 30% sample of 600 rows has " + rows.size());
        assertTrue(java.util.stream.IntStream.range(0, 600).filter(i -> new RowSample(0.3, 42, 8).keeps(i) != sample.keeps(i)).count() > 50,
                "the next step draws other rows");
        int[] idx = rows.stream().mapToInt(Integer::intValue).toArray();
        Object[] expected;
        double[] objectives = new double[2];
        int p = 0;
        for (String partitions : new String[] {"1", "4"}) {
            JobInputs in = inputs(partitions);
            try (Evaluator f = Evaluator.open(jsc, in)) {
                expected = inOneJvm(in, f.initialWeights(), take(x, idx), take(y, idx), take(s, idx));
                Evaluator.Value v = f.evaluate(f.initialWeights(), sample);
                assertEquals(rows.size(), v.rowsUsed());
                assertEquals((Double) expected[0], v.objective(), 1e-12 * Math.abs((Double) expected[0]));
                Tensor[] g = (Tensor[]) expected[1];
                for (int k = 0; k < g.length; k++) assertTrue(v.gradient().get(f.keys().get(k)).allClose(g[k], 1e-12, 1e-14), f.keys().get(k));
                objectives[p++] = v.objective();
            }
        }
        assertEquals(objectives[0], objectives[1], 1e-14);
        assertThrows(BadInputException.class, () -> new RowSample(0, 1, 1));
        assertThrows(BadInputException.class, () -> new RowSample(1.5, 1, 1));
    }

    /** DP-SGD's entry point: the sum over the sampled rows of each row's gradient clipped to norm C, unscaled, and the rows in it. */
    @Test
    void aClippedSumIsThatOfEachSampledRowsGradientClippedToC() throws Exception {
        RowSample sample = new RowSample(0.3, 42, 7);
        int[] idx = java.util.stream.IntStream.range(0, 600).filter(sample::keeps).toArray();
        for (String partitions : new String[] {"1", "4"}) {
            JobInputs in = inputs(partitions);
            try (Evaluator f = Evaluator.open(jsc, in)) {
                Map<String, Tensor> w = f.initialWeights();
                JobModel m = JobModel.build(in.cfg(), w);
                // Row by row: g_n of o_n = s_n * loss_n, with no 1/N, then clipped at about the median norm so both cases occur.
                java.util.List<Tensor[]> perRow = new java.util.ArrayList<>();
                double[] norms = new double[idx.length];
                for (int r = 0; r < idx.length; r++) {
                    int[] one = {idx[r]};
                    Tensor[] g = BatchGradient.weightGradients(m.network(), JobModel.loss(in.cfg().loss()), m.params(), take(x, one), take(s, one), take(y, one));
                    perRow.add(g);
                    for (Tensor t : g) for (int i = 0; i < t.size(); i++) norms[r] += t.getDouble(i) * t.getDouble(i);
                    norms[r] = Math.sqrt(norms[r]);
                }
                double c = java.util.Arrays.stream(norms).sorted().toArray()[idx.length / 2];
                Evaluator.Value v = f.evaluateClipped(w, sample, c);
                assertEquals(idx.length, v.rowsUsed());
                for (int k = 0; k < f.keys().size(); k++) {
                    double[] expected = new double[perRow.get(0)[k].size()];
                    for (int r = 0; r < idx.length; r++) {
                        double factor = Math.min(1, c / norms[r]);
                        for (int i = 0; i < expected.length; i++) expected[i] += perRow.get(r)[k].getDouble(i) * factor;
                    }
                    Tensor got = v.gradient().get(f.keys().get(k));
                    assertTrue(got.allClose(Tensor.wrap(expected, got.shape()), 1e-12, 1e-14), f.keys().get(k));
                }
                assertThrows(BadInputException.class, () -> f.evaluateClipped(w, sample, 0));
            }
        }
    }

    @Test
    void aBadRowInTheKeptRowsIsOneLineNamingIt() throws Exception {
        double[] v = x.toDoubleArray();
        v[250 * 3 + 1] = Double.NaN;
        Npy.write(dir.resolve("x.npy"), Tensor.wrap(v, Shape.of(600, 3)));
        JobInputs in = JobInputs.check(JobOptions.parse(Map.of(), "--layers", "3,6,2", "--dtype", "float64", "--input", dir.resolve("x.npy").toString(),
                "--partitions", "3", "--backend", "reference", "--out", dir.resolve("unused").toString()), Storage.of(jsc.hadoopConfiguration()));
        try (Evaluator f = Evaluator.open(jsc, in)) {
            BadInputException e = assertThrows(BadInputException.class, () -> f.evaluate(f.initialWeights()));
            assertTrue(e.getMessage().endsWith("x.npy, row 250: column 1 is NaN (use --on-nan skip to leave such rows out)"), e.getMessage());
        }
    }

    /**
     * The rows' digest (what a fit's checkpoint records, {@link RowsDigest}) depends on the values the
     * tasks read only: the same rows from an .npy file or from the .npy parts a Parquet or CSV input
     * becomes, kept in memory or read for it, give the same digests; a value changed in the rows
     * changes the input's digest and no other.
     */
    @Test
    void theRowsDigestDependsOnTheValuesOnly() throws Exception {
        Storage storage = Storage.of(jsc.hadoopConfiguration());
        JobInputs npy = inputs("3");
        Map<String, String> digest;
        try (Evaluator f = Evaluator.open(jsc, npy)) {
            digest = f.rowsDigest();
            f.evaluate(f.initialWeights());
            assertEquals(digest, f.rowsDigest(), "the rows kept by an evaluation");
        }
        assertEquals(java.util.List.of("input", "sens", "labels"), java.util.List.copyOf(digest.keySet()));
        try (Evaluator f = Evaluator.forJob(jsc, npy, null, false)) {
            assertEquals(digest, f.rowsDigest(), "the rows read for it");
        }
        // Parquet and CSV rows are written as .npy parts, one per Dataset partition: here two, split unlike the evaluator's partitions.
        java.util.List<RowSource.NpyRows> parts = new java.util.ArrayList<>();
        for (int[] range : new int[][] {{0, 250}, {250, 600}}) {
            Path part = dir.resolve("part-" + range[0] + ".npy");
            Npy.write(part, take(x, java.util.stream.IntStream.range(range[0], range[1]).toArray()));
            parts.add(new RowSource.NpyRows(Storage.uri(part), Npy.readHeader(storage, Storage.uri(part))));
        }
        try (Evaluator f = Evaluator.open(jsc, inputs("3").withRows(new RowSource.NpyParts(parts), "rows.csv", storage))) {
            assertEquals(digest, f.rowsDigest(), "the same rows as the parts of a Parquet or CSV input");
        }
        double[] v = x.toDoubleArray();
        v[417] = Math.nextUp(v[417]);
        Npy.write(dir.resolve("x2.npy"), Tensor.wrap(v, x.shape()));
        try (Evaluator f = Evaluator.open(jsc, inputs("3", "--input", dir.resolve("x2.npy").toString()))) {
            Map<String, String> other = f.rowsDigest();
            assertTrue(!other.get("input").equals(digest.get("input")) && other.get("labels").equals(digest.get("labels"))
                    && other.get("sens").equals(digest.get("sens")), other + " vs " + digest);
        }
    }

    private static Tensor take(Tensor t, int[] rows) {
        int width = t.size() / t.shape().dim(0);
        double[] all = t.toDoubleArray(), out = new double[rows.length * width];
        for (int i = 0; i < rows.length; i++) System.arraycopy(all, rows[i] * width, out, i * width, width);
        return Tensor.wrap(out, Shape.of(rows.length, width));
    }
}
