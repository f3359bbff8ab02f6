package org.gradspark.job.fit;

import java.util.List;
import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.Evaluator;

/** The job's distributed objective ({@link Evaluator}: rows kept in the executors' memory) as fit's {@link FitObjective}. */
final class EvaluatorObjective implements FitObjective {
    private final Evaluator evaluator;

    EvaluatorObjective(Evaluator evaluator) {
        this.evaluator = evaluator;
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
    public Value evaluate(Map<String, Tensor> weights, Sample sample) {
        Evaluator.Value v = sample == null ? evaluator.evaluate(weights)
                : evaluator.evaluate(weights, new Evaluator.RowSample(sample.fraction(), sample.seed(), sample.step()));
        return new Value(v.objective(), v.gradient(), v.rowsUsed(), v.seconds());
    }
}
