package org.gradspark.job;

import java.util.List;

/**
 * Adds partial gradients in float64 in the order of the list, which the caller sorts by partition
 * index: the same inputs and partitioning give the same bits, whichever executor ran a partition,
 * in whatever order they finished, however often a task was retried.
 */
final class OrderedSum {
    private OrderedSum() {}

    static double[][] of(List<PartitionResult> sortedByIndex) {
        double[][] total = null;
        for (PartitionResult r : sortedByIndex) {
            if (total == null) {
                total = new double[r.partials().length][];
                for (int k = 0; k < total.length; k++) total[k] = r.partials()[k].clone();
                continue;
            }
            for (int k = 0; k < total.length; k++) {
                double[] t = total[k], p = r.partials()[k];
                for (int i = 0; i < t.length; i++) t[i] += p[i];
            }
        }
        return total == null ? new double[0][] : total;
    }
}
