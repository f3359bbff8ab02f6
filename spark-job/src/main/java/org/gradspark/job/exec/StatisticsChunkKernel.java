package org.gradspark.job.exec;

import java.util.Map;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.GradientStatistics;

/**
 * The chunk kernel of the gradient statistics ({@link GradientStatistics}): the gradient (clipped with
 * --clip) and the statistics' partial sums ({@link PartitionStatistics}), the per-example values asked
 * written as the partition's part (float64).
 */
final class StatisticsChunkKernel implements ChunkKernel {
    private final JobConfig cfg;
    private final NanPolicy nan;
    private final StatisticsSpec stats;
    private final Cell net, loss;
    private final java.util.List<Parameter> params;
    private final GradientStatistics.Request what;
    private final PartitionStatistics sums;
    private final double scale;
    private final boolean writesPart;

    /**
     * @param vector     grad-dot's reference gradient V (null: none)
     * @param scale      the gradient's scale (1/rows used for a mean)
     * @param writesPart whether the partition writes its per-example values (asked, and a directory for them)
     */
    StatisticsChunkKernel(JobConfig cfg, NanPolicy nan, StatisticsSpec stats, Map<String, Tensor> weights, Map<String, Tensor> vector, double scale,
                          boolean writesPart) {
        this.cfg = cfg;
        this.nan = nan;
        this.stats = stats;
        this.scale = scale;
        this.writesPart = writesPart && stats.perExample() != null;
        JobModel model = JobModel.build(cfg, weights);
        net = model.network();
        loss = JobModel.loss(cfg.loss());
        params = model.params();
        Tensor[] v = vector == null ? null : model.keys().stream().map(k -> vector.get(k).convertedOnHost(cfg.dtype())).toArray(Tensor[]::new);
        what = PartitionStatistics.request(stats, cfg.loss(), v);
        sums = new PartitionStatistics(stats, params.stream().map(Parameter::shape).toList());
    }

    @Override public DType partDType() {
        return writesPart ? DType.FLOAT64 : null;
    }

    @Override public Outcome add(long firstRow, Tensor x, Tensor s, Tensor y, boolean[] skip) {
        GradientStatistics.Result r = ChunkKernel.guarded(cfg, nan, firstRow, x, () -> GradientStatistics.compute(net, loss, params, x, s, y, skip, what));
        Tensor perRow = sums.add(r, skip, scale);
        long skipped = 0;
        if (skip != null) for (boolean b : skip) if (b) skipped++;
        return new Outcome(r.outputs(), scale * r.objective(), skipped, writesPart ? nan.finitePerExample(perRow, skip, firstRow, stats.perExample()) : null);
    }

    @Override public double[][] partials() {
        return sums.partials();
    }
}
