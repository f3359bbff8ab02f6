package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.RowSource;
import org.gradspark.job.io.Storage;

/**
 * The rows of a job's partitions: a fixed split of N rows into P ranges, each read in chunks of
 * {@code --chunk-rows} (so memory does not grow with the partition) and checked as it is read
 * ({@link NanPolicy}), or read whole to be kept in the executors' memory across evaluations, and
 * counted (the rows a mean divides by).
 */
public final class PartitionRows implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final JobConfig cfg;
    private final RowSource input;
    private final RowSource sens;      // null: ones
    private final RowSource labels;    // null: no loss
    private final int partitions;
    private final org.apache.spark.broadcast.Broadcast<Storage> storage;
    private final NanPolicy nan;

    PartitionRows(JobConfig cfg, RowSource input, RowSource sens, RowSource labels, int partitions,
                  org.apache.spark.broadcast.Broadcast<Storage> storage) {
        this.cfg = cfg;
        this.input = input;
        this.sens = sens;
        this.labels = labels;
        this.partitions = partitions;
        this.storage = storage;
        this.nan = new NanPolicy(cfg);
    }

    /** Rows [first, end) of partition {@code index}: a fixed split of N rows into P ranges. */
    public static long firstRow(long n, int partitions, int index) {
        return n * index / partitions;
    }

    /** Where the rows come from. */
    RowSource source() {
        return input;
    }

    /** Partition {@code index}'s first row. */
    long first(int index) {
        return firstRow(input.rows(), partitions, index);
    }

    /** Partition {@code index}'s end row (exclusive). */
    long end(int index) {
        return firstRow(input.rows(), partitions, index + 1);
    }

    /** One chunk of a partition's rows, read and checked: sensitivities null for ones, labels null for none, bad null when every row is kept. */
    public record Chunk(long first, Tensor x, Tensor s, Tensor y, boolean[] bad) {}

    /** Partition {@code index}'s chunks, each read (and checked for NaN/Inf) only when it is reached. */
    public Iterator<Chunk> chunks(int index) {
        long end = end(index);
        return new Iterator<>() {
            long r = first(index);

            @Override public boolean hasNext() { return r < end; }

            @Override public Chunk next() {
                if (r >= end) throw new java.util.NoSuchElementException();
                int count = (int) Math.min(cfg.chunkRows(), end - r);
                Chunk c = read(r, count);
                r += count;
                return c;
            }
        };
    }

    /** A partition's rows kept in memory across evaluations, or the bad input that stopped reading them. */
    public record Rows(List<Chunk> chunks, String failure) implements java.io.Serializable {}

    /** Partition {@code index}'s chunks, all read now (to be kept in memory across evaluations). */
    public Rows readAllOrFailure(int index) {
        List<Chunk> all = new ArrayList<>();
        try {
            chunks(index).forEachRemaining(all::add);
            return new Rows(all, null);
        } catch (BadInputException e) {
            return new Rows(List.of(), e.getMessage());
        }
    }

    private Chunk read(long r, int count) {
        Tensor x = read(input, r, count);
        return new Chunk(r, x, sens == null ? null : NanPolicy.finite(read(sens, r, count), "--sens", cfg.sens(), r),
                labels == null ? null : NanPolicy.finite(read(labels, r, count), "--labels", cfg.labels(), r), nan.badRows(x, r));
    }

    /**
     * Rows of a source; a file the driver has read (it checked every header) but this executor
     * cannot find is a cluster mistake: a path on the driver's disk only.
     */
    private Tensor read(RowSource source, long r, int count) {
        try {
            return source.read(storage.value(), r, count, cfg.dtype());
        } catch (BadInputException e) {
            if (e.getCause() instanceof java.io.FileNotFoundException && source instanceof RowSource.NpyRows f) {
                throw new BadInputException(Storage.display(f.file()) + ": the driver read it, but " + ExecutorIdentity.executorAndHost()
                        + " finds no such file: executors need a filesystem they all reach (HDFS, object storage, or a shared mount), "
                        + "not a path on the driver's disk", e);
            }
            throw e;
        }
    }

    /** How many rows of partition {@code index} an evaluation uses, or the bad input that stopped counting them. */
    public record Kept(int index, long rows, String failure) implements java.io.Serializable {}

    /**
     * Rows of partition {@code index} that are used: without a NaN or an infinity (with --on-nan
     * skip) and in {@code sample} (null: all); what a mean divides by. {@code rows} are the
     * partition's rows kept in memory, or null to read them.
     */
    public Kept keptRows(int index, Rows rows, RowSample sample) {
        if (rows != null && rows.failure() != null) return new Kept(index, 0, rows.failure());
        try {
            Iterator<Chunk> chunks = rows == null ? chunks(index) : rows.chunks().iterator();
            long kept = 0;
            while (chunks.hasNext()) {
                Chunk c = chunks.next();
                boolean[] skip = leftOut(c, sample);
                kept += c.x().shape().dim(0);
                if (skip != null) for (boolean b : skip) if (b) kept--;
            }
            return new Kept(index, kept, null);
        } catch (BadInputException e) {
            return new Kept(index, 0, e.getMessage());
        }
    }

    /** The rows of a chunk left out: non-finite ones (--on-nan skip) and those not in the sample; null when none. */
    static boolean[] leftOut(Chunk c, RowSample sample) {
        if (sample == null) return c.bad();
        int rows = c.x().shape().dim(0);
        boolean[] skip = c.bad() == null ? new boolean[rows] : c.bad().clone();
        for (int i = 0; i < rows; i++) if (!sample.keeps(c.first() + i)) skip[i] = true;
        return skip;
    }
}
