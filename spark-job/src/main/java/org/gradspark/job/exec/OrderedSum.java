package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * The collected reduction: every partition's partial sums go to the driver, where they are added in
 * float64 in partition-index order: the same inputs and partitioning give the same bits, whichever
 * executor ran a partition, in whatever order they finished, however often a task was retried.
 */
final class OrderedSum implements GradientReducer {
    private final List<String> keys;
    private final List<Shape> shapes;
    private final List<DType> dtypes;

    OrderedSum(List<String> keys, List<Shape> shapes, List<DType> dtypes) {
        this.keys = keys;
        this.shapes = shapes;
        this.dtypes = dtypes;
    }

    @Override public List<PartitionResult> reduce(JavaRDD<PartitionResult> computed, Map<String, Tensor> into) {
        List<PartitionResult> results = new ArrayList<>(computed.collect());
        results.sort(Comparator.comparingInt(PartitionResult::index));
        PartitionResult.requireNoFailure(results);
        double[][] total = of(results);
        for (int k = 0; k < total.length && k < keys.size(); k++) into.put(keys.get(k), Tensor.wrap(total[k], shapes.get(k)).astype(dtypes.get(k)));
        return results.stream().map(PartitionResult::withoutPartials).toList();
    }

    /** The partials of results sorted by partition index, added in that order. */
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
