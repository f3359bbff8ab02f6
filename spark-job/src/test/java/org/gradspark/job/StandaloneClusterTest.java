package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import java.net.URI;
import org.gradspark.job.exec.JobModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real standalone cluster whose machines share no disk: a Master and 2 Workers of 1 core each on
 * 127.0.0.1, started from the project's jars by {@code submit-scripts/local-cluster start 2 --hdfs
 * --isolated}, so each Worker and its executors run in a mount namespace where the driver's files
 * (/tmp, the project's tree) are out of sight, with an HDFS beside them. Every job is submitted
 * through {@code submit-scripts/gradspark-submit}, and its inputs and outputs are on {@code hdfs://}:
 * <ul>
 *   <li>{@code grads.npz} is byte-identical to the same job on {@code local[2]} with local files,
 *       and the input derivatives (parts, and the Parquet dataset) equal it row for row;</li>
 *   <li>an executor killed mid-job (SIGKILL of a JVM running a task) changes no bit;</li>
 *   <li>an input path only the driver can read exits 2 with one line naming the path and the
 *       executor's host, and no stack trace;</li>
 *   <li>a driver out of memory as it reads the tasks' results (issue 26) exits 2 with one line naming
 *       Spark's thread, instead of hanging, and leaves nothing of {@code --out}.</li>
 * </ul>
 * Skipped only when GRADSPARK_SKIP_CLUSTER_TESTS=1; without mount namespaces (not root) the
 * workers are not isolated and the driver-only case is skipped.
 */
class StandaloneClusterTest {
    /** Six tasks of 60000 rows on two 1-core executors: three waves, each task seconds long. */
    static final String[] JOB = {"--layers", "8,64,64,3", "--activation", "tanh", "--dtype", "float64", "--synthetic", "360000",
        "--partitions", "6", "--chunk-rows", "4096", "--seed", "11", "--backend", "cpu"};
    static final Duration JOB_TIMEOUT = Duration.ofMinutes(4);

    @TempDir
    static Path dir;
    static LocalCluster cluster;

    static boolean isolated;
    static FileSystem hdfs;

    @BeforeAll
    static void startCluster() throws IOException {
        if (LocalCluster.skipped()) return;  // the test reports itself skipped
        long t0 = System.nanoTime();
        isolated = LocalCluster.isolationPermitted();
        cluster = isolated ? LocalCluster.start(dir.resolve("cluster"), 2, "--hdfs", "--isolated")
                : LocalCluster.start(dir.resolve("cluster"), 2, "--hdfs");
        hdfs = FileSystem.newInstance(URI.create(cluster.hdfsUrl()), new Configuration());
        log("cluster started in %.1f s (%s, HDFS %s, %s)", LocalCluster.seconds(t0), cluster.masterUrl, cluster.hdfsUrl(),
                isolated ? "isolated workers" : "workers NOT isolated: no mount namespaces here");
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (hdfs != null) hdfs.close();
        if (cluster != null) cluster.close();
    }

    @Test
    void killingAnExecutorMidJobChangesNoBit() throws IOException {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        byte[] undisturbed = grads(LocalCluster.await(cluster.submit(dir.resolve("undisturbed"), options("undisturbed")),
                dir.resolve("undisturbed"), JOB_TIMEOUT), "undisturbed");
        log("undisturbed run on the cluster: %.1f s", LocalCluster.seconds(t0));
        // The summary reports what the executors ran: the cpu backend, every partition on an executor, none on the driver.
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(fromHdfs("/undisturbed/out/summary.json"));
        assertTrue(summary.get("backend").asText().startsWith("cpu on "), summary.toString());
        assertFalse(summary.get("partitions_per_executor").has("driver"), summary.toString());
        int partitions = 0;
        for (com.fasterxml.jackson.databind.JsonNode count : summary.get("partitions_per_executor")) partitions += count.asInt();
        assertEquals(6, partitions, summary.toString());

        t0 = System.nanoTime();
        Set<String> earlierApps = applications();
        Process job = cluster.submit(dir.resolve("killed"), options("killed"));
        LocalCluster.Executor victim = anExecutorRunningATask(job, earlierApps);
        victim.process().destroyForcibly();  // SIGKILL
        assertTrue(victim.process().onExit().completeOnTimeout(null, 30, TimeUnit.SECONDS).join() != null, "executor did not die");
        log("killed executor %s (pid %d) after %.1f s", cluster.dir.relativize(victim.workDir()), victim.process().pid(), LocalCluster.seconds(t0));
        LocalCluster.Run killed = LocalCluster.await(job, dir.resolve("killed"), JOB_TIMEOUT);
        byte[] afterKill = grads(killed, "killed");
        log("run with a killed executor: %.1f s", LocalCluster.seconds(t0));
        // The kill hit the job while it ran: the driver saw the executor go (with its running task, when
        // Spark attributes the task to it before the worker reports the exit; which comes first is a race).
        String driverLog = killed.stderr() + LocalCluster.driverLog(dir.resolve("killed"));
        assertTrue(driverLog.contains("ExecutorLostFailure") || driverLog.contains("Lost executor"),
                "the driver never noticed the lost executor; driver log:\n" + driverLog);

        t0 = System.nanoTime();
        List<String> localOptions = new ArrayList<>(List.of(JOB));
        localOptions.addAll(List.of("--out", dir.resolve("local2").resolve("out").toString()));
        LocalCluster.Run local = LocalCluster.run(JOB_TIMEOUT, Map.of(), dir.resolve("local2"),
                LocalCluster.submitCommand("local[2]", List.of(), localOptions.toArray(new String[0])));
        LocalCluster.succeeded(local);
        byte[] local2 = Files.readAllBytes(dir.resolve("local2").resolve("out").resolve("grads.npz"));
        log("local[2] run: %.1f s", LocalCluster.seconds(t0));

        assertArrayEquals(undisturbed, afterKill, "grads.npz after losing an executor differs from the undisturbed run");
        assertArrayEquals(local2, undisturbed, "grads.npz on the cluster differs from local[2]");
    }

    /** Waits until an executor of an application started after {@code earlierApps} runs a task. */
    private static LocalCluster.Executor anExecutorRunningATask(Process job, Set<String> earlierApps) {
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue(job.isAlive(), "the job ended before any executor ran a task");
            for (LocalCluster.Executor e : cluster.executors()) {
                if (!earlierApps.contains(e.workDir().getParent().getFileName().toString()) && e.runsATask()) return e;
            }
            LocalCluster.sleep(200);
        }
        job.destroyForcibly();
        return fail("no executor ran a task within " + JOB_TIMEOUT);
    }

    /** The application directories the workers have made so far. */
    private static Set<String> applications() throws IOException {
        Set<String> apps = new HashSet<>();
        try (Stream<Path> workers = Files.list(cluster.dir)) {
            for (Path w : workers.filter(Files::isDirectory).toList()) {
                try (Stream<Path> a = Files.list(w)) {
                    a.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("app-")).forEach(apps::add);
                }
            }
        }
        return apps;
    }

    /** The job with its --out on HDFS. */
    private static String[] options(String name) {
        List<String> o = new ArrayList<>(List.of(JOB));
        o.addAll(List.of("--out", cluster.hdfsUrl() + "/" + name + "/out"));
        return o.toArray(new String[0]);
    }

    private static byte[] grads(LocalCluster.Run run, String name) {
        LocalCluster.succeeded(run);
        return fromHdfs("/" + name + "/out/grads.npz");
    }

    /** A file's bytes on the cluster's HDFS. */
    static byte[] fromHdfs(String path) {
        try (java.io.InputStream in = hdfs.open(new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + path))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies a local file to the cluster's HDFS; returns its hdfs:// URI. */
    static String toHdfs(Path local, String path) throws IOException {
        String uri = cluster.hdfsUrl() + path;
        hdfs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(uri));
        return uri;
    }

    /** Every file and directory under an HDFS directory, by path relative to it: files with their bytes. */
    static Map<String, byte[]> filesOnHdfs(String dirPath) throws IOException {
        Map<String, byte[]> out = new java.util.TreeMap<>();
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + dirPath);
        var it = hdfs.listFiles(root, true);
        String base = root.toUri().getPath();
        while (it.hasNext()) {
            String p = it.next().getPath().toUri().getPath();
            out.put(p.substring(base.length() + 1), fromHdfs(p));
        }
        return out;
    }

    /**
     * Every input and output on HDFS: --input, --weights and --sens put there, --out there. The
     * cluster's grads.npz is byte-identical to local[2] with local files, and so is every
     * input-derivative part; with --input-grads-format parquet the dataset holds the same rows.
     */
    @Test
    void everyInputAndOutputOnHdfsGivesTheBytesOfLocalFiles() throws IOException {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        Path data = Files.createDirectories(dir.resolve("data"));
        int n = 30_000;
        org.gradspark.ad.Tensor x = org.gradspark.ad.Tensor.uniform(5, -1, 1, org.gradspark.ad.DType.FLOAT64, n, 8);
        org.gradspark.job.io.Npy.write(data.resolve("x.npy"), x);
        org.gradspark.job.io.Npy.write(data.resolve("s.npy"), org.gradspark.ad.Tensor.uniform(6, -1, 1, org.gradspark.ad.DType.FLOAT64, n, 3));
        org.gradspark.job.io.Npz.write(data.resolve("w.npz"), JobModel.initialWeights(new int[] {8, 32, 32, 3}, org.gradspark.ad.DType.FLOAT64, 9));
        List<String> common = List.of("--layers", "8,32,32,3", "--dtype", "float64", "--wrt", "all", "--partitions", "4", "--chunk-rows", "2048",
                "--backend", "cpu");

        List<String> onHdfs = new ArrayList<>(common);
        onHdfs.addAll(List.of("--input", toHdfs(data.resolve("x.npy"), "/in/x.npy"), "--weights", toHdfs(data.resolve("w.npz"), "/in/w.npz"),
                "--sens", toHdfs(data.resolve("s.npy"), "/in/s.npy")));
        List<String> npyRun = new ArrayList<>(onHdfs);
        npyRun.addAll(List.of("--out", cluster.hdfsUrl() + "/files/out"));
        LocalCluster.succeeded(LocalCluster.await(cluster.submit(dir.resolve("files"), npyRun.toArray(new String[0])), dir.resolve("files"), JOB_TIMEOUT));
        List<String> parquetRun = new ArrayList<>(onHdfs);
        parquetRun.addAll(List.of("--input-grads-format", "parquet", "--out", cluster.hdfsUrl() + "/parquet/out"));
        LocalCluster.succeeded(LocalCluster.await(cluster.submit(dir.resolve("parquet"), parquetRun.toArray(new String[0])), dir.resolve("parquet"),
                JOB_TIMEOUT));
        log("two all-HDFS runs on the cluster: %.1f s", LocalCluster.seconds(t0));
        // What the job's own Hadoop client wrote, on the driver (grads.npz, summary.json) and on the executors (the parts):
        // one replica each on the cluster's one DataNode, not Hadoop's default of 3 (under-replicated for ever).
        for (String written : List.of("/files/out/grads.npz", "/files/out/summary.json", "/files/out/input_grads/part-00000.npy")) {
            assertEquals(1, hdfs.getFileStatus(new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + written)).getReplication(), written + "'s replication");
        }
        // The workers have 1 core each and spark.executor.cores is unset: each executor got 1 core, so its CPU backend runs 1 thread
        // (not one per core of the machine, which two executors on 2 cores would oversubscribe).
        String backend = new com.fasterxml.jackson.databind.ObjectMapper().readTree(fromHdfs("/files/out/summary.json")).get("backend").asText();
        assertTrue(backend.startsWith("cpu on CPU (1 thread)"), backend);

        List<String> localRun = new ArrayList<>(common);
        Path localOut = dir.resolve("local-files").resolve("out");
        localRun.addAll(List.of("--input", data.resolve("x.npy").toString(), "--weights", data.resolve("w.npz").toString(),
                "--sens", data.resolve("s.npy").toString(), "--out", localOut.toString()));
        LocalCluster.succeeded(LocalCluster.run(JOB_TIMEOUT, Map.of(), dir.resolve("local-files"),
                LocalCluster.submitCommand("local[2]", List.of(), localRun.toArray(new String[0]))));

        assertArrayEquals(Files.readAllBytes(localOut.resolve("grads.npz")), fromHdfs("/files/out/grads.npz"), "grads.npz: HDFS on the cluster vs local[2]");
        Map<String, byte[]> clusterFiles = filesOnHdfs("/files/out");
        List<Path> localParts = Outputs.inputGradParts(localOut);
        assertEquals(4, localParts.size());
        for (Path part : localParts) {
            assertArrayEquals(Files.readAllBytes(part), clusterFiles.get("input_grads/" + part.getFileName()), "input derivatives " + part.getFileName());
        }
        assertEquals(java.util.Set.of("_SUCCESS", "grads.npz", "summary.json", "input_grads/part-00000.npy", "input_grads/part-00001.npy",
                "input_grads/part-00002.npy", "input_grads/part-00003.npy"), clusterFiles.keySet(), "what --out holds");

        // The Parquet dataset, copied here and read with Spark: the rows of the local run's parts.
        assertParquetRowsAre("/parquet/out/input_grads", dir.resolve("parquet-copy"), Outputs.inputGrads(localOut), n);
    }

    /**
     * The Parquet dataset at {@code hdfsDir}, copied to {@code copy} and read with Spark: n rows (row, values)
     * whose values are those of {@code expected}'s rows, exactly.
     */
    private static void assertParquetRowsAre(String hdfsDir, Path copy, org.gradspark.ad.Tensor expected, int n) throws IOException {
        hdfs.copyToLocalFile(new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + hdfsDir), new org.apache.hadoop.fs.Path(copy.toUri()));
        int width = expected.size() / n;
        try (org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().master("local[1]").appName("read parquet")
                .config("spark.ui.enabled", "false").getOrCreate()) {
            List<org.apache.spark.sql.Row> rows = new ArrayList<>(spark.read().parquet(copy.toString()).collectAsList());
            rows.sort(java.util.Comparator.comparingLong(r -> r.getLong(0)));
            assertEquals(n, rows.size());
            for (int i = 0; i < n; i++) {
                assertEquals(i, rows.get(i).getLong(0));
                List<Object> g = rows.get(i).getList(1);
                assertEquals(width, g.size(), "row " + i);
                for (int j = 0; j < width; j++) assertEquals(expected.getDouble(i * width + j), ((Number) g.get(j)).doubleValue(), 0.0, "row " + i);
            }
        }
    }

    /**
     * Gradient statistics on the cluster (inputs and output on HDFS, the per-example norms as Parquet)
     * against local[2] with local files (.npy parts): grads.npz, grad_sum_squares.npz and ggn_diagonal.npz
     * byte-identical, the summary's noise scale and quantiles equal, the Parquet rows the .npy parts' values.
     */
    @Test
    void gradientStatisticsOnTheClusterAreTheBytesOfLocal2() throws IOException {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        Path data = Files.createDirectories(dir.resolve("stats-data"));
        int n = 12_000;
        org.gradspark.job.io.Npy.write(data.resolve("x.npy"), org.gradspark.ad.Tensor.uniform(15, -1, 1, org.gradspark.ad.DType.FLOAT64, n, 8));
        org.gradspark.job.io.Npy.write(data.resolve("y.npy"), org.gradspark.ad.Tensor.uniform(16, -1, 1, org.gradspark.ad.DType.FLOAT64, n, 3));
        List<String> common = List.of("--layers", "8,16,3", "--dtype", "float64", "--loss", "mse", "--partitions", "3", "--chunk-rows", "1024",
                "--backend", "cpu", "--per-example", "grad-norm-per-key", "--grad-stats", "sum-of-squares,ggn-diagonal");
        List<String> onCluster = new ArrayList<>(common);
        onCluster.addAll(List.of("--input", toHdfs(data.resolve("x.npy"), "/stats/x.npy"), "--labels", toHdfs(data.resolve("y.npy"), "/stats/y.npy"),
                "--input-grads-format", "parquet", "--out", cluster.hdfsUrl() + "/stats/out"));
        LocalCluster.succeeded(LocalCluster.await(cluster.submit(dir.resolve("stats"), onCluster.toArray(new String[0])), dir.resolve("stats"), JOB_TIMEOUT));
        List<String> local = new ArrayList<>(common);
        Path localOut = dir.resolve("stats-local").resolve("out");
        local.addAll(List.of("--input", data.resolve("x.npy").toString(), "--labels", data.resolve("y.npy").toString(), "--out", localOut.toString()));
        LocalCluster.succeeded(LocalCluster.run(JOB_TIMEOUT, Map.of(), dir.resolve("stats-local"),
                LocalCluster.submitCommand("local[2]", List.of(), local.toArray(new String[0]))));
        log("gradient statistics on the cluster and on local[2]: %.1f s", LocalCluster.seconds(t0));

        for (String f : List.of("grads.npz", "grad_sum_squares.npz", "ggn_diagonal.npz")) {
            assertArrayEquals(Files.readAllBytes(localOut.resolve(f)), fromHdfs("/stats/out/" + f), f + ": the cluster vs local[2]");
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.JsonNode onHdfs = json.readTree(fromHdfs("/stats/out/summary.json"));
        com.fasterxml.jackson.databind.JsonNode onLocal = json.readTree(localOut.resolve("summary.json").toFile());
        for (String k : List.of("gradient_noise_scale", "gradient_noise_scale_terms", "per_example_grad_norm", "grad_norms_columns")) {
            assertTrue(onLocal.has(k), "local[2]'s summary has no " + k);
            assertEquals(onLocal.get(k), onHdfs.get(k), k);
        }

        assertParquetRowsAre("/stats/out/grad_norms", dir.resolve("stats-parquet"), Outputs.concatenated(localOut, "grad_norms"), n);
    }

    /**
     * The first example of the cluster-storage issue: --input is a path on the driver's disk that the
     * isolated executors cannot see. One line, naming the path and the executor's host; no trace.
     */
    @Test
    void aPathOnlyTheDriverCanReadFailsWithOneLine() throws IOException {
        LocalCluster.assumeWanted();
        org.junit.jupiter.api.Assumptions.assumeTrue(isolated, "the workers are not isolated here (no mount namespaces)");
        Path x = dir.resolve("driver-only").resolve("x.npy");
        Files.createDirectories(x.getParent());
        org.gradspark.job.io.Npy.write(x, org.gradspark.ad.Tensor.uniform(5, -1, 1, org.gradspark.ad.DType.FLOAT32, 1000, 8));
        LocalCluster.Run r = LocalCluster.await(cluster.submit(dir.resolve("driver-only-run"), "--input", x.toString(), "--layers", "8,16,1",
                "--wrt", "all", "--partitions", "2", "--out", cluster.hdfsUrl() + "/driver-only/out"), dir.resolve("driver-only-run"), JOB_TIMEOUT);
        assertEquals(2, r.exitCode(), r.stderr());
        List<String> ours = r.stderr().lines().filter(l -> l.startsWith("gradspark:")).toList();
        assertEquals(1, ours.size(), r.stderr());
        String line = ours.get(0);
        assertTrue(line.contains(x.toString()) && line.contains("host 127.0.0.1") && line.contains("executor ")
                && line.contains("executors need a filesystem they all reach"), line);
        assertFalse(r.stderr().contains("\tat "), "a stack trace on the console:\n" + r.stderr());
        assertFalse(hdfs.exists(new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + "/driver-only/out")), "--out was written");
    }

    /**
     * Issue 26 for real: a driver of 768 MiB cannot hold the summed shards of a 20 M-parameter gradient
     * beside the 200 MB its Cell holds ({@link WideLayerCell}: the driver-memory check counts its parameters,
     * 0.58 GiB, not the rest, and lets it start), and runs out of memory in Spark's task-result-getter thread
     * as it reads them. It used to hang there for ever; now
     * one line naming the thread, exit code 2, well within the bound, and nothing of --out on the HDFS:
     * no _SUCCESS, no temporary beside it.
     */
    @Test
    void aDriverOutOfMemoryReadingTheResultsEndsTheRunWithOneLine() throws IOException {
        LocalCluster.assumeWanted();
        Path jar = dir.resolve("wide-layer-cell.jar");
        Path classes = Path.of(WideLayerCell.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new java.util.jar.JarEntry("org/gradspark/job/WideLayerCell.class"));
            out.write(Files.readAllBytes(classes.resolve("org/gradspark/job/WideLayerCell.class")));
            out.closeEntry();
        }
        long t0 = System.nanoTime();
        Path logs = dir.resolve("driver-oom-run");
        LocalCluster.Run r = LocalCluster.await(cluster.submit(logs, List.of("--driver-memory", "768m", "--executor-memory", "1g", "--total-executor-cores", "1", "--jars", jar.toString()),
                "--model-class", WideLayerCell.class.getName(), "--layers", WideLayerCell.IN + "," + WideLayerCell.OUT, "--synthetic", "4",
                "--dtype", "float32", "--partitions", "2", "--out", cluster.hdfsUrl() + "/driver-oom/out"), logs, Duration.ofMinutes(3));
        log("driver out of memory run: %.1f s, exit %d", LocalCluster.seconds(t0), r.exitCode());
        assertEquals(2, r.exitCode(), r.stderr());
        List<String> ours = r.stderr().lines().filter(l -> l.contains("gradspark")).toList();
        assertEquals(1, ours.size(), r.stderr());
        String line = ours.get(0);
        assertTrue(line.startsWith("gradspark: out of memory in the driver (heap ") && line.endsWith(": raise --driver-memory"), line);
        assertTrue(line.contains(" in Spark's thread task-result-getter-"), line);
        assertFalse(r.stderr().contains("\tat "), "a stack trace on the console:\n" + r.stderr());
        org.apache.hadoop.fs.Path parent = new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + "/driver-oom");
        List<String> left = new ArrayList<>();
        if (hdfs.exists(parent)) for (org.apache.hadoop.fs.FileStatus f : hdfs.listStatus(parent)) left.add(f.getPath().getName());
        assertEquals(List.of(), left, "what the failed run left beside --out");
    }

    private static void log(String format, Object... args) {
        System.out.printf("StandaloneClusterTest: " + format + "%n", args);
    }
}
