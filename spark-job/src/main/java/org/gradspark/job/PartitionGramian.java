package org.gradspark.job;

import java.util.Arrays;
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

    /** The sums over partitions, in partition index order (the same bits on any cluster), and the first failure thrown. */
    record Sum(double objective, double[][] gradient, double[] matrix) {}

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

    @Override public String toString() {
        return "PartitionGramian[" + index + (failure == null ? ", " + matrix.length + " values" : ", failed: " + failure) + "]";
    }

    @Override public boolean equals(Object o) {
        return o instanceof PartitionGramian g && index == g.index && Double.compare(objective, g.objective) == 0 && Arrays.deepEquals(gradient, g.gradient)
                && Arrays.equals(matrix, g.matrix) && java.util.Objects.equals(failure, g.failure);
    }

    @Override public int hashCode() {
        return index * 31 + Arrays.hashCode(matrix);
    }
}
