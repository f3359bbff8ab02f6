package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.api.InputGradients;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.exec.PartitionResult;
import org.gradspark.job.exec.PartitionRows;
import org.gradspark.job.exec.TaskDevice;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.RowSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job on local[2] against the core computed in one JVM on the whole batch. */
class GradientJobTest {
    static JavaSparkContext jsc;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        jsc = TestSpark.start("local[2]", GradientJobTest.class);
    }

    @AfterAll
    static void stop() {
        jsc.close();
    }

    private JobConfig config(String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--out";
        all[args.length + 1] = dir.resolve("out").toString();
        return JobOptions.parse(Map.of(), all);
    }

    /** The same objective computed by the core on all rows at once. */
    private static Tensor[] inOneJvm(JobConfig cfg, Map<String, Tensor> weights, Tensor x, Tensor s, Tensor labels) {
        JobModel m = JobModel.build(cfg, weights);
        return BatchGradient.weightGradients(m.network(), JobModel.loss(cfg.loss()), m.params(), x, s, labels);
    }

    @Test
    void weightGradientsOfAnMlpMatchTheCore() throws Exception {
        for (String act : List.of("tanh", "sin", "sigmoid", "relu")) {
            for (String dtype : List.of("float32", "float64")) {
                JobConfig cfg = config("--layers", "4,8,3", "--activation", act, "--dtype", dtype, "--synthetic", "1000",
                        "--partitions", "3", "--chunk-rows", "97", "--backend", "reference");
                GradientJob.Result r = GradientJob.run(jsc, cfg);
                Map<String, Tensor> w = JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed());
                Tensor x = new RowSource.Synthetic(1000, 4, cfg.seed()).read(0, 1000, cfg.dtype());
                Tensor[] expected = inOneJvm(cfg, w, x, Tensor.full(1, cfg.dtype(), org.gradspark.ad.Shape.of(1000, 3)), null);
                Map<String, Tensor> written = Npz.read(dir.resolve("out/grads.npz"));
                assertEquals(List.of("w0", "b0", "w1", "b1"), List.copyOf(written.keySet()));
                int k = 0;
                double tol = dtype.equals("float32") ? 1e-4 : 1e-10;
                for (Tensor g : written.values()) {
                    assertEquals(cfg.dtype(), g.dtype());
                    assertTrue(g.allClose(expected[k], tol, tol), act + " " + dtype + " key " + k + ": " + g + " vs " + expected[k]);
                    k++;
                }
                assertEquals(1000, r.rows());
                assertTrue(Files.exists(dir.resolve("out/summary.json")));
            }
        }
    }

    @Test
    void inputDerivativesOfOrderTwoWithSensAndMeanFromAFile() throws Exception {
        Tensor x = Tensor.uniform(5, -1, 1, DType.FLOAT64, 500, 3);
        Tensor s = Tensor.uniform(6, -1, 1, DType.FLOAT64, 500, 2);
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("s.npy"), s);
        JobConfig cfg = config("--layers", "3,5,2", "--activation", "sin", "--dtype", "float64", "--input", dir.resolve("x.npy").toString(),
                "--sens", dir.resolve("s.npy").toString(), "--wrt", "all", "--order", "2", "--reduction", "mean", "--partitions", "4",
                "--chunk-rows", "64", "--backend", "reference");
        GradientJob.run(jsc, cfg);
        Map<String, Tensor> w = JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed());
        JobModel m = JobModel.build(cfg, w);
        Tensor sMean = org.gradspark.ad.Ops.mul(s, 1.0 / 500);
        Tensor expected = BatchGradient.inputDerivative(m.network(), null, 2, x, sMean, null);
        Tensor got = Outputs.inputGrads(dir.resolve("out"));
        assertTrue(got.allClose(expected, 1e-12, 1e-14));
        Tensor[] wg = BatchGradient.weightGradients(m.network(), null, m.params(), x, sMean, null);
        assertTrue(Npz.read(dir.resolve("out/grads.npz")).get("w0").allClose(wg[0], 1e-12, 1e-14));
    }

    /** Without --layers, the MLP's widths come from --weights (issue 19, item 5): the same bytes as with them. */
    @Test
    void layersAreReadFromTheWeightsWhenNotGiven() throws Exception {
        Map<String, Tensor> w = JobModel.initialWeights(new int[] {4, 9, 3}, DType.FLOAT32, 5);
        Npz.write(dir.resolve("w.npz"), w);
        String[] common = {"--weights", dir.resolve("w.npz").toString(), "--synthetic", "200", "--partitions", "2", "--backend", "reference"};
        GradientJob.Result without = GradientJob.run(jsc, config(common));
        byte[] bytes = Files.readAllBytes(dir.resolve("out/grads.npz"));
        String[] withLayers = java.util.Arrays.copyOf(common, common.length + 2);
        withLayers[common.length] = "--layers";
        withLayers[common.length + 1] = "4,9,3";
        GradientJob.run(jsc, config(withLayers));
        assertArrayEquals(bytes, Files.readAllBytes(dir.resolve("out/grads.npz")));
        assertEquals(200, without.rows());
        Npz.write(dir.resolve("v.npz"), Map.of("weight", w.get("w0")));
        org.gradspark.job.io.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(org.gradspark.job.io.BadInputException.class,
                () -> GradientJob.run(jsc, config("--weights", dir.resolve("v.npz").toString(), "--synthetic", "10")));
        assertTrue(e.getMessage().contains("v.npz: no key w0, so the MLP's widths are unknown (keys [weight]); give --layers"), e.getMessage());
    }

    /**
     * {@code --derivative laplacian|hessian-diagonal|jacobian}: per-example operators of the outputs
     * (the model's, or each example's loss), written per partition under their own directory, equal
     * to the core's {@link org.gradspark.ad.Operators} on all rows at once; skipped rows get zeros.
     */
    @Test
    void perExampleOperatorsAsPartsUnderTheirOwnDirectory() throws Exception {
        Tensor x = Tensor.uniform(5, -1, 1, DType.FLOAT64, 300, 3);
        double[] xv = x.toDoubleArray();
        xv[7 * 3 + 1] = Double.NaN;
        Npy.write(dir.resolve("x.npy"), Tensor.wrap(xv, org.gradspark.ad.Shape.of(300, 3)));
        Tensor clean = org.gradspark.ad.Ops.where(Tensor.fromFunction(DType.FLOAT64, x.shape(), i -> i / 3 == 7 ? 0 : 1), x, 0.0);
        for (String derivative : List.of("laplacian", "hessian-diagonal", "jacobian")) {
            JobConfig cfg = config("--layers", "3,6,2", "--activation", "sin", "--dtype", "float64", "--input", dir.resolve("x.npy").toString(),
                    "--wrt", "all", "--derivative", derivative, "--on-nan", "skip", "--partitions", "3", "--chunk-rows", "41", "--backend", "reference");
            GradientJob.Result r = GradientJob.run(jsc, cfg);
            String sub = derivative.replace('-', '_');
            assertTrue(r.inputGradients().endsWith("/" + sub), r.inputGradients());
            JobModel m = JobModel.build(cfg, JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed()));
            org.gradspark.ad.Fn f = in -> m.network().call(in[0]);
            Tensor expected = switch (derivative) {
                case "laplacian" -> org.gradspark.ad.Operators.laplacian(f, clean);
                case "hessian-diagonal" -> org.gradspark.ad.Operators.hessianDiagonal(f, clean);
                default -> org.gradspark.ad.Operators.jacobian(f, clean);
            };
            double[] e = expected.toDoubleArray();
            int perRow = e.length / 300;
            java.util.Arrays.fill(e, 7 * perRow, 8 * perRow, 0.0);
            Tensor got = Outputs.concatenated(dir.resolve("out"), sub);
            assertEquals(expected.shape(), got.shape(), derivative);
            assertTrue(got.allClose(Tensor.wrap(e, expected.shape()), 1e-12, 1e-13), derivative);
            assertEquals(3, Outputs.parts(dir.resolve("out"), sub).size());
            com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("out/summary.json").toFile()).get(sub);
            assertEquals(derivative, d.get("derivative").asText());
            assertEquals(sub, d.get("path").asText());
            assertEquals(derivative.equals("laplacian") ? "[300,2]" : "[300,2,3]", d.get("shape").toString());
            assertTrue(Files.exists(dir.resolve("out/grads.npz")), "--wrt all: the weights' gradient too");
        }
    }

    /**
     * One {@code part-NNNNN.npy} per partition, each the partition's rows in input order; the same
     * derivatives as a Dataset ({@link InputGradients#read}) and, with {@code --input-grads-format
     * parquet}, as a Parquet dataset that {@code spark.read.parquet} reads, row for row.
     */
    @Test
    void inputDerivativesAsPartsAsADatasetAndAsParquet() throws Exception {
        String[] job = {"--layers", "3,5,2", "--dtype", "float64", "--synthetic", "1000", "--wrt", "inputs", "--partitions", "3",
            "--chunk-rows", "128", "--backend", "reference"};
        GradientJob.Result r = GradientJob.run(jsc, config(job));
        List<Path> parts = Outputs.inputGradParts(dir.resolve("out"));
        assertEquals(List.of("part-00000.npy", "part-00001.npy", "part-00002.npy"), parts.stream().map(p -> p.getFileName().toString()).toList());
        assertEquals(List.of(333, 333, 334), parts.stream().map(p -> Npy.read(p).shape().dim(0)).toList());
        Tensor all = Outputs.inputGrads(dir.resolve("out"));
        JobConfig cfg = config(job);
        JobModel m = JobModel.build(cfg, JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed()));
        Tensor x = new RowSource.Synthetic(1000, 3, cfg.seed()).read(0, 1000, cfg.dtype());
        Tensor expected = BatchGradient.inputDerivative(m.network(), null, 1, x, Tensor.full(1, DType.FLOAT64, org.gradspark.ad.Shape.of(1000, 2)), null);
        assertTrue(all.allClose(expected, 1e-12, 1e-14));

        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().sparkContext(jsc.sc()).getOrCreate();
        assertSameRows(all, InputGradients.read(spark, r.inputGradients()));

        Path parquetOut = dir.resolve("parquet-out");
        List<String> args = new java.util.ArrayList<>(List.of(job));
        args.addAll(List.of("--input-grads-format", "parquet", "--out", parquetOut.toString()));
        GradientJob.run(jsc, JobOptions.parse(Map.of(), args.toArray(new String[0])));
        assertSameRows(all, spark.read().parquet(parquetOut.resolve("input_grads").toString()));
        // The schema Spark's own Parquet writer gives the same Dataset (the parts are written without it: InputGradients).
        Path bySpark = dir.resolve("parquet-by-spark");
        InputGradients.read(spark, r.inputGradients()).write().parquet(bySpark.toString());
        assertEquals(spark.read().parquet(bySpark.toString()).schema(), spark.read().parquet(parquetOut.resolve("input_grads").toString()).schema());
        assertTrue(Files.exists(parquetOut.resolve("_SUCCESS")));
    }

    /** Every (row, grad) of the Dataset equals row {@code row} of {@code expected}, and every row is there once. */
    private static void assertSameRows(Tensor expected, org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> ds) {
        List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>(ds.collectAsList());
        rows.sort(java.util.Comparator.comparingLong(row -> row.getLong(0)));
        int n = expected.shape().dim(0), width = expected.shape().dim(1);
        assertEquals(n, rows.size());
        for (int i = 0; i < n; i++) {
            assertEquals(i, rows.get(i).getLong(0));
            List<Object> g = rows.get(i).getList(1);
            for (int j = 0; j < width; j++) assertEquals(expected.getDouble(i * width + j), ((Number) g.get(j)).doubleValue(), 0.0, "row " + i);
        }
    }

    @Test
    void sameInputSamePartitioningGivesTheSameBytes() throws Exception {
        byte[] first = null;
        for (int run = 0; run < 2; run++) {
            JobConfig cfg = config("--layers", "4,16,2", "--synthetic", "3000", "--partitions", "5", "--chunk-rows", "256", "--backend", "cpu");
            GradientJob.run(jsc, cfg);
            byte[] bytes = Files.readAllBytes(dir.resolve("out/grads.npz"));
            if (first == null) first = bytes;
            else assertArrayEquals(first, bytes);
        }
    }

    @Test
    void hvpAndLossWithLabels() throws Exception {
        Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT64, 200, 3);
        Tensor y = Tensor.uniform(8, -1, 1, DType.FLOAT64, 200, 2);
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), y);
        Map<String, Tensor> w = JobModel.initialWeights(new int[] {3, 4, 2}, DType.FLOAT64, 11);
        Npz.write(dir.resolve("w.npz"), w);
        Map<String, Tensor> v = JobModel.initialWeights(new int[] {3, 4, 2}, DType.FLOAT64, 12);
        Npz.write(dir.resolve("v.npz"), v);
        JobConfig cfg = config("--layers", "3,4,2", "--dtype", "float64", "--input", dir.resolve("x.npy").toString(),
                "--weights", dir.resolve("w.npz").toString(), "--labels", dir.resolve("y.npy").toString(), "--loss", "mse",
                "--mode", "hvp", "--vector", dir.resolve("v.npz").toString(), "--partitions", "3", "--backend", "reference");
        GradientJob.run(jsc, cfg);
        JobModel m = JobModel.build(cfg, w);
        Cell loss = JobModel.loss(cfg.loss());
        Tensor[] vv = m.keys().stream().map(v::get).toArray(Tensor[]::new);
        Tensor[] expected = BatchGradient.hessianVectorProduct(m.network(), loss, m.params(), vv, x, Tensor.full(1, DType.FLOAT64, org.gradspark.ad.Shape.of(200)), y);
        Map<String, Tensor> got = Npz.read(dir.resolve("out/hvp.npz"));
        int k = 0;
        for (Tensor g : got.values()) assertTrue(g.allClose(expected[k++], 1e-11, 1e-13));
    }

    @Test
    void shardedReductionGivesTheSameBytesAsTheCollectedOne() throws Exception {
        JobConfig cfg = config("--layers", "6,32,4", "--synthetic", "2000", "--partitions", "4", "--chunk-rows", "300", "--backend", "cpu");
        GradientJob.run(jsc, cfg);
        byte[] collected = Files.readAllBytes(dir.resolve("out/grads.npz"));
        jsc.setLocalProperty("spark.gradspark.shardThreshold", "1");
        try {
            GradientJob.Result r = GradientJob.run(jsc, cfg);
            assertEquals(2000, r.rows());
        } finally {
            jsc.setLocalProperty("spark.gradspark.shardThreshold", null);
        }
        assertArrayEquals(collected, Files.readAllBytes(dir.resolve("out/grads.npz")));
    }

    @Test
    void thirdOrderInputDerivativesWithSoftmaxCrossEntropyLabels() throws Exception {
        Tensor x = Tensor.uniform(21, -1, 1, DType.FLOAT64, 120, 2);
        Tensor y = Tensor.fromFunction(DType.FLOAT64, org.gradspark.ad.Shape.of(120, 3), i -> i % 3 == (i / 3) % 3 ? 1 : 0);
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), y);
        JobConfig cfg = config("--layers", "2,4,3", "--activation", "tanh", "--dtype", "float64", "--input", dir.resolve("x.npy").toString(),
                "--labels", dir.resolve("y.npy").toString(), "--loss", "softmax-cross-entropy", "--wrt", "inputs", "--order", "3",
                "--partitions", "3", "--chunk-rows", "16", "--backend", "cpu");
        GradientJob.run(jsc, cfg);
        JobModel m = JobModel.build(cfg, JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed()));
        Tensor ones = Tensor.full(1, DType.FLOAT64, org.gradspark.ad.Shape.of(120));
        Tensor expected = BatchGradient.inputDerivative(m.network(), JobModel.loss(cfg.loss()), 3, x, ones, y);
        assertTrue(Outputs.inputGrads(dir.resolve("out")).allClose(expected, 1e-10, 1e-12));
        assertTrue(!Files.exists(dir.resolve("out/grads.npz")), "--wrt inputs writes no weight gradients");
    }

    @Test
    void parquetAndCsvInputsGiveTheSameGradientsAsTheNpy() throws Exception {
        Tensor x = Tensor.uniform(31, -1, 1, DType.FLOAT64, 300, 3);
        Npy.write(dir.resolve("x.npy"), x);
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().sparkContext(jsc.sc()).getOrCreate();
        List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>();
        StringBuilder csv = new StringBuilder("a,b,c\n");
        for (int i = 0; i < 300; i++) {
            rows.add(org.apache.spark.sql.RowFactory.create(x.get(i, 0), x.get(i, 1), x.get(i, 2)));
            csv.append(Double.toString(x.get(i, 0))).append(',').append(Double.toString(x.get(i, 1))).append(',').append(Double.toString(x.get(i, 2))).append('\n');
        }
        org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                .add("a", org.apache.spark.sql.types.DataTypes.DoubleType).add("b", org.apache.spark.sql.types.DataTypes.DoubleType)
                .add("c", org.apache.spark.sql.types.DataTypes.DoubleType);
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(dir.resolve("x.parquet").toString());
        Files.writeString(dir.resolve("x.csv"), csv);
        String[] common = {"--layers", "3,4,2", "--dtype", "float64", "--wrt", "all", "--partitions", "3", "--backend", "cpu"};
        byte[][] grads = new byte[3][];
        Tensor[] inputGrads = new Tensor[3];
        String[] inputs = {"x.npy", "x.parquet", "x.csv"};
        for (int k = 0; k < 3; k++) {
            String[] args = java.util.Arrays.copyOf(common, common.length + 2);
            args[common.length] = "--input";
            args[common.length + 1] = dir.resolve(inputs[k]).toString();
            GradientJob.Result r = GradientJob.run(jsc, config(args));
            assertEquals(300, r.rows(), inputs[k]);
            grads[k] = Files.readAllBytes(dir.resolve("out/grads.npz"));
            inputGrads[k] = Outputs.inputGrads(dir.resolve("out"));
        }
        assertArrayEquals(grads[0], grads[1], "parquet");
        assertArrayEquals(grads[0], grads[2], "csv");
        assertTrue(inputGrads[1].allClose(inputGrads[0], 0, 0) && inputGrads[2].allClose(inputGrads[0], 0, 0), "input row order kept");
        try (java.util.stream.Stream<Path> left = Files.list(dir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().contains("-input")), "the materialised input is removed");
        }
    }

    @Test
    void aDatasetOfRowsGivesTheGradientsOfTheSameRowsAsAnNpy() throws Exception {
        Tensor x = Tensor.uniform(41, -1, 1, DType.FLOAT64, 257, 3);
        Npy.write(dir.resolve("x.npy"), x);
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().sparkContext(jsc.sc()).getOrCreate();
        List<org.apache.spark.sql.Row> columns = new java.util.ArrayList<>(), arrays = new java.util.ArrayList<>();
        for (int i = 0; i < 257; i++) {
            columns.add(org.apache.spark.sql.RowFactory.create(x.get(i, 0), x.get(i, 1), x.get(i, 2)));
            arrays.add(org.apache.spark.sql.RowFactory.create("row" + i, List.of(x.get(i, 0), x.get(i, 1), x.get(i, 2))));
        }
        var d = org.apache.spark.sql.types.DataTypes.DoubleType;
        var byColumn = spark.createDataFrame(columns, new org.apache.spark.sql.types.StructType().add("a", d).add("b", d).add("c", d)).repartition(1);
        var byArray = spark.createDataFrame(arrays, new org.apache.spark.sql.types.StructType()
                .add("id", org.apache.spark.sql.types.DataTypes.StringType)
                .add("features", org.apache.spark.sql.types.DataTypes.createArrayType(d))).coalesce(1);
        String[] common = {"--layers", "3,5,2", "--activation", "sigmoid", "--dtype", "float64", "--wrt", "all", "--partitions", "3", "--backend", "cpu"};

        String[] fromFile = java.util.Arrays.copyOf(common, common.length + 2);
        fromFile[common.length] = "--input";
        fromFile[common.length + 1] = dir.resolve("x.npy").toString();
        GradientJob.run(jsc, config(fromFile));
        byte[] grads = Files.readAllBytes(dir.resolve("out/grads.npz"));
        Tensor inputGrads = Outputs.inputGrads(dir.resolve("out"));

        GradientJob.Result r = GradientJob.run(jsc, config(common), byColumn.coalesce(1), null);
        assertEquals(257, r.rows());
        assertArrayEquals(grads, Files.readAllBytes(dir.resolve("out/grads.npz")), "every column");
        assertTrue(Outputs.inputGrads(dir.resolve("out")).allClose(inputGrads, 0, 0), "every column: input rows in the Dataset's order");

        GradientJob.run(jsc, config(common), byArray, "features");
        assertArrayEquals(grads, Files.readAllBytes(dir.resolve("out/grads.npz")), "array column");
        assertTrue(Outputs.inputGrads(dir.resolve("out")).allClose(inputGrads, 0, 0), "array column: input rows in the Dataset's order");
        try (java.util.stream.Stream<Path> left = Files.list(dir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().contains("-input")), "the materialised rows are removed");
        }
    }

    @Test
    void theSummaryReportsWhatTheExecutorsRan() throws Exception {
        GradientJob.run(jsc, config("--layers", "3,4,1", "--synthetic", "100", "--partitions", "4", "--backend", "reference"));
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("out/summary.json").toFile());
        assertEquals("reference", summary.get("backend_requested").asText());
        assertTrue(summary.get("backend").asText().startsWith("reference on "), summary.toString());
        assertEquals(4, summary.get("partitions_per_backend").get(summary.get("backend").asText()).asInt(), summary.toString());
        assertEquals(1, summary.get("executors").asInt(), "local mode: the driver's JVM runs every task");
        assertEquals(4, summary.get("partitions_per_executor").get("driver").asInt(), summary.toString());
        assertEquals(100, summary.get("rows").asInt());
        assertTrue(summary.get("rows_per_s").asDouble() > 0);
        // The tasks' span (first launch to last end) lies within the job's wall time and covers each partition's own time.
        double tasks = summary.get("tasks_s").asDouble(), wall = summary.get("wall_s").asDouble();
        assertTrue(tasks > 0 && tasks <= wall && tasks + 0.002 >= summary.get("partition_s_max").asDouble(), summary.toString());
        assertEquals(100 / tasks, summary.get("tasks_rows_per_s").asDouble(), 1e-9 * 100 / tasks, summary.toString());
        double cpuShare = summary.get("partition_cpu_share").asDouble();
        assertTrue(cpuShare > 0 && cpuShare <= 1.05, "CPU time over task time, measured in the task's thread: " + cpuShare);
        assertEquals("collected, summed on the driver", summary.get("reduction_path").asText());
        // One entry per partition, in order; a host backend moves nothing to a device.
        com.fasterxml.jackson.databind.JsonNode parts = summary.get("per_partition");
        assertEquals(4, parts.size(), summary.toString());
        for (int i = 0; i < 4; i++) {
            assertEquals(i, parts.get(i).get("index").asInt());
            assertEquals(25, parts.get(i).get("rows").asInt());
            assertEquals("driver", parts.get(i).get("executor").asText());
            assertEquals(summary.get("backend").asText(), parts.get(i).get("backend").asText());
            assertEquals(0, parts.get(i).get("device_bytes_in").asLong());
            assertEquals(0, parts.get(i).get("device_bytes_out").asLong());
        }
        assertEquals(0, summary.get("device_bytes_in").asLong());
        assertEquals(0, summary.get("device_bytes_out").asLong());
        com.fasterxml.jackson.databind.JsonNode heap = summary.get("driver_heap");
        assertTrue(heap.get("peak_used_mib").asDouble() > 0 && heap.get("peak_used_mib").asDouble() <= heap.get("max_mib").asDouble(), heap.toString());
        assertTrue(heap.get("peak_after_gc_mib").asDouble() <= heap.get("peak_used_mib").asDouble(), heap.toString());
    }

    /**
     * --repeat 3: three evaluations in one application, the rows read once and kept in memory; each
     * gives the bytes of a single run, with either reduction, and with skipped NaN rows and input
     * derivatives (written again by each evaluation) too.
     */
    @Test
    void threeEvaluationsInOneApplicationGiveTheBytesOfOne() throws Exception {
        double[] values = Tensor.uniform(31, -1, 1, DType.FLOAT64, 900, 5).toDoubleArray();
        values[5 * 17 + 2] = Double.NaN;   // row 17 is skipped
        Tensor x = Tensor.wrap(values, org.gradspark.ad.Shape.of(900, 5));
        Npy.write(dir.resolve("x.npy"), x);
        String[] job = {"--layers", "5,16,3", "--dtype", "float64", "--input", dir.resolve("x.npy").toString(), "--on-nan", "skip",
            "--wrt", "all", "--partitions", "3", "--chunk-rows", "128", "--backend", "cpu"};
        GradientJob.run(jsc, config(job));
        byte[] grads = Files.readAllBytes(dir.resolve("out/grads.npz")), inputGrads = Outputs.inputGradBytes(dir.resolve("out"));
        String[] repeated = java.util.Arrays.copyOf(job, job.length + 2);
        repeated[job.length] = "--repeat";
        repeated[job.length + 1] = "3";
        for (String threshold : new String[] {null, "1"}) {
            jsc.setLocalProperty("spark.gradspark.shardThreshold", threshold);
            try {
                GradientJob.Result r = GradientJob.run(jsc, config(repeated));
                assertEquals(899, r.rows() - r.skippedRows());
                com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("out/summary.json").toFile());
                assertEquals(3, summary.get("evaluations_s").size(), summary.toString());
                assertTrue(summary.get("evaluations_identical").asBoolean(), summary.toString());
                assertEquals(threshold == null ? "collected, summed on the driver" : "sharded on the executors", summary.get("reduction_path").asText());
            } finally {
                jsc.setLocalProperty("spark.gradspark.shardThreshold", null);
            }
            assertArrayEquals(grads, Files.readAllBytes(dir.resolve("out/grads.npz")), "shard threshold " + threshold);
            assertArrayEquals(inputGrads, Outputs.inputGradBytes(dir.resolve("out")), "shard threshold " + threshold);
        }
    }

    /** What --repeat keeps in memory survives Kryo (Spark sends it when a kept partition moves to another executor). */
    @Test
    void aKeptChunkRoundTripsThroughKryo() {
        org.apache.spark.serializer.SerializerInstance kryo = new org.apache.spark.serializer.KryoSerializer(jsc.getConf()).newInstance();
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT32, 4, 2), y = Tensor.uniform(4, -1, 1, DType.FLOAT32, 4, 1);
        for (PartitionRows.Chunk c : List.of(new PartitionRows.Chunk(7, x, null, y, new boolean[] {false, true, false, false}),
                new PartitionRows.Chunk(0, x, y, null, null))) {
            scala.reflect.ClassTag<PartitionRows.Chunk> tag = scala.reflect.ClassTag$.MODULE$.apply(PartitionRows.Chunk.class);
            PartitionRows.Chunk back = kryo.deserialize(kryo.serialize(c, tag), tag);
            assertEquals(c.first(), back.first());
            assertTrue(back.x().allClose(c.x(), 0, 0));
            assertEquals(c.s() == null, back.s() == null);
            assertEquals(c.y() == null, back.y() == null);
            if (c.y() != null) assertTrue(back.y().allClose(c.y(), 0, 0));
            if (c.s() != null) assertTrue(back.s().allClose(c.s(), 0, 0));
            assertArrayEquals(c.bad(), back.bad());
        }
    }

    /** A partition's result, times included, survives Kryo field for field (it travels to the driver that way). */
    @Test
    void aPartitionResultRoundTripsThroughKryo() {
        org.apache.spark.serializer.SerializerInstance kryo = new org.apache.spark.serializer.KryoSerializer(jsc.getConf()).newInstance();
        scala.reflect.ClassTag<PartitionResult> tag = scala.reflect.ClassTag$.MODULE$.apply(PartitionResult.class);
        TaskDevice.Placement onGpu1 = new TaskDevice.Placement("pthread (CPU, 2 compute units) on PoCL", "1", java.util.List.of("1", "0"), "used", 1_700_000_000_123L);
        for (String failure : java.util.Arrays.asList(null, "--input x.npy, row 7: column 2 is NaN")) {
            PartitionResult r = new PartitionResult(3, 40, 2, new double[][] {{1.5, -2}, {}}, 0.25, -0.125, 123_456_789L, 98_765_432L, "7", "cpu on CPU", 4096, 512,
                    failure, failure == null ? onGpu1 : null);
            PartitionResult back = kryo.deserialize(kryo.serialize(r, tag), tag);
            assertEquals(java.util.Arrays.asList(r.index(), r.rows(), r.skippedRows(), r.outputSum(), r.objective(), r.nanos(), r.cpuNanos(), r.executor(),
                            r.backend(), r.deviceBytesIn(), r.deviceBytesOut(), r.failure(), r.placement()),
                    java.util.Arrays.asList(back.index(), back.rows(), back.skippedRows(), back.outputSum(), back.objective(), back.nanos(), back.cpuNanos(),
                            back.executor(), back.backend(), back.deviceBytesIn(), back.deviceBytesOut(), back.failure(), back.placement()));
            assertArrayEquals(r.partials()[0], back.partials()[0]);
            assertEquals(0, back.partials()[1].length);
        }
    }
}
