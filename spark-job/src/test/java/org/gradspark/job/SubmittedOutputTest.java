package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.RunId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code --out} looks like after jobs that users run through {@code submit-scripts/gradspark-submit}
 * end badly: a driver killed with SIGKILL leaves no {@code --out}, and the next run on the same
 * {@code --out} removes the dead driver's temporary directory; a directory that is not an earlier
 * output (the reported data-loss case: it holds a summary.json, the job's inputs and notes) is
 * refused and keeps every file.
 */
class SubmittedOutputTest {
    static final Duration TIMEOUT = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    @Test
    void aKilledDriverLeavesNoOutAndTheNextRunRemovesItsTemporary() throws Exception {
        Path out = dir.resolve("out");
        String[] big = {"--layers", "8,256,256,3", "--synthetic", "3000000", "--wrt", "all", "--partitions", "4", "--backend", "cpu",
            "--out", out.toString()};
        Process driver = LocalCluster.launch(Map.of(), dir.resolve("killed"), LocalCluster.submitCommand("local[2]", List.of(), big));
        Path tmp = awaitTemporary(driver, out);
        // Let the tasks start writing their parts, then kill the driver (and the JVM tree under the script) without warning.
        awaitAnyFileUnder(driver, tmp.resolve(GradientJob.INPUT_GRADS));
        LocalCluster.killTree(driver);
        assertFalse(Files.exists(out), "a killed job left --out");
        assertTrue(Files.exists(tmp), "the killed driver's temporary directory is the case under test");

        LocalCluster.Run next = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("next"),
                LocalCluster.submitCommand("local[2]", List.of(), "--layers", "8,4,3", "--synthetic", "100", "--out", out.toString()));
        LocalCluster.succeeded(next);
        assertEquals(List.of(), siblingsOf(out), "temporaries left beside --out after the next run");
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
    }

    @Test
    void aDirectoryThatIsNotAnEarlierOutputKeepsEveryFile() throws IOException {
        Path proj = Files.createDirectories(dir.resolve("proj"));
        Npy.write(proj.resolve("x.npy"), Tensor.uniform(1, -1, 1, org.gradspark.ad.DType.FLOAT32, 64, 8));
        Npz.write(proj.resolve("w.npz"), JobModel.initialWeights(new int[] {8, 4, 3}, org.gradspark.ad.DType.FLOAT32, 3));
        Files.writeString(proj.resolve("summary.json"), "{}\n");
        Files.writeString(proj.resolve("notes.md"), "n\n");
        Map<String, String> before = contents(proj);
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("proj-run"), LocalCluster.submitCommand("local[2]", List.of(),
                "--layers", "8,4,3", "--input", proj.resolve("x.npy").toString(), "--weights", proj.resolve("w.npz").toString(),
                "--out", proj.toString()));
        assertEquals(2, r.exitCode(), r.stderr());
        String last = r.stderr().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("gradspark: --out " + proj) && last.contains("--input " + proj.resolve("x.npy")), r.stderr());
        assertFalse(r.stderr().contains("\tat "), r.stderr());
        assertEquals(before, contents(proj), "files in --out changed");
        assertEquals(List.of(), siblingsOf(proj));
    }

    /**
     * Issue 23, item 1: an --out holding only a planted manifest that lists {@code ../victim.txt}
     * made grad exit 0 and fit start, both having deleted the victim beside --out. Both now refuse it
     * before Spark starts: exit 2, one line naming --out and the entry, nothing touched.
     */
    @Test
    void aPlantedManifestDeletesNothingOutsideOut() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim.txt"), "keep me\n");
        Path out = Files.createDirectories(dir.resolve("planted"));
        Files.writeString(out.resolve("_SUCCESS"), "{\"committer\":\"gradspark\",\"files\":[\"../victim.txt\"]}");
        Map<String, String> before = contents(out);
        for (String command : List.of("grad", "fit")) {
            List<String> cmd = new java.util.ArrayList<>(List.of(LocalCluster.script("gradspark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                    command, "--layers", "4,2,1", "--synthetic", "64", "--out", out.toString()));
            if (command.equals("fit")) cmd.addAll(List.of("--iterations", "2"));
            LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("planted-" + command), cmd.toArray(new String[0]));
            assertEquals(2, r.exitCode(), command + ": " + r.stdout() + r.stderr());
            String last = r.stderr().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(last.startsWith("gradspark: --out " + out + ": its _SUCCESS manifest lists \"../victim.txt\""), command + ": " + r.stderr());
            assertFalse(r.stderr().contains("\tat "), r.stderr());
            assertTrue(Files.exists(victim), command + " deleted the file outside --out");
            assertEquals(before, contents(out), command + " changed --out");
            assertEquals(List.of(), siblingsOf(out));
        }
    }

    /** Issue 23, item 8: {@code --out /} gave no answer in 150 s (every file under / was listed first); it is refused at its first entry. */
    @Test
    void theRootAsOutIsRefusedAtOnce() {
        LocalCluster.Run r = LocalCluster.run(Duration.ofSeconds(90), Map.of(), dir.resolve("root"),
                LocalCluster.submitCommand("local[2]", List.of(), "--layers", "4,2,1", "--synthetic", "64", "--out", "/"));
        assertEquals(2, r.exitCode(), r.stdout() + r.stderr());
        String last = r.stderr().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("gradspark: --out /: exists and is not an earlier GradSpark output"), r.stderr());
    }

    /**
     * Issue 23, item 9: what drivers killed mid-commit leave beside --out (an earlier output moved
     * aside, with a tag of a dead pid or, from an older GradSpark, none; a temporary output) is
     * removed by the next run, which succeeds; a live process's temporary is kept.
     */
    @Test
    void aDeadRunsMovedAsideOutputIsRemovedByTheNextRun() throws Exception {
        Path out = dir.resolve("left");
        String dead = RunId.thisHost() + "-" + OutputDirectoryTest.deadPid() + "-0123abcd";
        for (String name : List.of(".left.gradspark-old-" + dead, ".left.gradspark-old-89abcdef")) {
            Path old = Files.createDirectories(dir.resolve(name).resolve("input_grads"));
            Files.writeString(old.resolve("part-00000.npy"), "p");
            Files.writeString(old.resolve("../summary.json"), "{}");
            Files.writeString(old.resolve("../_SUCCESS"), "{\"committer\":\"gradspark\",\"files\":[\"input_grads/part-00000.npy\",\"summary.json\"]}");
        }
        Files.createDirectories(dir.resolve(".left.gradspark-tmp-" + dead + "/input_grads"));
        Path live = Files.createDirectories(dir.resolve(".left.gradspark-tmp-" + RunId.thisHost() + "-" + ProcessHandle.current().pid() + "-0123abcd"));
        LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("left-run"),
                LocalCluster.submitCommand("local[2]", List.of(), "--layers", "4,2,1", "--synthetic", "64", "--out", out.toString())));
        assertEquals(List.of(live), siblingsOf(out), "a dead run's leftovers beside --out were kept, or a live one's removed");
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        Files.delete(live);
    }

    /** Waits for the job's temporary directory beside {@code out}. */
    private static Path awaitTemporary(Process driver, Path out) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            List<Path> found = siblingsOf(out);
            if (!found.isEmpty()) return found.get(0);
            if (!driver.isAlive()) fail("the job ended before it made its temporary directory");
            Thread.sleep(100);
        }
        return fail("no temporary directory beside " + out);
    }

    private static void awaitAnyFileUnder(Process driver, Path dir) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    if (s.findAny().isPresent()) return;
                }
            }
            if (!driver.isAlive()) fail("the job ended before a task wrote its part");
            Thread.sleep(100);
        }
        fail("no task wrote under " + dir);
    }

    /** The job's temporaries beside {@code out} ({@code .NAME.gradspark-...}). */
    private static List<Path> siblingsOf(Path out) {
        try (Stream<Path> s = Files.list(out.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith("." + out.getFileName() + ".gradspark-")).toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Map<String, String> contents(Path root) throws IOException {
        Map<String, String> c = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                c.put(root.relativize(p).toString(), Files.isDirectory(p) ? "dir" : java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
            }
        }
        return c;
    }
}
