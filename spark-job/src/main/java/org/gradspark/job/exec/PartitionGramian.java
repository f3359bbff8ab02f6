package org.gradspark.job.exec;

import java.util.Comparator;
import java.util.List;
import org.gradspark.job.io.BadInputException;

/**
 * One partition's share of a dense Gauss-Newton pass ({@link Evaluator#gaussNewtonSystem}): its objective,
 * its partial gradient (float64, one array per weight key, as {@link PartitionResult#partials}) and its
 * partial Gauss-Newton matrix (row-major P × P, float64, {@link org.gradspark.ad.batch.GaussNewtonMatrix}),
 * or the one-line bad input that stopped it ({@code failure}, not retried, as a {@link PartitionResult}'s).
 */
public record PartitionGramian(int index, double objective, double[][] gradient, double[] matrix, String failure) implements java.io.Serializable {

    static PartitionGramian failed(int index, BadInputException e) {
        return new PartitionGramian(index, 0, new double[0][], new double[0], e.getMessage());
    }

    /** The objective, gradient (one array per weight key) and P × P matrix summed over the partitions. */
    record Sum(double objective, double[][] gradient, double[] matrix) {}

    /** The shares summed in partition index order (the same bits on any cluster); the first failed share's bad input is thrown. */
    static Sum sum(List<PartitionGramian> parts, int weights, int p) {
        List<PartitionGramian> ordered = parts.stream().sorted(Comparator.comparingInt(PartitionGramian::index)).toList();
        for (PartitionGramian g : ordered) if (g.failure() != null) throw new BadInputException(g.failure());
        double objective = 0;
        double[][] gradient = new double[weights][];
        double[] matrix = new double[p * p];
        for (PartitionGramian g : ordered) {
            objective += g.objective();
            for (int k = 0; k < weights; k++) {
                if (gradient[k] == null) gradient[k] = new double[g.gradient()[k].length];
                for (int i = 0; i < gradient[k].length; i++) gradient[k][i] += g.gradient()[k][i];
            }
            for (int i = 0; i < matrix.length; i++) matrix[i] += g.matrix()[i];
        }
        return new Sum(objective, gradient, matrix);
    }
}
