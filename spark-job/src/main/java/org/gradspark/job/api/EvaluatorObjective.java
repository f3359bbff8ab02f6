package org.gradspark.job.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.fit.ClippedObjective;
import org.gradspark.job.fit.FitObjective;

/**
 * The job's distributed objective ({@link Evaluator}: rows kept in the executors' memory) as fit's
 * {@link FitObjective}, and DP-SGD's clipped sums ({@link Evaluator#evaluateClipped}).
 */
final class EvaluatorObjective implements ClippedObjective {
    private final Evaluator evaluator;
    private final JobConfig cfg;
    private final long rows;

    /** @param rows the input's rows */
    EvaluatorObjective(Evaluator evaluator, JobConfig cfg, long rows) {
        this.evaluator = evaluator;
        this.cfg = cfg;
        this.rows = rows;
    }

    /**
     * The job's settings its bits depend on: the partitions (the reduction's order, and the float sums
     * within each), the rows per chunk (the sums within a partition), the backend (its kernels round
     * differently) and whether NaN rows are skipped.
     *
     * @param partitions the partitions the job runs with, or null before Spark has said (a default
     *                   --partitions is Spark's parallelism)
     */
    static Map<String, Object> settings(JobConfig cfg, Integer partitions) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (partitions != null) m.put("--partitions", partitions);
        m.put("--chunk-rows", cfg.chunkRows());
        m.put("--backend", cfg.backend());
        m.put("--on-nan", cfg.onNan().name().toLowerCase(Locale.ROOT));
        return m;
    }

    @Override
    public List<String> keys() {
        return evaluator.keys();
    }

    @Override
    public Map<String, Tensor> initialWeights() {
        return evaluator.initialWeights();
    }

    @Override
    public Map<String, Object> evaluationSettings() {
        return settings(cfg, evaluator.partitions());
    }

    @Override
    public Map<String, String> rowsDigest() {
        return evaluator.rowsDigest();
    }

    @Override
    public Map<String, Tensor> curvatureProduct(Map<String, Tensor> weights, Map<String, Tensor> vector, org.gradspark.ad.batch.BatchGradient.Curvature kind) {
        return evaluator.curvatureProduct(weights, vector, kind).gradient();
    }

    @Override
    public GaussNewtonSystem gaussNewtonSystem(Map<String, Tensor> weights) {
        long t0 = System.nanoTime();
        Evaluator.GaussNewtonSystem g = evaluator.gaussNewtonSystem(weights);
        return new GaussNewtonSystem(new Evaluator.Value(g.objective(), g.gradient(), g.rowsUsed(), (System.nanoTime() - t0) / 1e9), g.matrix());
    }

    @Override
    public Evaluator.Value evaluate(Map<String, Tensor> weights, RowSample sample) {
        return evaluator.evaluate(weights, sample);
    }

    @Override
    public Evaluator.Value clippedSum(Map<String, Tensor> weights, RowSample sample, double clip) {
        return evaluator.evaluateClipped(weights, sample, clip);
    }

    @Override
    public long rows() {
        return rows;
    }
}
