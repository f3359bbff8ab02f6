package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.gradspark.job.cli.FitMain;
import org.gradspark.job.cli.GradSparkMain;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.JobOutput;
import org.gradspark.job.io.OutputLock;
import org.gradspark.job.io.OutputManifest;
import org.gradspark.job.io.RunId;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An existing {@code --out} as input (issue 23, items 1, 2 and 8), in-process: a planted
 * {@code _SUCCESS} manifest whose entries leave {@code --out} (each form of bad name, symbolic
 * links, missing files) is refused by grad and fit with exit code 2 and one line naming --out and
 * the entry, and deletes nothing; a large {@code --out} is refused at once; the lock of a fit.
 * Every refusal here happens before Spark starts.
 */
class OutputDirectoryTest {
    private static String savedMaster;

    @TempDir Path dir;

    @BeforeAll
    static void localMaster() {
        // Were the refusal to fail, the job would run (and delete): on a local master, as the other in-process tests.
        savedMaster = System.getProperty("spark.master");
        System.setProperty("spark.master", "local[1]");
    }

    @AfterAll
    static void restore() {
        if (savedMaster == null) System.clearProperty("spark.master");
        else System.setProperty("spark.master", savedMaster);
    }

    /** A planted manifest's entry (as JSON) naming the victim beside --out, or another name that is not plain. */
    @ParameterizedTest
    @ValueSource(strings = {"\"../victim.txt\"", "\"ABS\"", "\"file:ABS\"", "\"sub/../../victim.txt\"", "\"..\\\\victim.txt\"", "\"\"", "\".\"",
        "\"./summary.json\"", "\"sub//x\"", "\"sub/\"", "\"with\\u0001control\"", "42", "null"})
    void aManifestEntryThatIsNotAPlainNameIsRefusedByGrad(String entry) throws IOException {
        Path victim = Files.writeString(dir.resolve("victim.txt"), "keep me\n");
        String json = entry.replace("ABS", victim.toString());
        Path out = planted(json);
        Map<String, String> before = contents(out);
        Run r = grad("--out", out.toString());
        assertRefused(r, out, json);
        assertTrue(Files.exists(victim), "the victim outside --out was deleted");
        assertEquals(before, contents(out), "--out changed");
    }

    @Test
    void aManifestEntryLeavingOutIsRefusedByFit() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim.txt"), "keep me\n");
        for (String json : List.of("\"../victim.txt\"", "\"" + victim + "\"")) {
            Path out = planted(json);
            Map<String, String> before = contents(out);
            assertRefused(fit("--out", out.toString()), out, json);
            assertTrue(Files.exists(victim), "fit deleted the victim outside --out");
            assertEquals(before, contents(out));
            delete(out);
        }
    }

    /** Symbolic links: a listed file through a linked directory, a listed link, a linked manifest; and a listed file or directory that is not there as a file. */
    @Test
    void linksAndMissingFilesInAManifestAreRefused() throws IOException {
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path victim = Files.writeString(elsewhere.resolve("victim.txt"), "keep me\n");
        Path out = planted("\"link/victim.txt\"");
        Files.createSymbolicLink(out.resolve("link"), elsewhere);
        assertRefusedByGradAndFit(out, "\"link/victim.txt\"", "reached through link, a symbolic link");
        Files.delete(out.resolve("link"));

        Files.writeString(out.resolve("_SUCCESS"), "{\"committer\": \"gradspark\", \"files\": [\"summary.json\", \"v.txt\"]}");
        Files.createSymbolicLink(out.resolve("v.txt"), victim);
        assertRefusedByGradAndFit(out, "\"v.txt\"", "a symbolic link");
        Files.delete(out.resolve("v.txt"));

        Files.writeString(out.resolve("_SUCCESS"), "{\"committer\": \"gradspark\", \"files\": [\"summary.json\", \"grads.npz\"]}");
        assertRefusedByGradAndFit(out, "\"grads.npz\"", "which is not there");
        Files.createDirectories(out.resolve("grads.npz"));
        Files.writeString(out.resolve("grads.npz/x"), "x");
        assertRefusedByGradAndFit(out, "\"grads.npz\"", "a directory");
        delete(out);

        Path manifest = Files.writeString(elsewhere.resolve("m.json"), "{\"committer\": \"gradspark\", \"files\": [\"victim.txt\"]}");
        Files.createDirectories(out);
        Files.createSymbolicLink(out.resolve("_SUCCESS"), manifest);
        assertRefusedByGradAndFit(out, "_SUCCESS, a symbolic link");
        assertTrue(Files.exists(victim));
    }

    /** Item 8: 3000 files that are not an output took 14 s to refuse (a forked {@code ls} per file); now one listing. */
    @Test
    void aDirectoryOfThreeThousandFilesIsRefusedAtOnce() throws IOException {
        Path big = Files.createDirectories(dir.resolve("big"));
        for (int i = 0; i < 3000; i++) Files.writeString(big.resolve(String.format("f%04d.txt", i)), "x");
        Files.createDirectories(dir.resolve("warm"));
        Files.writeString(dir.resolve("warm/a.txt"), "x");
        assertThrows(BadInputException.class, () -> JobOutput.check(Storage.local(), Storage.uri(dir.resolve("warm")), Map.of()));   // class loading
        long t0 = System.nanoTime();
        BadInputException e = assertThrows(BadInputException.class, () -> JobOutput.check(Storage.local(), Storage.uri(big), Map.of()));
        double s = (System.nanoTime() - t0) / 1e9;
        assertTrue(s < 2, "3000 files took " + s + " s to refuse");
        assertTrue(e.getMessage().contains("f0000.txt") && e.getMessage().contains("not an earlier GradSpark output"), e.getMessage());
    }

    /** {@code --out /} gave no answer in 150 s, {@code --out $HOME} none in 120 s: the root and /usr are refused at their first entry. */
    @Test
    void theRootAndUsrAreRefusedQuickly() {
        for (String big : List.of("/", "/usr")) {
            BadInputException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
                    () -> assertThrows(BadInputException.class, () -> JobOutput.check(Storage.local(), Storage.local().qualify(big), Map.of())), big);
            assertTrue(e.getMessage().startsWith("--out " + big + ": exists and is not an earlier GradSpark output"), e.getMessage());
        }
    }

    /** Item 2: a second fit into an --out a live run holds is refused, naming it; a dead run's lock is taken over; another host's is named. */
    @Test
    void theLockOfAFit() throws Exception {
        Storage st = Storage.local();
        String out = Storage.uri(dir.resolve("out"));
        OutputLock mine = OutputLock.acquire(st, out, RunId.fresh(), "fit");
        Run second = fit("--out", dir.resolve("out").toString());
        assertRefused(second, dir.resolve("out"), "another GradSpark run is writing it (a fit run, pid " + ProcessHandle.current().pid());
        BadInputException e = assertThrows(BadInputException.class, () -> OutputLock.acquire(st, out, RunId.fresh(), "fit"));
        assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
        mine.release();
        assertFalse(Files.exists(Path.of(java.net.URI.create(OutputLock.path(out)))), "released");

        RunId dead = new RunId(RunId.thisHost(), deadPid(), "0123abcd");
        Path lock = Path.of(java.net.URI.create(OutputLock.path(out)));
        Files.writeString(lock, "{\"committer\":\"gradspark\",\"run\":\"" + dead.tag() + "\",\"command\":\"fit\",\"started\":\"then\"}");
        OutputLock.requireFree(st, out);
        OutputLock taken = OutputLock.acquire(st, out, RunId.fresh(), "fit");
        assertTrue(Files.readString(lock).contains("\"run\":\"" + RunId.thisHost() + "-" + ProcessHandle.current().pid()), Files.readString(lock));
        taken.release();
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".out.")).toList(), "nothing left beside --out");
        }

        Files.writeString(lock, "{\"committer\":\"gradspark\",\"run\":\"elsewhere-" + dead.pid() + "-0123abcd\",\"command\":\"fit\",\"started\":\"then\"}");
        BadInputException foreign = assertThrows(BadInputException.class, () -> OutputLock.acquire(st, out, RunId.fresh(), "fit"));
        assertTrue(foreign.getMessage().contains("on host elsewhere") && foreign.getMessage().contains("remove the lock"), foreign.getMessage());
        assertRefused(grad("--out", dir.resolve("out").toString()), dir.resolve("out"), "another GradSpark run is writing it");
    }

    @Test
    void theNameRule() {
        for (String plain : List.of("grads.npz", "input_grads/part-00000.npy", "checkpoints/iter-000010/state.json", ".hidden", "a b", "~", "%2e%2e")) {
            assertEquals(null, OutputManifest.problemWith(plain), plain);
        }
        for (String bad : List.of("", "/x", "../x", "a/..", "a/./b", "a//b", "a/", "hdfs://nn/x", "c:x", "a\\b", "a\nb", "a\u007fb")) {
            assertTrue(OutputManifest.problemWith(bad) != null, bad);
        }
    }

    @Test
    void aRunIdTellsADeadRunOfThisHost() throws Exception {
        RunId me = RunId.fresh();
        assertEquals(me, RunId.parse(me.tag()).orElseThrow());
        assertFalse(me.goneFromThisHost());
        assertTrue(new RunId(RunId.thisHost(), deadPid(), "00000000").goneFromThisHost());
        assertFalse(new RunId("another.host", deadPid(), "00000000").goneFromThisHost(), "another host's run cannot be known gone");
        assertTrue(RunId.parse("host-1-xyz").isEmpty() && RunId.parse("host-99999999999999999999-0123abcd").isEmpty());
    }

    // ---- helpers ----

    /** A pid that no process has: a process that has ended. */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    /** An --out holding only a GradSpark manifest that lists {@code entryJson}, and the summary.json it also lists. */
    private Path planted(String entryJson) throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("summary.json"), "{}\n");
        Files.writeString(out.resolve("_SUCCESS"), "{\"committer\": \"gradspark\", \"files\": [\"summary.json\", " + entryJson + "]}\n");
        return out;
    }

    private void assertRefusedByGradAndFit(Path out, String... named) {
        Map<String, String> before = contents(out);
        assertRefused(grad("--out", out.toString()), out, named);
        assertRefused(fit("--out", out.toString()), out, named);
        assertEquals(before, contents(out));
    }

    private static void assertRefused(Run r, Path out, String... named) {
        assertEquals(2, r.code(), r.err() + r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gradspark: --out " + out + ": "), r.err());
        for (String n : named) assertTrue(r.err().contains(n), "'" + n + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    private record Run(int code, String out, String err) {}

    private static Run grad(String... more) {
        List<String> args = new ArrayList<>(List.of("grad", "--layers", "4,2,1", "--synthetic", "64", "--backend", "reference"));
        args.addAll(Arrays.asList(more));
        return capture(args.toArray(new String[0]), true);
    }

    private static Run fit(String... more) {
        List<String> args = new ArrayList<>(List.of("--layers", "4,2,1", "--synthetic", "64", "--backend", "reference", "--iterations", "2"));
        args.addAll(Arrays.asList(more));
        return capture(args.toArray(new String[0]), false);
    }

    private static Run capture(String[] args, boolean grad) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8), e = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code = grad ? GradSparkMain.run(args, o, e) : FitMain.run(args, o, e);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void delete(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Every entry under {@code root} by relative name: a file's bytes, "dir", or a link's target. */
    static Map<String, String> contents(Path root) {
        Map<String, String> c = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                String v = Files.isSymbolicLink(p) ? "-> " + Files.readSymbolicLink(p) : Files.isDirectory(p) ? "dir"
                        : Base64.getEncoder().encodeToString(Files.readAllBytes(p));
                c.put(root.relativize(p).toString(), v);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return c;
    }
}
