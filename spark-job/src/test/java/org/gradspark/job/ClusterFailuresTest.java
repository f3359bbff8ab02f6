package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.cli.FitMain;
import org.gradspark.job.cli.GradSparkMain;
import org.gradspark.job.io.MiniHdfs;
import org.gradspark.job.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures on a cluster that are not the user's input, each through the command line's entry
 * ({@link GradSparkMain#run}, {@link FitMain#run}) with the driver in this JVM, a standalone cluster
 * of one 1-core worker ({@link LocalCluster}) and an HDFS ({@link MiniHdfs}) that the tests can
 * break mid-job from a listener on the driver ({@link Sabotage}): exit code 2 and one line that
 * names the file and the cause (a quota, a NameNode that does not answer, a temporary output or
 * an input removed by someone else, an application Spark stopped itself), not the master. A master
 * that does not answer gets the line that asks about the master: SubmittedFailuresTest's
 * aMasterThatDoesNotAnswer, through gradspark-submit (Spark waits 60 s for such a master; once is enough).
 */
class ClusterFailuresTest {
    private static final String[] SYSTEM_PROPERTIES = {"spark.master", "spark.ui.enabled", "spark.jars", "spark.driver.host",
        "spark.extraListeners", "spark.hadoop.ipc.client.connect.max.retries"};
    private static final Map<String, String> saved = new LinkedHashMap<>();
    /** What Hadoop's client says, in Storage's words, when the NameNode is down (refused) or went away mid-call. */
    private static final List<String> NAMENODE_DOWN = List.of("the filesystem does not answer", "the filesystem stopped answering mid-call");

    @TempDir
    static Path dir;
    static LocalCluster cluster;
    static MiniHdfs hdfs;

    @BeforeAll
    static void start() {
        if (LocalCluster.skipped()) return;   // each test reports itself skipped
        for (String p : SYSTEM_PROPERTIES) saved.put(p, System.getProperty(p));
        long t0 = System.nanoTime();
        cluster = LocalCluster.start(dir.resolve("cluster"), 1);
        hdfs = MiniHdfs.start(dir.resolve("hdfs"));
        System.out.printf("ClusterFailuresTest: cluster and HDFS up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        // What gradspark-submit --master spark://... would give the driver: the application jar for the executors.
        System.setProperty("spark.master", cluster.masterUrl);
        System.setProperty("spark.jars", LocalCluster.HOME.resolve("spark-job/target/gradspark-app.jar").toString());
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.extraListeners", Sabotage.class.getName());
        // Hadoop's client retries a refused connection 10 times a second apart: once is enough to know the NameNode is down.
        System.setProperty("spark.hadoop.ipc.client.connect.max.retries", "0");
    }

    @AfterAll
    static void stop() {
        saved.forEach((p, value) -> {
            if (value == null) System.clearProperty(p);
            else System.setProperty(p, value);
        });
        if (hdfs != null) hdfs.close();
        if (cluster != null) cluster.close();
    }

    /** An HDFS space quota smaller than a block under --out: the first file written there is refused. */
    @Test
    void aQuotaExceededUnderTheOutput() throws IOException {
        LocalCluster.assumeWanted();
        hdfs.fileSystem().mkdirs(new org.apache.hadoop.fs.Path(hdfs.uriOf("/quota")));
        hdfs.setSpaceQuota("/quota", 1024);
        // The driver's grads.npz; the executors' input-derivative parts; fit's first checkpoint.
        assertOneLine(grad("--layers", "4,2,1", "--synthetic", "64", "--out", hdfs.uriOf("/quota/weights")),
                hdfs.uriOf("/quota/.weights.gradspark-tmp-"), "/grads.npz: over its quota (The DiskSpace quota of /quota is exceeded");
        assertOneLine(grad("--layers", "4,2,1", "--synthetic", "64", "--wrt", "all", "--partitions", "2", "--out", hdfs.uriOf("/quota/all")),
                hdfs.uriOf("/quota/.all.gradspark-tmp-"), "/input_grads/", "over its quota (The DiskSpace quota of /quota is exceeded");
        assertEquals(List.of(), hdfsNames("/quota"), "left under /quota");
        assertOneLine(fit("--layers", "4,2,1", "--synthetic", "64", "--iterations", "2", "--checkpoint-every", "1", "--out", hdfs.uriOf("/quota/fit")),
                // fit's first write under the quota is its lock beside --out (HDFS reserves a whole block for any file).
                "--out " + hdfs.uriOf("/quota/fit") + ": over its quota (The DiskSpace quota of /quota is exceeded");
    }

    /** The NameNode stops as the first task starts: the executors' reads of a .npy and Spark's of a CSV fail. */
    @Test
    void theNameNodeStoppedDuringTheReads() throws IOException {
        LocalCluster.assumeWanted();
        Npy.write(dir.resolve("x.npy"), Tensor.uniform(1, -1, 1, DType.FLOAT32, 40_000, 8));
        String npy = hdfs.put(dir.resolve("x.npy"), "/in/x.npy");
        StringBuilder csvText = new StringBuilder("a,b,c,d\n");
        for (int i = 0; i < 20_000; i++) csvText.append(i % 7).append(",0.5,").append(i % 3).append(",1\n");
        String csv = hdfs.put(Files.writeString(dir.resolve("x.csv"), csvText), "/in/x.csv");
        try {
            Sabotage.atTaskStart = hdfs::stopNameNode;
            assertNameNodeDown(grad("--layers", "8,64,1", "--input", npy, "--partitions", "4", "--out", dir.resolve("npy-out").toString()), npy);
        } finally {
            hdfs.restartNameNode();
        }
        try {
            Sabotage.atTaskStart = hdfs::stopNameNode;
            assertNameNodeDown(grad("--layers", "4,8,1", "--input", csv, "--partitions", "4", "--out", dir.resolve("csv-out").toString()), csv);
        } finally {
            hdfs.restartNameNode();
        }
        assertFalse(Files.exists(dir.resolve("npy-out")) || Files.exists(dir.resolve("csv-out")), "--out was written");
    }

    /**
     * The NameNode stops as the first job starts, with synthetic rows (no task touches HDFS): the
     * driver's next call is the write of grads.npz (grad) or of the first checkpoint (fit).
     */
    @Test
    void theNameNodeStoppedBeforeTheWrites() {
        LocalCluster.assumeWanted();
        try {
            Sabotage.atJobStart = hdfs::stopNameNode;
            assertNameNodeDown(grad("--layers", "4,2,1", "--synthetic", "64", "--out", hdfs.uriOf("/stopped/out")),
                    "cannot write " + hdfs.uriOf("/stopped/.out.gradspark-tmp-"), "/grads.npz: ");
        } finally {
            hdfs.restartNameNode();
        }
        try {
            Sabotage.atJobStart = hdfs::stopNameNode;
            assertNameNodeDown(fit("--layers", "4,2,1", "--synthetic", "64", "--iterations", "2", "--checkpoint-every", "1", "--out", hdfs.uriOf("/stopped/fit")),
                    "cannot write the checkpoint " + hdfs.uriOf("/stopped/fit/checkpoints/iter-000001"));
        } finally {
            hdfs.restartNameNode();
        }
    }

    /**
     * Someone removes the job's temporary output, then in another run the --input file, as the first
     * task starts: said so, not blamed on the executors' filesystem ("cannot see the driver's
     * temporary output", "the driver read it, but executor 0 finds no such file").
     */
    @Test
    void aFileRemovedMidJob() throws IOException {
        LocalCluster.assumeWanted();
        hdfs.fileSystem().mkdirs(new org.apache.hadoop.fs.Path(hdfs.uriOf("/removed")));
        Sabotage.atTaskStart = () -> {
            for (FileStatus s : hdfsStatuses("/removed")) {
                if (s.getPath().getName().startsWith(".out.gradspark-tmp-")) delete(s.getPath());
            }
        };
        Run r = grad("--layers", "8,64,1", "--synthetic", "40000", "--wrt", "all", "--partitions", "4", "--out", hdfs.uriOf("/removed/out"));
        assertOneLine(r, "--out " + hdfs.uriOf("/removed/out") + ": the job's temporary output " + hdfs.uriOf("/removed/.out.gradspark-tmp-"),
                " was removed while the job ran (by another program or user); nothing was written to --out");
        assertEquals(List.of(), hdfsNames("/removed"), "left beside --out");

        Npy.write(dir.resolve("gone.npy"), Tensor.uniform(2, -1, 1, DType.FLOAT32, 40_000, 8));
        String x = hdfs.put(dir.resolve("gone.npy"), "/removed-input/x.npy");
        Sabotage.atTaskStart = () -> delete(new org.apache.hadoop.fs.Path(x));
        r = grad("--layers", "8,64,1", "--input", x, "--partitions", "4", "--out", hdfs.uriOf("/removed-input/out"));
        assertOneLine(r, "--input " + x + " was removed while the job ran (by another program or user); nothing was written to --out");
        assertEquals(List.of(), hdfsNames("/removed-input"), "left beside --out");
    }

    /**
     * Spark stops the application itself as the first task starts, from another thread, as it does
     * when the master removes the application (killed, or its executors failing): said so, not
     * blamed on the storage (the stop deletes the driver's block directories under a running
     * broadcast) nor on --master's URL (an executor had joined).
     */
    @Test
    void anApplicationSparkStopsMidJob() {
        LocalCluster.assumeWanted();
        // Not from a thread the listener starts: Spark refuses a stop from its listener thread, and threads it starts inherit that.
        java.util.concurrent.CountDownLatch firstTask = new java.util.concurrent.CountDownLatch(1);
        Thread stopper = new Thread(() -> {
            try {
                if (firstTask.await(5, java.util.concurrent.TimeUnit.MINUTES)) org.apache.spark.SparkContext.getOrCreate().stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "stops-the-application");
        stopper.setDaemon(true);
        stopper.start();
        Sabotage.atTaskStart = firstTask::countDown;
        // Tasks of seconds each, so that the stop comes while the job runs.
        Run r = grad("--layers", "8,128,128,1", "--synthetic", "400000", "--partitions", "4", "--out", hdfs.uriOf("/stopped-app/out"));
        assertOneLine(r, "gradspark: Spark stopped the application while the job ran (", "): see the driver's log and the cluster manager's");
    }

    // ---- running the CLI and sabotaging HDFS ----

    /**
     * Runs an action once, on the driver, at the first job start or task start it sees (set before
     * the run; Spark creates one per application from spark.extraListeners).
     */
    public static final class Sabotage extends SparkListener {
        static volatile Runnable atJobStart, atTaskStart;

        @Override public void onJobStart(SparkListenerJobStart e) {
            Runnable r = atJobStart;
            atJobStart = null;
            if (r != null) r.run();
        }

        @Override public void onTaskStart(SparkListenerTaskStart e) {
            Runnable r = atTaskStart;
            atTaskStart = null;
            if (r != null) r.run();
        }
    }

    record Run(int code, String out, String err) {}

    private static Run grad(String... jobOptions) {
        List<String> args = new ArrayList<>(List.of("grad", "--backend", "cpu"));
        args.addAll(Arrays.asList(jobOptions));
        return cli(args, false);
    }

    private static Run fit(String... options) {
        List<String> args = new ArrayList<>(List.of("--backend", "cpu"));
        args.addAll(Arrays.asList(options));
        return cli(args, true);
    }

    private static Run cli(List<String> args, boolean fit) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8), e = new PrintStream(err, true, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        String[] a = args.toArray(new String[0]);
        int code = fit ? FitMain.run(a, o, e) : GradSparkMain.run(a, o, e);
        Sabotage.atJobStart = null;
        Sabotage.atTaskStart = null;
        Run r = new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        System.out.printf("ClusterFailuresTest: %s %s (%.1f s): exit %d: %s", fit ? "fit" : "", String.join(" ", args), (System.nanoTime() - t0) / 1e9,
                code, r.err());
        return r;
    }

    /** Exit code 2 and one line on stderr naming every part, not the master (but for the master's own case). */
    private static void assertOneLine(Run r, String... named) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        String err = r.err();
        assertTrue(err.startsWith("gradspark: ") && err.endsWith(System.lineSeparator()), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        for (String part : named) assertTrue(err.contains(part), "'" + part + "' in: " + err);
        assertFalse(err.contains("did --master"), err);
    }

    /** {@link #assertOneLine}, with a NameNode that is down as the cause. */
    private static void assertNameNodeDown(Run r, String... named) {
        assertOneLine(r, named);
        assertTrue(NAMENODE_DOWN.stream().anyMatch(r.err()::contains), "the cause, a NameNode that is down, in: " + r.err());
    }

    private static List<FileStatus> hdfsStatuses(String path) {
        try {
            return Arrays.asList(hdfs.fileSystem().listStatus(new org.apache.hadoop.fs.Path(hdfs.uriOf(path))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> hdfsNames(String path) {
        return hdfsStatuses(path).stream().map(s -> s.getPath().getName()).toList();
    }

    private static void delete(org.apache.hadoop.fs.Path p) {
        try {
            hdfs.fileSystem().delete(p, true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
