package org.gradspark.job.exec;

import java.util.List;
import java.util.Map;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.BatchGradient;

/**
 * The chunk kernel of the gradient job and of fit ({@link BatchGradient#chunk}): weight gradients (or a
 * curvature product) summed in float64 in chunk order, and the per-example output of {@code --derivative}
 * (the input derivatives) as the partition's part, in the job's dtype.
 */
final class GradientChunkKernel implements ChunkKernel {
    private final JobConfig cfg;
    private final NanPolicy nan;
    private final Cell net, loss;
    private final List<Parameter> params;
    private final BatchGradient.Request what;
    private final double[][] partials;
    private final boolean writesPart;
    private final long drawSeed;

    /**
     * @param vector    the curvature product's direction, or --per-example grad-dot's V (null: none)
     * @param curvature the product asked (null: none)
     * @param scale     the objective's scale (1/rows used for a mean)
     * @param writesPart whether the per-example output is wanted (the partition writes a part)
     * @param drawSeed  the seed of a RowAware Cell's draws ({@link ChunkKernel#drawSeed})
     */
    GradientChunkKernel(JobConfig cfg, NanPolicy nan, Map<String, Tensor> weights, Map<String, Tensor> vector, BatchGradient.Curvature curvature,
                        double scale, boolean writesPart, long drawSeed) {
        this.cfg = cfg;
        this.drawSeed = drawSeed;
        this.nan = nan;
        this.writesPart = writesPart;
        JobModel model = JobModel.build(cfg, weights);
        net = model.network();
        loss = JobModel.loss(cfg.loss());
        params = model.params();
        Tensor[] v = vector == null ? null : model.keys().stream().map(k -> vector.get(k).convertedOnHost(cfg.dtype())).toArray(Tensor[]::new);
        if (curvature == null) v = null;   // no product asked: the vector, if any, is --per-example grad-dot's, not a direction
        partials = cfg.weightsWanted() ? params.stream().map(p -> new double[p.size()]).toArray(double[][]::new) : new double[0][];
        what = writesPart ? cfg.derivative().request(cfg.weightsWanted(), v, scale) : new BatchGradient.Request(cfg.weightsWanted(), v, 0, scale, null, curvature);
    }

    @Override public DType partDType() {
        return writesPart ? cfg.dtype() : null;
    }

    @Override public Outcome add(long firstRow, Tensor x, Tensor s, Tensor y, boolean[] skip) {
        ChunkKernel.draw(net, cfg, drawSeed, firstRow);
        // A randomised operator draws each row's directions from the row's index in the whole input, not in the chunk.
        BatchGradient.ChunkResult r = ChunkKernel.guarded(cfg, nan, firstRow, x,
                () -> BatchGradient.chunk(net, loss, params, x, s, y, skip, outputShape(x.shape().dim(0)), what.fromRow(firstRow)));
        if (r.weightGradients() != null) {
            for (int k = 0; k < partials.length; k++) {
                for (int i = 0; i < partials[k].length; i++) partials[k][i] += r.weightGradients()[k].getDouble(i);
            }
        }
        return new Outcome(r.outputs(), r.objective(), r.skipped(), writesPart ? nan.finiteInputDerivative(r.inputDerivative(), firstRow) : null);
    }

    @Override public double[][] partials() {
        return partials;
    }

    /** The model this kernel differentiates, built once from the task's weights. */
    Cell network() {
        return net;
    }

    /** Its parameters, in the weights' key order. */
    List<Parameter> params() {
        return params;
    }

    /** The per-example outputs' shape for the built-in MLP: [rows, out], or [rows] with a loss; null for a user Cell. */
    private Shape outputShape(int rows) {
        if (cfg.modelClass() != null) return null;
        return cfg.loss() == JobConfig.Loss.NONE ? Shape.of(rows, cfg.layers()[cfg.layers().length - 1]) : Shape.of(rows);
    }
}
