package org.gradspark.job.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.PartitionResult;
import org.gradspark.job.exec.TaskDevice;
import org.gradspark.job.io.Storage;

/** {@code summary.json}: what ran, where, on what, how fast (Jackson, which Spark ships). */
final class JobSummary {
    private JobSummary() {}

    static Map<String, Object> of(JobConfig cfg, JavaSparkContext jsc, List<PartitionResult> results, double outputSum,
                                  Map<String, Double> phases, double wallSeconds, double tasksSeconds) {
        long rows = results.stream().mapToLong(PartitionResult::rows).sum();
        long skipped = results.stream().mapToLong(PartitionResult::skippedRows).sum();
        // What the executors report having run, partitions per backend and device (sorted: stable output).
        Map<String, Long> backends = new TreeMap<>(results.stream().collect(Collectors.groupingBy(PartitionResult::backend, Collectors.counting())));
        Map<String, Long> perExecutor = new TreeMap<>(results.stream().collect(Collectors.groupingBy(PartitionResult::executor, Collectors.counting())));
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("rows", rows);
        s.put("skipped_rows", skipped);
        s.put("partitions", results.size());
        s.put("master", jsc.master());
        s.put("executors", perExecutor.size());
        s.put("partitions_per_executor", perExecutor);
        s.put("backend_requested", cfg.backend());
        s.put("backend", String.join("; ", backends.keySet()));
        s.put("partitions_per_backend", backends);
        s.put("gpu_assignment", String.join("; ", new java.util.TreeSet<>(results.stream().filter(r -> r.placement() != null)
                .map(r -> r.placement().assignment()).toList())));
        s.put("dtype", cfg.dtype().numpyName());
        s.put("wrt", cfg.wrt().name().toLowerCase());
        s.put("mode", cfg.mode().name().toLowerCase());
        s.put("order", cfg.order());
        s.put("reduction", cfg.reduction().name().toLowerCase());
        if (!(cfg.estimator() instanceof org.gradspark.ad.LaplacianEstimator.Exact)) {
            // The draws a RowAware --model-class Cell was handed (absent when exact, as before the hook).
            s.put("model_estimator", cfg.estimator().spelling());
            s.put("model_seed", cfg.seed());
        }
        s.put("output_sum", outputSum);
        s.put("wall_s", wallSeconds);
        s.put("phases_s", new java.util.TreeMap<>(phases));
        // Each partition's own time (in its task, from the backend's first call to its partial sums).
        java.util.LongSummaryStatistics taskNanos = results.stream().mapToLong(PartitionResult::nanos).summaryStatistics();
        s.put("partition_s_max", (taskNanos.getCount() == 0 ? 0 : taskNanos.getMax()) / 1e9);
        s.put("partition_s_mean", taskNanos.getAverage() / 1e9);
        // The CPU time the partitions' threads got over their time: below 1 when tasks wait for a core
        // (more busy threads than cores: other tasks, the driver, JIT and GC threads on the same machine)
        // or, with more than one core per executor, for the CPU backend's pool threads, which run the
        // elementwise kernels of large tensors outside the task's thread.
        s.put("partition_cpu_share", results.stream().mapToLong(PartitionResult::cpuNanos).sum() / (double) Math.max(1, taskNanos.getSum()));
        s.put("rows_per_s", rows / Math.max(1e-9, wallSeconds));
        // Over the tasks alone (the first one's launch to the last one's end): the rate of the computation itself,
        // which on a small job Spark's and the executors' start-up (in wall_s) would hide.
        s.put("tasks_s", tasksSeconds);
        s.put("tasks_rows_per_s", rows / Math.max(1e-3, tasksSeconds));
        // What crossed between host and device (0 on host backends): in, the rows and the weights once per executor; out, the results.
        s.put("device_bytes_in", results.stream().mapToLong(PartitionResult::deviceBytesIn).sum());
        s.put("device_bytes_out", results.stream().mapToLong(PartitionResult::deviceBytesOut).sum());
        s.put("per_partition", perPartition(results));
        return s;
    }

    /**
     * Per partition, in index order: its rows, its executor, the backend and the device it ran on
     * (name; the address Spark assigned, null without one), every GPU address its task was given, what
     * was done with them ({@code used}, {@code none}, or {@code ignored: ...} on a backend that runs
     * on the host), its time in the task (seconds, and as epoch milliseconds, so overlapping partitions
     * show which ran at once) and the bytes its kernels copied to and from a device.
     */
    private static List<Map<String, Object>> perPartition(List<PartitionResult> results) {
        List<Map<String, Object>> all = new java.util.ArrayList<>();
        for (PartitionResult r : results.stream().sorted(java.util.Comparator.comparingInt(PartitionResult::index)).toList()) {
            TaskDevice.Placement p = r.placement();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", r.index());
            m.put("rows", r.rows());
            m.put("executor", r.executor());
            m.put("backend", r.backend());
            m.put("device", p == null ? null : p.device());
            m.put("address", p == null ? null : p.address());
            m.put("gpu_addresses", p == null ? List.of() : p.gpus());
            m.put("gpu_assignment", p == null ? null : p.assignment());
            m.put("seconds", r.nanos() / 1e9);
            m.put("start_ms", p == null ? null : p.startMillis());
            m.put("end_ms", p == null ? null : p.startMillis() + r.nanos() / 1_000_000);
            m.put("device_bytes_in", r.deviceBytesIn());
            m.put("device_bytes_out", r.deviceBytesOut());
            all.add(m);
        }
        return all;
    }

    static void write(Storage storage, String file, Map<String, Object> summary) {
        try (java.io.OutputStream out = storage.create(file)) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out, summary);
        } catch (IOException e) {
            throw Storage.unchecked("cannot write " + Storage.display(file), e);
        }
    }
}
