package org.gradspark.job.exec;

import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * How the partitions' partial sums become the gradient, always added in partition-index order so
 * that the bits do not depend on where or when a task ran: collected and summed on the driver
 * ({@link OrderedSum}), or reduce-scattered on the executors when partitions × parameters is large
 * ({@link ShardedReduction}), so that the driver then holds one copy.
 */
public interface GradientReducer {

    /**
     * Runs the partitions' tasks and reduces their partials into {@code into} (one tensor of the
     * given dtype per key); returns the partitions' results without their partials, in index order.
     */
    List<PartitionResult> reduce(JavaRDD<PartitionResult> computed, Map<String, Tensor> into);

    /**
     * The reducer for a gradient of the given keys and shapes over {@code partitions} partitions:
     * sharded when {@code partitions × parameters >= shardThreshold}.
     */
    static GradientReducer of(List<String> keys, List<Shape> shapes, DType dtype, int partitions, long shardThreshold) {
        return of(keys, shapes, java.util.Collections.nCopies(keys.size(), dtype), partitions, shardThreshold);
    }

    /** The same, each key's sum in its own dtype (the gradient's in the job's, gradient statistics in float64). */
    static GradientReducer of(List<String> keys, List<Shape> shapes, List<DType> dtypes, int partitions, long shardThreshold) {
        long total = shapes.stream().mapToLong(Shape::size).sum();
        return (long) partitions * total >= shardThreshold && total > 0
                ? new ShardedReduction(keys, shapes, dtypes, partitions) : new OrderedSum(keys, shapes, dtypes);
    }

    /** Whether this reducer reduce-scatters on the executors. */
    default boolean sharded() {
        return this instanceof ShardedReduction;
    }
}
