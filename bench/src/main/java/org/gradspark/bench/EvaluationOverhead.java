package org.gradspark.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.PartitionResult;
import org.gradspark.job.io.Storage;

/**
 * The fixed cost of a distributed evaluation (issue 28, item 5): in one JVM, the same gradient in the core
 * ({@link CoreEndToEnd}'s work: {@code --threads} threads over the rows in memory) and through an
 * {@link Evaluator} on a local Spark master (the rows kept in memory, as an optimiser's loop keeps them),
 * one after the other, round after round, so that both see the same machine at nearly the same moment (on
 * a shared machine the speed drifts by tens of percent within minutes: a ratio of two separate processes
 * measures the drift as much as the overhead).
 *
 * <pre>EvaluationOverhead --rounds K --warmup W --threads T --chunk-rows R [--master local[T]] [--conf key=value]... -- [grad job options]</pre>
 *
 * Prints one JSON line per round and a last one with the medians: the core's and the evaluation's seconds,
 * their ratio within the round (its median is the figure to quote), and where the evaluation's time went by
 * Spark's own records: before the job starts (weights broadcast, closure), the job's start to its tasks'
 * launch, the tasks' deserialisation, their own work (the partition's compute, {@link PartitionResult#nanos}),
 * the rest of their run, result serialisation, the result's fetch by the driver, and after the job's end
 * (the reduction on the driver).
 */
public final class EvaluationOverhead {
    private EvaluationOverhead() {}

    public static void main(String[] args) throws Exception {
        int rounds = 7, warmup = 2, threads = 2, chunk = 4096;
        String master = null;
        List<String> confs = new ArrayList<>();
        int split = Arrays.asList(args).indexOf("--");
        if (split < 0) throw new IllegalArgumentException("usage: EvaluationOverhead [options] -- [grad job options]");
        for (int i = 0; i < split; i += 2) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--chunk-rows" -> chunk = Integer.parseInt(args[i + 1]);
                case "--master" -> master = args[i + 1];
                case "--conf" -> confs.add(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> job = new ArrayList<>(Arrays.asList(args).subList(split + 1, args.length));
        job.addAll(List.of("--chunk-rows", String.valueOf(chunk), "--partitions", String.valueOf(threads),
                "--out", System.getProperty("java.io.tmpdir") + "/gradspark-bench-unused"));
        JobConfig cfg = JobOptions.parse(Map.of(), job.toArray(new String[0]));
        SparkConf conf = GradientJob.configure(new SparkConf()).setMaster(master != null ? master : "local[" + threads + "]")
                .setAppName("evaluation-overhead").set("spark.ui.enabled", "false");
        for (String c : confs) conf.set(c.substring(0, c.indexOf('=')), c.substring(c.indexOf('=') + 1));
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            jsc.setLogLevel("WARN");
            JobInputs checked = JobInputs.check(cfg, Storage.of(jsc.hadoopConfiguration()));
            Map<String, Tensor> weights = checked.weights();
            Backends.use(Backends.require(cfg.backend()));   // the core's threads; the tasks set the job's own
            CoreEndToEnd.Work core = new CoreEndToEnd.Work(cfg, weights, "weights", CoreEndToEnd.chunks(cfg, chunk), threads);
            SparkRecords records = new SparkRecords();
            jsc.sc().addSparkListener(records);
            List<Map<String, Double>> timed = new ArrayList<>();
            try (Evaluator evaluator = Evaluator.open(jsc, checked)) {
                for (int r = 0; r < warmup + rounds; r++) {
                    long t0 = System.nanoTime();
                    core.run();
                    double coreSeconds = (System.nanoTime() - t0) / 1e9;
                    records.clear();
                    long start = System.currentTimeMillis();
                    Evaluator.Value v = evaluator.evaluate(weights);
                    long end = System.currentTimeMillis();
                    jsc.sc().listenerBus().waitUntilEmpty(10_000);
                    Map<String, Double> row = records.breakdown(start, end, v);
                    row.put("core_s", coreSeconds);
                    row.put("evaluation_s", v.seconds());
                    row.put("ratio", v.seconds() / coreSeconds);
                    row.put("overhead_s", v.seconds() - row.get("task_compute_s"));
                    System.out.println(json(r < warmup ? "warmup" : "round", r, row));
                    if (r >= warmup) timed.add(row);
                }
            }
            Map<String, Double> medians = new LinkedHashMap<>();
            for (String k : timed.get(0).keySet()) medians.put(k, median(timed.stream().mapToDouble(m -> m.get(k)).toArray()));
            System.out.println(json("median", rounds, medians));
        }
    }

    /** The listener's records of the evaluation's jobs and tasks (the rows are read in the first evaluation's job). */
    private static final class SparkRecords extends SparkListener {
        private final List<Long> jobStarts = new ArrayList<>(), jobEnds = new ArrayList<>();
        private final List<SparkListenerTaskEnd> tasks = new ArrayList<>();

        synchronized void clear() {
            jobStarts.clear();
            jobEnds.clear();
            tasks.clear();
        }

        @Override public synchronized void onJobStart(SparkListenerJobStart e) { jobStarts.add(e.time()); }

        @Override public synchronized void onJobEnd(SparkListenerJobEnd e) { jobEnds.add(e.time()); }

        @Override public synchronized void onTaskEnd(SparkListenerTaskEnd e) { tasks.add(e); }

        /**
         * Seconds of the evaluation from {@code start} to {@code end} (epoch ms) by where they went; task
         * figures are the slowest task's (the one the evaluation waits for).
         */
        synchronized Map<String, Double> breakdown(long start, long end, Evaluator.Value v) {
            long jobStart = jobStarts.stream().mapToLong(Long::longValue).min().orElse(start);
            long jobEnd = jobEnds.stream().mapToLong(Long::longValue).max().orElse(end);
            SparkListenerTaskEnd last = tasks.stream().max(java.util.Comparator.comparingLong(t -> t.taskInfo().finishTime())).orElseThrow();
            long firstLaunch = tasks.stream().mapToLong(t -> t.taskInfo().launchTime()).min().orElseThrow();
            TaskMetrics m = last.taskMetrics();
            long own = v.partitions().stream().filter(p -> p.index() == last.taskInfo().index()).mapToLong(PartitionResult::nanos).findFirst().orElse(0) / 1_000_000;
            Map<String, Double> row = new LinkedHashMap<>();
            row.put("before_job_s", (jobStart - start) / 1e3);
            row.put("job_start_to_launch_s", (firstLaunch - jobStart) / 1e3);
            row.put("task_deserialize_s", m.executorDeserializeTime() / 1e3);
            row.put("task_compute_s", own / 1e3);
            row.put("task_run_rest_s", (m.executorRunTime() - own) / 1e3);
            row.put("task_result_serialize_s", m.resultSerializationTime() / 1e3);
            row.put("task_result_bytes", (double) m.resultSize());
            row.put("task_gc_s", m.jvmGCTime() / 1e3);
            // Launch to finish on the driver's clock, less what the executor measured: the task's trip and its result's fetch.
            row.put("task_transport_and_fetch_s", (last.taskInfo().finishTime() - last.taskInfo().launchTime()
                    - m.executorDeserializeTime() - m.executorRunTime() - m.resultSerializationTime()) / 1e3);
            row.put("last_task_end_to_job_end_s", (jobEnd - last.taskInfo().finishTime()) / 1e3);
            row.put("after_job_s", (end - jobEnd) / 1e3);
            row.put("jobs", (double) jobStarts.size());
            return row;
        }
    }

    private static String json(String kind, int index, Map<String, Double> row) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "{\"kind\": \"%s\", \"index\": %d", kind, index));
        row.forEach((k, x) -> b.append(String.format(Locale.ROOT, ", \"%s\": %.4f", k, x)));
        return b.append('}').toString();
    }

    private static double median(double[] v) {
        return CoreEndToEnd.median(v);
    }
}
