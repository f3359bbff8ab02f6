package org.gradspark.job.exec;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import scala.Tuple2;

/**
 * Reduce-scatter of large partial gradients (as BigDL's AllReduceParameter): every partition's
 * flat gradient is cut into shards, shard s of all partitions meets on one executor, where it is
 * added in partition-index order, and the driver receives the summed shards one at a time. The
 * driver never holds more than the result; the bits equal those of {@link OrderedSum}, because each
 * element is still summed over partitions in index order. One pass: the partitions' metadata
 * travels with their shard 0, nothing is cached, and a task emits its slices one at a time, so an
 * executor holds one partition's partial sums and one slice beyond what computing them needs.
 */
final class ShardedReduction implements GradientReducer {
    private final List<String> keys;
    private final List<Shape> shapes;
    private final List<DType> dtypes;
    private final int shards;

    /** Parameters laid out flat, key after key, cut into min(partitions, parameters) shards. */
    ShardedReduction(List<String> keys, List<Shape> shapes, List<DType> dtypes, int partitions) {
        this.keys = keys;
        this.shapes = shapes;
        this.dtypes = dtypes;
        this.shards = (int) Math.max(1, Math.min(partitions, shapes.stream().mapToLong(Shape::size).sum()));
    }

    /** Summed shards arrive one at a time and are cast straight into the result tensors. */
    @Override public List<PartitionResult> reduce(JavaRDD<PartitionResult> computed, Map<String, Tensor> into) {
        int n = shapes.size();
        boolean[] f32 = new boolean[n];
        Object[] buffers = new Object[n];
        long[] starts = new long[n + 1];
        for (int k = 0; k < n; k++) {
            int size = shapes.get(k).size();
            f32[k] = dtypes.get(k) == DType.FLOAT32;
            buffers[k] = f32[k] ? new float[size] : new double[size];
            starts[k + 1] = starts[k] + size;
        }
        List<PartitionResult> metas = new ArrayList<>(run(computed, starts[n], shards, (shard, offset, values) -> {
            for (int k = 0; k < n; k++) {
                long lo = Math.max(offset, starts[k]), hi = Math.min(offset + values.length, starts[k + 1]);
                for (long e = lo; e < hi; e++) {
                    double v = values[(int) (e - offset)];
                    if (f32[k]) ((float[]) buffers[k])[(int) (e - starts[k])] = (float) v;
                    else ((double[]) buffers[k])[(int) (e - starts[k])] = v;
                }
            }
        }));
        metas.sort(Comparator.comparingInt(PartitionResult::index));
        PartitionResult.requireNoFailure(metas);
        for (int k = 0; k < n; k++) {
            into.put(keys.get(k), f32[k] ? Tensor.wrap((float[]) buffers[k], shapes.get(k)) : Tensor.wrap((double[]) buffers[k], shapes.get(k)));
        }
        return metas;
    }

    /** Part of one partition's flat gradient; shard 0's also carries the partition's metadata (else null). */
    record Slice(int partition, double[] values, PartitionResult meta) implements Serializable {}

    /** One shard summed over all partitions, with the partitions' metadata for shard 0 (else empty). */
    record ShardSum(int shard, double[] values, List<PartitionResult> metas) implements Serializable {}

    /** Sends shard s to reduce partition s. */
    static final class ShardPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int shards;

        ShardPartitioner(int shards) {
            this.shards = shards;
        }

        @Override public int numPartitions() { return shards; }

        @Override public int getPartition(Object key) { return (Integer) key; }
    }

    /** Receives summed shards in any order: shard index, first flat element, values. */
    interface ShardSink {
        void accept(int shard, long offset, double[] values);
    }

    /** Partitions' metadata (with empty partials) and, through the sink, the summed gradient. */
    static List<PartitionResult> run(JavaRDD<PartitionResult> results, long totalSize, int shards, ShardSink sink) {
        JavaPairRDD<Integer, Slice> slices = results.flatMapToPair(r -> new Iterator<Tuple2<Integer, Slice>>() {
            private int s;

            @Override public boolean hasNext() { return s < shards; }

            @Override public Tuple2<Integer, Slice> next() {
                double[] v = flatRange(r.partials(), start(totalSize, shards, s), start(totalSize, shards, s + 1));
                Tuple2<Integer, Slice> t = new Tuple2<>(s, new Slice(r.index(), v, s == 0 ? r.withoutPartials() : null));
                s++;
                return t;
            }
        });
        Iterator<ShardSum> summed = slices.partitionBy(new ShardPartitioner(shards))
                .mapPartitions(ShardedReduction::sumInPartitionOrder)
                .toLocalIterator();
        List<PartitionResult> metas = new ArrayList<>();
        while (summed.hasNext()) {
            ShardSum t = summed.next();
            sink.accept(t.shard(), start(totalSize, shards, t.shard()), t.values());
            metas.addAll(t.metas());
        }
        return metas;
    }

    private static Iterator<ShardSum> sumInPartitionOrder(Iterator<Tuple2<Integer, Slice>> it) {
        List<Tuple2<Integer, Slice>> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        if (all.isEmpty()) return java.util.Collections.emptyIterator();
        all.sort(Comparator.comparingInt(t -> t._2().partition()));
        double[] sum = all.get(0)._2().values().clone();
        for (int i = 1; i < all.size(); i++) {
            double[] v = all.get(i)._2().values();
            for (int j = 0; j < sum.length; j++) sum[j] += v[j];
        }
        List<PartitionResult> metas = all.stream().map(t -> t._2().meta()).filter(java.util.Objects::nonNull).toList();
        return List.of(new ShardSum(all.get(0)._1(), sum, metas)).iterator();
    }

    /** First flat element of shard s when {@code total} elements are cut into {@code shards} near-equal shards. */
    static long start(long total, int shards, int s) {
        return total * s / shards;
    }

    /** Elements [from, to) of the concatenation of {@code parts}. */
    static double[] flatRange(double[][] parts, long from, long to) {
        double[] out = new double[(int) (to - from)];
        long base = 0;
        int filled = 0;
        for (double[] p : parts) {
            long lo = Math.max(from, base), hi = Math.min(to, base + p.length);
            if (lo < hi) {
                System.arraycopy(p, (int) (lo - base), out, filled, (int) (hi - lo));
                filled += (int) (hi - lo);
            }
            base += p.length;
        }
        return out;
    }
}
