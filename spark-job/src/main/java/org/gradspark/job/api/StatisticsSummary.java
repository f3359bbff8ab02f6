package org.gradspark.job.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.PartWriter;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;

/**
 * summary.json's gradient statistics: the gradient noise scale (McCandlish et al. 2018) and the
 * quantiles of the per-example gradient norms.
 *
 * <p>Over the N rows used: {@code G = (1/N) Σ_n g_n}, {@code trΣ = (Σ_n |g_n|² − N |G|²) / (N − 1)},
 * {@code B = trΣ / |G|²}. The quantiles are NumPy's default (linear): with the N norms sorted,
 * {@code q(p) = x[⌊h⌋] + (h − ⌊h⌋)(x[⌈h⌉] − x[⌊h⌋])}, {@code h = (N − 1) p}; exact, computed from the
 * norms the executors wrote, sorted by Spark ({@code sortBy}, then the four or so ranks looked up), so
 * the driver never holds the N norms.
 */
final class StatisticsSummary {
    private StatisticsSummary() {}

    /** The quantiles reported, by name. */
    static final Map<String, Double> QUANTILES = quantiles();

    private static Map<String, Double> quantiles() {
        Map<String, Double> q = new LinkedHashMap<>();
        q.put("min", 0.0);
        q.put("median", 0.5);
        q.put("p99", 0.99);
        q.put("max", 1.0);
        return q;
    }

    /**
     * {@code gradient_noise_scale}'s terms from the summed gradient {@code Σ_n g_n} (times {@code scale}:
     * 1/N for a mean), {@code Σ_n |g_n|²} and N: B, trΣ, |G|², with B null when N < 2 or G = 0.
     */
    static Map<String, Object> noiseScale(Map<String, Tensor> gradient, double scale, double sumOfSquaredNorms, long rows) {
        double g2 = 0;
        for (Tensor t : gradient.values()) {
            for (int i = 0; i < t.size(); i++) {
                double mean = t.getDouble(i) / scale / rows;
                g2 += mean * mean;
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        double trace = rows < 2 ? Double.NaN : (sumOfSquaredNorms - rows * g2) / (rows - 1);
        m.put("B", rows < 2 || g2 == 0 ? null : trace / g2);
        m.put("trace_sigma", rows < 2 ? null : trace);
        m.put("mean_gradient_squared_norm", g2);
        m.put("sum_squared_norms", sumOfSquaredNorms);
        m.put("rows", rows);
        return m;
    }

    /**
     * The quantiles of the per-example gradient norms written as .npy parts in {@code dir} (one value
     * per row, or one per weight key whose root sum of squares is the row's norm); NaN rows, which
     * were left out, are not counted.
     */
    static Map<String, Double> normQuantiles(JavaSparkContext jsc, Storage storage, String dir, int partitions) {
        Broadcast<Storage> bs = jsc.broadcast(storage);
        try {
            JavaRDD<Double> norms = jsc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions)
                    .flatMap(i -> rowNorms(bs.value(), PartWriter.partFile(dir, i)).iterator());
            long n = norms.count();
            Map<String, Double> out = new LinkedHashMap<>();
            if (n == 0) return out;
            List<Long> ranks = new ArrayList<>();
            for (double p : QUANTILES.values()) {
                double h = (n - 1) * p;
                ranks.add((long) Math.floor(h));
                ranks.add((long) Math.ceil(h));
            }
            Map<Long, Double> at = new java.util.HashMap<>();
            norms.sortBy(v -> v, true, partitions).zipWithIndex().filter(t -> ranks.contains(t._2())).collect()
                    .forEach(t -> at.put(t._2(), t._1()));
            QUANTILES.forEach((name, p) -> {
                double h = (n - 1) * p;
                long lo = (long) Math.floor(h), hi = (long) Math.ceil(h);
                out.put(name, at.get(lo) + (h - lo) * (at.get(hi) - at.get(lo)));
            });
            return out;
        } finally {
            bs.destroy();
        }
    }

    /** A part's row norms: its values, or with one value per key the root of their sum of squares; NaN rows left out. */
    private static List<Double> rowNorms(Storage storage, String file) {
        Npy.Header h = Npy.readHeader(storage, file);
        int width = (int) h.rowWidth();
        List<Double> norms = new ArrayList<>();
        for (long r = 0; r < h.rows(); r += 4096) {
            Tensor chunk = Npy.readRows(storage, file, h, r, (int) Math.min(4096, h.rows() - r));
            for (int row = 0; row < chunk.shape().dim(0); row++) {
                double v;
                if (h.rank() == 1) {
                    v = chunk.getDouble(row);
                } else {
                    double ss = 0;
                    for (int k = 0; k < width; k++) ss += chunk.getDouble(row * width + k) * chunk.getDouble(row * width + k);
                    v = Math.sqrt(ss);
                }
                if (!Double.isNaN(v)) norms.add(v);
            }
        }
        return norms;
    }
}
