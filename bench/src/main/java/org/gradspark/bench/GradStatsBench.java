package org.gradspark.bench;

import static org.gradspark.ad.Ops.add;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.ad.batch.GradientStatistics;
import org.gradspark.ad.batch.GradientStatistics.Request;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.gradspark.job.io.Npy;

/**
 * Issue 27 item 5 in the core (no Spark): per-example gradient statistics against the plain weight
 * gradient, float32, on the backend named by {@code -Dgradspark.backend}, over {@code --rows} rows taken
 * in chunks of {@code --chunk-rows} (the job's default 4096), each chunk's rows drawn from its own seed so
 * that no array of all rows is ever held (as an executor reads a chunk at a time).
 * <ul>
 * <li>{@code plain}: {@link BatchGradient#chunk} for the weights per chunk (what {@code grad} runs, its fused path),
 * the chunks' gradients summed in float64;</li>
 * <li>{@code statistics}: {@link GradientStatistics#compute} with norms, the sum of squares and the clipped
 * sum (C = the median per-example norm of chunk 0), the sums over chunks in float64;</li>
 * <li>{@code memory}: for each of {@code --memory-rows}, the statistics over that many rows with the same
 * chunks: the largest heap in use after a collection (the live set) and the heap pools' peak.</li>
 * </ul>
 * Prints one JSON line per measurement. With {@code --out DIR} it writes what the PyTorch peer
 * ({@code bench/peers/torch_grad_stats.py}) needs to recompute and check the statistics: the model
 * ({@code w0.npy, b0.npy, ...}), the rows ({@code x-NNNNN.npy}, one per chunk), C ({@code clip.txt}) and the
 * core's last results ({@code core_norms.npy}, {@code core_sum_squares_K.npy}, {@code core_clipped_K.npy}).
 *
 * <pre>GradStatsBench --layers 256,1024,1024,10 --rows 65536 --chunk-rows 4096 --repeats 3 --warmup 1 --memory-rows 16384,65536 --out DIR</pre>
 */
public final class GradStatsBench {
    private GradStatsBench() {}

    public static void main(String[] args) throws Exception {
        int rows = 65536, chunkRows = 4096, repeats = 3, warmup = 1;
        String layers = "256,1024,1024,10", memoryRows = "16384,65536";
        Path out = null;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[i + 1]);
                case "--chunk-rows" -> chunkRows = Integer.parseInt(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--layers" -> layers = args[i + 1];
                case "--memory-rows" -> memoryRows = args[i + 1];
                case "--out" -> out = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("GradStatsBench: unknown option " + args[i]);
            }
        }
        int[] widths = Arrays.stream(layers.split(",")).mapToInt(Integer::parseInt).toArray();
        Sequential model = mlp(widths);
        List<Parameter> params = model.trainableParams();
        Chunks chunks = new Chunks(widths[0], chunkRows);
        double clip = medianNorm(model, params, chunks.rows(0, rows));
        Request statistics = new Request(true, false, null, true, clip, null);
        String backend = (Backends.current().name() + " on " + Backends.current().device()).replace("\"", "'");
        String common = String.format(Locale.ROOT, "\"model\": \"tanh MLP %s\", \"rows\": %d, \"chunk_rows\": %d, \"backend\": \"%s\"",
                layers.replace(',', '-'), rows, chunkRows, backend);

        int n = rows;
        double[] plain = time(() -> plainGradient(model, params, chunks, n), repeats, warmup);
        Totals[] last = new Totals[1];
        double[] stats = time(() -> last[0] = statistics(model, params, chunks, n, statistics, true), repeats, warmup);
        System.out.println("{\"system\": \"gradspark\", \"what\": \"plain weight gradient\", " + common + ", " + runs(plain) + "}");
        System.out.println("{\"system\": \"gradspark\", \"what\": \"norms + sum of squares + clipped sum\", " + common
                + String.format(Locale.ROOT, ", \"clip\": %.9g, ", clip) + runs(stats) + "}");
        for (String m : memoryRows.split(",")) {
            int memRows = Integer.parseInt(m.trim());
            long[] heap = heapOf(() -> statistics(model, params, chunks, memRows, statistics, false));
            System.out.println(String.format(Locale.ROOT,
                    "{\"system\": \"gradspark\", \"what\": \"memory\", \"model\": \"tanh MLP %s\", \"rows\": %d, \"chunk_rows\": %d, \"live_heap_max_bytes\": %d, \"heap_peak_bytes\": %d, \"collections\": %d}",
                    layers.replace(',', '-'), memRows, chunkRows, heap[0], heap[1], heap[2]));
        }
        if (out != null) writeForPeer(out, params, chunks, rows, clip, last[0]);
    }

    /** A tanh MLP of the given widths, float32, Glorot-uniform weights and small nonzero biases (seeded). */
    static Sequential mlp(int[] widths) {
        List<Cell> layers = new ArrayList<>();
        for (int k = 0; k + 1 < widths.length; k++) {
            double r = Math.sqrt(6.0 / (widths[k] + widths[k + 1]));
            layers.add(new Dense(Tensor.uniform(31 + k, -r, r, DType.FLOAT32, widths[k], widths[k + 1]),
                    Tensor.uniform(41 + k, -0.1, 0.1, DType.FLOAT32, widths[k + 1])));
            if (k + 2 < widths.length) layers.add(Activation.tanh());
        }
        return new Sequential(layers);
    }

    /** Chunk i of the rows: uniform in [-1, 1), drawn from seed 1000 + i, so each chunk is made when it is used. */
    record Chunks(int features, int chunkRows) {
        int count(int rows) { return (rows + chunkRows - 1) / chunkRows; }

        Tensor rows(int i, int rows) {
            return Tensor.uniform(1000 + i, -1, 1, DType.FLOAT32, Math.min(chunkRows, rows - i * chunkRows), features);
        }
    }

    /** The per-example norms' median over the first chunk: C, so that about half the rows are clipped. */
    private static double medianNorm(Cell model, List<Parameter> params, Tensor x) {
        double[] norms = GradientStatistics.compute(model, null, params, x, null, null, null, new Request(true, false, null, false, 0, null)).norms().toDoubleArray();
        Arrays.sort(norms);
        return norms[norms.length / 2];
    }

    private static Tensor plainGradient(Cell model, List<Parameter> params, Chunks chunks, int rows) {
        Tensor[] sum = new Tensor[params.size()];
        BatchGradient.Request weights = new BatchGradient.Request(true, null, 0, 1.0);
        int outputs = params.get(params.size() - 1).shape().dim(0);
        for (int i = 0; i < chunks.count(rows); i++) {
            Tensor x = chunks.rows(i, rows);
            accumulate(sum, BatchGradient.chunk(model, null, params, x, null, null, null, Shape.of(x.shape().dim(0), outputs), weights).weightGradients());
        }
        return sum[0];
    }

    /** The chunks' statistics summed in float64 (the norms kept too when {@code keepNorms}). */
    record Totals(Tensor[] clipped, Tensor[] sumOfSquares, double[] norms) {}

    private static Totals statistics(Cell model, List<Parameter> params, Chunks chunks, int rows, Request what, boolean keepNorms) {
        Tensor[] clipped = new Tensor[params.size()], squares = new Tensor[params.size()];
        double[] norms = keepNorms ? new double[rows] : null;
        for (int i = 0; i < chunks.count(rows); i++) {
            GradientStatistics.Result r = GradientStatistics.compute(model, null, params, chunks.rows(i, rows), null, null, null, what);
            accumulate(clipped, r.gradient());
            accumulate(squares, r.sumOfSquares());
            if (keepNorms) {
                double[] v = r.norms().toDoubleArray();
                System.arraycopy(v, 0, norms, i * chunks.chunkRows(), v.length);
            }
        }
        return new Totals(clipped, squares, norms);
    }

    private static void accumulate(Tensor[] sum, Tensor[] part) {
        for (int k = 0; k < sum.length; k++) {
            Tensor p = part[k].astype(DType.FLOAT64);
            sum[k] = sum[k] == null ? p : add(sum[k], p);
        }
    }

    /**
     * Each timed run after the warm-up runs: {wall seconds..., then the process's CPU seconds...}. The CPU
     * time (every thread of the JVM, BLAS's included) is what a shared machine's load changes least.
     */
    private static double[] time(Runnable body, int repeats, int warmup) {
        for (int i = 0; i < warmup; i++) body.run();
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double[] s = new double[2 * repeats];
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            body.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
            s[repeats + i] = (os.getProcessCpuTime() - c0) / 1e9;
        }
        return s;
    }

    private static String runs(double[] s) {
        int repeats = s.length / 2;
        return String.format(Locale.ROOT, "\"median_s\": %.4f, \"runs_s\": %s, \"median_cpu_s\": %.4f, \"runs_cpu_s\": %s",
                median(Arrays.copyOf(s, repeats)), list(Arrays.copyOf(s, repeats)), median(Arrays.copyOfRange(s, repeats, s.length)),
                list(Arrays.copyOfRange(s, repeats, s.length)));
    }

    private static double median(double[] v) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static String list(double[] v) {
        List<String> all = new ArrayList<>();
        for (double x : v) all.add(String.format(Locale.ROOT, "%.4f", x));
        return "[" + String.join(", ", all) + "]";
    }

    /**
     * {live, peak, collections}: the largest heap in use right after a collection while {@code body} ran (what
     * it kept alive; 0 when no collection ran), the sum of the heap pools' peaks (live data plus garbage not yet
     * collected) and the number of collections.
     */
    private static long[] heapOf(Runnable body) {
        System.gc();
        List<MemoryPoolMXBean> pools = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
        pools.forEach(MemoryPoolMXBean::resetPeakUsage);
        AtomicLong live = new AtomicLong(), collections = new AtomicLong();
        NotificationListener listener = (notification, handback) -> {
            if (!notification.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) return;
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
            long used = info.getGcInfo().getMemoryUsageAfterGc().values().stream().mapToLong(MemoryUsage::getUsed).sum();
            live.accumulateAndGet(used, Math::max);
            collections.incrementAndGet();
        };
        List<GarbageCollectorMXBean> collectors = ManagementFactory.getGarbageCollectorMXBeans();
        for (GarbageCollectorMXBean c : collectors) ((NotificationEmitter) c).addNotificationListener(listener, null, null);
        try {
            body.run();
        } finally {
            for (GarbageCollectorMXBean c : collectors) {
                try {
                    ((NotificationEmitter) c).removeNotificationListener(listener);
                } catch (javax.management.ListenerNotFoundException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        long peak = pools.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        return new long[] {live.get(), peak, collections.get()};
    }

    private static void writeForPeer(Path dir, List<Parameter> params, Chunks chunks, int rows, double clip, Totals t) throws Exception {
        Files.createDirectories(dir);
        for (int k = 0; k < params.size(); k++) {
            Npy.write(dir.resolve((k % 2 == 0 ? "w" : "b") + (k / 2) + ".npy"), params.get(k));
            Npy.write(dir.resolve("core_clipped_" + k + ".npy"), t.clipped()[k]);
            Npy.write(dir.resolve("core_sum_squares_" + k + ".npy"), t.sumOfSquares()[k]);
        }
        for (int i = 0; i < chunks.count(rows); i++) Npy.write(dir.resolve(String.format(Locale.ROOT, "x-%05d.npy", i)), chunks.rows(i, rows));
        Npy.write(dir.resolve("core_norms.npy"), Tensor.of(t.norms(), rows));
        Files.writeString(dir.resolve("clip.txt"), String.format(Locale.ROOT, "%.17g%n", clip));
    }
}
