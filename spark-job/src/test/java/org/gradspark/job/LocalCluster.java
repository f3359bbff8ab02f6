package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Spark standalone cluster (a Master and Workers on 127.0.0.1) started with
 * {@code submit-scripts/local-cluster} in a directory and on ports of its own, and jobs submitted to
 * it (or to a local master) through {@code submit-scripts/gradspark-submit}, as users do.
 */
final class LocalCluster implements AutoCloseable {
    /** The project's root, where submit-scripts/ is (set by the build; the module's parent otherwise). */
    static final Path HOME = Path.of(System.getProperty("gradspark.home", "..")).toAbsolutePath().normalize();
    static final String SKIP_VARIABLE = "GRADSPARK_SKIP_CLUSTER_TESTS";

    /** The cluster's state (PIDs, logs, the workers' directories); the scripts' own output is beside it. */
    final Path dir;
    private final Path logs;
    final String masterUrl;
    private final List<Process> submitted = new ArrayList<>();
    /** local-cluster start's flags (--hdfs, --isolated). */
    private final List<String> flags;
    /** The HDFS's hdfs://127.0.0.1:PORT, once started with --hdfs; else null. */
    private String hdfsUrl;
    private int hdfsRuns;
    /** The S3 server's bucket, s3a://BUCKET, once started with --s3; else null. */
    private String s3Url;

    /** More environment for the scripts, and so for the Master, the Workers and their executors (and the drivers submitted). */
    private final Map<String, String> moreEnv;

    private LocalCluster(Path home, String masterUrl, List<String> flags, Map<String, String> moreEnv) {
        this.dir = home.resolve("state");
        this.logs = home;
        this.masterUrl = masterUrl;
        this.flags = flags;
        this.moreEnv = moreEnv;
    }

    /** Whether GRADSPARK_SKIP_CLUSTER_TESTS=1 asks to leave out the tests that start a cluster. */
    static boolean skipped() {
        return "1".equals(System.getenv(SKIP_VARIABLE));
    }

    /** Skips the calling test (reported as skipped, with the reason) when GRADSPARK_SKIP_CLUSTER_TESTS=1. */
    static void assumeWanted() {
        assumeFalse(skipped(), SKIP_VARIABLE + "=1: the standalone-cluster test is skipped");
    }

    /** Starts a Master and {@code workers} Workers of 1 core each in {@code home}; returns once all have registered. */
    static LocalCluster start(Path home, int workers) {
        return start(home, workers, new String[0]);
    }

    /**
     * Starts a cluster as {@link #start(Path, int)} does, with local-cluster start's {@code flags}:
     * {@code "--hdfs"} (an HDFS on a free port as well: {@link #hdfsUrl()}, {@link #hdfs(String...)}) and
     * {@code "--isolated"} (each Worker, with its executors, in a mount namespace of its own that hides
     * /tmp, the script's working directory and, passed in GRADSPARK_ISOLATE_DIRS, the project's
     * directory {@link #HOME}; needs root: see {@link #isolationPermitted()}).
     */
    static LocalCluster start(Path home, int workers, String... flags) {
        return start(home, workers, Map.of(), flags);
    }

    /**
     * Starts a cluster as {@link #start(Path, int, String...)} does, with {@code env} added to the
     * environment of its daemons (so of the executors) and of the jobs submitted to it: for example
     * GRADSPARK_WORKER_CORES, SPARK_WORKER_OPTS (a worker's resources), POCL_DEVICES.
     */
    static LocalCluster start(Path home, int workers, Map<String, String> env, String... flags) {
        int port = freePort();
        // With --yarn: no standalone master, jobs go to --master yarn with the YARN_CONF_DIR the script wrote (env()).
        LocalCluster cluster = new LocalCluster(home, List.of(flags).contains("--yarn") ? "yarn" : "spark://127.0.0.1:" + port, List.of(flags), Map.copyOf(env));
        List<String> cmd = new ArrayList<>(List.of(script("local-cluster"), "start", String.valueOf(workers)));
        cmd.addAll(cluster.flags);
        Run r = run(Duration.ofMinutes(3), cluster.env(), cluster.logs.resolve("start"), cmd.toArray(new String[0]));
        if (r.exitCode() != 0) {
            cluster.close();
            fail("local-cluster start failed (" + r.exitCode() + "):\n" + r.stdout() + r.stderr());
        }
        if (cluster.flags.contains("--hdfs")) {
            try {
                cluster.hdfsUrl = Files.readString(cluster.dir.resolve("hdfs.url")).trim();
            } catch (IOException e) {
                cluster.close();
                throw new UncheckedIOException("local-cluster start --hdfs wrote no hdfs.url", e);
            }
        }
        if (cluster.flags.contains("--s3")) {
            try {
                cluster.s3Url = Files.readString(cluster.dir.resolve("s3.url")).trim();
            } catch (IOException e) {
                cluster.close();
                throw new UncheckedIOException("local-cluster start --s3 wrote no s3.url", e);
            }
        }
        return cluster;
    }

    /** The S3 server's bucket, {@code s3a://BUCKET}, when started with {@code --s3}; null otherwise. */
    String s3Url() {
        return s3Url;
    }

    /** The Spark settings of the S3 server's clients (endpoint, credentials...), for --extra-properties-file. */
    Path s3Properties() {
        return dir.resolve("s3.properties");
    }

    /** The S3 server's PID (the S3Proxy JVM local-cluster started with --s3). */
    long s3Pid() {
        try {
            return Long.parseLong(Files.readString(dir.resolve("s3.pid")).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs Hadoop's shell on this cluster's bucket ({@code local-cluster s3 ARGS}), as {@link #hdfs} does on its HDFS. */
    Run s3(String... args) {
        List<String> cmd = new ArrayList<>(List.of(script("local-cluster"), "s3"));
        cmd.addAll(Arrays.asList(args));
        return run(Duration.ofMinutes(2), env(), logs.resolve("s3-" + (++hdfsRuns)), cmd.toArray(new String[0]));
    }

    /** The HDFS's URL, {@code hdfs://127.0.0.1:PORT}, when started with {@code --hdfs}; null otherwise. */
    String hdfsUrl() {
        return hdfsUrl;
    }

    /**
     * Runs Hadoop's shell on this cluster's HDFS ({@code local-cluster hdfs ARGS}: put, get, ls, cat,
     * rm, mkdir...), to its end; its output and exit code in the result. Local paths must be
     * absolute (it runs in a directory of its own under the cluster's home).
     */
    Run hdfs(String... args) {
        List<String> cmd = new ArrayList<>(List.of(script("local-cluster"), "hdfs"));
        cmd.addAll(Arrays.asList(args));
        return run(Duration.ofMinutes(2), env(), logs.resolve("hdfs-" + (++hdfsRuns)), cmd.toArray(new String[0]));
    }

    /** The Workers' PIDs (worker-1, worker-2...: the JVMs local-cluster started; with --isolated, each in its own mount namespace). */
    List<Long> workerPids() {
        try (Stream<Path> pids = Files.list(dir)) {
            List<Long> found = new ArrayList<>();
            for (Path pidFile : pids.filter(p -> p.getFileName().toString().matches("worker-\\d+\\.pid"))
                    .sorted(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().replaceAll("\\D", ""))))
                    .toList()) {
                found.add(Long.parseLong(Files.readString(pidFile).trim()));
            }
            return found;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether this JVM may make a mount namespace and mount a tmpfs in it, as {@code --isolated}
     * needs (root, or CAP_SYS_ADMIN); tried in a throwaway namespace on a fresh temporary directory.
     */
    static boolean isolationPermitted() {
        try {
            Path probe = Files.createTempDirectory("gradspark-isolation-probe");
            try {
                Process p = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "gradspark-probe", probe.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
            } finally {
                Files.deleteIfExists(probe);
            }
        } catch (IOException e) {
            return false;  // no unshare
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Submits {@code grad} with the job options to this cluster, without waiting for it. */
    Process submit(Path logs, String... jobOptions) {
        return submit(logs, List.of(), jobOptions);
    }

    /** Submits {@code grad} with spark-submit's and the job's options to this cluster, without waiting for it. */
    Process submit(Path logs, List<String> submitOptions, String... jobOptions) {
        List<String> options = new ArrayList<>(submitOptions);
        // Isolated Workers play separate hosts that share the name 127.0.0.1: Spark would read another executor's
        // shuffle files from "this host's" disk, which the other mount namespace hides (a FetchFailedException).
        if (flags.contains("--isolated")) options.addAll(0, List.of("--conf", "spark.shuffle.readHostLocalDisk=false"));
        Process p = launch(env(), logs, submitCommand(masterUrl, options, jobOptions));
        submitted.add(p);
        return p;
    }

    /** Starts {@code command} (a gradspark-submit line) with this cluster's environment, without waiting; ended by {@link #close()}. */
    Process launch(Path logs, String... command) {
        Process p = launch(env(), logs, command);
        submitted.add(p);
        return p;
    }

    /** The executor JVMs the workers run now, with the work directory of each (app-id/executor-id). */
    List<Executor> executors() {
        List<Executor> found = new ArrayList<>();
        try (Stream<Path> pids = Files.list(dir)) {
            for (Path pidFile : pids.filter(p -> p.getFileName().toString().matches("worker-\\d+\\.pid")).sorted().toList()) {
                String worker = pidFile.getFileName().toString().replace(".pid", "");
                Optional<ProcessHandle> w = ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim()));
                if (w.isEmpty()) continue;
                w.get().descendants().forEach(p -> {
                    List<String> args = p.info().arguments().map(Arrays::asList).orElse(List.of());
                    if (args.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend")) {
                        String app = args.get(args.indexOf("--app-id") + 1), id = args.get(args.indexOf("--executor-id") + 1);
                        found.add(new Executor(p, dir.resolve(worker).resolve(app).resolve(id)));
                    }
                });
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    /**
     * With --yarn: the executor JVMs the NodeManagers run now (YARN containers, children of the YARN daemon), each with its
     * container's log directory (where its stderr is), found by the container id, the name of the JVM's working directory.
     */
    List<Executor> yarnExecutors() {
        List<Executor> found = new ArrayList<>();
        try {
            Optional<ProcessHandle> daemon = ProcessHandle.of(Long.parseLong(Files.readString(dir.resolve("yarn.pid")).trim()));
            if (daemon.isEmpty()) return found;
            for (ProcessHandle p : daemon.get().descendants().toList()) {
                List<String> args = p.info().arguments().map(Arrays::asList).orElse(List.of());
                if (!args.contains("org.apache.spark.executor.YarnCoarseGrainedExecutorBackend")) continue;
                String container;
                try {
                    container = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/cwd")).getFileName().toString();
                } catch (IOException gone) {
                    continue;
                }
                // MiniYARNCluster's layout: yarn/gradspark-yarn/yarn-N/gradspark-yarn-logDir-nm-I_0/APPLICATION/CONTAINER (a walk of all of
                // yarn/ would meet the NodeManagers' short-lived private files).
                String app = "application_" + container.replaceFirst("^container_(\\d+_\\d+)_.*$", "$1");
                try (Stream<Path> logDirs = Files.list(dir.resolve("yarn/gradspark-yarn")).flatMap(LocalCluster::children)
                        .filter(d -> d.getFileName().toString().contains("-logDir-"))) {
                    logDirs.map(d -> d.resolve(app).resolve(container)).filter(Files::isDirectory).findFirst()
                            .ifPresent(log -> found.add(new Executor(p, log)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    private static Stream<Path> children(Path d) {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An executor JVM and the directory its stderr (Spark's INFO log) is written in. */
    record Executor(ProcessHandle process, Path workDir) {
        boolean runsATask() {
            try {
                Path log = workDir.resolve("stderr");
                return Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains("Running task");
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** Ends drivers still running (a test that failed midway), then stops the Master, the Workers and their executors. */
    @Override
    public void close() {
        for (Process p : submitted) {
            killTree(p);
        }
        Run r = run(Duration.ofMinutes(1), env(), logs.resolve("stop"), script("local-cluster"), "stop");
        assertEquals(0, r.exitCode(), "local-cluster stop: " + r.stdout() + r.stderr());
    }

    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>(Map.of("GRADSPARK_CLUSTER_DIR", dir.toString(),
                "GRADSPARK_MASTER_PORT", masterUrl.equals("yarn") ? String.valueOf(freePort()) : masterUrl.substring(masterUrl.lastIndexOf(':') + 1),
                "GRADSPARK_MASTER_WEBUI_PORT", "0", "GRADSPARK_WORKER_WEBUI_PORT", "0", "GRADSPARK_HDFS_PORT", "0"));
        env.putAll(moreEnv);
        if (flags.contains("--yarn")) env.put("YARN_CONF_DIR", dir.resolve("yarn-conf").toString());
        if (flags.contains("--isolated")) {
            // The driver's files are the project's tree too (the application jar, conf/, the tests' fixtures).
            String more = System.getenv("GRADSPARK_ISOLATE_DIRS");
            env.put("GRADSPARK_ISOLATE_DIRS", HOME + (more == null || more.isEmpty() ? "" : ":" + more));
        }
        return env;
    }

    // ---- running the scripts ----

    /** What a script printed and how it ended. */
    record Run(int exitCode, String stdout, String stderr) {}

    static String script(String name) {
        return HOME.resolve("submit-scripts").resolve(name).toString();
    }

    /** gradspark-submit --master MASTER (no web UI) [SUBMIT OPTIONS] grad [JOB OPTIONS]. */
    static String[] submitCommand(String master, List<String> submitOptions, String... jobOptions) {
        List<String> cmd = new ArrayList<>(List.of(script("gradspark-submit"), "--master", master, "--conf", "spark.ui.enabled=false"));
        cmd.addAll(submitOptions);
        cmd.add("grad");
        cmd.addAll(Arrays.asList(jobOptions));
        return cmd.toArray(new String[0]);
    }

    /** Starts a command with its output in {@code logs}/stdout and /stderr (so no pipe can fill up). */
    static Process launch(Map<String, String> env, Path logs, String... command) {
        try {
            Files.createDirectories(logs);
            ProcessBuilder pb = new ProcessBuilder(command).directory(logs.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(logs.resolve("stdout").toFile()).redirectError(logs.resolve("stderr").toFile());
            // The project's own Spark, whatever the machine has.
            pb.environment().remove("SPARK_HOME");
            // gradspark-submit's log file (Spark's warnings and failed tasks' traces) beside the run's output.
            pb.environment().put("GRADSPARK_LOG_DIR", logs.toString());
            pb.environment().putAll(env);
            return pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command to its end (killing it after {@code timeout}). */
    /**
     * SIGKILL to {@code p} and every process under it (a lost machine: no shutdown hook runs), and
     * waits until each is gone. The driver JVM is the script's child: it outlives {@code p.waitFor()}
     * by the time the kernel takes to tear it down, and a run started meanwhile sees its pid alive
     * (an --out lock still held).
     */
    static void killTree(Process p) {
        List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
        tree.add(p.toHandle());
        tree.forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (ProcessHandle h : tree) {
            while (h.isAlive() && !isZombie(h.pid())) {
                if (System.nanoTime() > deadline) fail("pid " + h.pid() + " still alive 60 s after SIGKILL");
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    /** A process that has exited but is not yet reaped (state Z in /proc/PID/stat): its pid is still taken. */
    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Thread.sleep for the cluster tests' polling loops (an interrupt ends the test). */
    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Seconds since {@code since} (a System.nanoTime()), for the cluster tests' timing lines. */
    static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    static Run run(Duration timeout, Map<String, String> env, Path logs, String... command) {
        return await(launch(env, logs, command), logs, timeout);
    }

    static Run await(Process p, Path logs, Duration timeout) {
        try {
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                killTree(p);
                fail(String.join(" ", p.info().commandLine().orElse("the command")) + " did not end within " + timeout + "; output in " + logs);
            }
            return new Run(p.exitValue(), Files.readString(logs.resolve("stdout")), Files.readString(logs.resolve("stderr")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The driver's log file(s) gradspark-submit wrote for runs in {@code logs}, concatenated ("" when none). */
    static String driverLog(Path logs) {
        try (Stream<Path> s = Files.list(logs)) {
            StringBuilder b = new StringBuilder();
            for (Path p : s.filter(f -> f.getFileName().toString().startsWith("driver-") && f.toString().endsWith(".log")).sorted().toList()) {
                b.append(Files.readString(p));
            }
            return b.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts a run ended with 0, showing its output if not. */
    static Run succeeded(Run r) {
        assertEquals(0, r.exitCode(), () -> "exit code " + r.exitCode() + "\nstdout:\n" + r.stdout() + "\nstderr:\n" + tail(r.stderr()));
        assertTrue(r.stdout().contains("GradSpark wrote"), r.stdout());
        return r;
    }

    private static String tail(String s) {
        return s.length() <= 8000 ? s : "..." + s.substring(s.length() - 8000);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
