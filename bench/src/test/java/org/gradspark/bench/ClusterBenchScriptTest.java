package org.gradspark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradspark-bench --master URL --out DIR} with bad options, through the script as a user runs it: one line
 * naming what is wrong, exit status 2, nothing written. After package (execution bench-smokes), as the smokes.
 */
class ClusterBenchScriptTest {
    @TempDir Path dir;

    /** What the script printed and how it ended. */
    private record Run(int exit, String stdout, List<String> stderr) {}

    private Run bench(String... args) throws IOException, InterruptedException {
        assumeTrue(Boolean.getBoolean("gradspark.bench.smokes"), "runs in execution bench-smokes, after package");
        List<String> cmd = new ArrayList<>(List.of(BenchSmokeTest.HOME.resolve("submit-scripts/gradspark-bench").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile());
        pb.environment().remove("LD_PRELOAD");
        Process p = pb.start();
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "gradspark-bench did not finish");
        return new Run(p.exitValue(), Files.readString(dir.resolve("stdout")), Files.readAllLines(dir.resolve("stderr")));
    }

    private static void assertOneLine(Run r, String expected) {
        assertEquals(2, r.exit(), "exit status; stderr: " + r.stderr());
        assertEquals("", r.stdout());
        assertEquals(List.of(expected), r.stderr());
    }

    @Test
    void anUnknownMasterIsOneLine() throws Exception {
        Run r = bench("--master", "mesos://h:5050", "--out", "report");
        assertOneLine(r, "gradspark-bench: --master mesos://h:5050: not a master the benchmark can size"
                + " (yarn, spark://HOST:PORT, k8s://URL, local[N]; local-cluster's is spark://127.0.0.1:PORT)");
        assertFalse(Files.exists(dir.resolve("report")));
    }

    @Test
    void anOutDirThatExistsIsOneLineAndLeftAsItWas() throws Exception {
        Path out = Files.createDirectory(dir.resolve("last week's report"));
        Files.writeString(out.resolve("REPORT.md"), "kept");
        Run r = bench("--smoke", "--master", "local[2]", "--out", out.toString());
        assertOneLine(r, "gradspark-bench: --out " + out + " already exists: the report goes into a new directory");
        try (var files = Files.list(out)) {
            assertEquals(List.of(out.resolve("REPORT.md")), files.toList());
        }
        assertEquals("kept", Files.readString(out.resolve("REPORT.md")));
    }

    @Test
    void aSizeOfZeroIsOneLine() throws Exception {
        // One through the script; the other sizes (--executors, --reduction, --repeat) the same way in ClusterBenchTest.
        assertOneLine(bench("--master", "yarn", "--out", "report", "--rows", "0"), "gradspark-bench: --rows 0: '0' is not > 0");
        assertFalse(Files.exists(dir.resolve("report")));
    }
}
