package org.gradspark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.bench.ClusterBenchOptions.MasterKind;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;

/**
 * {@code gradspark-bench --master URL --out DIR}: a short sweep on a user's cluster, through
 * {@code gradspark-submit} as a user runs it, one application per measurement:
 * <ul>
 *   <li>strong scaling: the large MLP's weight gradient over the same rows (rows per executor times the largest
 *       count) at each executor count;</li>
 *   <li>weak scaling: rows per executor times the count;</li>
 *   <li>the reduction of 10M and 50M parameters (an identity layer over 32 rows), the reduce step alone:
 *       the evaluation's time less its slowest partition's own time (summary.json's {@code per_partition});</li>
 *   <li>the storage's rates: the input files written to {@code --data} (on the cluster's HDFS or S3) and read back
 *       by this process, and the executors' first evaluation, which reads the rows, against the later ones.</li>
 * </ul>
 * Throughput is rows over the median of the timed evaluations ({@code --repeat}, after one warm-up);
 * efficiency is throughput(n) over n times throughput(1), against the ideal 1. The report
 * ({@code REPORT.md}, {@code results.json}, {@code scaling.png}) goes to {@code --out} through Hadoop's
 * filesystems, so {@code hdfs://} and {@code s3a://} work as local directories do.
 */
public final class ClusterBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The timed evaluations follow this many warm-up ones in each application (JIT, rows read and cached). */
    static final int WARMUP = 1;
    /** Rows of each reduction run: the reduction, not the rows, is what it times. */
    static final int REDUCTION_ROWS = 32;

    private final ClusterBenchOptions o;
    private final Storage storage;
    private final Path home;
    private final Path logs;
    private final String out;
    private final String data;
    private final List<Map<String, Object>> records = new ArrayList<>();
    private boolean failed;

    private ClusterBench(ClusterBenchOptions o, Storage storage, Path home, Path logs) {
        this.o = o;
        this.storage = storage;
        this.home = home;
        this.logs = logs;
        this.out = storage.qualify(o.out());
        this.data = o.data() == null ? Storage.child(out, "data") : storage.qualify(o.data());
    }

    public static void main(String[] args) throws IOException {
        int status;
        try {
            ClusterBenchOptions o = ClusterBenchOptions.parse(List.of(args));
            Path home = Path.of(System.getProperty("gradspark.home", ".")).toAbsolutePath().normalize();
            Storage storage = Storage.of(hadoopConfiguration(o));
            Path logs = Files.createTempDirectory("gradspark-cluster-bench-");
            status = new ClusterBench(o, storage, home, logs).run(commandLine(args));
        } catch (BadInputException e) {
            System.err.println("gradspark-bench: " + e.getMessage());
            status = 2;
        }
        System.exit(status);
    }

    /** The command as a shell would take it again: an argument with spaces or quotes in single quotes. */
    static String commandLine(String... args) {
        StringBuilder b = new StringBuilder("gradspark-bench");
        for (String a : args) {
            b.append(' ').append(a.matches("[A-Za-z0-9_./:=,+@%-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return b.toString();
    }

    /**
     * Hadoop's configuration as the jobs see it: the client files of {@code HADOOP_CONF_DIR} and
     * {@code YARN_CONF_DIR} (which spark-submit puts on the driver's class path), then the {@code spark.hadoop.*}
     * settings of the submit options.
     */
    private static Configuration hadoopConfiguration(ClusterBenchOptions o) {
        Configuration c = new Configuration();
        for (String dir : new String[] {System.getenv("HADOOP_CONF_DIR"), System.getenv("YARN_CONF_DIR")}) {
            if (dir == null || dir.isBlank()) continue;
            for (String f : new String[] {"core-site.xml", "hdfs-site.xml"}) {
                Path p = Path.of(dir, f);
                if (Files.isRegularFile(p)) c.addResource(new org.apache.hadoop.fs.Path(p.toUri()));
            }
        }
        o.sparkHadoopSettings(System.getenv("YARN_CONF_DIR")).forEach((k, v) -> c.set(k.substring("spark.hadoop.".length()), v));
        return c;
    }

    private int run(String command) throws IOException {
        if (storage.exists(out)) throw new BadInputException("--out " + Storage.display(out) + " already exists: the report goes into a new directory");
        List<Integer> sizes = o.executors();
        Map<Integer, String> inputs = new LinkedHashMap<>();
        for (int n : sizes) inputs.put(n, Storage.child(data, "x-" + o.rowsPerExecutor() * n + "x" + o.inputs() + ".npy"));
        for (String f : inputs.values()) checkReusable(f);
        storage.mkdirs(out);
        records.add(setup(command));
        log("report into " + Storage.display(out) + "; job logs in " + logs);
        for (Map.Entry<Integer, String> e : inputs.entrySet()) attempt("write " + Storage.name(e.getValue()), () -> writeInput(e.getValue(), o.rowsPerExecutor() * e.getKey()));
        for (String f : inputs.values()) attempt("read " + Storage.name(f), () -> readInput(f));
        int max = o.maxExecutors();
        Map<String, Object> atMax = null;
        for (int n : sizes) {
            Map<String, Object> r = mlp("strong", n, inputs.get(max), o.rowsPerExecutor() * max, 2 * max * o.executorCores());
            if (n == max) atMax = r;
        }
        for (int n : sizes) {
            if (n == max && atMax != null) {
                // The same application as strong scaling's largest run (same rows, partitions, executors): not run twice.
                Map<String, Object> same = new LinkedHashMap<>(atMax);
                same.put("kind", "weak");
                same.put("same_run_as", "strong " + max);
                records.add(same);
            } else {
                mlp("weak", n, inputs.get(n), o.rowsPerExecutor() * n, 2 * n * o.executorCores());
            }
        }
        for (long p : o.reductionParams()) reduction(p, max);
        if (o.data() == null) storage.delete(data, true);
        storage.delete(Storage.child(out, "runs"), true);
        ClusterBenchReport.write(storage, out, records, o);
        log("wrote " + Storage.display(Storage.child(out, "REPORT.md")));
        if (failed) log("some measurements failed (the report's last section; job logs in " + logs + "): exit status 1");
        return failed ? 1 : 0;
    }

    /** A file already in {@code --data} is used as it is when it holds the rows the sweep needs, float32; anything else there is refused. */
    private void checkReusable(String file) throws IOException {
        if (!storage.exists(file)) return;
        Npy.Header h;
        try {
            h = Npy.readHeader(storage, file);
        } catch (RuntimeException e) {
            throw new BadInputException(Storage.display(file) + ": not the benchmark's input (" + e.getMessage() + "); remove it or name another --data");
        }
        String name = Storage.name(file);
        long rows = Long.parseLong(name.substring(2, name.indexOf('x', 2)));
        if (h.dtype() != DType.FLOAT32 || !Arrays.equals(h.shape(), new long[] {rows, o.inputs()})) {
            throw new BadInputException(Storage.display(file) + " holds " + h.dtype().numpyName() + " rows of shape " + Arrays.toString(h.shape())
                    + ", not the float32 " + Arrays.toString(new long[] {rows, o.inputs()}) + " the sweep needs; remove it or name another --data");
        }
    }

    private Map<String, Object> setup(String command) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kind", "setup");
        r.put("command", command);
        r.put("date", ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")));
        r.put("commit", gitCommit());
        r.put("master", o.master());
        r.put("master_kind", o.kind().name().toLowerCase());
        r.put("executors", o.executors());
        r.put("executor_cores", o.executorCores());
        r.put("layers", o.layers());
        r.put("rows_per_executor", o.rowsPerExecutor());
        r.put("reduction_params", o.reductionParams());
        r.put("repeats", o.repeats());
        r.put("warmup", WARMUP);
        r.put("smoke", o.smoke());
        r.put("submit_args", o.submitArgs());
        r.put("data", Storage.display(data));
        r.put("data_kept", o.data() != null);
        r.put("note", o.note());
        return r;
    }

    /** Uniform rows in [-1, 1), written in blocks (never the whole file in memory); reused when already there. */
    private void writeInput(String file, long rows) throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kind", "write");
        r.put("file", Storage.display(file));
        if (storage.exists(file)) {
            r.put("reused", true);
            records.add(r);
            return;
        }
        int width = o.inputs(), block = (int) Math.max(1, Math.min(rows, (1 << 22) / width));
        SplittableRandom random = new SplittableRandom(7);
        long t0 = System.nanoTime();
        try (Npy.RowWriter w = new Npy.RowWriter(storage.create(file), Storage.display(file), DType.FLOAT32, rows, width)) {
            for (long done = 0; done < rows; done += block) {
                int k = (int) Math.min(block, rows - done);
                float[] x = new float[k * width];
                for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextDouble() * 2 - 1);
                w.append(Tensor.of(x, k, width));
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        long bytes = storage.status(file).getLen();
        r.putAll(Map.of("reused", false, "bytes", bytes, "seconds", s, "mib_per_s", bytes / 1048576.0 / s));
        records.add(r);
        log(String.format("wrote %s: %.1f MiB in %.2f s", Storage.display(file), bytes / 1048576.0, s));
    }

    /** This process reads the whole file, sequentially, as one client: the storage's read rate from the machine the benchmark runs on. */
    private void readInput(String file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        long bytes = 0, t0 = System.nanoTime();
        try (SeekableByteChannel ch = storage.openRead(file)) {
            for (int n; (n = ch.read(buf)) >= 0; buf.clear()) bytes += n;
        }
        double s = (System.nanoTime() - t0) / 1e9;
        records.add(new LinkedHashMap<>(Map.of("kind", "read", "file", Storage.display(file), "bytes", bytes, "seconds", s, "mib_per_s", bytes / 1048576.0 / s)));
        log(String.format("read %s: %.1f MiB in %.2f s", Storage.display(file), bytes / 1048576.0, s));
    }

    private Map<String, Object> mlp(String kind, int n, String input, long rows, int partitions) {
        List<String> job = List.of("--layers", o.layers(), "--activation", "tanh", "--input", input, "--dtype", "float32",
                "--partitions", String.valueOf(partitions));
        Map<String, Object> r = job(kind, n, job);
        if (r.containsKey("median_s")) {
            r.put("rows", rows);
            r.put("rows_per_s", rows / (double) r.get("median_s"));
            List<?> ev = (List<?>) r.get("evaluations_s");
            // The first evaluation reads the rows from --input (the others find them in the executors' memory).
            r.put("first_extra_s", ((Number) ev.get(0)).doubleValue() - (double) r.get("median_s"));
        }
        records.add(r);
        return r;
    }

    /**
     * An {@code a x b} identity layer (b = 10000, 100 below a million parameters) with {@code a} chosen for about
     * {@code params} parameters, over {@link #REDUCTION_ROWS} rows at the largest executor count.
     */
    private void reduction(long params, int executors) {
        int b = params >= 1_000_000 ? 10_000 : 100;
        long a = Math.max(1, Math.round(params / (double) b));
        if (a > Integer.MAX_VALUE) throw new BadInputException("--reduction " + params + ": too many parameters");
        List<String> job = List.of("--layers", a + "," + b, "--activation", "identity", "--synthetic", String.valueOf(REDUCTION_ROWS),
                "--dtype", "float32", "--partitions", String.valueOf(2 * executors * o.executorCores()));
        Map<String, Object> r = job("reduction-" + params, executors, job);
        r.put("kind", "reduction");
        r.put("params", a * b + b);
        if (r.containsKey("median_s")) {
            List<?> ev = (List<?>) r.get("evaluations_s");
            double last = ((Number) ev.get(ev.size() - 1)).doubleValue();
            r.put("last_s", last);
            r.put("reduce_s", Math.max(0, last - (double) r.get("partition_s_max")));
        }
        records.add(r);
    }

    /** One application through gradspark-submit; its summary.json's figures (the whole of it under "summary"), or its failure. */
    private Map<String, Object> job(String name, int n, List<String> jobArgs) {
        String runOut = Storage.child(Storage.child(out, "runs"), name + "-" + n);
        List<String> cmd = new ArrayList<>(List.of(home.resolve("submit-scripts/gradspark-submit").toString()));
        cmd.addAll(executorArgs(o, n));
        cmd.addAll(o.submitArgs());
        cmd.add("grad");
        cmd.addAll(jobArgs);
        cmd.addAll(List.of("--repeat", String.valueOf(WARMUP + o.repeats()), "--out", runOut));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kind", name);
        r.put("executors_asked", n);
        r.put("command", String.join(" ", cmd.subList(1, cmd.size())));
        Path logFile = logs.resolve(name + "-" + n + ".log");
        log(name + " at " + n + " executor" + (n > 1 ? "s" : "") + "...");
        try {
            int exit = submit(cmd, logFile, r);
            if (exit == 1 && lastLine(logFile).startsWith(RACE_AT_START)) {
                // Spark's context did not come up, in a race of Spark's own (its web UI's Jetty has thrown
                // ConcurrentModificationException at start on a loaded machine): nothing of the job ran, so it is run
                // again, once, and the report says so. A context that did not start for the user's settings (exit 2) is not.
                Path first = logs.resolve(name + "-" + n + ".first-attempt.log");
                Files.move(logFile, first);
                r.put("first_attempt_error", lastLine(first) + " (log: " + first + ")");
                log(name + " at " + n + ": " + lastLine(first) + "; a second attempt");
                exit = submit(cmd, logFile, r);
            }
            if (exit == TIMED_OUT) return failure(r, "did not finish in " + JOB_TIMEOUT_MINUTES + " minutes (log: " + logFile + ")");
            if (exit != 0) return failure(r, "exit " + exit + ": " + lastLine(logFile) + " (log: " + logFile + ")");
            JsonNode s;
            try (InputStream in = Channels.newInputStream(storage.openRead(Storage.child(runOut, "summary.json")))) {
                s = JSON.readTree(in);
            }
            summarise(r, s, n);
            storage.delete(runOut, true);
        } catch (IOException | RuntimeException e) {
            return failure(r, e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failure(r, "interrupted");
        }
        return r;
    }

    /** A job that has not finished in this time is stopped and reported as failed (the sweep goes on). */
    static final long JOB_TIMEOUT_MINUTES = 30;
    private static final int TIMED_OUT = -1;
    /** gradspark-submit's line when the SparkContext could not start for a race inside Spark: no task ran. */
    private static final String RACE_AT_START = "gradspark: " + org.gradspark.job.cli.Launcher.RACE_AT_START;

    /** Runs gradspark-submit, its output into {@code logFile}; its exit status ({@link #TIMED_OUT}: stopped), its time in {@code r}. */
    private static int submit(List<String> cmd, Path logFile, Map<String, Object> r) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        if (!p.waitFor(JOB_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            return TIMED_OUT;
        }
        r.put("process_s", (System.nanoTime() - t0) / 1e9);
        return p.exitValue();
    }

    private void summarise(Map<String, Object> r, JsonNode s, int n) {
        List<Double> ev = new ArrayList<>();
        s.path("evaluations_s").forEach(v -> ev.add(v.asDouble()));
        if (ev.size() != WARMUP + o.repeats()) throw new UncheckedIOException(new IOException("summary.json has " + ev.size() + " evaluations, not " + (WARMUP + o.repeats())));
        List<Double> timed = new ArrayList<>(ev.subList(WARMUP, ev.size()));
        timed.sort(null);
        int m = timed.size();
        r.put("median_s", m % 2 == 1 ? timed.get(m / 2) : (timed.get(m / 2 - 1) + timed.get(m / 2)) / 2);
        r.put("evaluations_s", ev);
        r.put("executors", s.path("executors").asInt());
        r.put("executors_as_asked", o.kind() == MasterKind.LOCAL || s.path("executors").asInt() == n);
        r.put("partitions", s.path("partitions").asInt());
        r.put("partition_s_max", s.path("partition_s_max").asDouble());
        r.put("partition_s_mean", s.path("partition_s_mean").asDouble());
        r.put("backend", s.path("backend").asText());
        r.put("reduction_path", s.path("reduction_path").asText());
        r.put("summary", JSON.convertValue(s, Map.class));
    }

    private Map<String, Object> failure(Map<String, Object> r, String error) {
        r.put("error", error);
        failed = true;
        log("FAILED " + r.get("kind") + " at " + r.get("executors_asked") + ": " + error);
        return r;
    }

    /**
     * How the executor count reaches each kind of master. Every run waits for all its executors before its
     * first task (minRegisteredResourcesRatio 1), so that no evaluation runs on fewer than asked.
     */
    static List<String> executorArgs(ClusterBenchOptions o, int n) {
        int c = o.executorCores();
        List<String> a = new ArrayList<>();
        switch (o.kind()) {
            case LOCAL -> a.addAll(List.of("--master", "local[" + n * c + "]"));
            case YARN -> a.addAll(List.of("--master", "yarn", "--num-executors", String.valueOf(n), "--executor-cores", String.valueOf(c)));
            case STANDALONE -> a.addAll(List.of("--master", o.master(), "--conf", "spark.cores.max=" + n * c, "--conf", "spark.executor.cores=" + c));
            case KUBERNETES -> a.addAll(List.of("--master", o.master(), "--conf", "spark.executor.instances=" + n, "--conf", "spark.executor.cores=" + c));
        }
        if (o.kind() != MasterKind.LOCAL) {
            a.addAll(List.of("--conf", "spark.dynamicAllocation.enabled=false", "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                    "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=300s"));
        }
        return a;
    }

    private interface Measurement {
        void run() throws IOException;
    }

    private void attempt(String what, Measurement m) {
        try {
            m.run();
        } catch (IOException | RuntimeException e) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("kind", "error");
            r.put("what", what);
            records.add(failure(r, e.getMessage() == null ? e.toString() : e.getMessage()));
        }
    }

    private static String lastLine(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank() && !l.startsWith("\tat ")).toList();
        return lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1).strip();
    }

    /** HEAD's short hash, with "+changes" when tracked files differ from it (as gradspark_bench.py's); null outside a git checkout. */
    private String gitCommit() {
        try {
            String hash = git("rev-parse", "--short", "HEAD");
            String changes = git("status", "--porcelain", "--untracked-files=no");
            return hash == null || hash.isEmpty() ? null : hash + (changes == null || changes.isEmpty() ? "" : "+changes");
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private String git(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", home.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes()).strip();
        return p.waitFor() == 0 ? text : null;
    }

    private static void log(String msg) {
        System.err.println("gradspark-bench: " + msg);
    }
}
