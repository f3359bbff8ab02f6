package org.gradspark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Writes {@code REPORT.md} and its PNG charts from the JSON lines of {@code bench/gradspark_bench.py}:
 * the targets of the benchmark issue with what was measured, every workload per system with its
 * ratio to PyTorch, MLlib, the reduction, and the fusion before/after when measured.
 *
 * <pre>BenchReport RESULTS.jsonl OUT_DIR COMMAND</pre>
 */
public final class BenchReport {
    private final List<JsonNode> rows = new ArrayList<>();
    private final StringBuilder md = new StringBuilder();
    private final Path outDir;

    private BenchReport(Path results, Path outDir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(results)) {
            if (!line.isBlank()) rows.add(json.readTree(line));
        }
        this.outDir = outDir;
    }

    public static void main(String[] args) throws IOException {
        BenchReport r = new BenchReport(Path.of(args[0]), Path.of(args[1]));
        Files.createDirectories(r.outDir);
        r.write(args.length > 2 ? args[2] : "submit-scripts/gradspark-bench");
        Files.writeString(r.outDir.resolve("REPORT.md"), r.md);
    }

    private void write(String command) throws IOException {
        JsonNode m = first(kind("machine")).orElseThrow(() -> new IllegalArgumentException("no machine record in the results"));
        line("# GradSpark end-to-end benchmarks");
        line("");
        line("Produced by `" + command + "` on " + m.path("date").asText() + (m.path("commit").isTextual() ? " at commit " + m.path("commit").asText() : "")
                + (m.path("quick").asBoolean() ? " (**--quick**: smaller sizes, fewer repeats, one round of the core and PyTorch, no Hessian-vector product, no small-MLP cluster runs, no collected reduction, no storage comparison unless run alone)" : "")
                + (m.path("smoke").asBoolean() ? " (**--smoke**: tiny sizes and one repeat, to check that every benchmark runs and every comparison is made; its figures say nothing about speed)" : "")
                + ". Times are medians over repeated runs after warm-up; the machine is shared and noisy, so compare the ratios, "
                + "which come from the same run.");
        line("");
        line("| machine | |");
        line("|---|---|");
        line("| CPU | " + m.path("cpu").asText() + ", " + m.path("cores").asInt() + " cores |");
        line("| JDK | " + m.path("jdk").asText() + " |");
        line("| GradSpark cpu backend (BLAS) | " + m.path("backends").path("cpu").asText() + " |");
        line("| OpenCL device | " + m.path("backends").path("opencl").asText() + " |");
        line("| PyTorch | " + m.path("pytorch").asText("not installed") + " (2 threads) |");
        line("| NumPy (anchor) | " + m.path("numpy").asText("not installed") + " (2 threads) |");
        line("| OPENBLAS_CORETYPE | " + m.path("openblas_coretype").asText() + " |");
        line("");
        targets();
        workloads();
        mllib();
        reduction();
        storage();
        fusion();
        profile();
        List<JsonNode> errors = rows.stream().filter(kind("error")).toList();
        if (!errors.isEmpty()) {
            line("## Measurements that failed");
            line("");
            for (JsonNode e : errors) line("- " + e.path("what").asText() + ": `" + e.path("error").asText().replace('\n', ' ').replace('`', '\'') + "`");
            line("");
        }
        first(kind("done")).ifPresent(d -> line(String.format(Locale.ROOT, "%nThe whole run took %.0f s.", d.path("seconds").asDouble())));
    }

    // ------------------------------------------------------------ targets

    private void targets() {
        line("## Targets");
        line("");
        line("| target | measured | goal | met |");
        line("|---|---|---|---|");
        Optional<Double> anchor = first(kind("anchor").and(r -> r.path("n").asInt() == 1024)).map(r -> r.path("gflops").asDouble());
        JsonNode coreLarge = e2e("large-weights", "gradspark core").orElse(null);
        JsonNode torchLarge = e2e("large-weights", "pytorch").orElse(null);
        ratioRow("large MLP, core vs PyTorch (examples/s)", coreLarge, torchLarge, 1.5);
        if (coreLarge != null && anchor.isPresent()) {
            double frac = coreLarge.path("gflops").asDouble() / anchor.get();
            target("large MLP, core forward+backward GFLOP/s vs NumPy sgemm", String.format(Locale.ROOT, "%.0f / %.0f GFLOP/s = %.0f%%",
                    coreLarge.path("gflops").asDouble(), anchor.get(), 100 * frac), "≥ 50%", frac >= 0.5);
        }
        JsonNode sparkLarge = e2e("large-weights", "local[2]").orElse(null);
        ratioRow("large MLP, Spark local[2] vs PyTorch", sparkLarge, torchLarge, 1.2);
        if (sparkLarge != null && coreLarge != null) {
            double overhead = sparkLarge.path("median_s").asDouble() / coreLarge.path("median_s").asDouble() - 1;
            target("large MLP, Spark's overhead over the core (per evaluation)", String.format(Locale.ROOT, "%+.0f%%", 100 * overhead), "≤ 20%", overhead <= 0.2);
        }
        ratioRow("small MLP weights, core vs PyTorch", e2e("small-weights", "gradspark core").orElse(null), e2e("small-weights", "pytorch").orElse(null), 1.0);
        ratioRow("small MLP --order 2, core vs PyTorch double backward", e2e("small-order2", "gradspark core").orElse(null),
                e2e("small-order2", "pytorch").orElse(null), 1.0);
        JsonNode two = e2e("large-weights", "2 workers").orElse(null), one = e2e("large-weights", "1 worker").orElse(null);
        if (two != null && one != null) {
            double s = one.path("median_s").asDouble() / two.path("median_s").asDouble();
            target("standalone cluster, 2 workers vs 1 (large MLP)", String.format(Locale.ROOT, "%.2f×", s), "≥ 1.8×", s >= 1.8);
        }
        first(kind("mllib").and(r -> r.has("ratio"))).ifPresent(r -> target("GradSpark vs MLlib MultilayerPerceptronClassifier, per gradient (local[2])",
                String.format(Locale.ROOT, "%.2f×", r.path("ratio").asDouble()), "≥ 2×", r.path("ratio").asDouble() >= 2));
        Optional<JsonNode> big = rows.stream().filter(kind("reduction").and(r -> r.path("path").asText().equals("sharded")))
                .max((a, b) -> Long.compare(a.path("params").asLong(), b.path("params").asLong()));
        big.ifPresent(r -> target("reduction of " + millions(r.path("params").asLong()) + " float32 parameters over " + r.path("partitions").asInt(32) + " partitions, --driver-memory 1g",
                r.path("ok").asBoolean() ? String.format(Locale.ROOT, "completed, driver peak heap %.0f MiB", r.path("driver_heap").path("peak_used_mib").asDouble())
                        : "failed: " + r.path("error").asText(), "completes (50M)", r.path("ok").asBoolean() && r.path("params").asLong() >= 50_000_000));
        line("");
    }

    private void ratioRow(String what, JsonNode ours, JsonNode peer, double goal) {
        if (ours == null || peer == null || peer.has("skipped")) {
            target(what, peer != null && peer.has("skipped") ? peer.path("skipped").asText() : "not measured", "≥ " + goal + "×", false);
            return;
        }
        double r = peer.path("median_s").asDouble() / ours.path("median_s").asDouble();
        target(what, String.format(Locale.ROOT, "%.2f× (%.0f vs %.0f examples/s)", r, ours.path("examples_per_s").asDouble(), peer.path("examples_per_s").asDouble()),
                "≥ " + goal + "×", r >= goal);
    }

    private void target(String what, String measured, String goal, boolean met) {
        line("| " + what + " | " + measured + " | " + goal + " | " + (met ? "yes" : "**no**") + " |");
    }

    // ------------------------------------------------------------ workloads

    private void workloads() throws IOException {
        line("## Workloads");
        line("");
        line("Float32, tanh, sens = ones, `--chunk-rows 4096`. *large*: MLP 256-1024-1024-10; *small*: MLP 32-64-64-1. "
                + "*weights*: gradient w.r.t. the weights; *hvp*: Hessian-vector product w.r.t. the weights; *order2*: second input "
                + "derivative (`--wrt inputs --order 2`; PyTorch: `create_graph=True` double backward). The core runs in one JVM on 2 threads "
                + "(each a row range, OpenBLAS 1 thread, as a Spark task); PyTorch uses 2 threads and the better of the whole batch and "
                + "4096-row chunks; the core and PyTorch each run twice, right before and right after the local[2] application, and their "
                + "median is over both rounds' runs (this machine's speed drifts within minutes; the bracket keeps a drift off one side "
                + "of a ratio); Spark rows are one application per set-up that evaluates the gradient several times (`--repeat`, as "
                + "an optimiser's loop does: the weights broadcast afresh each time, the rows read in the first evaluation and kept in "
                + "memory), the median of the evaluations after the same warm-up as the core's, each from the broadcast to the gradient "
                + "reduced on the driver (`evaluations_s` in `summary.json`); *cold first* is the first evaluation (fresh executor JVMs, "
                + "rows read and checked) and *process* the whole `gradspark-submit` from launch to exit; `--driver-memory 8g` on "
                + "local[2] (the core's heap); the cluster runs use 4 partitions, `--executor-memory 4g` and `spark.executor.cores=1`. "
                + "*task CPU* is the CPU time the partitions' threads got over their time in the last evaluation (`partition_cpu_share`: "
                + "below 1 when a task waits for a core; on local[2] also while the CPU backend's 2 pool threads run its large elementwise "
                + "kernels, which the cluster's 1-core executors run in the task's thread), *slowest task* the longest partition over the mean one, and *stolen* the share "
                + "of the machine's CPU time the hypervisor gave other guests while the row's process ran (steal in `/proc/stat`; "
                + "for two rounds their mean): work here runs that much slower.");
        line("");
        line("| workload | system | median s | examples/s | vs PyTorch | GFLOP/s | runs (s) | cold first s | process s | task CPU | slowest task | stolen |");
        line("|---|---|---|---|---|---|---|---|---|---|---|---|");
        Map<String, Map<String, Double>> chart = new LinkedHashMap<>();
        for (JsonNode r : rows) {
            if (!r.path("kind").asText().equals("e2e") || r.has("skipped")) continue;
            String w = r.path("workload").asText();
            Optional<JsonNode> torch = e2e(w, "pytorch").filter(t -> !t.has("skipped"));
            String vs = torch.map(t -> String.format(Locale.ROOT, "%.2f×", t.path("median_s").asDouble() / r.path("median_s").asDouble())).orElse("–");
            torch.ifPresent(t -> chart.computeIfAbsent(r.path("system").asText(), k -> new LinkedHashMap<>())
                    .put(w, t.path("median_s").asDouble() / r.path("median_s").asDouble()));
            String cpu = r.path("partition_cpu_share").isNumber() ? String.format(Locale.ROOT, "%.0f%%", 100 * r.path("partition_cpu_share").asDouble()) : "–";
            String slowest = r.path("partition_s_max").isNumber() ? String.format(Locale.ROOT, "%.2f×",
                    r.path("partition_s_max").asDouble() / Math.max(1e-9, r.path("partition_s_mean").asDouble())) : "–";
            String stolen = r.path("cpu_stolen").isNumber() ? String.format(Locale.ROOT, "%.1f%%", 100 * r.path("cpu_stolen").asDouble()) : "–";
            line(String.format(Locale.ROOT, "| %s | %s | %.3f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |", w, r.path("system").asText(), r.path("median_s").asDouble(),
                    r.path("examples_per_s").asDouble(), vs, r.path("gflops").isNumber() ? String.format(Locale.ROOT, "%.0f", r.path("gflops").asDouble()) : "–",
                    seconds(r.path("seconds")), decimal(r.path("first_s")), decimal(r.path("process_s")), cpu, slowest, stolen));
        }
        line("");
        if (!chart.isEmpty()) {
            barChart("throughput.png", "Examples per second relative to PyTorch (higher is better)", "relative throughput", chart);
            line("![throughput relative to PyTorch](throughput.png)");
            line("");
        }
    }

    // ------------------------------------------------------------ MLlib

    private void mllib() {
        List<JsonNode> ml = rows.stream().filter(kind("mllib")).toList();
        if (ml.isEmpty()) return;
        line("## Spark MLlib's MultilayerPerceptronClassifier");
        line("");
        line("Sigmoid hidden layers, softmax output, the same rows and labels. MLlib's time per gradient evaluation comes from its "
                + "L-BFGS training with a fixed number of iterations (the difference between two iteration counts, divided by the "
                + "gradient evaluations between them); ours is `--activation sigmoid --loss softmax-cross-entropy`, one full-batch gradient.");
        line("");
        for (JsonNode r : ml) {
            if (r.has("error")) {
                line("- " + r.path("setup").asText() + ": **failed**: `" + r.path("error").asText().replace('\n', ' ') + "`");
                continue;
            }
            line("| setup | layers | rows | partitions | MLlib s per L-BFGS iteration | MLlib s per gradient evaluation | GradSpark s per gradient | ratio |");
            line("|---|---|---|---|---|---|---|---|");
            line(String.format(Locale.ROOT, "| %s | %s | %d | %d | %.3f | %.3f | %.3f | %.2f× |", r.path("setup").asText(), r.path("layers").asText(),
                    r.path("rows").asLong(), r.path("partitions").asInt(), r.path("mllib_per_iteration_s").asDouble(), r.path("mllib_per_evaluation_s").asDouble(),
                    r.path("gradspark_median_s").asDouble(), r.path("ratio").asDouble()));
            line("");
            line("MLlib computes in float64 (its only precision), the job in float32. Raw: `" + r.toString().replace('`', '\'') + "`");
            line("");
        }
        line("");
    }

    // ------------------------------------------------------------ reduction

    private void reduction() throws IOException {
        List<JsonNode> red = rows.stream().filter(kind("reduction")).toList();
        if (red.isEmpty()) return;
        line("## Reduction of the partial gradients");
        line("");
        int partitions = red.get(0).path("partitions").asInt(32);
        line("One row per partition through a single dense layer (identity), " + partitions + " partitions on the 2-worker cluster, "
                + "`--driver-memory 1g`, executors 4g. *collected*: every partition's float64 partial sums go to the driver, "
                + "which adds them in partition order; *sharded*: reduce-scatter on the executors, slices added in partition "
                + "order, the driver receives one summed copy (both give the same bytes). Driver heap from `summary.json`: the "
                + "peak of the heap pools (garbage included) and the largest heap live after a collection.");
        line("");
        line("| parameters | path | completed | job s | driver heap peak MiB | live after GC MiB | note |");
        line("|---|---|---|---|---|---|---|");
        Map<String, Map<String, Double>> chart = new LinkedHashMap<>();
        for (JsonNode r : red) {
            boolean ok = r.path("ok").asBoolean();
            JsonNode h = r.path("driver_heap");
            line(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |", millions(r.path("params").asLong()), r.path("path").asText(), ok ? "yes" : "**no**",
                    ok ? String.format(Locale.ROOT, "%.1f", r.path("wall_s").asDouble()) : "–",
                    ok ? String.format(Locale.ROOT, "%.0f", h.path("peak_used_mib").asDouble()) : "–",
                    ok ? String.format(Locale.ROOT, "%.0f", h.path("peak_after_gc_mib").asDouble()) : "–",
                    r.path("note").asText(r.path("error").asText(""))));
            if (ok) chart.computeIfAbsent(r.path("path").asText(), k -> new LinkedHashMap<>()).put(millions(r.path("params").asLong()), h.path("peak_used_mib").asDouble());
        }
        line("");
        if (!chart.isEmpty()) {
            barChart("reduction-heap.png", "Driver heap peak while reducing over " + partitions + " partitions", "MiB", chart);
            line("![driver heap during the reduction](reduction-heap.png)");
            line("");
        }
    }

    // ------------------------------------------------------------ storage

    /** HDFS's cost beside local files (gradspark_bench.py's storage(): records of kind "storage"). */
    private void storage() {
        List<JsonNode> st = rows.stream().filter(kind("storage")).toList();
        if (st.isEmpty()) return;
        List<JsonNode> mlp = st.stream().filter(r -> r.path("workload").asText().equals("large-weights")).toList();
        List<JsonNode> red = st.stream().filter(r -> r.path("workload").asText().equals("reduction")).toList();
        JsonNode any = st.get(0);
        line("## Storage: HDFS vs local files");
        line("");
        String by = any.path("only").isTextual()
                ? "`submit-scripts/gradspark-bench" + (any.path("quick").asBoolean() ? " --quick" : "") + (any.path("smoke").asBoolean() ? " --smoke" : "")
                        + " --only " + any.path("only").asText() + "`"
                : "the run above";
        String job = mlp.isEmpty() ? "" : String.format(Locale.ROOT, "The large MLP's weight gradient (%s, tanh, float32, `--wrt weights`) over %,d rows read from a "
                        + "`.npy` file (%.0f MiB, uniform in [-1, 1), seeded) instead of `--synthetic`, with the cluster rows' settings above (4 partitions, "
                        + "`--executor-memory 4g`, `spark.executor.cores=1`, `--repeat %d`: the median of the evaluations after the %d warm-up one%s). ",
                mlp.get(0).path("layers").asText().replace(',', '-'), mlp.get(0).path("rows").asLong(), mlp.get(0).path("input_mib").asDouble(),
                mlp.get(0).path("evaluations_s").size(), mlp.get(0).path("evaluations_s").size() - mlp.get(0).path("seconds").size(),
                mlp.get(0).path("evaluations_s").size() - mlp.get(0).path("seconds").size() == 1 ? "" : "s");
        line("Measured by " + by + (any.path("commit").isTextual() ? " at commit " + any.path("commit").asText() : "") + " on " + any.path("date").asText()
                + " on the 2-worker standalone cluster. " + job
                + "*local*: `local-cluster start 2`, `--input` and `--out` local files. *HDFS*: `local-cluster start 2 --hdfs --isolated`: the input "
                + "put on the cluster's HDFS first (`local-cluster hdfs put`, timed apart: *put s*), `--input` and `--out` `hdfs://` paths, and each "
                + "worker in a mount namespace that hides the driver's files, so the executors read every row from HDFS. One application on a fresh "
                + "cluster per round, in the order " + String.join(", ", mlp.stream().map(BenchReport::side).toList())
                + (mlp.size() == 4 ? " (a steady drift of the machine's speed falls on both sides alike)" : "") + "; "
                + "each side is pooled over its rounds: the median of all its warm evaluations, the mean of its cold first evaluations and processes. "
                + "A warm evaluation reads no file (the first one reads the rows, which the executors then keep in memory); the *write* phase writes "
                + "`grads.npz`, `summary.json` and `_SUCCESS` from the driver. Driver heap from `summary.json` (peak of the heap pools, and live after a "
                + "collection). *executors' CPU s*: the CPU time the two executors used over the whole application (all evaluations, the first's "
                + "reading included), and *HDFS's CPU s* the HDFS daemon's (NameNode and DataNode) meanwhile: waiting for a core does not count in "
                + "them, so other load moves them much less than the times. *others' CPU*: the share of the machine's CPU time that processes other "
                + "than the benchmark's used while the application ran (another user's build or tests; this machine has 2 cores), *stolen* the "
                + "hypervisor's steal, as above.");
        line("");
        // Run alone (--only storage), the section may come from another machine than the rest of the report.
        JsonNode main = first(kind("machine")).orElseThrow();
        rows.stream().filter(kind("machine").and(m -> m != main && m.path("only").asText().equals(any.path("only").asText()))).reduce((a, b) -> b)
                .filter(m -> !m.path("cpu").equals(main.path("cpu")) || !m.path("backends").path("cpu").equals(main.path("backends").path("cpu")))
                .ifPresent(m -> {
                    line("**This section ran on another machine than the rest of this report**: " + m.path("cpu").asText() + ", " + m.path("cores").asInt()
                            + " cores; GradSpark cpu backend: " + m.path("backends").path("cpu").asText() + ". Compare its rows with each other, not with the sections above.");
                    line("");
                });
        if (!mlp.isEmpty()) {
            line("| round | storage | warm evaluations (s) | median s | cold first s | process s | job s | write s | put s | driver heap peak / live MiB | executors' CPU s | HDFS's CPU s | stolen | others' CPU |");
            line("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (JsonNode r : mlp) {
                double hdfsCpu = cpuOf(r, "MiniDFSClusterManager");
                line(String.format(Locale.ROOT, "| %d | %s | %s | %.3f | %.2f | %.1f | %.1f | %.2f | %s | %s | %.1f | %s | %s | %s |", r.path("round").asInt(), side(r),
                        seconds(r.path("seconds")), r.path("median_s").asDouble(), r.path("first_s").asDouble(), r.path("process_s").asDouble(),
                        r.path("job_wall_s").asDouble(), r.path("phases_s").path("write_s").asDouble(), decimal(r.path("input_put_s")), heap(r.path("driver_heap")),
                        cpuOf(r, "CoarseGrainedExecutorBackend"), side(r).equals("HDFS") ? String.format(Locale.ROOT, "%.1f", hdfsCpu) : "–",
                        percent(r.path("cpu_stolen"), 1), percent(r.path("others_cpu"), 0)));
            }
            line("");
            List<JsonNode> local = mlp.stream().filter(r -> r.path("storage").asText().equals("local")).toList();
            List<JsonNode> hdfs = mlp.stream().filter(r -> r.path("storage").asText().equals("hdfs")).toList();
            if (!local.isEmpty() && !hdfs.isEmpty()) {
                double warmL = median(local, "seconds"), warmH = median(hdfs, "seconds");
                line("| pooled | local | HDFS | HDFS / local |");
                line("|---|---|---|---|");
                pooledRow("per warm evaluation (median s; each round's)", warmL, warmH, roundMedians(local), roundMedians(hdfs));
                pooledRow("cold first evaluation (mean s)", mean(local, r -> r.path("first_s").asDouble()), mean(hdfs, r -> r.path("first_s").asDouble()), "", "");
                pooledRow("whole process (mean s)", mean(local, r -> r.path("process_s").asDouble()), mean(hdfs, r -> r.path("process_s").asDouble()), "", "");
                pooledRow("job wall (mean s)", mean(local, r -> r.path("job_wall_s").asDouble()), mean(hdfs, r -> r.path("job_wall_s").asDouble()), "", "");
                pooledRow("write phase (mean s)", mean(local, r -> r.path("phases_s").path("write_s").asDouble()),
                        mean(hdfs, r -> r.path("phases_s").path("write_s").asDouble()), "", "");
                pooledRow("executors' CPU per application (mean CPU-s)", mean(local, r -> cpuOf(r, "CoarseGrainedExecutorBackend")),
                        mean(hdfs, r -> cpuOf(r, "CoarseGrainedExecutorBackend")), "", "");
                pooledRow("driver heap peak (max MiB)", max(local, r -> r.path("driver_heap").path("peak_used_mib").asDouble()),
                        max(hdfs, r -> r.path("driver_heap").path("peak_used_mib").asDouble()), "", "");
                line("");
                List<String> digests = mlp.stream().map(r -> r.path("grads_sha256").asText("")).distinct().toList();
                if (!digests.contains("")) {
                    line("`grads.npz` " + (digests.size() == 1 ? "came out byte-identical in every round on both sides (SHA-256 " + digests.get(0).substring(0, 12)
                            + "…)." : "**differed between rounds**: " + String.join(", ", digests.stream().map(d -> d.substring(0, 12)).toList()) + "."));
                    line("");
                }
                double cost = warmH / warmL - 1;
                List<String> shared = mlp.stream().filter(BenchReport::disturbed).map(r -> r.path("round").asInt() + " (" + side(r) + ")").toList();
                line(String.format(Locale.ROOT, "**HDFS's cost per warm evaluation: %+.1f%%** (goal ≤ +10%%: %s%s); on the whole process %+.1f%%, on the cold first "
                                + "evaluation %+.1f%%.", 100 * cost, cost <= 0.10 ? "met" : "**not met**",
                        shared.isEmpty() ? "" : " on these figures, but **not settled**: round" + (shared.size() > 1 ? "s " : " ") + String.join(", ", shared)
                                + " shared the machine with other processes, below, which moves the times by more than the goal's 10%",
                        100 * (mean(hdfs, r -> r.path("process_s").asDouble()) / mean(local, r -> r.path("process_s").asDouble()) - 1),
                        100 * (mean(hdfs, r -> r.path("first_s").asDouble()) / mean(local, r -> r.path("first_s").asDouble()) - 1)));
                line("");
            }
        }
        if (!red.isEmpty()) {
            line("The sharded reduction of the *Reduction* section (identity layer, " + red.get(0).path("partitions").asInt(32) + " partitions, `--synthetic 32`, `--driver-memory 1g`, executors 4g) "
                    + "with `--out` local or on HDFS: the driver writes the summed `grads.npz` (float32). Both sides with "
                    + "`spark.shuffle.readHostLocalDisk=false`: the executors fetch each other's shuffle blocks over the network, as on separate machines. "
                    + "On the isolated cluster they must: its workers are all 127.0.0.1, so Spark has an executor read a peer's shuffle files "
                    + "straight from that peer's disk, but each worker has a /tmp of its own, and the job fails (`FetchFailedException`: "
                    + "`NoSuchFileException .../blockmgr-.../shuffle_0_N_0.index`); the *Reduction* section's runs read them from disk.");
            line("");
            line("| parameters | storage | completed | job s | write s | grads.npz MiB | driver heap peak MiB | live after GC MiB | process s | stolen | others' CPU |");
            line("|---|---|---|---|---|---|---|---|---|---|---|");
            for (JsonNode r : red) {
                boolean ok = r.path("ok").asBoolean();
                JsonNode h = r.path("driver_heap");
                line(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %s |", millions(r.path("params").asLong()), side(r),
                        ok ? "yes" : "**no**: " + r.path("error").asText(),
                        ok ? String.format(Locale.ROOT, "%.1f", r.path("wall_s").asDouble()) : "–",
                        ok ? String.format(Locale.ROOT, "%.2f", r.path("phases_s").path("write_s").asDouble()) : "–",
                        ok ? String.format(Locale.ROOT, "%.0f", r.path("grads_mib").asDouble()) : "–",
                        ok ? String.format(Locale.ROOT, "%.0f", h.path("peak_used_mib").asDouble()) : "–",
                        ok ? String.format(Locale.ROOT, "%.0f", h.path("peak_after_gc_mib").asDouble()) : "–",
                        r.path("process_s").asDouble(), percent(r.path("cpu_stolen"), 1), percent(r.path("others_cpu"), 0)));
            }
            line("");
            List<String> ratios = new ArrayList<>();
            red.stream().filter(r -> r.path("storage").asText().equals("hdfs") && r.path("ok").asBoolean()).forEach(h -> red.stream()
                    .filter(l -> l.path("storage").asText().equals("local") && l.path("ok").asBoolean() && l.path("params").asLong() == h.path("params").asLong())
                    .findFirst().ifPresent(l -> ratios.add(String.format(Locale.ROOT,
                            "%s: job %.2f×, write phase %.2f s vs %.2f s (%.0f vs %.0f MiB/s), whole process %.2f×, driver heap peak %.0f vs %.0f MiB, live after GC %.0f vs %.0f MiB",
                            millions(h.path("params").asLong()), h.path("wall_s").asDouble() / l.path("wall_s").asDouble(),
                            h.path("phases_s").path("write_s").asDouble(), l.path("phases_s").path("write_s").asDouble(),
                            h.path("grads_mib").asDouble() / h.path("phases_s").path("write_s").asDouble(),
                            l.path("grads_mib").asDouble() / l.path("phases_s").path("write_s").asDouble(),
                            h.path("process_s").asDouble() / l.path("process_s").asDouble(),
                            h.path("driver_heap").path("peak_used_mib").asDouble(), l.path("driver_heap").path("peak_used_mib").asDouble(),
                            h.path("driver_heap").path("peak_after_gc_mib").asDouble(), l.path("driver_heap").path("peak_after_gc_mib").asDouble()))));
            if (!ratios.isEmpty()) {
                line("HDFS against local files (HDFS first):");
                line("");
                for (String r : ratios) line("- " + r);
                line("");
            }
        }
        List<String> disturbed = new ArrayList<>();
        for (JsonNode r : st) {
            if (!disturbed(r)) continue;
            List<String> top = new ArrayList<>();
            r.path("others_top").forEach(t -> top.add(String.format(Locale.ROOT, "`%s` %.0f CPU-s", t.path("what").asText().replace('`', '\''), t.path("cpu_s").asDouble())));
            disturbed.add(String.format(Locale.ROOT, "%s %s (%s): other processes %.0f%% of the machine's CPU, steal %.1f%%%s",
                    r.path("workload").asText().equals("reduction") ? "reduction " + millions(r.path("params").asLong()) : "large MLP round " + r.path("round").asInt(),
                    side(r), r.path("setup").asText(), 100 * r.path("others_cpu").asDouble(), 100 * r.path("cpu_stolen").asDouble(),
                    top.isEmpty() ? "" : "; most: " + String.join(", ", top)));
        }
        if (disturbed.isEmpty()) {
            line("No run here shared the machine with other processes using 10% of its CPU or more, or with 5% steal or more.");
        } else {
            line("Runs that shared the machine (other processes ≥ 10% of its CPU, or steal ≥ 5%): their times are longer than the machine alone gives.");
            line("");
            for (String d : disturbed) line("- " + d);
        }
        line("");
    }

    /** The CPU seconds this run's processes whose command names {@code main} used while r ran (ours_top). */
    private static double cpuOf(JsonNode r, String main) {
        double s = 0;
        for (JsonNode t : r.path("ours_top")) {
            if (t.path("what").asText().contains(main)) s += t.path("cpu_s").asDouble();
        }
        return s;
    }

    private void pooledRow(String what, double local, double hdfs, String localNote, String hdfsNote) {
        String f = what.contains("MiB") ? "%.0f" : what.contains("write") ? "%.2f" : what.contains("warm") ? "%.3f" : "%.1f";
        line(String.format(Locale.ROOT, "| %s | " + f + "%s | " + f + "%s | %.2f× |", what, local, localNote.isEmpty() ? "" : " (" + localNote + ")",
                hdfs, hdfsNote.isEmpty() ? "" : " (" + hdfsNote + ")", hdfs / local));
    }

    /** Whether other processes used 10% of the machine's CPU or more, or the hypervisor stole 5% or more, while r ran. */
    private static boolean disturbed(JsonNode r) {
        return r.path("others_cpu").asDouble() >= 0.10 || r.path("cpu_stolen").asDouble() >= 0.05;
    }

    private static String side(JsonNode r) {
        return r.path("storage").asText().equals("hdfs") ? "HDFS" : "local";
    }

    private static String heap(JsonNode h) {
        return h.isObject() ? String.format(Locale.ROOT, "%.0f / %.0f", h.path("peak_used_mib").asDouble(), h.path("peak_after_gc_mib").asDouble()) : "–";
    }

    private static String percent(JsonNode share, int decimals) {
        return share.isNumber() ? String.format(Locale.ROOT, "%." + decimals + "f%%", 100 * share.asDouble()) : "–";
    }

    /** The median of the arrays {@code field} of all the records together. */
    private static double median(List<JsonNode> records, String field) {
        List<Double> all = new ArrayList<>();
        records.forEach(r -> r.path(field).forEach(v -> all.add(v.asDouble())));
        all.sort(null);
        int n = all.size();
        return n == 0 ? Double.NaN : n % 2 == 1 ? all.get(n / 2) : (all.get(n / 2 - 1) + all.get(n / 2)) / 2;
    }

    private static String roundMedians(List<JsonNode> records) {
        List<String> s = new ArrayList<>();
        records.forEach(r -> s.add(String.format(Locale.ROOT, "%.3f", r.path("median_s").asDouble())));
        return String.join(", ", s);
    }

    private static double mean(List<JsonNode> records, java.util.function.ToDoubleFunction<JsonNode> f) {
        return records.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static double max(List<JsonNode> records, java.util.function.ToDoubleFunction<JsonNode> f) {
        return records.stream().mapToDouble(f).max().orElse(Double.NaN);
    }

    private void fusion() {
        line("## Fusion");
        line("");
        line("The profile of the large MLP put the elementwise chains of the activations' backward passes (3-4 passes each) and the "
                + "bias gradient's axis sum right after the BLAS calls; they are now one fused kernel each (`tanhBackward`, "
                + "`sigmoidBackward`) and a vectorised loop. Before/after: [fusion.md](fusion.md), from `bench/run-fusion-ab`.");
        line("");
    }

    /** bench/run-profile's breakdown (profile.md beside the report, when there is one), one level down. */
    private void profile() throws IOException {
        Path p = outDir.resolve("profile.md");
        if (!Files.exists(p)) return;
        List<String> lines = Files.readAllLines(p);
        line("## Where the time goes (large MLP, core and PyTorch profiled)");
        line("");
        line("From [profile.md](profile.md):");
        for (String l : lines.subList(lines.isEmpty() || !lines.get(0).startsWith("# ") ? 0 : 1, lines.size())) {
            line(l.startsWith("## ") ? "#" + l : l);
        }
        line("");
    }

    // ------------------------------------------------------------ helpers

    private void barChart(String file, String title, String yTitle, Map<String, Map<String, Double>> series) throws IOException {
        CategoryChart c = new CategoryChartBuilder().width(900).height(450).title(title).yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS).setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        List<String> categories = series.values().stream().flatMap(m -> m.keySet().stream()).distinct().toList();
        for (var e : series.entrySet()) {
            List<Double> values = categories.stream().map(k -> e.getValue().getOrDefault(k, 0.0)).toList();
            c.addSeries(e.getKey(), categories, values);
        }
        BitmapEncoder.saveBitmap(c, outDir.resolve(file).toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private Optional<JsonNode> e2e(String workload, String systemContains) {
        return first(kind("e2e").and(r -> r.path("workload").asText().equals(workload) && r.path("system").asText().contains(systemContains)));
    }

    private Optional<JsonNode> first(Predicate<JsonNode> p) {
        return rows.stream().filter(p).findFirst();
    }

    private static Predicate<JsonNode> kind(String k) {
        return r -> r.path("kind").asText().equals(k);
    }

    private static String decimal(JsonNode seconds) {
        return seconds.isNumber() ? String.format(Locale.ROOT, "%.2f", seconds.asDouble()) : "–";
    }

    private static String seconds(JsonNode a) {
        List<String> s = new ArrayList<>();
        a.forEach(v -> s.add(String.format(Locale.ROOT, "%.2f", v.asDouble())));
        return String.join(", ", s);
    }

    private static String millions(long n) {
        return n >= 1_000_000 ? String.format(Locale.ROOT, "%.0fM", n / 1e6) : String.format(Locale.ROOT, "%.0fk", n / 1e3);
    }

    private void line(String s) {
        md.append(s).append('\n');
    }
}
