package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code local-cluster start 1 --isolated --hdfs}: the Worker runs in a mount namespace of its own in
 * which the driver's files (here: a file in the test's /tmp directory, and the project's tree) are
 * out of sight while the Spark jars, the JDK and the cluster's state directory stay visible; the
 * HDFS started beside it takes a file with {@code local-cluster hdfs put} right after start and gives
 * it back byte for byte; {@code stop} leaves no process behind. Needs root (mount namespaces):
 * skipped otherwise, and when GRADSPARK_SKIP_CLUSTER_TESTS=1.
 */
class IsolatedClusterTest {
    @TempDir
    Path dir;

    @Test
    void workersSeeNoDriverFilesAndHdfsRoundTrips() throws IOException, InterruptedException {
        LocalCluster.assumeWanted();
        assumeTrue(LocalCluster.isolationPermitted(), "mount namespaces are not permitted here (needs root): --isolated is not tested");

        // The driver's files, written before the cluster starts: in /tmp and in the project's tree.
        Path secret = Files.writeString(dir.resolve("driver-only.txt"), "the driver's\n");
        Path projectFile = LocalCluster.HOME.resolve("pom.xml");
        Path sparkJars = LocalCluster.HOME.resolve("spark-job/target/spark-home/jars");
        assertTrue(Files.isDirectory(sparkJars), sparkJars + " (mvn package makes it)");

        long t0 = System.nanoTime();
        List<Long> workers;
        LocalCluster cluster = LocalCluster.start(dir.resolve("cluster"), 1, "--isolated", "--hdfs");
        try {
            System.out.printf("IsolatedClusterTest: cluster (1 isolated worker) and HDFS %s up in %.1f s%n", cluster.hdfsUrl(),
                    (System.nanoTime() - t0) / 1e9);
            workers = cluster.workerPids();
            assertEquals(1, workers.size(), workers.toString());
            long worker = workers.get(0);
            assertTrue(ProcessHandle.of(worker).map(ProcessHandle::isAlive).orElse(false), "worker " + worker + " is not running");
            assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")), Files.readSymbolicLink(Path.of("/proc/" + worker + "/ns/mnt")),
                    "the worker shares this JVM's mount namespace");

            // Seen from inside the worker's namespace.
            assertFalse(seenByWorker(worker, secret), "the worker sees the driver's " + secret);
            assertFalse(seenByWorker(worker, projectFile), "the worker sees the project's " + projectFile);
            assertTrue(seenByWorker(worker, sparkJars.resolve(firstJar(sparkJars))), "the worker cannot see the Spark jars in " + sparkJars);
            assertTrue(seenByWorker(worker, cluster.dir.resolve("worker-1")), "the worker cannot see its work directory");
            assertTrue(seenByWorker(worker, Path.of(System.getProperty("java.home"), "bin", "java")), "the worker cannot see the JDK");
            // ...and from here, still the same files.
            assertTrue(Files.exists(secret) && Files.exists(projectFile));

            // HDFS: put right after start, ls, get back byte for byte.
            assertNotNull(cluster.hdfsUrl());
            assertTrue(cluster.hdfsUrl().matches("hdfs://127\\.0\\.0\\.1:\\d+"), cluster.hdfsUrl());
            assertEquals(cluster.hdfsUrl(), Files.readString(cluster.dir.resolve("hdfs.url")).trim());
            byte[] bytes = new byte[1 << 20];
            new Random(3).nextBytes(bytes);
            Path local = Files.write(dir.resolve("data.bin"), bytes);
            ok(cluster.hdfs("mkdir", "-p", "/in"));
            ok(cluster.hdfs("put", local.toString(), "/in/data.bin"));
            LocalCluster.Run ls = ok(cluster.hdfs("ls", "/in"));
            assertTrue(ls.stdout().contains("/in/data.bin") && ls.stdout().contains(String.valueOf(bytes.length)), ls.stdout());
            Path back = dir.resolve("back.bin");
            ok(cluster.hdfs("get", cluster.hdfsUrl() + "/in/data.bin", back.toString()));
            assertArrayEquals(bytes, Files.readAllBytes(back));
            LocalCluster.Run missing = cluster.hdfs("cat", "/in/nothing-here");
            assertNotEquals(0, missing.exitCode(), "cat of a missing file exited with 0");
            assertTrue(missing.stderr().contains("No such file"), missing.stderr());
        } finally {
            cluster.close();
        }

        // stop ended the Master, the Worker and the HDFS: no process of this cluster is left.
        List<String> left = new ArrayList<>();
        for (String name : List.of("master", "worker-1", "hdfs")) {
            Path pid = cluster.dir.resolve(name + ".pid");
            assertFalse(Files.exists(pid), pid + " is left");
        }
        ProcessHandle.allProcesses().forEach(p -> p.info().arguments().ifPresent(args -> {
            if (String.join(" ", args).contains(cluster.dir.toString())) left.add(p.pid() + " " + String.join(" ", args));
        }));
        for (long worker : workers) {
            ProcessHandle.of(worker).ifPresent(p -> left.add("worker " + p.pid()));
        }
        assertEquals(List.of(), left, "processes left after local-cluster stop");
    }

    /** Whether {@code path} exists in the mount namespace of process {@code pid} (nsenter --mount). */
    private static boolean seenByWorker(long pid, Path path) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("nsenter", "--target", String.valueOf(pid), "--mount", "--", "test", "-e", path.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "nsenter did not end");
        assertTrue(p.exitValue() == 0 || p.exitValue() == 1, "nsenter failed (" + p.exitValue() + "): " + out);
        return p.exitValue() == 0;
    }

    private static String firstJar(Path jars) throws IOException {
        try (var s = Files.list(jars)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("spark-core")).findFirst().orElseThrow();
        }
    }

    private static LocalCluster.Run ok(LocalCluster.Run r) {
        assertEquals(0, r.exitCode(), () -> "local-cluster hdfs: exit code " + r.exitCode() + "\n" + r.stdout() + r.stderr());
        return r;
    }
}
