package org.gradspark.job.exec;

import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.JobOutput;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.PartFile;
import org.gradspark.job.io.Storage;

/**
 * One task attempt's part of a per-example output, {@code DIR/part-NNNNN.npy}, a {@link PartFile}: a
 * hidden attempt file renamed to {@code part-NNNNN.npy} when complete, or on an object store the part at
 * its final key. The executors' side of {@link JobOutput}'s commit protocol.
 *
 * <pre>{@code
 * PartWriter part = new PartWriter(storage, dir, index, rows, DType.FLOAT32, cfg.out());
 * try { for (...) part.append(chunkRows); part.commit(); } finally { part.discard(); }
 * }</pre>
 */
public final class PartWriter {
    private final String file;
    private final long rows;
    private final DType dtype;
    private final PartFile part;   // opened with the task, before any chunk: the attempt file exists from the start
    private Npy.RowWriter writer;

    /** The file partition {@code index} writes its part to, under {@code dir}. */
    public static String partFile(String dir, int index) {
        return Storage.child(dir, String.format("part-%05d.npy", index));
    }

    /**
     * Opens partition {@code index}'s attempt file of {@code rows} rows of {@code dtype} in {@code dir} (inside the
     * driver's temporary output of {@code --out out}).
     *
     * @throws BadInputException when this executor cannot see {@code dir}: a path on the driver's disk only
     */
    PartWriter(Storage storage, String dir, int index, long rows, DType dtype, String out) {
        this.file = partFile(dir, index);
        this.rows = rows;
        this.dtype = dtype;
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        long attemptId = tc == null ? 0 : tc.taskAttemptId();
        try {
            if (!storage.exists(dir)) {
                throw new BadInputException("--out " + Storage.display(out) + ": " + ExecutorIdentity.executorAndHost() + " cannot see the driver's temporary output "
                        + Storage.display(dir) + ": executors need a filesystem they all reach (HDFS, object storage, or a shared mount)");
            }
            // Now, not at the first chunk, and only in the directory as it is: a job that failed or was stopped
            // meanwhile has its temporary output removed by the driver, and a file created after that must not
            // bring the directory back (an HDFS quota test found one left so).
            part = PartFile.open(storage, file, attemptId);
        } catch (java.io.IOException e) {
            throw Storage.unchecked("cannot write " + Storage.display(PartFile.attemptOf(file, attemptId)), e);
        }
    }

    /** Appends a chunk's rows; the first chunk's row shape (a user Cell's output width shows only then) makes the header. */
    void append(Tensor chunk) {
        try {
            if (writer == null) {
                int[] d = chunk.shape().dims();
                writer = new Npy.RowWriter(part.stream(), Storage.display(file), dtype, rows, java.util.Arrays.copyOfRange(d, 1, d.length));
            }
            writer.append(chunk);
        } catch (java.io.IOException e) {
            throw Storage.unchecked("cannot write " + Storage.display(part.writing()), e);
        }
    }

    /** Completes the part: the attempt file renamed into place (or, where another attempt's identical part won, removed). */
    void commit() {
        try {
            writer.close();
            writer = null;
            part.commit();
        } catch (java.io.IOException e) {
            throw Storage.unchecked("cannot write " + Storage.display(file), e);
        }
    }

    /** After a failure: the attempt file goes (the driver also removes any a killed executor left); nothing after a commit. */
    void discard() {
        part.discard(writer);
    }
}
