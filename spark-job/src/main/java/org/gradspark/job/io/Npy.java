package org.gradspark.job.io;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * NumPy's {@code .npy} format (versions 1.0, 2.0 and 3.0) for float32 and float64 arrays: whole
 * small arrays, row ranges of arrays far larger than memory (positional reads, on any filesystem
 * {@link Storage} reaches), and a sequential row writer (what each executor writes its part with).
 *
 * <pre>{@code
 * String x = "hdfs://nn:8020/data/x.npy";
 * Npy.Header h = Npy.readHeader(storage, x);                    // float32 (10000000, 256), C order, ...
 * Tensor chunk = Npy.readRows(storage, x, h, 4096, 1024);      // rows 4096..5119, shape [1024, 256]
 *
 * try (Npy.RowWriter w = new Npy.RowWriter(storage.create(part), part, DType.FLOAT32, 1024, 256)) {
 *     w.append(grads);                                         // rows in order, 1024 in all
 * }
 * }</pre>
 *
 * <p>{@link #allocate} and {@link #writeRows} (positional writes into one preallocated file) work
 * on local files only; the job writes parts instead, which every filesystem supports.
 *
 * <p><b>What is accepted.</b> dtype {@code <f4} or {@code <f8}; {@code >f4}/{@code >f8} are
 * converted from big-endian; {@code =}, {@code |} or no prefix mean native order, as in NumPy.
 * Fortran-order arrays are read as their logical (row-major) values, as {@code np.load} does
 * ({@code np.save(w.T)} writes one). Object (pickled), integer, structured and other dtypes, a
 * header that does not parse as NumPy's dict, and a file whose size differs from what the header
 * declares are rejected with a {@link BadInputException} naming the file.
 *
 * <p><b>What is written</b> is exactly what {@code np.save} writes for the same C-order
 * little-endian array, byte for byte, so outputs are deterministic and diffable against NumPy.
 *
 * <p><b>Why not a library.</b> Both candidates were checked (Maven Central, July 2022 and
 * February 2021 releases). {@code org.openlca:npy} 0.0.3 (pure Java) reads ranges with
 * {@code int} element offsets ({@code Npy.readRange(File, int, int)}), which cannot reach past
 * 2^31 elements, while a 10M x 256 input has 2.56e9; and it writes only whole files.
 * {@code org.jetbrains.bio:npy} 0.3.5 (Kotlin, pulls in the Kotlin standard library) reads and
 * writes only whole arrays. Neither can preallocate a file and write row ranges into it at their
 * offsets, which a single local output file needs. The format is small (NEP 1), so it is
 * implemented here against NumPy's own {@code format.py} and tested against files NumPy wrote.
 */
public final class Npy {
    /** What {@link #read(Path)} reads at most; larger arrays are meant to be read by rows. */
    public static final long DEFAULT_MAX_READ_BYTES = 256L << 20;

    private Npy() {}

    /**
     * A parsed {@code .npy} header: element type and byte order, storage order, shape, and where
     * the data starts. Serializable, so the driver can read it once and ship it to the tasks.
     *
     * @param version     the format's major version: 1, 2 or 3
     * @param bigEndian   whether elements are stored big-endian ({@code >f4})
     * @param fortranOrder whether the first axis varies fastest in the file
     * @param dataOffset  bytes before the data: magic, version, header length and header
     * @param integerBytes 0 for float32/float64 data; 4 or 8 for int32/int64 data (class labels, read
     *        as float64 values: {@code dtype} is then FLOAT64)
     */
    public record Header(int version, DType dtype, boolean bigEndian, boolean fortranOrder, long[] shape, long dataOffset, int integerBytes)
            implements Serializable {

        public Header {
            shape = shape.clone();
        }

        /** A float32/float64 array's header. */
        public Header(int version, DType dtype, boolean bigEndian, boolean fortranOrder, long[] shape, long dataOffset) {
            this(version, dtype, bigEndian, fortranOrder, shape, dataOffset, 0);
        }

        /** Whether the data are integers (int32 or int64). */
        public boolean integer() { return integerBytes > 0; }

        /** NumPy's name of the stored dtype: float32, float64, int32 or int64. */
        public String dtypeName() { return integer() ? "int" + 8 * integerBytes : dtype.numpyName(); }

        @Override public long[] shape() { return shape.clone(); }

        public int rank() { return shape.length; }

        /** The length of the first axis; a 0-d array has no rows. */
        public long rows() {
            if (shape.length == 0) throw new IllegalStateException("a 0-d array has no rows");
            return shape[0];
        }

        /** Elements per row: the product of all axes but the first (1 for a 1-D array). */
        public long rowWidth() {
            long w = 1;
            for (int k = 1; k < shape.length; k++) w *= shape[k];
            return w;
        }

        public long elementCount() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public int itemSize() { return integer() ? integerBytes : dtype.bytes(); }

        public long dataBytes() { return elementCount() * itemSize(); }

        public ByteOrder byteOrder() { return bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN; }

        @Override public boolean equals(Object o) {
            return o instanceof Header h && version == h.version && dtype == h.dtype && bigEndian == h.bigEndian
                    && fortranOrder == h.fortranOrder && Arrays.equals(shape, h.shape) && dataOffset == h.dataOffset && integerBytes == h.integerBytes;
        }

        @Override public int hashCode() {
            return Arrays.hashCode(shape) * 31 + Long.hashCode(dataOffset);
        }

        /** Like {@code float32 (10000000, 256), C order, little-endian, .npy 1.0, data at byte 128}. */
        @Override public String toString() {
            return dtypeName() + " " + NpyHeaderCodec.shapeRepr(shape) + ", " + (fortranOrder ? "Fortran" : "C") + " order, "
                    + (bigEndian ? "big" : "little") + "-endian, .npy " + version + ".0, data at byte " + dataOffset;
        }
    }

    /** {@link #readHeader(Storage, String)} of a local file. */
    public static Header readHeader(Path path) {
        return readHeader(Storage.local(), Storage.uri(path));
    }

    /**
     * Reads and validates the header, and checks that the file holds exactly the data it declares.
     *
     * @param uri a qualified path ({@link Storage#qualify}) on any filesystem
     * @throws BadInputException naming the file: missing, unreadable, not {@code .npy}, an
     *         unsupported dtype or version, or a size that disagrees with the header
     */
    public static Header readHeader(Storage storage, String uri) {
        return readHeader(storage, uri, false);
    }

    /**
     * {@link #readHeader(Storage, String)}, also accepting int32 and int64 data when
     * {@code integersAllowed} (class labels): their rows are read as float64 values.
     */
    public static Header readHeader(Storage storage, String uri, boolean integersAllowed) {
        Origin origin = Origin.of(uri);
        try (SeekableByteChannel ch = storage.openRead(uri)) {
            Header h = NpyHeaderCodec.read(ch, origin, integersAllowed);
            long size = ch.size(), expected = h.dataOffset() + h.dataBytes();
            if (size != expected) {
                throw origin.fail("the header declares " + h.dtypeName() + " " + NpyHeaderCodec.shapeRepr(h.shape()) + ": "
                        + h.dataBytes() + " bytes of data after " + h.dataOffset() + " bytes of header, " + expected
                        + " bytes in all, but the file holds " + size + " bytes" + (size < expected ? " (truncated?)" : ""));
            }
            return h;
        } catch (IOException e) {
            throw origin.readFailure(e);
        }
    }

    /** The whole array, if its data is at most {@link #DEFAULT_MAX_READ_BYTES}. */
    public static Tensor read(Path path) {
        return read(path, DEFAULT_MAX_READ_BYTES);
    }

    /** {@link #read(Storage, String, long)} of a local file. */
    public static Tensor read(Path path, long maxDataBytes) {
        return read(Storage.local(), Storage.uri(path), maxDataBytes);
    }

    /**
     * The whole array, refusing one whose data exceeds {@code maxDataBytes}, so that a huge input
     * passed where a small one belongs fails with a message instead of exhausting the heap.
     */
    public static Tensor read(Storage storage, String uri, long maxDataBytes) {
        Header h = readHeader(storage, uri);
        Origin origin = Origin.of(uri);
        if (h.dataBytes() > maxDataBytes) {
            throw origin.fail("holds " + h.dataBytes() + " bytes of " + h.dtype().numpyName() + " " + NpyHeaderCodec.shapeRepr(h.shape())
                    + ", more than the " + maxDataBytes + " bytes read at once; read it in row ranges");
        }
        checkFitsOneTensor(h, origin);
        try (SeekableByteChannel ch = storage.openRead(uri)) {
            return NpyData.readRows(ch, h, 0, h.rank() == 0 ? 1 : (int) h.rows(), origin);
        } catch (IOException e) {
            throw origin.readFailure(e);
        }
    }

    /** {@link #readRows(Storage, String, Header, long, int)} of a local file. */
    public static Tensor readRows(Path path, Header header, long firstRow, int rows) {
        return readRows(Storage.local(), Storage.uri(path), header, firstRow, rows);
    }

    /**
     * Rows {@code [firstRow, firstRow + rows)} of the array (any rank of at least 1), as a tensor
     * of shape {@code (rows, shape[1], ...)}. Only those rows are read, with positional reads, so
     * the cost does not depend on the file's size and tasks can read their ranges concurrently,
     * on HDFS and object stores as on local disks.
     *
     * @param header the file's header, from {@link #readHeader}
     * @throws IllegalArgumentException if the range is outside the array
     * @throws BadInputException if the file cannot be read or ends early
     */
    public static Tensor readRows(Storage storage, String uri, Header header, long firstRow, int rows) {
        checkRowRange(header, firstRow, rows);
        Origin origin = Origin.of(uri);
        if (header.rowWidth() * rows > Integer.MAX_VALUE - 8 || header.rowWidth() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(rows + " rows of " + header.rowWidth() + " elements do not fit one tensor");
        }
        try (SeekableByteChannel ch = storage.openRead(uri)) {
            return NpyData.readRows(ch, header, firstRow, rows, origin);
        } catch (IOException e) {
            throw origin.readFailure(e);
        }
    }

    /**
     * Writes the tensor as {@code np.save} would (C order, little-endian, version 1.0 unless the
     * header needs 2.0), replacing the file.
     *
     * @throws UncheckedIOException naming the file if it cannot be written
     */
    public static void write(Path path, Tensor tensor) {
        write(Storage.local(), Storage.uri(path), tensor);
    }

    /** {@link #write(Path, Tensor)} on any filesystem. */
    public static void write(Storage storage, String uri, Tensor tensor) {
        try (RowWriter w = new RowWriter(storage.create(uri), uri, tensor.dtype(), tensor.rank() == 0 ? -1 : tensor.shape().dim(0),
                tensor.rank() == 0 ? new int[0] : java.util.Arrays.copyOfRange(tensor.shape().dims(), 1, tensor.rank()))) {
            w.append(tensor);
        } catch (IOException e) {
            throw writeFailure(uri, e);
        }
    }

    /**
     * Writes a {@code .npy} of a known number of rows sequentially, rows appended in order: what an
     * executor writes for its partition ({@code input_grads/part-00003.npy}) on any filesystem,
     * object stores included (no positional writes). The bytes are those {@code np.save} writes.
     * {@link #close} fails if fewer or more rows were appended than declared.
     */
    public static final class RowWriter implements java.io.Closeable {
        private final java.io.OutputStream out;
        private final String name;
        private final DType dtype;
        private final long rows;   // -1: a 0-d array
        private final int[] rowShape;
        private long written;

        /** Writes the header for {@code rows} rows of {@code rowShape} ({@code rows} = -1: a 0-d array) to {@code out}, which it then owns. */
        public RowWriter(java.io.OutputStream out, String name, DType dtype, long rows, int... rowShape) throws IOException {
            this.out = new java.io.BufferedOutputStream(out, 1 << 16);
            this.name = name;
            this.dtype = dtype;
            this.rows = rows;
            this.rowShape = rowShape.clone();
            long[] shape;
            if (rows < 0) {
                shape = new long[0];
            } else {
                shape = new long[rowShape.length + 1];
                shape[0] = rows;
                for (int k = 0; k < rowShape.length; k++) shape[k + 1] = rowShape[k];
            }
            this.out.write(NpyHeaderCodec.encode(dtype, shape));
        }

        /** Appends rows (shape {@code (k, rowShape...)}, the declared dtype) after those already written. */
        public void append(Tensor t) throws IOException {
            if (t.dtype() != dtype) throw new IllegalArgumentException("rows of " + t.dtype().numpyName() + " for " + name + ", which holds " + dtype.numpyName());
            int[] d = t.shape().dims();
            boolean fits = rows < 0 ? d.length == 0 : d.length == rowShape.length + 1;
            for (int k = 0; fits && rows >= 0 && k < rowShape.length; k++) fits = d[k + 1] == rowShape[k];
            if (!fits) throw new IllegalArgumentException("rows of shape " + t.shape() + " do not fit " + name);
            long k = rows < 0 ? 1 : d[0];
            if (written + k > Math.max(rows, 1)) throw new IllegalStateException(name + ": more rows than the " + rows + " declared");
            NpyData.encode(t, 0, t.size(), ByteOrder.LITTLE_ENDIAN, slice -> out.write(slice.array(), slice.position(), slice.remaining()));
            written += k;
        }

        @Override public void close() throws IOException {
            try {
                if (written != Math.max(rows, rows < 0 ? 1 : 0)) {
                    throw new IllegalStateException(name + ": " + written + " rows written of the " + rows + " declared");
                }
            } finally {
                out.close();
            }
        }
    }

    /**
     * Creates (or replaces) a {@code .npy} file for {@code rows} rows of shape {@code rowShape},
     * with its header written and its data zero-filled, so that tasks can then fill their row
     * ranges with {@link #writeRows} concurrently, from any number of threads or JVMs. The data is
     * allocated sparsely (the file's length is set, no zeros are written), so this is quick even
     * for tens of gigabytes. The header is the one {@code np.save} would write.
     *
     * <p>Until every range is written the file already looks complete: write it inside the job's
     * temporary output directory, which is moved into place only on success.
     *
     * @return the header to pass to {@link #writeRows}
     */
    public static Header allocate(Path path, DType dtype, long rows, int... rowShape) {
        long[] shape = new long[rowShape.length + 1];
        shape[0] = rows;
        for (int k = 0; k < rowShape.length; k++) shape[k + 1] = rowShape[k];
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + NpyHeaderCodec.shapeRepr(shape));
        }
        byte[] headerBytes = NpyHeaderCodec.encode(dtype, shape);
        if (!NpyHeaderCodec.addressable(shape, dtype, headerBytes.length)) {
            throw new IllegalArgumentException("shape " + NpyHeaderCodec.shapeRepr(shape) + " is too large to address");
        }
        Header h = new Header(headerBytes[6], dtype, false, false, shape, headerBytes.length);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(headerBytes), 0);
            if (h.dataBytes() > 0) writeFully(ch, ByteBuffer.allocate(1), h.dataOffset() + h.dataBytes() - 1);
        } catch (IOException e) {
            throw writeFailure(path, e);
        }
        return h;
    }

    /**
     * Writes {@code rows} (shape {@code (k, shape[1], ...)}, the file's dtype) at rows
     * {@code [firstRow, firstRow + k)} of a file made by {@link #allocate}, with positional writes
     * only: callers writing disjoint ranges never interfere, whether threads or executors.
     *
     * @throws IllegalArgumentException if the dtype, row shape or range does not fit the header
     * @throws IllegalStateException if the file's size is not the one the header describes
     * @throws UncheckedIOException naming the file if it cannot be written
     */
    public static void writeRows(Path path, Header header, long firstRow, Tensor rows) {
        if (header.fortranOrder()) throw new IllegalArgumentException("writeRows writes C-order files; " + path + " is Fortran order");
        if (rows.dtype() != header.dtype()) {
            throw new IllegalArgumentException("rows of " + rows.dtype().numpyName() + " for " + path + ", which holds " + header.dtype().numpyName());
        }
        long[] shape = header.shape();
        int[] given = rows.shape().dims();
        boolean fits = given.length == shape.length && given.length > 0;
        for (int k = 1; fits && k < given.length; k++) fits = given[k] == shape[k];
        if (!fits) {
            throw new IllegalArgumentException("rows of shape " + rows.shape() + " do not fit " + path + ", of shape " + NpyHeaderCodec.shapeRepr(shape));
        }
        checkRowRange(header, firstRow, given[0]);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            long expected = header.dataOffset() + header.dataBytes();
            if (ch.size() != expected) {
                throw new IllegalStateException(path + " holds " + ch.size() + " bytes, not the " + expected + " its header " + header + " describes");
            }
            long[] pos = {header.dataOffset() + firstRow * header.rowWidth() * header.itemSize()};
            NpyData.encode(rows, 0, rows.size(), header.byteOrder(), slice -> {
                int n = slice.remaining();
                writeFully(ch, slice, pos[0]);
                pos[0] += n;
            });
        } catch (IOException e) {
            throw writeFailure(path, e);
        }
    }

    static void checkFitsOneTensor(Header h, Origin origin) {
        for (long d : h.shape()) {
            if (d > Integer.MAX_VALUE - 8) throw origin.fail("axis of length " + d + " is too long for one tensor");
        }
        if (h.elementCount() > Integer.MAX_VALUE - 8) {
            throw origin.fail(NpyHeaderCodec.shapeRepr(h.shape()) + " has " + h.elementCount() + " elements, too many for one tensor");
        }
    }

    private static void checkRowRange(Header h, long firstRow, int rows) {
        if (h.rank() == 0) throw new IllegalArgumentException("a 0-d array has no rows");
        if (firstRow < 0 || rows < 0 || firstRow > h.rows() - rows) {
            throw new IllegalArgumentException("rows [" + firstRow + ", " + (firstRow + rows) + ") are outside the " + h.rows() + " rows of the array");
        }
    }

    /** Writes all of {@code buf} at {@code pos}, or at the channel's position when {@code pos < 0}. */
    private static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        long at = pos;
        while (buf.hasRemaining()) {
            int n = pos < 0 ? ch.write(buf) : ch.write(buf, at);
            at += n;
        }
    }

    private static UncheckedIOException writeFailure(Object path, IOException e) {
        String where = path instanceof String uri ? Storage.display(uri) : String.valueOf(path);
        return new UncheckedIOException("cannot write " + where + ": " + Storage.reason(e), e);
    }

    private static long[] longs(Shape shape) {
        return Arrays.stream(shape.dims()).asLongStream().toArray();
    }
}
