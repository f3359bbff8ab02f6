package org.gradspark.job.io;

import java.io.Serializable;
import java.util.List;
import java.util.SplittableRandom;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * Where rows come from: a range of an {@code .npy} file (or of several, one after the other), or
 * synthetic rows that depend on (seed, row) only. Files are read through the job's
 * {@link Storage}, on whatever filesystem they live.
 */
public sealed interface RowSource extends Serializable {

    long rows();

    int width();

    /** Rows [first, first + count) as a [count, width] tensor of {@code dtype}. */
    Tensor read(Storage storage, long first, int count, DType dtype);

    /** A file's rows, read by positional reads (the file is never read whole). */
    record NpyRows(String file, Npy.Header header) implements RowSource {
        @Override public long rows() { return header.rows(); }

        /** Values per row; -1 when a row has more than one tensor can hold. */
        @Override public int width() { return header.rowWidth() > Integer.MAX_VALUE - 8 ? -1 : (int) header.rowWidth(); }

        @Override public Tensor read(Storage storage, long first, int count, DType dtype) {
            Tensor t = Npy.readRows(storage, file, header, first, count);
            if (t.rank() == 1) t = Ops.reshape(t, count, 1);
            return t.convertedOnHost(dtype);   // rows cross to a device once, in the job's dtype
        }
    }

    /**
     * The rows of several {@code .npy} files of the same width, concatenated in list order (the
     * per-partition files a Parquet/CSV input or a Dataset is written to).
     */
    record NpyParts(List<NpyRows> parts) implements RowSource {
        public NpyParts {
            parts = List.copyOf(parts);
        }

        @Override public long rows() { return parts.stream().mapToLong(NpyRows::rows).sum(); }

        @Override public int width() { return parts.get(0).width(); }

        @Override public Tensor read(Storage storage, long first, int count, DType dtype) {
            Tensor[] pieces = new Tensor[parts.size()];
            int n = 0;
            long start = 0;
            for (NpyRows p : parts) {
                long lo = Math.max(first, start), hi = Math.min(first + count, start + p.rows());
                if (lo < hi) pieces[n++] = p.read(storage, lo - start, (int) (hi - lo), dtype);
                start += p.rows();
            }
            return n == 1 ? pieces[0] : Ops.concat(0, java.util.Arrays.copyOf(pieces, n));
        }
    }

    /**
     * Class indices (PyTorch's {@code CrossEntropyLoss} targets: an int64, int32 or integral float
     * array of shape (N,)) read as one-hot rows of {@code classes} values, the form the loss takes.
     */
    record ClassIndices(NpyRows indices, int classes, String option) implements RowSource {
        @Override public long rows() { return indices.rows(); }

        @Override public int width() { return classes; }

        @Override public Tensor read(Storage storage, long first, int count, DType dtype) {
            Tensor idx = indices.read(storage, first, count, DType.FLOAT64);
            double[] oneHot = new double[count * classes];
            for (int i = 0; i < count; i++) {
                double c = idx.getDouble(i);
                if (c != Math.rint(c) || c < 0 || c >= classes) {
                    throw new org.gradspark.job.io.BadInputException(option + " " + Storage.display(indices.file()) + ", row " + (first + i)
                            + ": class " + (c == Math.rint(c) ? String.valueOf((long) c) : String.valueOf(c)) + " is not one of 0.." + (classes - 1));
                }
                oneHot[i * classes + (int) c] = 1;
            }
            return Tensor.wrap(oneHot, Shape.of(count, classes)).convertedOnHost(dtype);
        }
    }

    /** Uniform values in [-1, 1): row r is the same whichever partition or run reads it. */
    record Synthetic(long rows, int width, long seed) implements RowSource {
        @Override public Tensor read(Storage storage, long first, int count, DType dtype) {
            return read(first, count, dtype);
        }

        /** The rows; synthetic rows need no storage. */
        public Tensor read(long first, int count, DType dtype) {
            double[] v = new double[count * width];
            for (int i = 0; i < count; i++) {
                SplittableRandom r = new SplittableRandom(seed ^ ((first + i) * 0x9E3779B97F4A7C15L));
                for (int j = 0; j < width; j++) v[i * width + j] = 2 * r.nextDouble() - 1;
            }
            return Tensor.wrap(v, Shape.of(count, width)).convertedOnHost(dtype);
        }
    }
}
