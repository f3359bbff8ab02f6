package org.gradspark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Benchmarks that nothing runs rot (issue 23, item 13: {@code gradspark-bench} crashed at its start and the
 * fit comparison failed inside Kryo, and nobody noticed). So every benchmark entry point has a smoke run
 * (tiny sizes, one repeat, its results in a temporary directory, a non-zero exit on any failure, the
 * comparison with its peer included), {@code mvn -B verify} runs them all (after package: execution
 * bench-smokes of bench/pom.xml), and an entry point without one fails {@link BenchEntryPointsTest}.
 *
 * <p>Entry points: every executable file under {@code bench/}, {@code submit-scripts/gradspark-bench}, every
 * class of {@code bench/src/main/java} with a {@code main} or JMH {@code @Benchmark} methods, and every
 * Python program under {@code bench/} (the peers and the report makers). {@link #SMOKE_OF} names the smoke
 * that runs each one: its own {@code --smoke}, or the smoke of the script that runs it (gradspark-bench's
 * smoke runs {@code run-mllib-peer}, {@code run-fit-bench} and {@code run-profile} with {@code --smoke}, and
 * fails unless their comparisons are in its results).
 */
class BenchSmokeTest {
    static final Path HOME = Path.of(System.getProperty("gradspark.home", "..")).toAbsolutePath().normalize();

    /** A smoke: the command, run from the repository root, and the report it must leave in its directory. */
    record Smoke(String command, String report) {}

    static final Smoke SUITE = new Smoke("submit-scripts/gradspark-bench --smoke", "REPORT.md");
    static final Smoke STORAGE = new Smoke("submit-scripts/gradspark-bench --smoke --only storage", "REPORT.md");
    static final Smoke KERNELS = new Smoke("bench/run-kernels --smoke", "kernels.md");
    static final Smoke LAPLACIAN = new Smoke("bench/run-laplacian --smoke", "laplacian.md");
    static final Smoke LAPLACIAN_JOB = new Smoke("bench/run-laplacian-job --smoke", "laplacian-job.md");
    static final Smoke RANDOMISED_LAPLACIAN = new Smoke("bench/run-randomised-laplacian --smoke", "randomised-laplacian.md");
    static final Smoke FUSION = new Smoke("bench/run-fusion-ab --smoke", "fusion.md");
    static final Smoke SECOND_ORDER = new Smoke("bench/run-second-order --smoke", "second-order.md");
    /** The high-dimensional Poisson PINN trained through the job (2 fits on local[2]) and its error. */
    static final Smoke HIGHDIM_JOB = new Smoke("bench/run-highdim-poisson-job --smoke", "highdim-poisson-job.md");
    static final Smoke GRAD_STATS = new Smoke("bench/run-grad-stats --smoke", "grad-stats.md");
    /** One pack for both runs that read it (packing copies 250 MB and compresses a JRE): run's gpu.md, run-e2e's gpu-e2e.md. */
    static final Smoke GPU_MACHINE = new Smoke("bench/gpu-machine/pack --smoke && bench/gpu-machine/run --smoke && bench/gpu-machine/run-e2e --smoke"
            + " && test -s \"$GRADSPARK_BENCH_SMOKE_DIR/gpu.md\"", "gpu-e2e.md");
    static final Smoke EVALUATION_OVERHEAD = new Smoke("bench/run-evaluation-overhead --smoke", "evaluation-overhead.jsonl");
    /** The cluster benchmark on local[2] (a YARN takes a minute to start): its report, chart and raw JSON; its input files removed. */
    static final Smoke CLUSTER = new Smoke("submit-scripts/gradspark-bench --smoke --master 'local[2]' --out \"$GRADSPARK_BENCH_SMOKE_DIR/cluster\""
            + " && test -s \"$GRADSPARK_BENCH_SMOKE_DIR/cluster/scaling.png\" && test -s \"$GRADSPARK_BENCH_SMOKE_DIR/cluster/results.json\""
            + " && test ! -e \"$GRADSPARK_BENCH_SMOKE_DIR/cluster/data\"", "cluster/REPORT.md");

    /** Each entry point (a path from the repository root) and the smoke that runs it. */
    static final Map<String, Smoke> SMOKE_OF = new TreeMap<>(Map.ofEntries(
            Map.entry("submit-scripts/gradspark-bench", SUITE),
            Map.entry("bench/gradspark_bench.py", SUITE),
            Map.entry("bench/merge_results.py", STORAGE),
            Map.entry("bench/run-mllib-peer", SUITE),
            Map.entry("bench/run-fit-bench", SUITE),
            Map.entry("bench/run-profile", SUITE),
            Map.entry("bench/profile_report.py", SUITE),
            Map.entry("bench/peers/torch_mlp.py", SUITE),
            Map.entry("bench/peers/torch_fit.py", SUITE),
            Map.entry("bench/src/main/java/org/gradspark/bench/BenchReport.java", SUITE),
            Map.entry("bench/src/main/java/org/gradspark/bench/CoreEndToEnd.java", SUITE),
            Map.entry("bench/src/main/java/org/gradspark/bench/DescribeBackends.java", SUITE),
            Map.entry("bench/src/main/java/org/gradspark/bench/FitBench.java", SUITE),
            Map.entry("bench/src/main/java/org/gradspark/bench/MllibPeer.java", SUITE),
            Map.entry("bench/run-kernels", KERNELS),
            Map.entry("bench/kernels_report.py", KERNELS),
            Map.entry("bench/src/main/java/org/gradspark/bench/KernelBenchmarks.java", KERNELS),
            Map.entry("bench/run-laplacian", LAPLACIAN),
            Map.entry("bench/peers/torch_laplacian.py", LAPLACIAN),
            Map.entry("bench/src/main/java/org/gradspark/bench/LaplacianBench.java", LAPLACIAN),
            Map.entry("bench/run-laplacian-job", LAPLACIAN_JOB),
            Map.entry("bench/laplacian_job.py", LAPLACIAN_JOB),
            Map.entry("bench/run-randomised-laplacian", RANDOMISED_LAPLACIAN),
            Map.entry("bench/randomised_laplacian_report.py", RANDOMISED_LAPLACIAN),
            Map.entry("bench/src/main/java/org/gradspark/bench/RandomisedLaplacianBench.java", RANDOMISED_LAPLACIAN),
            Map.entry("bench/src/main/java/org/gradspark/bench/HighDimPoisson.java", RANDOMISED_LAPLACIAN),
            Map.entry("bench/run-fusion-ab", FUSION),
            Map.entry("bench/run-second-order", SECOND_ORDER),
            Map.entry("bench/src/main/java/org/gradspark/bench/SecondOrderBench.java", SECOND_ORDER),
            Map.entry("bench/engd_line_search.py", SECOND_ORDER),
            Map.entry("bench/run-highdim-poisson-job", HIGHDIM_JOB),
            Map.entry("bench/src/main/java/org/gradspark/bench/HighDimPoissonJob.java", HIGHDIM_JOB),
            Map.entry("bench/run-grad-stats", GRAD_STATS),
            Map.entry("bench/grad_stats_report.py", GRAD_STATS),
            Map.entry("bench/peers/torch_grad_stats.py", GRAD_STATS),
            Map.entry("bench/src/main/java/org/gradspark/bench/GradStatsBench.java", GRAD_STATS),
            Map.entry("bench/gpu-machine/pack", GPU_MACHINE),
            Map.entry("bench/gpu-machine/run", GPU_MACHINE),
            Map.entry("bench/gpu-machine/peers.py", GPU_MACHINE),
            Map.entry("bench/gpu-machine/report.py", GPU_MACHINE),
            Map.entry("bench/gpu-machine/run-e2e", GPU_MACHINE),
            Map.entry("bench/gpu-machine/e2e_peer.py", GPU_MACHINE),
            Map.entry("bench/gpu-machine/e2e_report.py", GPU_MACHINE),
            Map.entry("bench/run-evaluation-overhead", EVALUATION_OVERHEAD),
            Map.entry("bench/src/main/java/org/gradspark/bench/EvaluationOverhead.java", EVALUATION_OVERHEAD),
            Map.entry("bench/src/main/java/org/gradspark/bench/ClusterBench.java", CLUSTER)));

    /**
     * A smoke that has not finished in this time has hung: its process tree is killed. Far above what they
     * take (bench/target/smokes/times.txt), as a loaded machine takes several times longer.
     */
    static final long TIMEOUT_MINUTES = 15;

    /** Each smoke once, the suite's first; bench/results must be the same after it. Times: bench/target/smokes/times.txt. */
    @TestFactory
    List<DynamicTest> smokes() {
        // -Dtest=BenchSmokeTest also selects it in the unit-test execution, before this module's jar exists.
        assumeTrue(Boolean.getBoolean("gradspark.bench.smokes"), "the smokes run in execution bench-smokes, after package");
        List<Smoke> order = List.of(SUITE, STORAGE, KERNELS, LAPLACIAN, LAPLACIAN_JOB, RANDOMISED_LAPLACIAN, FUSION, GRAD_STATS, SECOND_ORDER,
                HIGHDIM_JOB, EVALUATION_OVERHEAD, GPU_MACHINE, CLUSTER);
        assertEquals(Set.copyOf(SMOKE_OF.values()), Set.copyOf(order), "the smokes run are those of SMOKE_OF");
        List<DynamicTest> tests = new ArrayList<>();
        for (Smoke s : order) tests.add(DynamicTest.dynamicTest(s.command(), () -> run(s)));
        return tests;
    }

    private static void run(Smoke smoke) throws IOException, InterruptedException {
        Path logs = HOME.resolve("bench/target/smokes");
        Files.createDirectories(logs);
        String tag = smoke.command().replaceAll("^.*?/", "").replaceAll("[^A-Za-z0-9]+", "-");
        Path dir = Files.createTempDirectory("gradspark-bench-smoke-");
        Path log = logs.resolve(tag + ".log");
        Map<String, String> before = snapshot(HOME.resolve("bench/results"));
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "set -e; " + smoke.command()).directory(HOME.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("GRADSPARK_BENCH_SMOKE_DIR", dir.toString());
        // As a user runs them: surefire's LD_PRELOAD (libjsig for this JVM) is the scripts' own business.
        pb.environment().remove("LD_PRELOAD");
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail(smoke.command() + " did not finish in " + TIMEOUT_MINUTES + " minutes; its output: " + log + ", its results: " + dir + "\n" + tail(log));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        String line = String.format(Locale.ROOT, "%-60s %6.1f s, exit %d%n", smoke.command(), seconds, p.exitValue());
        System.out.print("smoke: " + line);
        Files.writeString(logs.resolve("times.txt"), line, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        assertEquals(0, p.exitValue(), smoke.command() + " failed; its output (" + log + ", results in " + dir + "):\n" + tail(log));
        assertTrue(Files.isRegularFile(dir.resolve(smoke.report())), smoke.command() + " left no " + smoke.report() + " in " + dir + ":\n" + tail(log));
        assertEquals(before, snapshot(HOME.resolve("bench/results")), smoke.command() + " changed bench/results");
        deleteTree(dir);  // kept when the smoke failed, for its outputs
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Each file's size and modification time: what a smoke must not change. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    m.put(dir.relativize(f).toString(), Files.size(f) + " " + Files.getLastModifiedTime(f));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return m;
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
