package org.gradspark.bench;

import java.util.List;
import java.util.Locale;
import org.gradspark.ad.DType;
import org.gradspark.ad.Fn;
import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;

/**
 * Issue 28's randomised Laplacians in the core (no Spark), float32, on the backend named by
 * {@code -Dgradspark.backend}: the per-example Laplacian of tanh MLPs d -> w -> w -> w -> 1 (the models,
 * weights and rows of {@link LaplacianBench}) by the exact forward-Laplacian sweep (d directions) and by
 * {@code hutchinson:K} and {@code stde:K} (K directions), each timed over the same rows. Prints one JSON
 * line per measurement (what, d, rows, median and runs in seconds; the time per point is median / rows),
 * and the estimates' mean relative error against the exact Laplacian, so the table shows what the
 * speed costs in accuracy. Run by {@code bench/run-randomised-laplacian}.
 *
 * <pre>RandomisedLaplacianBench --rows 512 --repeats 3 --warmup 1 --models 16x64,100x64,1000x64 --directions 16</pre>
 */
public final class RandomisedLaplacianBench {
    private RandomisedLaplacianBench() {}

    public static void main(String[] args) {
        int rows = 512, repeats = 3, warmup = 1, k = 16;
        String models = "16x64,100x64,1000x64";
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--models" -> models = args[i + 1];
                case "--directions" -> k = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        String backend = Backends.current().name() + " on " + Backends.current().device();
        if (warmup > 0) warmUp(models.split(",")[0], rows, k);   // a smoke (--warmup 0) times cold runs
        for (String m : models.split(",")) {
            int d = Integer.parseInt(m.split("x")[0]), w = Integer.parseInt(m.split("x")[1]);
            Tensor[] ws = LaplacianBench.weights(d, w);
            Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT32, rows, d);
            Fn net = a -> LaplacianBench.mlp(a[0], ws);
            String model = "tanh MLP " + d + "-" + w + "-" + w + "-" + w + "-1";
            Tensor exact = Operators.laplacian(net, x);
            report("exact", model, d, rows, 0, LaplacianBench.time(() -> Operators.laplacian(net, x), repeats, warmup), backend);
            for (LaplacianEstimator e : List.of(new LaplacianEstimator.Hutchinson(k), new LaplacianEstimator.Stde(Math.min(k, d)))) {
                double error = relativeError(Operators.laplacian(net, x, e, 1, 0), exact);
                report(e.spelling(), model, d, rows, error, LaplacianBench.time(() -> Operators.laplacian(net, x, e, 1, 0), repeats, warmup), backend);
            }
        }
    }

    private static void report(String what, String model, int d, int rows, double relError, double[] s, String backend) {
        double[] sorted = s.clone();
        java.util.Arrays.sort(sorted);
        StringBuilder runs = new StringBuilder();
        for (double v : s) runs.append(runs.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", v));
        System.out.println(String.format(Locale.ROOT, "{\"system\": \"gradspark\", \"what\": \"%s\", \"model\": \"%s\", \"d\": %d, \"rows\": %d, "
                + "\"rel_error\": %.4g, \"median_s\": %.4f, \"runs_s\": [%s], \"backend\": \"%s\"}",
                what, model, d, rows, relError, sorted[sorted.length / 2], runs, backend.replace("\"", "'")));
    }

    /**
     * Every variant on the first model for a few seconds, untimed: the JIT compiles the sweep's paths
     * before the first timed run (on a loaded machine --warmup runs alone left the first model's exact
     * Laplacian 30x slower than the second's).
     */
    private static void warmUp(String model, int rows, int k) {
        int d = Integer.parseInt(model.split("x")[0]), w = Integer.parseInt(model.split("x")[1]);
        Tensor[] ws = LaplacianBench.weights(d, w);
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT32, rows, d);
        Fn net = a -> LaplacianBench.mlp(a[0], ws);
        long end = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < end) {
            Operators.laplacian(net, x);
            Operators.laplacian(net, x, new LaplacianEstimator.Hutchinson(k), 1, 0);
            Operators.laplacian(net, x, new LaplacianEstimator.Stde(Math.min(k, d)), 1, 0);
        }
    }

    /** {@code ||estimate - exact|| / ||exact||} over the rows: one draw's error, not the estimator's bias. */
    static double relativeError(Tensor estimate, Tensor exact) {
        double num = 0, den = 0;
        for (int i = 0; i < exact.size(); i++) {
            double e = exact.getDouble(i), diff = estimate.getDouble(i) - e;
            num += diff * diff;
            den += e * e;
        }
        return Math.sqrt(num / den);
    }
}
