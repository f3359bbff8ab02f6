package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.Npy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mistakes and failures through the real {@code submit-scripts/gradspark-submit}, as a user meets
 * them: each exits with its code and one line on stderr that names the culprit (option, file, row,
 * device, master, disk), no Java stack trace on the console (it goes to the driver's log file), and
 * nothing left beside {@code --out}; not even the JVM's "Using incubator modules" line.
 */
class SubmittedFailuresTest {
    static final Duration TIMEOUT = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    /** {@link #aMasterThatDoesNotAnswer}'s run, started before every case: Spark's 60 s wait for the master is idle time. */
    private static Process unansweredMaster;
    private static Path unansweredDir;

    @BeforeAll
    static void startTheRunAgainstAMasterThatDoesNotAnswer() throws IOException {
        unansweredDir = Files.createTempDirectory("gradspark-unanswered-master-");
        unansweredMaster = LocalCluster.launch(Map.of(), unansweredDir.resolve("logs"), LocalCluster.submitCommand("spark://127.0.0.1:1", List.of(),
                "--synthetic", "100", "--out", unansweredDir.resolve("out").toString()));
    }

    @AfterAll
    static void removeTheRunAgainstAMasterThatDoesNotAnswer() throws IOException {
        if (unansweredMaster.isAlive()) LocalCluster.killTree(unansweredMaster);
        try (Stream<Path> all = Files.walk(unansweredDir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Runs gradspark-submit with spark-submit's and the job's options (local[2] unless --master is among them). */
    private LocalCluster.Run submit(Map<String, String> env, List<String> sparkOptions, String... job) {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.script("gradspark-submit")));
        if (!sparkOptions.contains("--master")) cmd.addAll(List.of("--master", "local[2]"));
        cmd.addAll(List.of("--conf", "spark.ui.enabled=false"));
        cmd.addAll(sparkOptions);
        cmd.add("grad");
        cmd.addAll(Arrays.asList(job));
        return LocalCluster.run(TIMEOUT, env, dir.resolve("run-" + System.nanoTime()), cmd.toArray(new String[0]));
    }

    /**
     * Exit code; one error line, the last on stderr, starting "gradspark" at the start of its line (no
     * remnant of Spark's progress bar before it) and naming every part (before it only GradSpark's own
     * progress lines and, with an OpenCL backend, Aparapi's start-up warning);
     * no trace, no incubator-module warning, no temporary left.
     */
    static void assertFailure(LocalCluster.Run r, int code, Path dir, String... named) {
        assertEquals(code, r.exitCode(), r.stderr());
        List<String> errors = r.stderr().lines()
                .filter(l -> l.contains("gradspark: ") || l.contains("gradspark-submit: ") || l.contains(" ERROR ") || l.contains("Exception")).toList();
        assertEquals(1, errors.size(), "one error line on stderr:\n" + r.stderr());
        String line = errors.get(0);
        assertTrue(line.startsWith("gradspark"), "the error line starts a line of its own:\n" + r.stderr());
        assertTrue(r.stderr().strip().endsWith(line), "the error line is the last:\n" + r.stderr());
        for (String part : named) assertTrue(line.contains(part), "'" + part + "' in: " + line);
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertFalse(r.stderr().contains("WARNING: Using incubator modules"), r.stderr());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".gradspark-tmp-")).toList(), "temporaries left");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void openclWithoutADevice() {
        LocalCluster.Run r = submit(Map.of("OCL_ICD_VENDORS", dir.resolve("no-vendors").toString(), "OCL_ICD_FILENAMES", ""), List.of(),
                "--backend", "opencl", "--synthetic", "100", "--out", dir.resolve("out").toString());
        assertFailure(r, 2, dir, "--backend opencl", "no OpenCL device");
    }

    /** spark-submit would print its whole usage text and exit 1; the script names the option it meant. */
    @Test
    void aMistypedSparkSubmitOption() {
        LocalCluster.Run r = submit(Map.of(), List.of("--mater", "local[2]"), "--synthetic", "100");
        assertFailure(r, 2, dir, "gradspark-submit: unknown spark-submit option --mater; did you mean --master?");
        assertEquals(1, r.stderr().strip().lines().count(), r.stderr());
        assertEquals("", r.stdout());
        r = submit(Map.of(), List.of("--backend", "cpu"), "--synthetic", "100");
        assertFailure(r, 2, dir, "unknown spark-submit option --backend", "after COMMAND");
    }

    /**
     * Aparapi's native "untested OpenCL platform" warning only when the backend is OpenCL's (not when
     * auto looks for a GPU and finds none), and the summary names the backend the log line described.
     */
    @Test
    void aQuietConsoleOnTheCpu() {
        for (String backend : List.of("cpu", "auto")) {
            LocalCluster.Run r = submit(Map.of(), List.of(), "--backend", backend, "--synthetic", "100", "--out", dir.resolve(backend).toString());
            assertEquals(0, r.exitCode(), r.stderr());
            String logged = r.stderr().lines().filter(l -> l.contains("GradSpark backend: ")).findFirst().orElseThrow();
            if (backend.equals("cpu") || logged.endsWith("(no OpenCL GPU found)")) {
                assertFalse(r.stderr().contains("untested OpenCL platform"), r.stderr());
            }
            assertTrue(r.stdout().contains("; backend " + backend + "; sum of outputs"), r.stdout());
        }
    }

    @Test
    void aMissingPropertiesFile() {
        LocalCluster.Run r = submit(Map.of(), List.of("--properties-file", dir.resolve("missing.conf").toString()), "--synthetic", "100");
        assertFailure(r, 2, dir, "--properties-file " + dir.resolve("missing.conf"), "no such file");
    }

    /**
     * A master whose client has nothing to go on (YARN without YARN_CONF_DIR or HADOOP_CONF_DIR) or that this Spark cannot
     * reach at all (Kubernetes from a SPARK_HOME without spark-kubernetes; the project's own has it) is one line and
     * status 2, not Spark's stack trace.
     */
    @Test
    void aYarnMasterWithoutItsConfigurationAndAKubernetesMasterWithoutItsClient() throws IOException {
        Map<String, String> noHadoopConf = new java.util.HashMap<>();
        noHadoopConf.put("YARN_CONF_DIR", "");
        noHadoopConf.put("HADOOP_CONF_DIR", "");
        assertFailure(submit(noHadoopConf, List.of("--master", "yarn"), "--synthetic", "100"), 2, dir, "--master yarn needs YARN_CONF_DIR or HADOOP_CONF_DIR");
        Path sparkHome = dir.resolve("spark-without-kubernetes");
        Files.createDirectories(sparkHome.resolve("jars"));
        Files.createDirectories(sparkHome.resolve("bin"));
        Files.writeString(sparkHome.resolve("bin/spark-submit"), "#!/bin/sh\nexit 99\n");
        sparkHome.resolve("bin/spark-submit").toFile().setExecutable(true);
        assertFailure(submit(Map.of("SPARK_HOME", sparkHome.toString()), List.of("--master", "k8s://https://127.0.0.1:6443", "--deploy-mode", "cluster"),
                "--synthetic", "100"), 2, dir, "--master k8s://https://127.0.0.1:6443: SPARK_HOME=" + sparkHome + " has no Kubernetes client");
    }

    /**
     * Spark gives an unreachable master 60 s (3 registration attempts of 20 s, fixed in Spark) before it gives up, so this
     * is the suite's one run that waits them out (ClusterFailuresTest's failures are those that must not blame the master):
     * the line asks whether the master accepted the application. The run starts before the other cases and waits beside them.
     */
    @Test
    void aMasterThatDoesNotAnswer() {
        LocalCluster.Run r = LocalCluster.await(unansweredMaster, unansweredDir.resolve("logs"), TIMEOUT);
        assertFailure(r, 2, unansweredDir, "--master spark://127.0.0.1:1");
        String line = r.stderr().strip().lines().reduce((first, last) -> last).orElseThrow();
        // Spark stops the application as the context starts, or as the job's first task waits for an executor: a race.
        assertTrue(line.startsWith("gradspark: Spark stopped the application as it started: ")
                || line.startsWith("gradspark: no executor ever joined the Spark application: "), line);
        assertTrue(line.endsWith("did --master spark://127.0.0.1:1 accept it (is the URL right, the master running, and a worker with enough"
                + " memory and cores registered)?"), line);
        assertFalse(Files.exists(unansweredDir.resolve("out")));
    }

    @Test
    void helpListsTheOptions() {
        LocalCluster.Run r = submit(Map.of(), List.of(), "--help");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().contains("--check-finite") && r.stdout().contains("--layers"), r.stdout());
    }

    @Test
    void contradictoryOptionsAndInputThatIsNotAFile() throws Exception {
        assertFailure(submit(Map.of(), List.of(), "--order", "3", "--synthetic", "100"), 2, dir, "--order 3", "--wrt inputs");
        Path fifo = dir.resolve("x.fifo");
        assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "no mkfifo");
        assertFailure(submit(Map.of(), List.of(), "--input", fifo.toString(), "--out", dir.resolve("out").toString()), 2, dir,
                "--input " + fifo, "not a regular file");
    }

    @Test
    void nanInTheSensitivities() {
        Path x = dir.resolve("x.npy"), s = dir.resolve("s.npy");
        Npy.write(x, Tensor.uniform(1, -1, 1, DType.FLOAT32, 64, 8));
        double[] sv = new double[64 * 3];
        sv[40 * 3 + 2] = Double.NaN;
        Npy.write(s, Tensor.wrap(sv, org.gradspark.ad.Shape.of(64, 3)));
        assertFailure(submit(Map.of(), List.of(), "--input", x.toString(), "--sens", s.toString(), "--out", dir.resolve("out").toString()), 2, dir,
                "--sens " + s + ", row 40: column 2 is NaN");
    }

    /**
     * A NaN in the last row of a task that runs for seconds: the error line is a line of its own, not
     * after Spark's progress bar (which GradSpark's console leaves off: its own lines are the progress);
     * and when a user turns the bar on, the bar is cleared before the error line.
     */
    @Test
    void aBadRowLateInALongTaskIsReportedOnALineOfItsOwn() {
        int n = 200_000;
        float[] rows = new float[n * 8];
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; i < rows.length; i++) rows[i] = random.nextFloat() * 2 - 1;
        rows[(n - 1) * 8 + 4] = Float.NaN;
        Path x = dir.resolve("late-nan.npy");
        Npy.write(x, Tensor.wrap(rows, org.gradspark.ad.Shape.of(n, 8)));
        String[] job = {"--input", x.toString(), "--layers", "8,256,256,3", "--partitions", "1", "--backend", "cpu", "--out", dir.resolve("out").toString()};
        LocalCluster.Run quiet = submit(Map.of(), List.of(), job);
        assertFailure(quiet, 2, dir, "--input " + x + ", row " + (n - 1) + ": column 4 is NaN");
        assertFalse(quiet.stderr().contains("[Stage "), quiet.stderr());
        assertFailure(submit(Map.of(), List.of("--conf", "spark.ui.showConsoleProgress=true"), job), 2, dir,
                "--input " + x + ", row " + (n - 1) + ": column 4 is NaN");
    }

    /** A class that is not a Cell, given with --jars: refused before any of its code runs. */
    @Test
    void aModelClassThatIsNotACellRunsNoCode() throws IOException {
        Path jar = dir.resolve("cells.jar");
        Path classes = Path.of(UserCells.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> all = Files.list(classes.resolve("org/gradspark/job"))) {
            for (Path c : all.filter(p -> p.getFileName().toString().startsWith("UserCells")).toList()) {
                out.putNextEntry(new JarEntry("org/gradspark/job/" + c.getFileName()));
                out.write(Files.readAllBytes(c));
                out.closeEntry();
            }
        }
        Path mark = dir.resolve("mark.txt");
        String notACell = UserCells.NotACell.class.getName();
        LocalCluster.Run r = submit(Map.of(), List.of("--jars", jar.toString(), "--driver-java-options", "-D" + UserCells.MARK + "=" + mark),
                "--model-class", notACell, "--synthetic", "100", "--out", dir.resolve("out").toString());
        assertFailure(r, 2, dir, "--model-class " + notACell, "not an org.gradspark.ad.Cell");
        assertFalse(Files.exists(mark), "the class's code ran");
    }

    /** A TERM (what Ctrl-C's SIGINT also does) mid-job: one line, no --out, no temporary left. */
    @Test
    void stoppedMidJob() throws Exception {
        Path out = dir.resolve("out"), logs = dir.resolve("stopped");
        Process p = LocalCluster.launch(Map.of(), logs, LocalCluster.submitCommand("local[2]", List.of(), "--layers", "8,256,256,3",
                "--synthetic", "3000000", "--wrt", "all", "--out", out.toString()));
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!temporaryExists() && System.nanoTime() < deadline) {
            assertTrue(p.isAlive(), "the job ended before it started writing");
            Thread.sleep(100);
        }
        Thread.sleep(2000);
        p.destroy();   // SIGTERM to the JVM (the script execs it)
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the job did not stop");
        LocalCluster.Run r = LocalCluster.await(p, logs, TIMEOUT);
        assertTrue(r.stderr().contains("gradspark: stopped before the end (interrupted, or a fatal error in a task such as running out of memory") && r.stderr().contains("nothing was written to --out"), r.stderr());
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertFalse(Files.exists(out));
        assertFalse(temporaryExists(), "the temporary was left");
    }

    private boolean temporaryExists() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith(".out.gradspark-tmp-"));
        }
    }

    /** A full disk under --out: one line naming the file and the cause, and nothing left there. Needs root (a small tmpfs). */
    @Test
    void aFullDisk() throws Exception {
        Path small = Files.createDirectories(dir.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "gradspark-test", small.toString()).redirectErrorStream(true).start();
        assumeTrue(mount.waitFor() == 0, "cannot mount a tmpfs here (needs root)");
        try {
            LocalCluster.Run r = submit(Map.of(), List.of(), "--layers", "8,3", "--synthetic", "200000", "--wrt", "inputs",
                    "--partitions", "2", "--out", small.resolve("out").toString());
            assertFailure(r, 2, small, small.toString(), "No space left on device");
            try (Stream<Path> left = Files.list(small)) {
                assertEquals(List.of(), left.toList(), "left on the full disk");
            }
        } finally {
            new ProcessBuilder("umount", small.toString()).start().waitFor();
        }
    }
}
