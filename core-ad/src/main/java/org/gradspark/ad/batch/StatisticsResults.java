package org.gradspark.ad.batch;

import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.GradientStatistics.Path;
import org.gradspark.ad.batch.GradientStatistics.Request;
import org.gradspark.ad.batch.GradientStatistics.Result;
import org.gradspark.ad.batch.GradientStatistics.StatisticsChunk;

/** Assembles a {@link Result} from per-row squared norms per parameter, the same way for both paths. */
final class StatisticsResults {
    private StatisticsResults() {}

    /**
     * @param squaredNorms [rows][keys] |g_n,k|^2 (0 for skipped rows)
     * @param dots         [rows] g_n . v, or null when not asked
     */
    static Result of(Tensor[] gradient, double[][] squaredNorms, double[] dots, Tensor[] sumOfSquares, Tensor[] ggn,
                     StatisticsChunk chunk, Request what, Path path) {
        int rows = squaredNorms.length, keys = gradient.length;
        Tensor norms = null, perKey = null;
        if (what.norms() || what.clipped()) {
            double[] n = new double[rows];
            for (int i = 0; i < rows; i++) {
                double t = 0;
                for (double v : squaredNorms[i]) t += v;
                n[i] = Math.sqrt(t);
            }
            norms = Tensor.of(n, rows);
        }
        if (what.normsPerKey()) {
            int k = keys;
            double[] p = new double[rows * k];
            for (int i = 0; i < rows; i++) for (int j = 0; j < k; j++) p[i * k + j] = Math.sqrt(squaredNorms[i][j]);
            perKey = Tensor.of(p, rows, k);
        }
        Tensor dotTensor = dots == null ? null : Tensor.of(dots, rows);
        return new Result(gradient, norms, perKey, dotTensor, sumOfSquares, ggn, chunk.outputs(), chunk.objective(), path);
    }
}
