package org.gradspark.job.exec;

import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.GaussNewtonMatrix;

/**
 * The chunk kernel of {@code fit --solve dense}: the gradient and objective exactly as
 * {@link GradientChunkKernel} computes them (the same bits as a plain evaluation), and beside them the
 * partial Gauss-Newton matrix of {@code --loss mse} (row-major P × P, float64, {@link GaussNewtonMatrix}),
 * chunk after chunk.
 */
final class GramianChunkKernel implements ChunkKernel {
    private final JobConfig cfg;
    private final NanPolicy nan;
    private final GradientChunkKernel gradient;
    private final double[] matrix;
    private final double scale;

    GramianChunkKernel(JobConfig cfg, NanPolicy nan, Map<String, Tensor> weights, double scale) {
        this.cfg = cfg;
        this.nan = nan;
        this.scale = scale;
        gradient = new GradientChunkKernel(cfg, nan, weights, null, null, scale, false, ChunkKernel.drawSeed(cfg, null));
        int p = GaussNewtonMatrix.size(gradient.params());
        matrix = new double[p * p];
    }

    @Override public DType partDType() {
        return null;
    }

    @Override public Outcome add(long firstRow, Tensor x, Tensor s, Tensor y, boolean[] skip) {
        Outcome o = gradient.add(firstRow, x, s, y, skip);
        ChunkKernel.guarded(cfg, nan, firstRow, x, () -> {
            GaussNewtonMatrix.accumulate(matrix, gradient.network(), gradient.params(), x, s, skip, scale);   // the gradient's model, not a second one
            return null;
        });
        return o;
    }

    /** The gradient's partial sums, then the matrix. */
    @Override public double[][] partials() {
        double[][] g = gradient.partials();
        double[][] all = java.util.Arrays.copyOf(g, g.length + 1);
        all[g.length] = matrix;
        return all;
    }

    /** Partition {@code index}'s share: its objective, gradient and matrix. */
    PartitionGramian share(int index, double objective) {
        return new PartitionGramian(index, objective, gradient.partials(), matrix, null);
    }
}
