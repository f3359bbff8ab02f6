package org.gradspark.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.bench.ClusterBenchOptions.MasterKind;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;

/** The cluster benchmark's options, how each master is sized, and its efficiency figures (no Spark: the sweep itself is BenchSmokeTest's CLUSTER). */
class ClusterBenchTest {
    private static ClusterBenchOptions parse(String... args) {
        return ClusterBenchOptions.parse(List.of(args));
    }

    @Test
    void defaultsAreTheShortSweepAndSmokeIsTiny() {
        ClusterBenchOptions o = parse("--master", "yarn", "--out", "hdfs://nn:9000/r");
        assertEquals(List.of(1, 2, 4), o.executors());
        assertEquals(List.of(10_000_000L, 50_000_000L), o.reductionParams());
        assertEquals(ClusterBenchOptions.DEFAULT_LAYERS, o.layers());
        assertEquals(16384 * 4, o.rowsPerExecutor() * o.maxExecutors());
        ClusterBenchOptions smoke = parse("--smoke", "--master", "local[2]", "--out", "/tmp/x");
        assertEquals(List.of(1), smoke.executors());
        assertEquals(List.of(10_000L), smoke.reductionParams());
    }

    /**
     * The benchmark's own JVM reads and writes s3a:// (--out, --data on S3): S3A and the AWS SDK's S3 client are on
     * its class path, as in the project's Spark home (they were not: "Class org.apache.hadoop.fs.s3a.S3AFileSystem
     * not found" and a stack trace). Loaded, not initialised: the run against local-cluster's S3 server is the proof
     * that they work (bench/results/cluster-bench-standalone/s3).
     */
    @Test
    void theBenchmarkCanReachS3() throws ClassNotFoundException {
        ClassLoader loader = ClusterBench.class.getClassLoader();
        for (String c : List.of("org.apache.hadoop.fs.s3a.S3AFileSystem", "software.amazon.awssdk.services.s3.S3Client",
                "software.amazon.awssdk.transfer.s3.S3TransferManager")) {
            assertEquals(c, Class.forName(c, false, loader).getName());
        }
    }

    @Test
    void eachMasterKindIsSizedItsOwnWay() {
        assertEquals(MasterKind.YARN, MasterKind.of("yarn"));
        assertEquals(MasterKind.STANDALONE, MasterKind.of("spark://127.0.0.1:7077"));
        assertEquals(MasterKind.KUBERNETES, MasterKind.of("k8s://https://api.example:6443"));
        assertEquals(MasterKind.LOCAL, MasterKind.of("local[2]"));
        String tail = "--conf spark.dynamicAllocation.enabled=false --conf spark.scheduler.minRegisteredResourcesRatio=1.0"
                + " --conf spark.scheduler.maxRegisteredResourcesWaitingTime=300s";
        assertEquals("--master yarn --num-executors 4 --executor-cores 2 " + tail, sized("yarn", 4, "2"));
        assertEquals("--master spark://h:7077 --conf spark.cores.max=8 --conf spark.executor.cores=2 " + tail, sized("spark://h:7077", 4, "2"));
        assertEquals("--master k8s://https://k:6443 --conf spark.executor.instances=4 --conf spark.executor.cores=2 " + tail, sized("k8s://https://k:6443", 4, "2"));
        assertEquals("--master local[8]", sized("local[2]", 4, "2"));
    }

    private static String sized(String master, int n, String cores) {
        ClusterBenchOptions o = parse("--master", master, "--out", "/tmp/x", "--executor-cores", cores);
        return String.join(" ", ClusterBench.executorArgs(o, n));
    }

    @Test
    void theReportNamesTheCommandAsAShellTakesIt() {
        assertEquals("gradspark-bench --master 'local[2]' --out /tmp/r --note 'one machine, Bob'\\''s' -- --executor-memory 2g",
                ClusterBench.commandLine("--master", "local[2]", "--out", "/tmp/r", "--note", "one machine, Bob's", "--", "--executor-memory", "2g"));
    }

    @Test
    void badOptionsNameWhatIsWrong() {
        assertBad("--master mesos://h:5050: not a master the benchmark can size", "--master", "mesos://h:5050", "--out", "/tmp/x");
        assertBad("--rows 0: '0' is not > 0", "--master", "yarn", "--out", "/tmp/x", "--rows", "0");
        assertBad("--executors 1,-2: '-2' is not a whole number > 0", "--master", "yarn", "--out", "/tmp/x", "--executors", "1,-2");
        assertBad("--executors 2,2: the counts must increase", "--master", "yarn", "--out", "/tmp/x", "--executors", "2,2");
        assertBad("--reduction 0M: '0M' is not > 0", "--master", "yarn", "--out", "/tmp/x", "--reduction", "0M");
        assertBad("--repeat 0: '0' is not > 0", "--master", "yarn", "--out", "/tmp/x", "--repeat", "0");
        assertBad("--layers 16: at least two sizes", "--master", "yarn", "--out", "/tmp/x", "--layers", "16");
        assertBad("--out is required", "--master", "yarn");
        assertBad("-- --num-executors: the sweep sets the master and the executors itself", "--master", "yarn", "--out", "/tmp/x", "--", "--num-executors", "3");
        assertBad("-- spark.cores.max=4: the sweep sets", "--master", "yarn", "--out", "/tmp/x", "--", "--conf", "spark.cores.max=4");
        assertBad("unknown option '--rowz'", "--master", "yarn", "--out", "/tmp/x", "--rowz", "3");
    }

    private static void assertBad(String message, String... args) {
        BadInputException e = assertThrows(BadInputException.class, () -> parse(args));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    /** Throughput 100, 180, 300 rows/s at 1, 2, 4 executors: 100%, 90%, 75% of the ideal line; a failed count has none. */
    @Test
    void efficiencyIsThroughputOverTheIdealLine() throws IOException {
        List<Map<String, Object>> strong = List.of(run("strong", 1, 100), run("strong", 2, 180), run("strong", 4, 300), failed("strong", 8));
        double[] e = ClusterBenchReport.efficiency(strong);
        assertArrayEquals(new double[] {1.0, 0.9, 0.75}, Arrays.copyOf(e, 3), 1e-12);
        assertTrue(Double.isNaN(e[3]));
        // Measured from 2 executors on: the ideal line starts there.
        assertArrayEquals(new double[] {1.0, 300 / 180.0 / 2}, ClusterBenchReport.efficiency(List.of(run("weak", 2, 180), run("weak", 4, 300))), 1e-12);
        byte[] png = ClusterBenchReport.chart(strong);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    }

    private static Map<String, Object> run(String kind, int n, double rowsPerS) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kind", kind);
        r.put("executors_asked", n);
        r.put("rows_per_s", rowsPerS);
        return r;
    }

    private static Map<String, Object> failed(String kind, int n) {
        Map<String, Object> r = run(kind, n, 0);
        r.remove("rows_per_s");
        r.put("error", "exit 1");
        return r;
    }
}
