package org.gradspark.job.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.ReadableByteChannel;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * Moves array elements between bytes and a Tensor's storage through a bounded buffer, so reading
 * or writing a row range costs one buffer (at most {@value #BUFFER_BYTES} bytes) beyond the
 * tensor itself, whatever the size of the file.
 */
final class NpyData {
    static final int BUFFER_BYTES = 1 << 20;

    private NpyData() {}

    /** Receives consecutive slices of encoded data; the buffer is reused after the call returns. */
    interface SliceSink {
        void accept(ByteBuffer slice) throws IOException;
    }

    /**
     * Rows {@code [firstRow, firstRow + rows)} of the array {@code h} describes, as a row-major
     * tensor of shape {@code (rows, shape[1], ...)} ({@code ()} for a 0-d array). With a
     * {@link SeekableByteChannel} the reads are positional and touch only those rows; any other channel is
     * read sequentially from the start of the data, which is only valid for the whole array.
     *
     * <p>A Fortran-order array stores column {@code t} of the rows (for each trailing index t)
     * contiguously, so a row range is {@code rowWidth} runs of {@code rows} elements, each
     * scattered with a stride of {@code rowWidth}.
     */
    static Tensor readRows(ReadableByteChannel ch, Npy.Header h, long firstRow, int rows, Origin origin) throws IOException {
        int width = Math.toIntExact(h.rowWidth());
        int n = Math.multiplyExact(rows, width);
        int item = h.itemSize();
        float[] f32 = h.dtype() == DType.FLOAT32 ? new float[n] : null;
        double[] f64 = f32 == null ? new double[n] : null;
        ByteBuffer buf = ByteBuffer.allocate((int) Math.max(item, Math.min(BUFFER_BYTES, (long) n * item))).order(h.byteOrder());
        if (!h.fortranOrder() || h.rank() <= 1) {
            long pos = h.dataOffset() + firstRow * width * item;
            copyIn(ch, pos, buf, f32, f64, 0, 1, n, h);
        } else {
            long[] dims = h.shape();
            for (int t = 0; t < width; t++) {
                long pos = h.dataOffset() + ((long) t * dims[0] + firstRow) * item;
                copyIn(ch, pos, buf, f32, f64, rowMajorIndexOfFortran(t, dims), width, rows, h);
            }
        }
        Shape shape = h.rank() == 0 ? Shape.SCALAR : rowsShape(h, rows);
        return f32 != null ? Tensor.wrap(f32, shape) : Tensor.wrap(f64, shape);
    }

    static Shape rowsShape(Npy.Header h, int rows) {
        long[] dims = h.shape();
        int[] out = new int[dims.length];
        out[0] = rows;
        for (int k = 1; k < dims.length; k++) out[k] = Math.toIntExact(dims[k]);
        return Shape.of(out);
    }

    /** Encodes {@code count} elements of {@code t} from flat index {@code from}, in slices, in the given byte order. */
    static void encode(Tensor t, int from, int count, ByteOrder order, SliceSink sink) throws IOException {
        int item = t.dtype().bytes();
        ByteBuffer buf = ByteBuffer.allocate((int) Math.max(item, Math.min(BUFFER_BYTES, (long) count * item))).order(order);
        int perSlice = buf.capacity() / item;
        for (int done = 0; done < count; done += perSlice) {
            int k = Math.min(perSlice, count - done);
            buf.clear();
            if (t.dtype() == DType.FLOAT32) buf.asFloatBuffer().put(t.rawFloats(), from + done, k);
            else buf.asDoubleBuffer().put(t.rawDoubles(), from + done, k);
            buf.limit(k * item);
            sink.accept(buf);
        }
    }

    /** Where trailing element {@code t}, counted in Fortran order over {@code dims[1..]}, sits in a row-major row. */
    private static int rowMajorIndexOfFortran(int t, long[] dims) {
        int index = 0, stride = 1, rest = t;
        int[] strides = new int[dims.length];
        for (int k = dims.length - 1; k >= 1; k--) {
            strides[k] = stride;
            stride *= (int) dims[k];
        }
        for (int k = 1; k < dims.length; k++) {
            index += (int) (rest % dims[k]) * strides[k];
            rest /= (int) dims[k];
        }
        return index;
    }

    private static void copyIn(ReadableByteChannel ch, long pos, ByteBuffer buf, float[] f32, double[] f64,
                               int offset, int stride, int count, Npy.Header h) throws IOException {
        int item = h.itemSize();
        int perFill = buf.capacity() / item;
        for (int done = 0; done < count; done += perFill) {
            int k = Math.min(perFill, count - done);
            buf.clear().limit(k * item);
            fill(ch, buf, pos + (long) done * item, h);
            buf.flip();
            int at = offset + done * stride;
            if (h.integer()) {
                for (int j = 0; j < k; j++) f64[at + j * stride] = item == 4 ? buf.getInt(j * item) : (double) buf.getLong(j * item);
            } else if (f32 != null) {
                if (stride == 1) buf.asFloatBuffer().get(f32, at, k);
                else for (int j = 0; j < k; j++) f32[at + j * stride] = buf.getFloat(j * item);
            } else {
                if (stride == 1) buf.asDoubleBuffer().get(f64, at, k);
                else for (int j = 0; j < k; j++) f64[at + j * stride] = buf.getDouble(j * item);
            }
        }
    }

    private static void fill(ReadableByteChannel ch, ByteBuffer buf, long pos, Npy.Header h) throws IOException {
        while (buf.hasRemaining()) {
            int r;
            if (ch instanceof SeekableByteChannel sc) {
                sc.position(pos + buf.position());
                r = sc.read(buf);
            } else {
                r = ch.read(buf);
            }
            if (r < 0) {
                long end = ch instanceof SeekableByteChannel sc ? sc.size() : pos + buf.position();
                throw new EOFException("the data ends at byte " + end + ", but the header's shape "
                        + NpyHeaderCodec.shapeRepr(h.shape()) + " needs " + (h.dataOffset() + h.dataBytes()));
            }
        }
    }
}
