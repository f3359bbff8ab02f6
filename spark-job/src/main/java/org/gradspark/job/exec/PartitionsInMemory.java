package org.gradspark.job.exec;

import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * A job's partitions as Spark work: an RDD of partition indices, and, when kept, each partition's rows read
 * (and checked) at their first use and kept in the executors' memory across evaluations
 * ({@link PartitionRows#readAllOrFailure}); closed, they are unpersisted.
 */
final class PartitionsInMemory implements AutoCloseable {

    /** Work on partition {@code index}; {@code kept} its rows in memory, or null to read them. */
    interface Work<T> extends java.io.Serializable {
        T on(int index, PartitionRows.Rows kept);
    }

    private final JavaRDD<Integer> parts;
    private final PartitionRows rows;
    private final boolean keep;
    private JavaPairRDD<Integer, PartitionRows.Rows> kept;

    PartitionsInMemory(JavaRDD<Integer> parts, PartitionRows rows, boolean keep) {
        this.parts = parts;
        this.rows = rows;
        this.keep = keep;
    }

    /** {@code work} on every partition, over its rows kept in memory (read now if they were not yet) or read as it goes. */
    <T> JavaRDD<T> map(Work<T> work) {
        if (keep && kept == null) {
            PartitionRows rows = this.rows;   // the closure must not capture this object
            kept = parts.mapToPair(i -> new Tuple2<>(i, rows.readAllOrFailure(i))).persist(StorageLevel.MEMORY_ONLY());
        }
        return kept == null ? parts.map(i -> work.on(i, null)) : kept.map(p -> work.on(p._1(), p._2()));
    }

    /** Whether the rows are kept in memory across evaluations. */
    boolean keeps() {
        return keep;
    }

    @Override public void close() {
        if (kept != null) kept.unpersist(false);
        kept = null;
    }
}
