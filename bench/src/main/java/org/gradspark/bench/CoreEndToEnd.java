package org.gradspark.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.RowSource;

/**
 * One end-to-end workload in the core, in one JVM, without Spark: the job's own model and
 * {@link BatchGradient} calls over all rows in chunks, split across {@code --threads} Java threads
 * (each a contiguous row range, partial sums added in float64 in range order, as the job does).
 * Prints one JSON line: the median over {@code --repeats} timed runs after {@code --warmup} runs.
 *
 * <pre>CoreEndToEnd --what weights|order2|hvp --threads T --chunk-rows R --repeats K --warmup W [--profile FILE] -- [grad job options]</pre>
 * The job options after {@code --} are the grad job's (layers, activation, dtype, loss, synthetic rows).
 * {@code --profile FILE}: async-profiler samples every thread's CPU time (Java, JVM, native and kernel
 * frames) over the timed runs only, written to FILE as collapsed stacks with the thread's name first
 * ({@code bench/profile_report.py} sorts them into where the time goes).
 */
public final class CoreEndToEnd {
    private CoreEndToEnd() {}

    public static void main(String[] args) throws Exception {
        String what = "weights";
        int threads = 2, chunk = 4096, repeats = 5, warmup = 2;
        String profile = null;
        int split = Arrays.asList(args).indexOf("--");
        for (int i = 0; i < split; i += 2) {
            switch (args[i]) {
                case "--what" -> what = args[i + 1];
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--chunk-rows" -> chunk = Integer.parseInt(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--profile" -> profile = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> job = new ArrayList<>(Arrays.asList(args).subList(split + 1, args.length));
        job.addAll(List.of("--out", System.getProperty("java.io.tmpdir") + "/gradspark-bench-unused"));
        JobConfig cfg = JobOptions.parse(Map.of(), job.toArray(new String[0]));
        Map<String, Tensor> weights = JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed());
        long n = cfg.syntheticRows();
        List<Tensor[]> chunks = chunks(cfg, chunk);
        var chosen = Backends.require(cfg.backend());
        Backends.use(chosen);   // this benchmark's JVM, its worker threads included, runs on the one backend it measures
        String backend = chosen.name() + " on " + chosen.device();
        Work work = new Work(cfg, weights, what, chunks, threads);
        double[] times = new double[repeats], warmupTimes = new double[warmup];
        double checksum = 0;
        Profiler profiler = profile == null ? null : new Profiler(profile);
        for (int i = 0; i < warmup + repeats; i++) {
            if (i == warmup && profiler != null) profiler.start();
            long t0 = System.nanoTime();
            checksum = work.run();
            double s = (System.nanoTime() - t0) / 1e9;
            if (i >= warmup) times[i - warmup] = s;
            else warmupTimes[i] = s;
        }
        if (profiler != null) profiler.stop();
        double median = median(times);
        double flops = what.equals("weights") ? weightGradientFlops(cfg.layers(), n) : Double.NaN;
        System.out.printf(Locale.ROOT,
                "{\"what\": \"%s\", \"layers\": \"%s\", \"activation\": \"%s\", \"loss\": \"%s\", \"dtype\": \"%s\", \"rows\": %d, \"threads\": %d, "
                        + "\"chunk_rows\": %d, \"backend\": \"%s\", \"warmup_seconds\": %s, \"seconds\": %s, \"median_s\": %.6f, \"examples_per_s\": %.1f, \"gflops\": %s, \"checksum\": %.10g}%n",
                what, joined(cfg.layers()), cfg.activation().name().toLowerCase(Locale.ROOT), cfg.loss().name().toLowerCase(Locale.ROOT),
                cfg.dtype().numpyName(), n, threads, chunk, backend.replace("\"", "'"), Arrays.toString(warmupTimes), Arrays.toString(times), median, n / median,
                Double.isNaN(flops) ? "null" : String.format(Locale.ROOT, "%.3f", flops / median / 1e9), checksum);
    }

    /** The job's synthetic rows in chunks of {@code chunk} rows ({x, sens, labels}), made before any timing (the peers also time in-memory data). */
    static List<Tensor[]> chunks(JobConfig cfg, int chunk) {
        long n = cfg.syntheticRows();
        int width = cfg.layers()[0], outWidth = cfg.layers()[cfg.layers().length - 1];
        RowSource.Synthetic rows = new RowSource.Synthetic(n, width, cfg.seed());
        List<Tensor[]> chunks = new ArrayList<>();
        for (long r = 0; r < n; r += chunk) {
            int count = (int) Math.min(chunk, n - r);
            Tensor x = rows.read(r, count, cfg.dtype());
            Tensor labels = cfg.loss() == JobConfig.Loss.NONE ? null : oneHot(r, count, outWidth, cfg);
            int sensWidth = cfg.loss() == JobConfig.Loss.NONE ? outWidth : 1;
            Tensor s = cfg.loss() == JobConfig.Loss.NONE ? Tensor.full(1, cfg.dtype(), org.gradspark.ad.Shape.of(count, sensWidth))
                    : Tensor.full(1, cfg.dtype(), org.gradspark.ad.Shape.of(count));
            chunks.add(new Tensor[] {x, s, labels});
        }
        return chunks;
    }

    /** Matrix-product FLOPs of one weight gradient: forward, dW of every layer, dX of every layer but the first. */
    static double weightGradientFlops(int[] layers, long n) {
        double f = 0;
        for (int k = 0; k + 1 < layers.length; k++) {
            double mac = (double) layers[k] * layers[k + 1];
            f += 2.0 * n * mac * (k == 0 ? 2 : 3);
        }
        return f;
    }

    /** Labels for a loss: one-hot rows, class (row mod width). */
    private static Tensor oneHot(long first, int count, int width, JobConfig cfg) {
        return Tensor.fromFunction(cfg.dtype(), org.gradspark.ad.Shape.of(count, width), i -> (first + i / width) % width == i % width ? 1 : 0);
    }

    /** The timed work: every chunk, split across threads; returns a checksum of the result. */
    record Work(JobConfig cfg, Map<String, Tensor> weights, String what, List<Tensor[]> chunks, int threads) {
        double run() throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<Double>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int lo = chunks.size() * t / threads, hi = chunks.size() * (t + 1) / threads;
                    parts.add(pool.submit(() -> range(lo, hi)));
                }
                double sum = 0;
                for (Future<Double> f : parts) sum += f.get();
                return sum;
            } finally {
                pool.shutdown();
            }
        }

        /**
         * One thread's chunks, on its own model instance (as a Spark task has), through the very call
         * each partition task makes per chunk ({@link BatchGradient#chunk}: sensitivities of ones, the
         * MLP's output shape known, so the weight gradient's forward pass also gives the outputs).
         */
        private double range(int lo, int hi) {
            JobModel m = JobModel.build(cfg, weights);
            Cell net = m.network(), loss = JobModel.loss(cfg.loss());
            List<Parameter> params = m.params();
            Tensor[] v = params.stream().map(p -> Tensor.full(0.5, cfg.dtype(), p.shape())).toArray(Tensor[]::new);
            BatchGradient.Request request = switch (what) {
                case "weights" -> new BatchGradient.Request(true, null, 0, 1.0);
                case "hvp" -> new BatchGradient.Request(true, v, 0, 1.0);
                case "order2" -> new BatchGradient.Request(false, null, 2, 1.0);
                default -> throw new IllegalArgumentException("--what: weights, hvp or order2, got " + what);
            };
            int outWidth = cfg.layers()[cfg.layers().length - 1];
            double[][] acc = params.stream().map(p -> new double[p.size()]).toArray(double[][]::new);
            double inputSum = 0;
            for (int c = lo; c < hi; c++) {
                Tensor[] ch = chunks.get(c);
                int rows = ch[0].shape().dim(0);
                org.gradspark.ad.Shape outShape = cfg.loss() == JobConfig.Loss.NONE ? org.gradspark.ad.Shape.of(rows, outWidth) : org.gradspark.ad.Shape.of(rows);
                BatchGradient.ChunkResult r = BatchGradient.chunk(net, loss, params, ch[0], null, ch[2], null, outShape, request);
                if (r.weightGradients() != null) add(acc, r.weightGradients());
                if (r.inputDerivative() != null) inputSum += total(r.inputDerivative());
            }
            double s = inputSum;
            for (double[] a : acc) for (double d : a) s += d;
            return s;
        }

        private static double total(Tensor t) {
            double s = 0;
            for (int i = 0; i < t.size(); i++) s += t.getDouble(i);
            return s;
        }

        private static void add(double[][] acc, Tensor[] g) {
            for (int k = 0; k < acc.length; k++) {
                for (int i = 0; i < acc[k].length; i++) acc[k][i] += g[k].getDouble(i);
            }
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String joined(int[] layers) {
        return String.join("-", Arrays.stream(layers).mapToObj(String::valueOf).toList());
    }
}
