package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.GradientStatistics;

/**
 * One partition's share of the gradient statistics ({@link StatisticsSpec}), chunk after chunk: the
 * gradient (plain or clipped, times the job's scale), Σ g_n² and the GGN diagonal per weight, and
 * Σ_n |g_n|², all float64 partial sums in chunk order. They travel as further partial arrays after
 * the gradient's ({@link #layout}), so the job's reducer adds them in partition order like the
 * gradient: the same bits on any master.
 */
final class PartitionStatistics {
    private final StatisticsSpec stats;
    private final double[][] gradient, sumOfSquares, ggn;
    private double squaredNorms, perRowChunks;

    /** The keys of Σ_n |g_n|² and of the count of chunks on the core's per-row path in the reduced partial sums. */
    static final String SQUARED_NORMS = "sum of squared norms", PER_ROW_CHUNKS = "chunks on the per-row path";

    /**
     * The partial arrays' keys after the gradient's, for weights of these keys and shapes: Σ g_n², the GGN diagonal,
     * Σ|g_n|² ([1]) when the norms are known, then the count of chunks on the per-row path ([1]; summed exactly, so summary.json can say which path ran).
     */
    record Layout(List<String> keys, List<Shape> shapes) {}

    static Layout layout(List<String> keys, List<Shape> shapes, StatisticsSpec stats) {
        List<String> k = new ArrayList<>();
        List<Shape> s = new ArrayList<>();
        if (stats.sumOfSquares()) add(k, s, "sum-of-squares ", keys, shapes);
        if (stats.ggnDiagonal()) add(k, s, "ggn-diagonal ", keys, shapes);
        if (stats.normsKnown()) {
            k.add(SQUARED_NORMS);
            s.add(Shape.of(1));
        }
        if (stats.any()) {
            k.add(PER_ROW_CHUNKS);
            s.add(Shape.of(1));
        }
        return new Layout(k, s);
    }

    private static void add(List<String> k, List<Shape> s, String prefix, List<String> keys, List<Shape> shapes) {
        for (int i = 0; i < keys.size(); i++) {
            k.add(prefix + keys.get(i));
            s.add(shapes.get(i));
        }
    }

    /** The core's request: the per-example values asked, Σ g_n², the GGN diagonal of the job's loss, the clip; {@code dotWith} the reference gradient. */
    static GradientStatistics.Request request(StatisticsSpec stats, JobConfig.Loss loss, Tensor[] dotWith) {
        PerExampleOutput p = stats.perExample();
        GradientStatistics.CurvatureLoss curvature = !stats.ggnDiagonal() ? null
                : loss == JobConfig.Loss.MSE ? GradientStatistics.CurvatureLoss.MSE : GradientStatistics.CurvatureLoss.SOFTMAX_CROSS_ENTROPY;
        // Σ|g_n|² for the noise scale comes from the norms, or from Σ g_n² when only that is asked.
        return new GradientStatistics.Request(p instanceof PerExampleOutput.GradNorm, p instanceof PerExampleOutput.GradNormPerKey,
                p instanceof PerExampleOutput.GradDot ? dotWith : null, stats.sumOfSquares(), stats.clip(), curvature);
    }

    PartitionStatistics(StatisticsSpec stats, List<Shape> weights) {
        this.stats = stats;
        gradient = zeros(weights, true);
        sumOfSquares = zeros(weights, stats.sumOfSquares());
        ggn = zeros(weights, stats.ggnDiagonal());
    }

    private static double[][] zeros(List<Shape> shapes, boolean wanted) {
        return wanted ? shapes.stream().map(s -> new double[s.size()]).toArray(double[][]::new) : new double[0][];
    }

    /**
     * Adds a chunk's statistics, the gradient times {@code scale} (1/rows used for a mean); returns
     * its per-example values ([rows] or [rows, K], float64) with NaN on the rows left out ({@code skip}),
     * which have no gradient, or null when none are asked.
     */
    Tensor add(GradientStatistics.Result r, boolean[] skip, double scale) {
        for (int k = 0; k < gradient.length; k++) {
            double[] acc = gradient[k];
            Tensor g = r.gradient()[k];
            for (int i = 0; i < acc.length; i++) acc[i] += scale * g.getDouble(i);
        }
        if (stats.sumOfSquares()) add(sumOfSquares, r.sumOfSquares());
        if (stats.ggnDiagonal()) add(ggn, r.ggnDiagonal());
        Tensor perRow = perExample(r);
        if (stats.normsKnown()) squaredNorms += squaredNorms(r, perRow, skip);
        if (r.path() == GradientStatistics.Path.PER_ROW) perRowChunks++;
        if (perRow == null) return null;
        if (skip == null) return perRow;
        double[] v = perRow.astype(DType.FLOAT64).rawDoubles().clone();
        int width = v.length / Math.max(1, skip.length);
        for (int i = 0; i < v.length; i++) if (skip[i / width]) v[i] = Double.NaN;
        return Tensor.wrap(v, perRow.shape());
    }

    private Tensor perExample(GradientStatistics.Result r) {
        PerExampleOutput p = stats.perExample();
        if (p instanceof PerExampleOutput.GradNorm) return r.norms();
        if (p instanceof PerExampleOutput.GradNormPerKey) return r.normsPerKey();
        if (p instanceof PerExampleOutput.GradDot) return r.dots();
        return null;
    }

    /** Σ over the chunk's kept rows of |g_n|²: from the norms (per key or whole) when written, else the total of Σ g_n². */
    private static double squaredNorms(GradientStatistics.Result r, Tensor perRow, boolean[] skip) {
        Tensor norms = r.norms() != null ? r.norms() : r.normsPerKey();
        double total = 0;
        if (norms == null) {
            for (Tensor t : r.sumOfSquares()) for (int i = 0; i < t.size(); i++) total += t.getDouble(i);
            return total;
        }
        int width = norms.size() / Math.max(1, norms.shape().dim(0));
        for (int i = 0; i < norms.size(); i++) {
            if (skip != null && skip[i / width]) continue;
            double v = norms.getDouble(i);
            total += v * v;
        }
        return total;
    }

    private static void add(double[][] acc, Tensor[] values) {
        for (int k = 0; k < acc.length; k++) {
            for (int i = 0; i < acc[k].length; i++) acc[k][i] += values[k].getDouble(i);
        }
    }

    /** The partition's partial sums: the gradient's, then those of {@link #layout}, in its order. */
    double[][] partials() {
        List<double[]> all = new ArrayList<>(List.of(gradient));
        all.addAll(List.of(sumOfSquares));
        all.addAll(List.of(ggn));
        if (stats.normsKnown()) all.add(new double[] {squaredNorms});
        all.add(new double[] {perRowChunks});
        return all.toArray(double[][]::new);
    }
}
