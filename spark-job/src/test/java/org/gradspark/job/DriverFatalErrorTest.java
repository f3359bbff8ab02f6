package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An out of memory in a thread of the driver other than the job's ends the run with one line and
 * exit code 2 within seconds (issue 26), where Spark, which catches only non-fatal errors in those
 * threads, left the job waiting for ever: through the cancel of the jobs (the result thread, the
 * DAGScheduler's event loop), and through the watch's own exit where no cancel ends the job's thread.
 * Each case is a JVM of its own ({@link FatalErrorJobs}): the watch may exit it.
 */
class DriverFatalErrorTest {
    /** Spark's start in a fresh JVM on a loaded machine, the watch's wait and the shutdown: far below a hang's "for ever". */
    private static final long BOUND_S = 60;

    @TempDir
    Path dir;

    /**
     * The result thread, then the DAGScheduler's event loop, one launch after the other in one JVM (a
     * JVM's start saved): Spark cancels the jobs itself when the cancel is posted to its event loop once
     * that has ended, so both end through the cancel, each with its line.
     */
    @Test
    void anOutOfMemoryReadingATaskResultOrInTheSchedulersEventLoopEndsTheRunThroughTheCancel() throws Exception {
        Run r = run("task-result-getter", "dag-scheduler-event-loop");
        assertEquals(2, r.code, r.stderr);
        assertTrue(r.stdout.contains("task-result-getter: exit code 2\n"), r.stdout);
        List<String> lines = r.stderr.strip().lines().toList();
        assertEquals(2, lines.size(), "one line for each run:\n" + r.stderr);
        assertLine(lines.get(0), "in Spark's thread task-result-getter-");
        assertLine(lines.get(1), "in Spark's thread dag-scheduler-event-loop:");
        assertFalse(driverLog().contains(EXITING), "the job's own thread reported it:\n" + driverLog());
    }

    /** A job's thread that no cancel ends: the watch prints the line and exits; the shutdown hooks remove the temporary output. */
    @Test
    void anOutOfMemoryWhileTheJobWaitsOnSomethingElseEndsTheRunThroughTheWatchsExit() throws Exception {
        assertOneLine(run("fatal-error-jobs-worker"), "in the driver's thread fatal-error-jobs-worker:");
        assertTrue(driverLog().contains(EXITING), "the watch exited the JVM:\n" + driverLog());
        try (java.util.stream.Stream<Path> left = Files.list(dir.resolve("outputs"))) {
            assertEquals(List.of(), left.toList(), "the temporary output is removed");
        }
    }

    /** What the watch logs when it exits the JVM itself, the job's thread not having reported the error. */
    private static final String EXITING = "of the cancel (the thread that died may be the one that handles it): exiting";

    private String driverLog() throws IOException {
        return Files.readString(dir.resolve("driver.log"));
    }

    private void assertOneLine(Run r, String thread) throws IOException {
        assertEquals(2, r.code, r.stderr);
        assertEquals(1, r.stderr.strip().lines().count(), "one line on the console:\n" + r.stderr);
        assertLine(r.stderr.strip(), thread);
    }

    /** The out-of-memory line naming {@code thread}; its trace in the driver's log, as for every failure, none on the console. */
    private void assertLine(String line, String thread) throws IOException {
        assertTrue(line.startsWith("gradspark: out of memory in the driver (heap "), line);
        assertTrue(line.contains(thread), line);
        assertTrue(line.endsWith(": raise --driver-memory"), line);
        assertFalse(line.contains("\tat "), line);
        assertTrue(driverLog().contains("java.lang.OutOfMemoryError: Java heap space"), driverLog());
    }

    private record Run(int code, String stdout, String stderr) {}

    /** {@link FatalErrorJobs} with {@code threads} in a JVM of its own, killed (and the test failed) if it outlives {@link #BOUND_S}. */
    private Run run(String... threads) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !a.startsWith("-Dgradspark.logFile")) cmd.add(a);
        }
        Files.createDirectories(dir.resolve("outputs"));
        cmd.addAll(List.of("-Xmx512m", "-DfatalErrorJobs.out=" + dir.resolve("outputs/out"), "-Dgradspark.logFile=" + dir.resolve("driver.log"), "-Dspark.master=local[2]", "-Dspark.ui.enabled=false",
                "-cp", System.getProperty("java.class.path"), FatalErrorJobs.class.getName()));
        cmd.addAll(List.of(threads));
        Path stderr = dir.resolve("stderr");
        Process p = new ProcessBuilder(cmd).redirectOutput(dir.resolve("stdout").toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(BOUND_S, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("the run hung: still running after " + BOUND_S + " s; stderr:\n" + Files.readString(stderr));
        }
        // The JVM's own notice of the vector module (the test JVM's options; gradspark-submit filters it out of its console).
        String console = Files.readString(stderr, StandardCharsets.UTF_8).lines()
                .filter(l -> !l.equals("WARNING: Using incubator modules: jdk.incubator.vector")).collect(java.util.stream.Collectors.joining("\n"));
        return new Run(p.exitValue(), Files.readString(dir.resolve("stdout")), console);
    }
}
