package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * YARN, as users submit to it: {@code submit-scripts/local-cluster start 2 --yarn --hdfs} (a MiniYARNCluster of two
 * NodeManagers and an HDFS, on this machine), {@code YARN_CONF_DIR} its yarn-conf/, and every job through
 * {@code gradspark-submit --master yarn} with its files on {@code hdfs://}:
 * <ul>
 *   <li>{@code grad} (weights and input derivatives) in client deploy mode, an executor's container killed
 *       (SIGKILL) while it runs a task, and in cluster deploy mode: grads.npz and every input-derivative part
 *       byte-identical to {@code local[2]} with local files; in cluster mode the console shows the application's id,
 *       its tracking URL and the driver's summary line;</li>
 *   <li>{@code fit} (L-BFGS, 20 iterations) the same way, weights.npz byte-identical to local[2];</li>
 *   <li>a bad input in cluster deploy mode: exit status 2 and the driver's one line, no stack trace.</li>
 * </ul>
 * Skipped only when GRADSPARK_SKIP_CLUSTER_TESTS=1.
 */
class YarnClusterTest {
    static final Duration TIMEOUT = Duration.ofMinutes(5);
    /** Six tasks of 40000 rows on (at first) two 1-core executors: each task seconds long, so a kill lands mid-job. */
    static final List<String> GRAD = List.of("--layers", "8,64,64,3", "--activation", "tanh", "--dtype", "float64", "--wrt", "all",
            "--partitions", "6", "--chunk-rows", "4096", "--backend", "cpu");
    static final List<String> FIT = List.of("--layers", "8,32,1", "--activation", "tanh", "--loss", "mse", "--partitions", "4",
            "--chunk-rows", "2000", "--backend", "cpu", "--optimizer", "lbfgs", "--iterations", "20", "--checkpoint-every", "5");

    @TempDir
    static Path dir;
    static LocalCluster cluster;
    static FileSystem hdfs;
    /** The grad job's and the fit job's files: local paths and their copies' hdfs:// URIs. */
    static List<String> gradLocal, gradHdfs, fitLocal, fitHdfs;

    @BeforeAll
    static void startCluster() throws IOException {
        if (LocalCluster.skipped()) return;  // the tests report themselves skipped
        long t0 = System.nanoTime();
        cluster = LocalCluster.start(dir.resolve("cluster"), 2, "--yarn", "--hdfs");
        hdfs = FileSystem.newInstance(URI.create(cluster.hdfsUrl()), new Configuration());
        log("YARN and HDFS started in %.1f s (HDFS %s)", LocalCluster.seconds(t0), cluster.hdfsUrl());
        Path data = Files.createDirectories(dir.resolve("data"));
        Npy.write(data.resolve("x.npy"), Tensor.uniform(5, -1, 1, DType.FLOAT64, 240_000, 8));
        Npy.write(data.resolve("s.npy"), Tensor.uniform(6, -1, 1, DType.FLOAT64, 240_000, 3));
        Npz.write(data.resolve("w.npz"), JobModel.initialWeights(new int[] {8, 64, 64, 3}, DType.FLOAT64, 9));
        Tensor fx = Tensor.uniform(11, -1, 1, DType.FLOAT32, 20_000, 8);
        Npy.write(data.resolve("fx.npy"), fx);
        Npy.write(data.resolve("fy.npy"), Ops.tanh(Ops.matMul(fx, Tensor.uniform(12, -1, 1, DType.FLOAT32, 8, 1))));
        gradLocal = List.of("--input", data.resolve("x.npy").toString(), "--weights", data.resolve("w.npz").toString(), "--sens", data.resolve("s.npy").toString());
        gradHdfs = List.of("--input", toHdfs(data.resolve("x.npy")), "--weights", toHdfs(data.resolve("w.npz")), "--sens", toHdfs(data.resolve("s.npy")));
        fitLocal = List.of("--input", data.resolve("fx.npy").toString(), "--labels", data.resolve("fy.npy").toString());
        fitHdfs = List.of("--input", toHdfs(data.resolve("fx.npy")), "--labels", toHdfs(data.resolve("fy.npy")));
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (hdfs != null) hdfs.close();
        if (cluster != null) cluster.close();
    }

    @Test
    void gradInClientModeWithAKilledExecutorAndInClusterModeGivesTheBytesOfLocal2() throws IOException {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        Path localOut = dir.resolve("grad-local").resolve("out");
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("grad-local"), command("local[2]", null, "grad", GRAD, gradLocal, localOut.toString())));
        log("grad on local[2]: %.1f s", LocalCluster.seconds(t0));

        t0 = System.nanoTime();
        LocalCluster.Run killed = runKillingAnExecutor("grad-client", command("yarn", "client", "grad", GRAD, gradHdfs, cluster.hdfsUrl() + "/grad-client"));
        log("grad on YARN, client mode, an executor killed: %.1f s", LocalCluster.seconds(t0));
        LocalCluster.succeeded(killed);
        assertSameGrads(localOut, "/grad-client");

        t0 = System.nanoTime();
        LocalCluster.Run clusterMode = onCluster("grad-cluster", command("yarn", "cluster", "grad", GRAD, gradHdfs, cluster.hdfsUrl() + "/grad-cluster"));
        log("grad on YARN, cluster mode: %.1f s", LocalCluster.seconds(t0));
        LocalCluster.succeeded(clusterMode);
        assertClusterConsole(clusterMode, "GradSpark grad: 240000 rows in 6 partitions on yarn");
        assertSameGrads(localOut, "/grad-cluster");
    }

    @Test
    void fitInClientModeWithAKilledExecutorAndInClusterModeGivesTheWeightsOfLocal2() throws IOException {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        Path localOut = dir.resolve("fit-local").resolve("out");
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("fit-local"), command("local[2]", null, "fit", FIT, fitLocal, localOut.toString())));
        byte[] local = Files.readAllBytes(localOut.resolve("weights.npz"));
        log("fit on local[2]: %.1f s", LocalCluster.seconds(t0));

        t0 = System.nanoTime();
        LocalCluster.Run killed = runKillingAnExecutor("fit-client", command("yarn", "client", "fit", FIT, fitHdfs, cluster.hdfsUrl() + "/fit-client"));
        log("fit on YARN, client mode, an executor killed: %.1f s", LocalCluster.seconds(t0));
        LocalCluster.succeeded(killed);
        assertTrue(killed.stdout().contains("fit lbfgs: iteration 20 "), killed.stdout());
        assertArrayEquals(local, fromHdfs("/fit-client/weights.npz"), "weights.npz: YARN client mode, an executor killed, vs local[2]");

        t0 = System.nanoTime();
        LocalCluster.Run clusterMode = onCluster("fit-cluster", command("yarn", "cluster", "fit", FIT, fitHdfs, cluster.hdfsUrl() + "/fit-cluster"));
        log("fit on YARN, cluster mode: %.1f s", LocalCluster.seconds(t0));
        LocalCluster.succeeded(clusterMode);
        assertClusterConsole(clusterMode, "GradSpark fit lbfgs: max iterations reached after 20 iterations");
        assertTrue(clusterMode.stdout().contains("fit lbfgs: iteration 20 "), clusterMode.stdout());
        assertArrayEquals(local, fromHdfs("/fit-cluster/weights.npz"), "weights.npz: YARN cluster mode vs local[2]");
    }

    /** A missing --input in cluster deploy mode: the driver's one line on the console, exit status 2, no stack trace. */
    @Test
    void badInputInClusterModeExits2WithTheDriversOneLine() {
        LocalCluster.assumeWanted();
        long t0 = System.nanoTime();
        String missing = cluster.hdfsUrl() + "/no/such.npy";
        LocalCluster.Run r = onCluster("bad-cluster", command("yarn", "cluster", "grad", List.of("--layers", "8,4,1"), List.of("--input", missing), cluster.hdfsUrl() + "/bad-cluster"));
        log("bad input on YARN, cluster mode: %.1f s", LocalCluster.seconds(t0));
        assertEquals(2, r.exitCode(), () -> "stdout:\n" + r.stdout() + "\nstderr:\n" + r.stderr());
        assertEquals(List.of("gradspark: --input " + missing + ": no such file"), r.stderr().lines().toList(), r.stderr());
        List<String> out = r.stdout().lines().toList();
        assertEquals(1, out.size(), r.stdout());
        assertTrue(out.get(0).matches("GradSpark YARN application application_\\d+_\\d+ \\(cluster deploy mode\\), tracking URL http://[^ ]+:[1-9]\\d*/proxy/application_\\d+_\\d+/"),
                out.get(0));
    }

    /**
     * A user's Cell in a jar of its own ({@code --jars}, {@code --model-class}) and the defaults file, in cluster deploy mode: the
     * driver in its container loads the class from the shipped jar; grads.npz is that of the same Cell on local[2].
     */
    @Test
    void modelClassFromJarsInClusterModeGivesTheBytesOfLocal2() throws IOException {
        LocalCluster.assumeWanted();
        Path jar = dir.resolve("user-model.jar");
        String entry = org.gradspark.job.yarn.UserPoisson.class.getName().replace('.', '/') + ".class";
        try (java.util.jar.JarOutputStream j = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
                java.io.InputStream c = getClass().getClassLoader().getResourceAsStream(entry)) {
            j.putNextEntry(new java.util.jar.JarEntry(entry));
            c.transferTo(j);
        }
        List<String> job = List.of("--synthetic", "4000", "--layers", "2,1", "--partitions", "2", "--backend", "cpu");
        long t0 = System.nanoTime();
        Path localOut = dir.resolve("model-local").resolve("out");
        List<String> local = new ArrayList<>(job);
        local.addAll(List.of("--model-class", "org.gradspark.ad.examples.PoissonSolution"));
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("model-local"), command("local[2]", null, "grad", local, List.of(), localOut.toString())));
        List<String> user = new ArrayList<>(job);
        user.addAll(List.of("--model-class", org.gradspark.job.yarn.UserPoisson.class.getName()));
        String[] cmd = command("yarn", "cluster", "grad", user, List.of(), cluster.hdfsUrl() + "/model-cluster");
        List<String> withJar = new ArrayList<>(Arrays.asList(cmd));
        withJar.addAll(withJar.indexOf("grad"), List.of("--jars", jar.toString()));
        LocalCluster.Run r = onCluster("model-cluster", withJar.toArray(new String[0]));
        log("--model-class from --jars on local[2] and on YARN, cluster mode: %.1f s", LocalCluster.seconds(t0));
        LocalCluster.succeeded(r);
        assertClusterConsole(r, "GradSpark grad: 4000 rows in 2 partitions on yarn");
        assertArrayEquals(Files.readAllBytes(localOut.resolve("grads.npz")), fromHdfs("/model-cluster/grads.npz"), "grads.npz of the user's Cell");
    }

    /** The console of a cluster-mode run: the application's id and tracking URL first, then the driver's lines as client mode prints them. */
    private static void assertClusterConsole(LocalCluster.Run r, String summaryStart) {
        List<String> out = r.stdout().lines().toList();
        assertTrue(out.get(0).matches("GradSpark YARN application application_\\d+_\\d+ \\(cluster deploy mode\\), tracking URL http://[^ ]+:[1-9]\\d*/proxy/application_\\d+_\\d+/"),
                r.stdout());
        assertTrue(out.stream().anyMatch(l -> l.startsWith(summaryStart)), r.stdout());
        assertFalse(r.stderr().contains("Exception") || r.stderr().contains("\tat "), r.stderr());
    }

    /** Runs {@code command} with the cluster's environment (YARN_CONF_DIR) to its end, its output in {@code name}. */
    private static LocalCluster.Run onCluster(String name, String[] command) {
        return LocalCluster.await(cluster.launch(dir.resolve(name), command), dir.resolve(name), TIMEOUT);
    }

    /** Runs {@code command}, SIGKILLs an executor container of its application once one runs a task, and waits for the end. */
    private static LocalCluster.Run runKillingAnExecutor(String name, String[] command) {
        Set<Long> earlier = new HashSet<>();
        cluster.yarnExecutors().forEach(e -> earlier.add(e.process().pid()));
        Path logs = dir.resolve(name);
        Process job = cluster.launch(logs, command);
        LocalCluster.Executor victim = anExecutorRunningATask(job, earlier);
        victim.process().destroyForcibly();
        assertTrue(victim.process().onExit().completeOnTimeout(null, 30, TimeUnit.SECONDS).join() != null, "executor did not die");
        assertTrue(job.isAlive(), "the job ended before the kill");
        log("%s: killed executor container %s (pid %d)", name, victim.workDir().getFileName(), victim.process().pid());
        LocalCluster.Run r = LocalCluster.await(job, logs, TIMEOUT);
        String driverLog = r.stderr() + LocalCluster.driverLog(logs);
        assertTrue(driverLog.contains("ExecutorLostFailure") || driverLog.contains("Lost executor") || driverLog.contains("exited"),
                "the driver never noticed the lost executor; driver log:\n" + driverLog);
        return r;
    }

    private static LocalCluster.Executor anExecutorRunningATask(Process job, Set<Long> earlier) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue(job.isAlive(), "the job ended before any executor ran a task");
            for (LocalCluster.Executor e : cluster.yarnExecutors()) {
                if (!earlier.contains(e.process().pid()) && e.runsATask()) return e;
            }
            LocalCluster.sleep(200);
        }
        return fail("no executor ran a task within " + TIMEOUT);
    }

    /** grads.npz and every input-derivative part on HDFS are the local run's bytes. */
    private static void assertSameGrads(Path localOut, String hdfsOut) throws IOException {
        assertArrayEquals(Files.readAllBytes(localOut.resolve("grads.npz")), fromHdfs(hdfsOut + "/grads.npz"), "grads.npz: " + hdfsOut + " vs local[2]");
        List<Path> parts = Outputs.inputGradParts(localOut);
        assertEquals(6, parts.size());
        for (Path part : parts) {
            assertArrayEquals(Files.readAllBytes(part), fromHdfs(hdfsOut + "/input_grads/" + part.getFileName()), hdfsOut + " " + part.getFileName());
        }
    }

    /** gradspark-submit --master MASTER [--deploy-mode MODE] (no web UI) COMMAND OPTIONS FILES --out OUT. */
    private static String[] command(String master, String deployMode, String command, List<String> options, List<String> files, String out) {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.script("gradspark-submit"), "--master", master, "--conf", "spark.ui.enabled=false"));
        if (deployMode != null) cmd.addAll(List.of("--deploy-mode", deployMode));
        cmd.add(command);
        cmd.addAll(options);
        cmd.addAll(files);
        cmd.addAll(List.of("--out", out));
        return cmd.toArray(new String[0]);
    }

    private static String toHdfs(Path local) throws IOException {
        String uri = cluster.hdfsUrl() + "/in/" + local.getFileName();
        hdfs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(uri));
        return uri;
    }

    private static byte[] fromHdfs(String path) {
        try (java.io.InputStream in = hdfs.open(new org.apache.hadoop.fs.Path(cluster.hdfsUrl() + path))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf("YarnClusterTest: " + format + "%n", args);
    }

}
