package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
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
 * {@code grad} and {@code fit} with every path on {@code s3a://}, against the S3 server {@code submit-scripts/local-cluster
 * start 1 --s3} starts (S3Proxy on 127.0.0.1, in its own JVM), submitted through {@code gradspark-submit}
 * to that cluster's master with the server's {@code s3.properties} as {@code --extra-properties-file}:
 * the same bytes as {@code local[2]} with local files, written at their final keys (no rename) with
 * {@code _SUCCESS} last; wrong and missing credentials and a missing bucket are one line each (exit 2);
 * the server stopped while the executors write their parts is one line and no {@code _SUCCESS}.
 * One cluster and server for the class; the stopped server's test runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class S3SubmittedTest {
    static final Duration TIMEOUT = Duration.ofMinutes(3);
    static final List<String> JOB = List.of("--layers", "8,32,3", "--dtype", "float64", "--wrt", "all", "--partitions", "4", "--chunk-rows", "512",
            "--backend", "cpu");
    static final int ROWS = 4000;

    @TempDir
    static Path dir;
    static LocalCluster cluster;
    static FileSystem s3;
    static Path data;

    /** Test 1's run on local[2] with local files (x.npy, w.npz, s.npy), which the tabular inputs' runs on S3 must equal. */
    static Path localNpyOut;

    @BeforeAll
    static void startCluster() throws IOException {
        LocalCluster.assumeWanted();
        cluster = LocalCluster.start(dir.resolve("cluster"), 1, "--s3");
        Configuration conf = new Configuration();
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(cluster.s3Properties())) {
            p.load(in);
        }
        p.stringPropertyNames().forEach(k -> conf.set(k.substring("spark.hadoop.".length()), p.getProperty(k)));
        s3 = FileSystem.newInstance(URI.create(cluster.s3Url() + "/"), conf);
        data = Files.createDirectories(dir.resolve("data"));
        Npy.write(data.resolve("x.npy"), Tensor.uniform(5, -1, 1, DType.FLOAT64, ROWS, 8));
        Npy.write(data.resolve("s.npy"), Tensor.uniform(6, -1, 1, DType.FLOAT64, ROWS, 3));
        Npz.write(data.resolve("w.npz"), JobModel.initialWeights(new int[] {8, 32, 3}, DType.FLOAT64, 9));
        Tensor fx = Tensor.uniform(11, -1, 1, DType.FLOAT32, 4000, 8);
        Npy.write(data.resolve("fx.npy"), fx);
        Npy.write(data.resolve("fy.npy"), org.gradspark.ad.Ops.tanh(org.gradspark.ad.Ops.matMul(fx, Tensor.uniform(12, -1, 1, DType.FLOAT32, 8, 1))));
        Tensor x = Npy.read(data.resolve("x.npy"));
        writeParquet(data.resolve("x.parquet"), x);
        writeCsv(data.resolve("x.csv"), x);
        Npz.write(data.resolve("fw.npz"), JobModel.initialWeights(new int[] {8, 16, 1}, DType.FLOAT32, 13));
        for (String f : List.of("x.npy", "s.npy", "w.npz", "fx.npy", "fy.npy", "x.parquet", "x.csv", "fw.npz")) {
            s3.copyFromLocalFile(new org.apache.hadoop.fs.Path(data.resolve(f).toUri()), new org.apache.hadoop.fs.Path(cluster.s3Url() + "/in/" + f));
        }
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (s3 != null) s3.close();
        if (cluster != null) cluster.close();
    }

    /** No JIT warm-up of the executors before the tasks: the runs are short, and their bytes do not depend on it. */
    static final List<String> UNWARMED = List.of("--conf", "spark.gradspark.warmUp=none");

    /** gradspark-submit to the cluster with the S3 settings, extra spark-submit options, then grad's options. */
    private static LocalCluster.Run onCluster(String name, List<String> submitOptions, List<String> job) {
        List<String> options = new ArrayList<>(List.of("--extra-properties-file", cluster.s3Properties().toString()));
        options.addAll(UNWARMED);
        options.addAll(submitOptions);
        return LocalCluster.await(cluster.submit(dir.resolve(name), options, job.toArray(new String[0])), dir.resolve(name), TIMEOUT);
    }

    private static List<String> inputsOnS3(String out) {
        List<String> o = new ArrayList<>(JOB);
        o.addAll(List.of("--input", cluster.s3Url() + "/in/x.npy", "--weights", cluster.s3Url() + "/in/w.npz", "--sens", cluster.s3Url() + "/in/s.npy",
                "--out", cluster.s3Url() + out));
        return o;
    }

    /** Every object under a prefix of the bucket, by key relative to it, with its bytes. */
    static Map<String, byte[]> filesOnS3(String prefix) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(cluster.s3Url() + prefix);
        var it = s3.listFiles(root, true);
        String base = root.toUri().getPath();
        while (it.hasNext()) {
            org.apache.hadoop.fs.Path p = it.next().getPath();
            try (InputStream in = s3.open(p)) {
                out.put(p.toUri().getPath().substring(base.length() + 1), in.readAllBytes());
            }
        }
        return out;
    }

    @Test
    @Order(1)
    void everyPathOnS3GivesTheBytesOfLocalFiles() throws IOException {
        LocalCluster.succeeded(onCluster("on-s3", List.of(), inputsOnS3("/grad/out")));
        Path localOut = dir.resolve("local").resolve("out");
        localNpyOut = localOut;
        List<String> local = new ArrayList<>(JOB);
        local.addAll(List.of("--input", data.resolve("x.npy").toString(), "--weights", data.resolve("w.npz").toString(),
                "--sens", data.resolve("s.npy").toString(), "--out", localOut.toString()));
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("local"),
                LocalCluster.submitCommand("local[2]", UNWARMED, local.toArray(new String[0]))));

        Map<String, byte[]> onS3 = filesOnS3("/grad/out");
        assertEquals(java.util.Set.of("_SUCCESS", "grads.npz", "summary.json", "input_grads/part-00000.npy", "input_grads/part-00001.npy",
                "input_grads/part-00002.npy", "input_grads/part-00003.npy"), onS3.keySet(), "what --out holds (no attempt files, no temporary)");
        assertArrayEquals(Files.readAllBytes(localOut.resolve("grads.npz")), onS3.get("grads.npz"), "grads.npz: S3 on the cluster vs local[2]");
        for (Path part : Outputs.inputGradParts(localOut)) {
            assertArrayEquals(Files.readAllBytes(part), onS3.get("input_grads/" + part.getFileName()), "input derivatives " + part.getFileName());
        }
        // Nothing beside --out: no temporary sibling was made (and so none renamed, which would have copied every part).
        assertEquals(List.of("out"), List.of(s3.listStatus(new org.apache.hadoop.fs.Path(cluster.s3Url() + "/grad"))).stream()
                .map(st -> st.getPath().getName()).toList());

        // local-cluster's shell on the bucket sees what the job wrote.
        LocalCluster.Run ls = cluster.s3("ls", "-R", "/grad/out");
        assertEquals(0, ls.exitCode(), ls.stderr());
        assertTrue(ls.stdout().contains("/grad/out/_SUCCESS") && ls.stdout().contains("/grad/out/input_grads/part-00003.npy"), ls.stdout());

        // A second run replaces the first's output: its manifest goes first, then its files, then the new files and manifest.
        LocalCluster.succeeded(onCluster("on-s3-again", List.of(), inputsOnS3("/grad/out")));
        assertEquals(onS3.keySet(), filesOnS3("/grad/out").keySet());
        assertArrayEquals(onS3.get("grads.npz"), filesOnS3("/grad/out").get("grads.npz"));
    }

    /**
     * The rows of x.npy as a Parquet file and as a CSV file on S3, each the --input of a grad (Parquet: on the
     * cluster; CSV: on local[2]) with --weights, --sens and --out on S3: grads.npz byte-identical to test 1's
     * local[2] run with x.npy and local files. The Parquet run writes its input derivatives as Parquet
     * (--input-grads-format parquet): part files at their final keys, no rename (Spark's own writer committed
     * them by a rename, which S3 cannot do without a copy and S3Proxy refused with 501), with Spark's schema in
     * their footers and the local run's values, bit for bit; the CSV run's .npy parts are the local run's bytes.
     * Neither leaves the .npy rows of its input (_rows) or anything else in or beside --out.
     */
    @Test
    @Order(2)
    void parquetAndCsvInputsAndParquetOutputOnS3GiveTheValuesOfLocalFiles() throws IOException {
        assertTrue(localNpyOut != null && Files.exists(localNpyOut.resolve("grads.npz")), "test 1's local[2] run is the reference");
        String bucket = cluster.s3Url();
        List<String> parquet = new ArrayList<>(JOB);
        parquet.addAll(List.of("--input", bucket + "/in/x.parquet", "--weights", bucket + "/in/w.npz", "--sens", bucket + "/in/s.npy",
                "--input-grads-format", "parquet", "--out", bucket + "/tabular/parquet"));
        LocalCluster.succeeded(onCluster("parquet-on-s3", List.of(), parquet));
        List<String> csv = new ArrayList<>(JOB);
        csv.addAll(List.of("--input", bucket + "/in/x.csv", "--weights", bucket + "/in/w.npz", "--sens", bucket + "/in/s.npy",
                "--out", bucket + "/tabular/csv"));
        // On local[2], with the S3 settings: Spark SQL reads the CSV where the driver is.
        List<String> s3Options = new ArrayList<>(List.of("--extra-properties-file", cluster.s3Properties().toString()));
        s3Options.addAll(UNWARMED);
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("csv-on-s3"),
                LocalCluster.submitCommand("local[2]", s3Options, csv.toArray(new String[0]))));

        Map<String, byte[]> fromParquet = filesOnS3("/tabular/parquet");
        assertEquals(java.util.Set.of("_SUCCESS", "grads.npz", "summary.json", "input_grads/part-00000.snappy.parquet", "input_grads/part-00001.snappy.parquet",
                "input_grads/part-00002.snappy.parquet", "input_grads/part-00003.snappy.parquet"), fromParquet.keySet(), "what --out holds (Parquet)");
        Map<String, byte[]> fromCsv = filesOnS3("/tabular/csv");
        assertEquals(filesOnS3("/grad/out").keySet(), fromCsv.keySet(), "what --out holds (CSV)");
        assertEquals(List.of("csv", "parquet"), List.of(s3.listStatus(new org.apache.hadoop.fs.Path(bucket + "/tabular"))).stream()
                .map(st -> st.getPath().getName()).sorted().toList(), "nothing beside --out");
        byte[] localGrads = Files.readAllBytes(localNpyOut.resolve("grads.npz"));
        assertArrayEquals(localGrads, fromParquet.get("grads.npz"), "grads.npz: Parquet --input on S3 vs x.npy on local[2]");
        assertArrayEquals(localGrads, fromCsv.get("grads.npz"), "grads.npz: CSV --input on S3 vs x.npy on local[2]");
        for (Path part : Outputs.inputGradParts(localNpyOut)) {
            assertArrayEquals(Files.readAllBytes(part), fromCsv.get("input_grads/" + part.getFileName()), "CSV run's input derivatives " + part.getFileName());
        }

        // The Parquet parts, read with parquet-hadoop (Spark's reading of them is GradientJobTest's): the rows in
        // order, their values those of the local run's .npy parts, bit for bit, and Spark's schema in each footer.
        Tensor expected = Outputs.inputGrads(localNpyOut);
        int width = expected.size() / ROWS;
        Path copy = dir.resolve("parquet-copy");
        long row = 0;
        for (int p = 0; p < 4; p++) {
            Path part = copy.resolve(String.format("part-%05d.snappy.parquet", p));
            Files.createDirectories(copy);
            Files.write(part, fromParquet.get("input_grads/" + part.getFileName()));
            org.apache.hadoop.fs.Path local = new org.apache.hadoop.fs.Path(part.toUri());
            try (org.apache.parquet.hadoop.ParquetFileReader footer = org.apache.parquet.hadoop.ParquetFileReader.open(
                    org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(local, new Configuration(false)))) {
                assertEquals(SPARK_SCHEMA, footer.getFileMetaData().getKeyValueMetaData().get("org.apache.spark.sql.parquet.row.metadata"), part.toString());
            }
            try (org.apache.parquet.hadoop.ParquetReader<org.apache.parquet.example.data.Group> reader = org.apache.parquet.hadoop.ParquetReader
                    .builder(new org.apache.parquet.hadoop.example.GroupReadSupport(), local).withConf(new Configuration(false)).build()) {
                for (org.apache.parquet.example.data.Group g = reader.read(); g != null; g = reader.read(), row++) {
                    assertEquals(row, g.getLong("row", 0));
                    org.apache.parquet.example.data.Group list = g.getGroup("grad", 0);
                    assertEquals(width, list.getFieldRepetitionCount("list"), "row " + row);
                    for (int j = 0; j < width; j++) {
                        assertEquals(Double.doubleToRawLongBits(expected.getDouble((int) row * width + j)),
                                Double.doubleToRawLongBits(list.getGroup("list", j).getDouble("element", 0)), "row " + row + ", " + j);
                    }
                }
            }
        }
        assertEquals(ROWS, row);
    }

    /** The Spark schema Spark's own Parquet writer puts in the footer of a float64 (row, grad) Dataset. */
    private static final String SPARK_SCHEMA = "{\"type\":\"struct\",\"fields\":[{\"name\":\"row\",\"type\":\"long\",\"nullable\":false,\"metadata\":{}},"
            + "{\"name\":\"grad\",\"type\":{\"type\":\"array\",\"elementType\":\"double\",\"containsNull\":false},\"nullable\":false,\"metadata\":{}}]}";

    /** {@code x}'s rows (N × 8, float64) as a Parquet file of 8 double columns f0..f7, written with parquet-hadoop's example writer. */
    private static void writeParquet(Path file, Tensor x) throws IOException {
        int width = x.shape().dim(1);
        org.apache.parquet.schema.Types.MessageTypeBuilder b = org.apache.parquet.schema.Types.buildMessage();
        for (int j = 0; j < width; j++) b.required(org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.DOUBLE).named("f" + j);
        org.apache.parquet.schema.MessageType schema = b.named("x");
        try (org.apache.parquet.hadoop.ParquetWriter<org.apache.parquet.example.data.Group> w = org.apache.parquet.hadoop.example.ExampleParquetWriter
                .builder(new org.apache.hadoop.fs.Path(file.toUri())).withConf(new Configuration(false)).withType(schema).build()) {
            org.apache.parquet.example.data.simple.SimpleGroupFactory groups = new org.apache.parquet.example.data.simple.SimpleGroupFactory(schema);
            for (int i = 0; i < x.shape().dim(0); i++) {
                org.apache.parquet.example.data.Group g = groups.newGroup();
                for (int j = 0; j < width; j++) g.add("f" + j, x.getDouble(i * width + j));
                w.write(g);
            }
        }
    }

    /** {@code x}'s rows as a CSV file with a header line f0,...; Java's shortest decimal form reads back as the same double. */
    private static void writeCsv(Path file, Tensor x) throws IOException {
        int width = x.shape().dim(1);
        StringBuilder sb = new StringBuilder(String.join(",", java.util.stream.IntStream.range(0, width).mapToObj(j -> "f" + j).toList())).append('\n');
        for (int i = 0; i < x.shape().dim(0); i++) {
            for (int j = 0; j < width; j++) sb.append(j == 0 ? "" : ",").append(x.getDouble(i * width + j));
            sb.append('\n');
        }
        Files.writeString(file, sb);
    }

    /** fit's options but --out and --resume: L-BFGS, 20 iterations, a checkpoint every 10. */
    private static List<String> fitJob(String x, String y) {
        return new ArrayList<>(List.of("--layers", "8,16,1", "--activation", "tanh", "--input", x, "--labels", y, "--loss", "mse", "--partitions", "2",
                "--backend", "cpu", "--optimizer", "lbfgs", "--iterations", "20", "--checkpoint-every", "10"));
    }

    private static String[] fitCommand(String master, List<String> submitOptions, List<String> job) {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.script("gradspark-submit"), "--master", master, "--conf", "spark.ui.enabled=false"));
        cmd.addAll(submitOptions);
        cmd.addAll(UNWARMED);
        cmd.add("fit");
        cmd.addAll(job);
        return cmd.toArray(new String[0]);
    }

    /**
     * fit with --input, --labels, --weights (the starting point), --out and its checkpoints on S3, on the
     * cluster: the weights of local[2] with local files; and resumed from the S3 checkpoint of iteration 10 into another --out on S3: the
     * same weights again (a resumed fit repeats the trajectory exactly).
     */
    @Test
    @Order(3)
    void fitWithItsCheckpointsOnS3GivesTheWeightsOfLocalFiles() throws IOException {
        String bucket = cluster.s3Url();
        List<String> s3Options = List.of("--extra-properties-file", cluster.s3Properties().toString());
        List<String> onS3 = fitJob(bucket + "/in/fx.npy", bucket + "/in/fy.npy");
        onS3.addAll(List.of("--weights", bucket + "/in/fw.npz", "--out", bucket + "/fit/a"));
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("fit-s3"), fitCommand(cluster.masterUrl, s3Options, onS3)));
        Path localOut = dir.resolve("fit-local-out");
        List<String> local = fitJob(data.resolve("fx.npy").toString(), data.resolve("fy.npy").toString());
        local.addAll(List.of("--weights", data.resolve("fw.npz").toString(), "--out", localOut.toString()));
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("fit-local"), fitCommand("local[2]", List.of(), local)));

        Map<String, byte[]> a = filesOnS3("/fit/a");
        assertArrayEquals(Files.readAllBytes(localOut.resolve("weights.npz")), a.get("weights.npz"), "weights.npz: S3 on the cluster vs local[2]");
        assertArrayEquals(Files.readAllBytes(localOut.resolve("checkpoints/iter-000010/weights.npz")), a.get("checkpoints/iter-000010/weights.npz"));
        assertTrue(a.containsKey("_SUCCESS") && a.containsKey("checkpoints/iter-000020/state.json"), a.keySet().toString());
        assertEquals(List.of(), a.keySet().stream().filter(k -> k.contains("gradspark-pending") || k.contains(".tmp-")).toList(), "nothing renamed");

        List<String> resumed = fitJob(bucket + "/in/fx.npy", bucket + "/in/fy.npy");
        resumed.addAll(List.of("--out", bucket + "/fit/b", "--resume", bucket + "/fit/a/checkpoints/iter-000010"));
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("fit-s3-resumed"), fitCommand(cluster.masterUrl, s3Options, resumed));
        LocalCluster.succeeded(r);
        assertTrue(r.stdout().contains("fit: resuming from"), r.stdout());
        assertArrayEquals(Files.readAllBytes(localOut.resolve("weights.npz")), filesOnS3("/fit/b").get("weights.npz"), "resumed on S3 vs local[2]");
    }

    @Test
    @Order(4)
    void wrongOrMissingCredentialsAndAMissingBucketAreOneLineEach() throws IOException {
        LocalCluster.Run wrong = onCluster("wrong-secret", List.of("--conf", "spark.hadoop.fs.s3a.secret.key=not-the-secret"), inputsOnS3("/wrong/out"));
        SubmittedFailuresTest.assertFailure(wrong, 2, dir, "permission denied", "403");

        List<String> job = new ArrayList<>(JOB);
        job.addAll(List.of("--input", cluster.s3Url() + "/in/x.npy", "--out", dir.resolve("no-credentials").toString()));
        LocalCluster.Run none = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("no-credentials-run"),
                LocalCluster.submitCommand("local[2]", UNWARMED, job.toArray(new String[0])));
        SubmittedFailuresTest.assertFailure(none, 2, dir, "--input " + cluster.s3Url() + "/in/x.npy", "no credentials for this store");

        List<String> noBucket = new ArrayList<>(JOB);
        noBucket.addAll(List.of("--input", "s3a://no-such-bucket/x.npy", "--out", cluster.s3Url() + "/missing/out"));
        LocalCluster.Run missing = onCluster("missing-bucket", List.of(), noBucket);
        SubmittedFailuresTest.assertFailure(missing, 2, dir, "--input s3a://no-such-bucket/x.npy", "no such bucket");
        assertFalse(s3.exists(new org.apache.hadoop.fs.Path(cluster.s3Url() + "/missing")), "--out made");
        assertFalse(s3.exists(new org.apache.hadoop.fs.Path(cluster.s3Url() + "/wrong")), "--out made");
    }

    /**
     * The server is killed once the first part is on it, while the executor writes the others: the job
     * ends with one line naming the store that stopped answering, and the store never saw {@code _SUCCESS}
     * (it is asked until it is killed; what it held dies with it, S3Proxy keeping objects in memory).
     */
    /**
     * A directory on the bucket can be removed with s3.properties' settings, as gradspark-bench removes its runs'
     * outputs and {@code local-cluster s3 rm -r} does (S3Proxy answered S3A's bulk delete, DeleteObjects, with
     * 501 NotImplemented: s3.properties turns it off).
     */
    @Test
    @Order(3)
    void aDirectoryOnTheBucketCanBeRemoved() throws IOException {
        org.apache.hadoop.fs.Path removed = new org.apache.hadoop.fs.Path(cluster.s3Url() + "/removed");
        for (String f : List.of("a", "b/c")) {
            try (var o = s3.create(new org.apache.hadoop.fs.Path(removed, f))) {
                o.write(1);
            }
        }
        assertTrue(s3.delete(removed, true));
        assertFalse(s3.exists(removed));
    }

    @Test
    @Order(5)
    void theServerStoppedMidWriteIsOneLineAndNoSuccess() throws Exception {
        List<String> job = new ArrayList<>(List.of("--layers", "8,256,256,8", "--dtype", "float64", "--wrt", "inputs", "--partitions", "12",
                "--chunk-rows", "2048", "--backend", "cpu", "--synthetic", "120000", "--out", cluster.s3Url() + "/stopped/out"));
        // Few retries, so that the run gives up in seconds rather than S3A's minutes of back-off.
        List<String> quick = List.of("--conf", "spark.hadoop.fs.s3a.retry.limit=1", "--conf", "spark.hadoop.fs.s3a.attempts.maximum=1",
                "--conf", "spark.task.maxFailures=1");
        List<String> options = new ArrayList<>(List.of("--extra-properties-file", cluster.s3Properties().toString()));
        options.addAll(UNWARMED);
        options.addAll(quick);
        Process driver = cluster.submit(dir.resolve("stopped"), options, job.toArray(new String[0]));
        org.apache.hadoop.fs.Path parts = new org.apache.hadoop.fs.Path(cluster.s3Url() + "/stopped/out/input_grads/part-00000.npy");
        org.apache.hadoop.fs.Path marker = new org.apache.hadoop.fs.Path(cluster.s3Url() + "/stopped/out/_SUCCESS");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!s3.exists(parts)) {
            assertTrue(driver.isAlive(), "the job ended before its first part was written");
            assertTrue(System.nanoTime() < deadline, "no part written in 2 minutes");
            Thread.sleep(200);
        }
        assertFalse(s3.exists(marker), "_SUCCESS written before the parts");
        ProcessHandle.of(cluster.s3Pid()).ifPresent(ProcessHandle::destroyForcibly);
        LocalCluster.Run r = LocalCluster.await(driver, dir.resolve("stopped"), TIMEOUT);
        assertNotEquals(0, r.exitCode(), r.stdout() + r.stderr());
        assertFalse(r.stdout().contains("GradSpark wrote"), r.stdout());
        SubmittedFailuresTest.assertFailure(r, r.exitCode(), dir, cluster.s3Url() + "/stopped/out");
        assertTrue(r.stderr().contains("does not answer") || r.stderr().contains("stopped answering"), r.stderr());
        System.out.println("S3SubmittedTest: the server stopped mid-write: exit " + r.exitCode() + ", " + r.stderr().strip().lines().reduce((a, b) -> b).orElse(""));
    }
}
