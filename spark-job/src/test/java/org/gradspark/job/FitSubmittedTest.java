package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.RunId;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradspark-submit fit} as users run it: the same command gives byte-identical
 * {@code weights.npz} on local[1], local[2] and a standalone cluster of two workers, and a driver killed (SIGKILL) after a checkpoint,
 * resumed with {@code --resume}, ends with the bytes of a run that was never stopped. A resume that would change the result (an
 * edited or damaged checkpoint, other settings, other rows) exits 2 with one line before any iteration; an optimiser that overflows
 * says what to change and leaves no checkpoint it could not resume.
 */
class FitSubmittedTest {
    static final Duration TIMEOUT = Duration.ofMinutes(5);

    @TempDir static Path dir;
    static String[] job;
    private static Path source;   // a finished fit's checkpoints, iter-000004 and iter-000008, that the resume cases copy
    private static final Map<String, Path> finishedOuts = new HashMap<>();   // finished(master)

    @BeforeAll
    static void data() {
        Tensor x = Tensor.uniform(11, -1, 1, DType.FLOAT32, 20000, 8);
        Tensor y = Ops.tanh(Ops.matMul(x, Tensor.uniform(12, -1, 1, DType.FLOAT32, 8, 1)));
        Npy.write(dir.resolve("x.npy"), x);
        Npy.write(dir.resolve("y.npy"), y);
        job = new String[] {"--layers", "8,32,1", "--activation", "tanh", "--input", dir.resolve("x.npy").toString(), "--labels", dir.resolve("y.npy").toString(),
            "--loss", "mse", "--partitions", "4", "--chunk-rows", "2000", "--backend", "cpu", "--optimizer", "lbfgs", "--iterations", "24", "--checkpoint-every", "4"};
    }

    private static String[] fit(String master, String out, String... more) {
        List<String> cmd = new ArrayList<>(List.of(LocalCluster.script("gradspark-submit"), "--master", master, "--conf", "spark.ui.enabled=false", "fit"));
        cmd.addAll(Arrays.asList(job));
        cmd.addAll(List.of("--out", out));
        cmd.addAll(Arrays.asList(more));
        return cmd.toArray(new String[0]);
    }

    private static byte[] weights(LocalCluster.Run r, Path out) throws IOException {
        LocalCluster.succeeded(r);
        assertTrue(r.stdout().contains("fit lbfgs: iteration "), r.stdout());
        return Files.readAllBytes(out.resolve("weights.npz"));
    }

    /**
     * The --out of {@link #job} run to its end on {@code master} (local[1] or local[2]): run once and shared by the cases that compare
     * with it (each ran this same command itself before, and a fit takes seconds).
     */
    private static synchronized Path finished(String master) throws IOException {
        Path out = finishedOuts.get(master);
        if (out == null) {
            String name = master.replaceAll("[^a-z0-9]", "");
            out = dir.resolve("out-" + name);
            weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve(name), fit(master, out.toString())), out);
            finishedOuts.put(master, out);
        }
        return out;
    }

    @Test
    void local1AndLocal2GiveTheSameWeights() throws IOException {
        byte[] one = Files.readAllBytes(finished("local[1]").resolve("weights.npz"));
        byte[] two = Files.readAllBytes(finished("local[2]").resolve("weights.npz"));
        assertArrayEquals(one, two);
    }

    @Test
    void aStandaloneClusterOfTwoWorkersGivesTheWeightsOfLocal1() throws IOException {
        LocalCluster.assumeWanted();
        byte[] one = Files.readAllBytes(finished("local[1]").resolve("weights.npz"));
        try (LocalCluster cluster = LocalCluster.start(dir.resolve("cluster"), 2)) {
            byte[] onCluster = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("c"), fit(cluster.masterUrl, dir.resolve("out-cluster").toString())),
                    dir.resolve("out-cluster"));
            assertArrayEquals(one, onCluster);
        }
    }

    /**
     * A TERM (Ctrl-C's SIGINT does the same; so does Spark's own exit after a task's OutOfMemoryError in local mode) once a
     * checkpoint is written: one line that says so without claiming an interrupt, the checkpoints kept, no stack trace.
     */
    @Test
    void aStoppedFitSaysSoInOneLineAndKeepsItsCheckpoints() throws Exception {
        Path out = dir.resolve("out-termed");
        Process p = LocalCluster.launch(Map.of(), dir.resolve("termed"), fit("local[2]", out.toString()));
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!Files.exists(out.resolve("checkpoints/iter-000004/state.json")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(p.isAlive(), "the fit ended before its first checkpoint: " + Files.readString(dir.resolve("termed/stdout")));
        p.destroy();   // SIGTERM to the JVM (the script execs it)
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the fit did not stop");
        LocalCluster.Run r = LocalCluster.await(p, dir.resolve("termed"), TIMEOUT);
        List<String> ours = r.stderr().lines().filter(l -> l.startsWith("gradspark:")).toList();
        assertEquals(1, ours.size(), r.stderr());
        assertTrue(ours.get(0).startsWith("gradspark: stopped before the end (interrupted, or a fatal error in a task such as running out of memory")
                && ours.get(0).endsWith("are kept: continue with --resume"), ours.get(0));
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertTrue(Files.exists(out.resolve("checkpoints/iter-000004/state.json")), "the checkpoint was removed");
        assertFalse(Files.exists(out.resolve("_SUCCESS")));
    }

    @Test
    void aKilledDriverResumedGivesTheWeightsOfARunNeverStopped() throws Exception {
        Path neverStopped = finished("local[2]");
        byte[] never = Files.readAllBytes(neverStopped.resolve("weights.npz"));
        Path out = dir.resolve("out-killed");
        Process p = LocalCluster.launch(Map.of(), dir.resolve("killed"), fit("local[2]", out.toString()));
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!Files.exists(out.resolve("checkpoints/iter-000008")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(p.isAlive(), "the fit ended before its second checkpoint: " + Files.readString(dir.resolve("killed/stdout")));
        // SIGKILL to the driver JVM (and the script): no shutdown hook, no clean-up, as a lost machine.
        LocalCluster.killTree(p);
        assertFalse(Files.exists(out.resolve("_SUCCESS")));
        assertFalse(Files.exists(out.resolve("weights.npz")));
        String stopped = Files.readString(dir.resolve("killed/stdout"));
        LocalCluster.Run resumed = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("resumed"),
                fit("local[2]", out.toString(), "--resume", out.resolve("checkpoints").toString()));
        assertTrue(resumed.stdout().contains("fit: resuming from"), "exit " + resumed.exitCode() + "\n" + resumed.stdout() + "\n" + resumed.stderr() + "\nkilled after:\n" + stopped);
        assertArrayEquals(never, weights(resumed, out), "killed after:\n" + stopped);
        assertEquals(Files.readString(neverStopped.resolve("checkpoints/iter-000020/state.json")).replaceAll("\"(seconds|elapsed_s)\" : [^,\\n]+", ""),
                Files.readString(out.resolve("checkpoints/iter-000020/state.json")).replaceAll("\"(seconds|elapsed_s)\" : [^,\\n]+", ""),
                "the same history, evaluations included, but for the times");
    }

    /**
     * Issue 23, item 2: two fits into the same --out at once mixed their outputs (a manifest naming a
     * missing weights.npz, the summary of one run and the history of the other). One holds the lock
     * and writes a consistent output; the other exits 2 with one line naming it.
     */
    @Test
    void twoFitsIntoTheSameOutAtOnceOneWritesItTheOtherIsRefused() throws Exception {
        Path out = dir.resolve("out-twice");
        Process a = LocalCluster.launch(Map.of(), dir.resolve("twice-a"), fit("local[2]", out.toString()));
        Process b = LocalCluster.launch(Map.of(), dir.resolve("twice-b"), fit("local[2]", out.toString()));
        LocalCluster.Run ra = LocalCluster.await(a, dir.resolve("twice-a"), TIMEOUT), rb = LocalCluster.await(b, dir.resolve("twice-b"), TIMEOUT);
        assertEquals(2, ra.exitCode() + rb.exitCode(), "exactly one must be refused (exit codes " + ra.exitCode() + ", " + rb.exitCode()
                + "; both 0: the runs did not overlap)\n" + ra.stderr() + "\n" + rb.stderr());
        LocalCluster.Run refused = ra.exitCode() == 2 ? ra : rb;
        String last = refused.stderr().strip().lines().reduce((x, y) -> y).orElse("");
        assertTrue(last.matches("gradspark: --out " + java.util.regex.Pattern.quote(out.toString())
                + ": another GradSpark run is writing it \\(a fit run, pid \\d+ on host .*"), refused.stderr());
        assertFalse(refused.stderr().contains("\tat "), refused.stderr());
        weights(ra.exitCode() == 0 ? ra : rb, out);
        assertConsistent(out);
    }

    /**
     * Issue 23, item 9: a driver killed during fit's final write left --out unusable (its pending
     * files "no earlier GradSpark run wrote"). Planted as such a kill leaves them: with checkpoints,
     * --resume removes them and ends with the same weights; with none complete (only one being
     * written when the driver died), a fresh run does.
     */
    @Test
    void aFitKilledDuringItsFinalWriteIsResumedOrRunAgain() throws Exception {
        Path out = dir.resolve("out-final");
        byte[] finished = weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("final"), fit("local[2]", out.toString())), out);
        String dead = RunId.thisHost() + "-" + OutputDirectoryTest.deadPid() + "-0123abcd";
        killedDuringFinalWrite(out, dead);
        Files.createDirectories(out.resolve("checkpoints/.iter-000028.tmp-89abcdef"));
        Files.writeString(out.resolve("checkpoints/.iter-000028.tmp-89abcdef/weights.npz"), "half");
        LocalCluster.Run resumed = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("final-resumed"),
                fit("local[2]", out.toString(), "--resume", out.resolve("checkpoints/iter-000016").toString()));
        assertArrayEquals(finished, weights(resumed, out));
        assertConsistent(out);

        Path fresh = dir.resolve("out-fresh");
        Files.createDirectories(fresh.resolve("checkpoints/.iter-000004.tmp-0123abcd"));   // killed while writing its first checkpoint
        Files.writeString(fresh.resolve("checkpoints/.iter-000004.tmp-0123abcd/state.json"), "{");
        Files.writeString(fresh.resolve(".weights.npz.gradspark-pending"), "an older GradSpark's name: no tag");
        Files.writeString(fresh.resolve(".history.json.gradspark-pending-" + dead), "{");
        Files.writeString(dir.resolve(".out-fresh.gradspark-lock"), "{\"committer\":\"gradspark\",\"run\":\"" + dead + "\",\"command\":\"fit\",\"started\":\"then\"}");
        weights(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("fresh"), fit("local[2]", fresh.toString(), "--checkpoint-every", "0")), fresh);
        assertConsistent(fresh);
    }

    /** What a driver killed between renaming weights.npz and history.json into place leaves, and its stale lock. */
    private static void killedDuringFinalWrite(Path out, String dead) throws IOException {
        Path manifest = out.resolve("_SUCCESS");
        Files.move(manifest, out.resolve("._SUCCESS.gradspark-pending-" + dead));   // the manifest is written, under its pending name, before the renames
        Files.move(out.resolve("history.json"), out.resolve(".history.json.gradspark-pending"));   // an older GradSpark's name (the issue's case)
        Files.move(out.resolve("loss.png"), out.resolve(".loss.png.gradspark-pending-" + dead));
        Files.move(out.resolve("summary.json"), out.resolve(".summary.json.gradspark-pending-" + dead));
        Files.writeString(out.resolveSibling("." + out.getFileName() + ".gradspark-lock"),
                "{\"committer\":\"gradspark\",\"run\":\"" + dead + "\",\"command\":\"fit\",\"started\":\"then\"}");
    }

    /**
     * One run's complete output: the manifest lists exactly the files present; summary.json's
     * iterations are history.json's and its checkpoints are in checkpoints/; the final
     * weights are the last checkpoint's (when there is one); nothing is left in or beside --out.
     */
    private static void assertConsistent(Path out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> listed = new ArrayList<>();
        json.readTree(out.resolve("_SUCCESS").toFile()).get("files").forEach(f -> listed.add(f.asText()));
        List<String> present;
        try (Stream<Path> all = Files.walk(out)) {
            present = all.filter(Files::isRegularFile).map(p -> out.relativize(p).toString()).filter(n -> !n.equals("_SUCCESS")).sorted().toList();
        }
        assertEquals(present, listed.stream().sorted().toList(), "the manifest against the files in --out");
        JsonNode summary = json.readTree(out.resolve("summary.json").toFile()), history = json.readTree(out.resolve("history.json").toFile());
        JsonNode its = history.get("iterations");
        assertEquals(summary.get("iterations").asInt(), its.get(its.size() - 1).get("iteration").asInt(), "summary.json and history.json of one run");
        List<String> written = new ArrayList<>(), checkpoints;
        summary.get("checkpoints").forEach(c -> written.add(c.asText()));
        try (Stream<Path> dirs = Files.list(out.resolve("checkpoints"))) {
            checkpoints = dirs.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertTrue(checkpoints.containsAll(written), "summary.json's checkpoints " + written + " against checkpoints/ " + checkpoints);
        if (!checkpoints.isEmpty()) {
            assertArrayEquals(Files.readAllBytes(out.resolve("checkpoints").resolve(checkpoints.get(checkpoints.size() - 1)).resolve("weights.npz")),
                    Files.readAllBytes(out.resolve("weights.npz")), "the final weights are the last checkpoint's");
        }
        try (Stream<Path> beside = Files.list(out.getParent())) {
            assertEquals(List.of(), beside.filter(p -> p.getFileName().toString().startsWith("." + out.getFileName() + ".gradspark-")).toList(), "left beside --out");
        }
    }

    /**
     * A fit on local[2] without the executors' warm-up: the cases below refuse at once or stop after an
     * evaluation or two, and the warm-up's compilations would only compete with them for the cores.
     */
    private static String[] unwarmed(String out, String... more) {
        List<String> cmd = new ArrayList<>(Arrays.asList(fit("local[2]", out, more)));
        cmd.addAll(cmd.indexOf("fit"), List.of("--conf", "spark.gradspark.warmUp=none"));
        return cmd.toArray(new String[0]);
    }

    /** The checkpoints of a fit of {@link #job} for 8 iterations (made once). */
    private static synchronized Path checkpoints() {
        if (source == null) {
            Path out = dir.resolve("source");
            LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("source-run"), unwarmed(out.toString(), "--iterations", "8")));
            source = out.resolve("checkpoints");
        }
        return source;
    }

    /** An unfinished fit's --out named {@code name}: the source's checkpoint at iteration 8 alone. */
    private static Path unfinished(String name) throws IOException {
        Path ck = Files.createDirectories(dir.resolve(name).resolve("checkpoints/iter-000008"));
        for (String f : List.of("state.json", "optimizer.npz", "weights.npz")) Files.copy(checkpoints().resolve("iter-000008").resolve(f), ck.resolve(f));
        return dir.resolve(name);
    }

    /**
     * Resumes the fit in {@code out} (to iteration 12) with {@code more} options; asserts exit 2, one line naming {@code named}, no
     * iteration run, --out as it was.
     */
    private static void refused(Path out, String[] more, String... named) throws IOException {
        Map<String, String> before = FitSubmittedTest.filesUnder(out);
        List<String> options = new ArrayList<>(List.of("--iterations", "12", "--resume", out.resolve("checkpoints").toString()));
        options.addAll(Arrays.asList(more));
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-" + out.getFileName()), unwarmed(out.toString(),
                options.toArray(new String[0])));
        SubmittedFailuresTest.assertFailure(r, 2, dir, named);
        assertFalse(r.stdout().contains("fit lbfgs: iteration"), "no iteration ran:\n" + r.stdout());
        assertEquals(before, FitSubmittedTest.filesUnder(out), "--out unchanged");
    }

    private static Map<String, String> filesUnder(Path root) throws IOException {
        Map<String, String> files = new java.util.TreeMap<>();
        try (var s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Integer.toHexString(Arrays.hashCode(Files.readAllBytes(p))));
            }
        }
        return files;
    }

    @Test
    void anEditedStateIsRefusedBeforeAnyIteration() throws IOException {
        Path earlier = unfinished("earlier");
        Path state = earlier.resolve("checkpoints/iter-000008/state.json");
        Files.writeString(state, Files.readString(state).replace("\"iteration\" : 8,", "\"iteration\" : 3,"));
        refused(earlier, new String[0], "--resume " + state, "'iteration' is 3, but the directory is iter-000008");
        Path removed = unfinished("removed");
        state = removed.resolve("checkpoints/iter-000008/state.json");
        Files.writeString(state, Files.readString(state).replace("\"iteration\" : 8,", ""));
        refused(removed, new String[0], "--resume " + state, "no field 'iteration'");
    }

    @Test
    void otherPartitionsOrChunkRowsAreRefusedBeforeSparkStarts() throws IOException {
        Path out = unfinished("partitions");
        String state = out.resolve("checkpoints/iter-000008/state.json").toString();
        refused(out, new String[] {"--partitions", "3"}, "--resume " + state, "--partitions was 4, now 3");
        refused(out, new String[] {"--chunk-rows", "1000"}, "--resume " + state, "--chunk-rows was 2000, now 1000");
    }

    @Test
    void otherRowsOfTheSameCountAreRefusedBeforeAnyIteration() throws IOException {
        Tensor x = Npy.read(dir.resolve("x.npy"));
        float[] v = x.toFloatArray();
        v[12345] += 0.25f;
        Npy.write(dir.resolve("x-other.npy"), Tensor.wrap(v, x.shape()));
        Path out = unfinished("other-rows");
        refused(out, new String[] {"--input", dir.resolve("x-other.npy").toString()}, "--resume " + out.resolve("checkpoints/iter-000008/state.json"),
                "the rows differ", "rows_digest input was");
    }

    @Test
    void aDamagedOptimizerNpzIsRefusedBeforeSparkStartsAndLeavesNoOut() throws IOException {
        Path missing = unfinished("missing-key");
        Path npz = missing.resolve("checkpoints/iter-000008/optimizer.npz");
        Map<String, Tensor> arrays = Npz.read(npz);
        arrays.remove("grad");
        Npz.write(npz, arrays);
        Path fresh = dir.resolve("fresh-out");
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-missing-key"), unwarmed(fresh.toString(), "--iterations", "12",
                "--resume", missing.resolve("checkpoints").toString()));
        SubmittedFailuresTest.assertFailure(r, 2, dir, "--resume " + npz, "no array 'grad'");
        assertFalse(r.stdout().contains("resuming") || r.stderr().contains("GradSpark backend"), "refused before Spark starts:\n" + r.stdout() + r.stderr());
        assertFalse(Files.exists(fresh), "--out made");

        Path shortArray = unfinished("short-array");
        npz = shortArray.resolve("checkpoints/iter-000008/optimizer.npz");
        arrays = Npz.read(npz);
        arrays.put("s3", Tensor.wrap(Arrays.copyOf(arrays.get("s3").toDoubleArray(), 7), org.gradspark.ad.Shape.of(7)));
        Npz.write(npz, arrays);
        refused(shortArray, new String[0], "--resume " + npz, "array 's3' has 7 values, expected 321");
    }

    /**
     * A randomised --estimator (as the key spark.gradspark.estimator) for a --model-class Cell that does not implement
     * RowAware exits 2 with one line before Spark starts: its Laplacians would stay exact, silently (issue 28, item 3).
     */
    @Test
    void aRandomisedEstimatorForACellWithoutTheHookIsRefusedBeforeSparkStarts() {
        Path out = dir.resolve("hook-out");
        List<String> cmd = new ArrayList<>(Arrays.asList(unwarmed(out.toString(), "--model-class", "org.gradspark.ad.examples.PoissonResidual",
                "--dtype", "float64")));
        cmd.addAll(cmd.indexOf("fit"), List.of("--conf", "spark.gradspark.estimator=stde:2"));
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-hook"), cmd.toArray(new String[0]));
        SubmittedFailuresTest.assertFailure(r, 2, dir, "--estimator stde:2: --model-class org.gradspark.ad.examples.PoissonResidual does not implement "
                + "org.gradspark.ad.RowAware");
        assertFalse(r.stderr().contains("GradSpark backend"), "refused before Spark starts:\n" + r.stderr());
        assertFalse(Files.exists(out), "--out made");
    }

    /** DP-SGD's settings through the script, as a spark.gradspark.fit.* key: C = 0 exits 2 with one line before Spark starts, --out not made. */
    @Test
    void aDpSgdClipOfZeroGivenAsAKeyIsRefusedBeforeSparkStarts() {
        Path out = dir.resolve("dp-out");
        List<String> cmd = new ArrayList<>(Arrays.asList(unwarmed(out.toString(), "--optimizer", "sgd", "--minibatch-fraction", "0.1",
                "--dp-noise-multiplier", "1.1")));
        cmd.addAll(cmd.indexOf("fit"), List.of("--conf", "spark.gradspark.fit.dp-clip=0"));
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-dp"), cmd.toArray(new String[0]));
        SubmittedFailuresTest.assertFailure(r, 2, dir, "--dp-clip: expected a finite value > 0, got 0.0");
        assertFalse(r.stderr().contains("GradSpark backend"), "refused before Spark starts:\n" + r.stderr());
        assertFalse(Files.exists(out), "--out made");
    }

    @Test
    void lbfgsOverflowingAtTheStartIsNotToldToLowerTheLearningRate() throws IOException {
        Tensor y = Npy.read(dir.resolve("y.npy"));
        Npy.write(dir.resolve("y-huge.npy"), Tensor.wrap(Arrays.stream(y.toDoubleArray()).map(v -> 1e20 + v).toArray(), y.shape()).astype(DType.FLOAT32));
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-huge"), unwarmed(dir.resolve("out-huge").toString(),
                "--labels", dir.resolve("y-huge.npy").toString()));
        SubmittedFailuresTest.assertFailure(r, 2, dir, "the objective is", "at the starting weights", "--dtype float64");
        assertFalse(r.stderr().contains("--learning-rate"), "L-BFGS has no --learning-rate:\n" + r.stderr());
    }

    @Test
    void anSgdStepThatOverflowsWritesNoCheckpoint() {
        Path out = dir.resolve("out-sgd");
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("run-sgd"), unwarmed(out.toString(), "--optimizer", "sgd",
                "--learning-rate", "1e40", "--checkpoint-every", "1", "--iterations", "3"));
        SubmittedFailuresTest.assertFailure(r, 2, dir, "fit --optimizer sgd, step 1", "overflows float32", "lower --learning-rate");
        assertFalse(Files.exists(out.resolve("checkpoints/iter-000001")), "a checkpoint with infinite weights");
        assertFalse(Files.exists(out.resolve("weights.npz")));
    }
}
