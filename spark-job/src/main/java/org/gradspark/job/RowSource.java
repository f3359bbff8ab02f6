package org.gradspark.job;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.Npy;

/** Where rows come from: a range of an {@code .npy} file, or synthetic rows that depend on (seed, row) only. */
public sealed interface RowSource extends Serializable {

    long rows();

    int width();

    /** Rows [first, first + count) as a [count, width] tensor of {@code dtype}. */
    Tensor read(long first, int count, DType dtype);

    /** A file's rows, read by positional reads (the file is never read whole). */
    record NpyRows(String file, Npy.Header header) implements RowSource {
        @Override public long rows() { return header.rows(); }

        @Override public int width() { return (int) header.rowWidth(); }

        @Override public Tensor read(long first, int count, DType dtype) {
            Tensor t = Npy.readRows(Path.of(file), header, first, count);
            if (t.rank() == 1) t = org.gradspark.ad.Ops.reshape(t, count, 1);
            return t.astype(dtype);
        }
    }

    /** Uniform values in [-1, 1): row r is the same whichever partition or run reads it. */
    record Synthetic(long rows, int width, long seed) implements RowSource {
        @Override public Tensor read(long first, int count, DType dtype) {
            double[] v = new double[count * width];
            for (int i = 0; i < count; i++) {
                SplittableRandom r = new SplittableRandom(seed ^ ((first + i) * 0x9E3779B97F4A7C15L));
                for (int j = 0; j < width; j++) v[i * width + j] = 2 * r.nextDouble() - 1;
            }
            return Tensor.wrap(v, Shape.of(count, width)).astype(dtype);
        }
    }
}
