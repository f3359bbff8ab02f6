package org.gradspark.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.gradspark.job.io.Storage;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The cluster benchmark's report in {@code --out}: {@code REPORT.md}, {@code results.json} (every record the
 * sweep made, each job's whole summary.json included) and {@code scaling.png}, the parallel efficiency of strong
 * and weak scaling against the ideal line (XChart, as the other charts in bench/results).
 *
 * <p>Efficiency at n executors is throughput(n) / (n * throughput(first count)) times the first count: 1 (100%)
 * on the ideal line, where n executors do n times the rows per second.
 */
final class ClusterBenchReport {
    private ClusterBenchReport() {}

    static void write(Storage storage, String out, List<Map<String, Object>> records, ClusterBenchOptions o) throws IOException {
        byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(records);
        put(storage, Storage.child(out, "results.json"), json);
        put(storage, Storage.child(out, "scaling.png"), chart(records));
        put(storage, Storage.child(out, "REPORT.md"), markdown(records, o).getBytes(StandardCharsets.UTF_8));
    }

    private static void put(Storage storage, String file, byte[] bytes) throws IOException {
        try (OutputStream s = storage.create(file)) {
            s.write(bytes);
        }
    }

    static String markdown(List<Map<String, Object>> records, ClusterBenchOptions o) {
        Map<String, Object> setup = of(records, "setup").get(0);
        StringBuilder md = new StringBuilder();
        md.append("# GradSpark cluster benchmark\n\n");
        md.append("Produced by `").append(setup.get("command")).append("` on ").append(setup.get("date"))
                .append(setup.get("commit") == null ? "" : " at commit " + setup.get("commit")).append(".")
                .append(o.smoke() ? " **--smoke**: tiny sizes and one timed evaluation, to check that the sweep runs; its figures say nothing about speed." : "")
                .append("\n\n");
        if (o.note() != null) md.append(o.note()).append("\n\n");
        md.append("| setting | |\n|---|---|\n");
        md.append("| master | `").append(o.master()).append("` (").append(howExecutorsAreSet(o)).append(") |\n");
        md.append("| model | MLP ").append(o.layers()).append(", tanh, float32, the weights' gradient |\n");
        md.append("| rows | strong scaling: ").append(o.rowsPerExecutor() * o.maxExecutors()).append(" at every count; weak: ")
                .append(o.rowsPerExecutor()).append(" per executor |\n");
        md.append("| partitions | 2 per executor core (strong scaling: those of the largest count at every count) |\n");
        md.append("| timing | median of ").append(o.repeats()).append(" evaluation(s) in one application after ").append(ClusterBench.WARMUP)
                .append(" warm-up (`--repeat`); rows read once, then kept in the executors' memory |\n");
        md.append("| gradspark-submit options | `").append(String.join(" ", o.submitArgs())).append("` |\n");
        md.append("| input files | `").append(setup.get("data")).append("`").append((Boolean) setup.get("data_kept") ? " (kept)" : " (removed afterwards)").append(" |\n\n");
        scaling(md, records, "strong", "Strong scaling (the same rows at every count)");
        scaling(md, records, "weak", "Weak scaling (rows proportional to the executors)");
        md.append("![parallel efficiency](scaling.png)\n\n");
        reductions(md, records);
        storageRates(md, records);
        List<Map<String, Object>> failed = records.stream().filter(r -> r.containsKey("error")).toList();
        if (!failed.isEmpty()) {
            md.append("## Measurements that failed\n\n");
            for (Map<String, Object> r : failed) {
                Object what = r.getOrDefault("what", r.get("kind") + (r.containsKey("params") ? " of " + r.get("params") + " parameters" : "")
                        + " at " + r.get("executors_asked") + " executors");
                md.append("- ").append(what).append(": `")
                        .append(String.valueOf(r.get("error")).replace('\n', ' ').replace('`', '\'')).append("`\n");
            }
            md.append("\n");
        }
        List<Map<String, Object>> again = records.stream().filter(r -> r.containsKey("first_attempt_error") && !r.containsKey("same_run_as")).toList();
        if (!again.isEmpty()) {
            md.append("## Run a second time\n\n");
            md.append("The SparkContext of these applications did not start at the first attempt (no task ran); each was run once more:\n\n");
            for (Map<String, Object> r : again) {
                md.append("- ").append(r.get("kind")).append(" at ").append(r.get("executors_asked")).append(": `")
                        .append(String.valueOf(r.get("first_attempt_error")).replace('`', '\'')).append("`\n");
            }
            md.append("\n");
        }
        md.append("The raw records, each job's summary.json included: [results.json](results.json).\n");
        return md.toString();
    }

    static String howExecutorsAreSet(ClusterBenchOptions o) {
        return switch (o.kind()) {
            case YARN -> "YARN: `--num-executors n --executor-cores " + o.executorCores() + "`, dynamic allocation off";
            case STANDALONE -> "standalone: `spark.cores.max = n x " + o.executorCores() + "`, `spark.executor.cores = " + o.executorCores() + "`, dynamic allocation off";
            case KUBERNETES -> "Kubernetes: `spark.executor.instances = n`, `spark.executor.cores = " + o.executorCores() + "`, dynamic allocation off";
            case LOCAL -> "local: one JVM, `local[n x " + o.executorCores() + "]`: n stands for the task slots, not executors";
        };
    }

    private static void scaling(StringBuilder md, List<Map<String, Object>> records, String kind, String title) {
        md.append("## ").append(title).append("\n\n");
        md.append("| executors asked | ran on | rows | partitions | median evaluation (s) | rows/s | efficiency | first evaluation's extra (s) |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
        List<Map<String, Object>> rs = of(records, kind);
        double[] eff = efficiency(rs);
        for (int i = 0; i < rs.size(); i++) {
            Map<String, Object> r = rs.get(i);
            if (r.containsKey("error")) {
                md.append("| ").append(r.get("executors_asked")).append(" | failed (below) | | | | | | |\n");
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %s%s | %s | %s | %.3f | %.0f | %s | %.2f |%n", r.get("executors_asked"), r.get("executors"),
                    Boolean.TRUE.equals(r.get("executors_as_asked")) ? "" : " (not as asked)", r.get("rows"), r.get("partitions"),
                    num(r, "median_s"), num(r, "rows_per_s"), Double.isNaN(eff[i]) ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * eff[i]),
                    num(r, "first_extra_s")));
        }
        md.append("\n");
    }

    /** Each record's parallel efficiency against the first successful one (NaN for a failed one). */
    static double[] efficiency(List<Map<String, Object>> rs) {
        double[] e = new double[rs.size()];
        Map<String, Object> base = rs.stream().filter(r -> r.containsKey("rows_per_s")).findFirst().orElse(null);
        for (int i = 0; i < rs.size(); i++) {
            Map<String, Object> r = rs.get(i);
            e[i] = base == null || !r.containsKey("rows_per_s") ? Double.NaN
                    : num(r, "rows_per_s") / num(base, "rows_per_s") * num(base, "executors_asked") / num(r, "executors_asked");
        }
        return e;
    }

    private static void reductions(StringBuilder md, List<Map<String, Object>> records) {
        md.append("## Reduction\n\n");
        md.append("An identity layer over ").append(ClusterBench.REDUCTION_ROWS).append(" rows: the partial gradients are the work. "
                + "Reduce step = the evaluation's time less its slowest partition's own time (from its first kernel call to its partial sums, "
                + "summary.json's `per_partition`): the reduction, with the scheduling of its tasks and the weights' broadcast to the executors.\n\n");
        md.append("| parameters | executors | partitions | path | median evaluation (s) | last evaluation (s) | its slowest partition (s) | its reduce step (s) |\n"
                + "|---|---|---|---|---|---|---|---|\n");
        for (Map<String, Object> r : of(records, "reduction")) {
            String params = String.format(Locale.ROOT, "%,d", ((Number) r.get("params")).longValue());
            if (r.containsKey("error")) {
                md.append("| ").append(params).append(" | ").append(r.get("executors_asked")).append(" asked | failed (below) | | | | | |\n");
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.3f | %.3f | %.3f | %.3f |%n", params, r.get("executors"), r.get("partitions"),
                    r.get("reduction_path"), num(r, "median_s"), num(r, "last_s"), num(r, "partition_s_max"), num(r, "reduce_s")));
        }
        md.append("\n");
    }

    private static void storageRates(StringBuilder md, List<Map<String, Object>> records) {
        md.append("## Storage\n\n");
        md.append("The input files, written by the benchmark's process (one client, sequential) and read back by it whole; "
                + "the executors' reading shows in the scaling tables' *first evaluation's extra* (the first evaluation reads the rows "
                + "and warms the JVMs; the others find the rows in memory).\n\n");
        md.append("| file | MiB | write MiB/s | read MiB/s |\n|---|---|---|---|\n");
        for (Map<String, Object> read : of(records, "read")) {
            Map<String, Object> w = of(records, "write").stream().filter(x -> x.get("file").equals(read.get("file"))).findFirst().orElse(Map.of());
            String write = w.containsKey("mib_per_s") ? String.format(Locale.ROOT, "%.1f", num(w, "mib_per_s")) : Boolean.TRUE.equals(w.get("reused")) ? "(already there)" : "";
            md.append(String.format(Locale.ROOT, "| `%s` | %.1f | %s | %.1f |%n", read.get("file"), num(read, "bytes") / 1048576.0, write, num(read, "mib_per_s")));
        }
        md.append("\n");
    }

    /** Efficiency (%) against executors, strong and weak, with the ideal line at 100%. */
    static byte[] chart(List<Map<String, Object>> records) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart c = new XYChartBuilder().width(800).height(500).title("Parallel efficiency (ideal: 100%)")
                .xAxisTitle("executors").yAxisTitle("efficiency (%)").build();
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setYAxisMin(0.0);
        List<Double> all = new ArrayList<>();
        for (String kind : new String[] {"strong", "weak"}) {
            List<Map<String, Object>> rs = of(records, kind);
            double[] eff = efficiency(rs);
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            for (int i = 0; i < rs.size(); i++) {
                all.add(num(rs.get(i), "executors_asked"));
                if (Double.isNaN(eff[i])) continue;
                x.add(num(rs.get(i), "executors_asked"));
                y.add(100 * eff[i]);
            }
            if (!x.isEmpty()) c.addSeries(kind + " scaling", x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        if (all.isEmpty()) all.add(1.0);
        double lo = all.stream().mapToDouble(Double::doubleValue).min().orElse(1), hi = all.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        XYSeries ideal = c.addSeries("ideal", new double[] {lo, hi}, new double[] {100, 100});
        ideal.setMarker(SeriesMarkers.NONE);
        ideal.setLineColor(Color.GRAY);
        return BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
    }

    private static List<Map<String, Object>> of(List<Map<String, Object>> records, String kind) {
        return records.stream().filter(r -> kind.equals(r.get("kind"))).toList();
    }

    private static double num(Map<String, Object> r, String key) {
        Object v = r.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
