package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.assertSameTensor;
import static org.gradspark.job.io.Fixtures.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyRowsTest {
    @TempDir Path dir;

    /** Rows r..r+k of a tensor of shape (n, rest...): the expected value of a row range. */
    static Tensor rowsOf(Tensor t, int first, int count) {
        int[] dims = t.shape().dims();
        int width = t.size() / Math.max(dims[0], 1);
        dims[0] = count;
        if (t.dtype() == DType.FLOAT32) return Tensor.wrap(Arrays.copyOfRange(t.rawFloats(), first * width, (first + count) * width), Shape.of(dims));
        return Tensor.wrap(Arrays.copyOfRange(t.rawDoubles(), first * width, (first + count) * width), Shape.of(dims));
    }

    @Test
    void rowRangesOfEveryRank() {
        for (int[] shape : new int[][] {{10}, {10, 3}, {10, 2, 3}}) {
            for (DType dtype : DType.values()) {
                Tensor t = values(dtype, shape);
                Path p = dir.resolve("x.npy");
                Npy.write(p, t);
                Npy.Header h = Npy.readHeader(p);
                for (int first = 0; first <= 10; first++) {
                    for (int k = 0; first + k <= 10; k++) {
                        assertSameTensor(rowsOf(t, first, k), Npy.readRows(p, h, first, k));
                    }
                }
            }
        }
    }

    @Test
    void rowRangesSpanningBufferSlices() {
        // Rows of 1000 float64 (8 KB); 300 of them cross NpyData's 1 MiB buffer.
        Tensor t = values(DType.FLOAT64, 400, 1000);
        Path p = dir.resolve("wide.npy");
        Npy.write(p, t);
        Npy.Header h = Npy.readHeader(p);
        assertSameTensor(rowsOf(t, 37, 300), Npy.readRows(p, h, 37, 300));
    }

    @Test
    void rowsOutsideTheArrayAreRefused() {
        Path p = dir.resolve("x.npy");
        Npy.write(p, values(DType.FLOAT32, 5, 2));
        Npy.Header h = Npy.readHeader(p);
        assertThrows(IllegalArgumentException.class, () -> Npy.readRows(p, h, 4, 2));
        assertThrows(IllegalArgumentException.class, () -> Npy.readRows(p, h, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> Npy.readRows(p, h, 0, -1));
        Npy.write(p, Tensor.scalar(1, DType.FLOAT32));
        assertThrows(IllegalArgumentException.class, () -> Npy.readRows(p, Npy.readHeader(p), 0, 1));
    }

    @Test
    void allocatedFileIsZerosWithTheRightHeader() throws Exception {
        Path p = dir.resolve("g.npy");
        Npy.Header h = Npy.allocate(p, DType.FLOAT64, 6, 2, 3);
        assertEquals(Npy.readHeader(p), h);
        assertEquals(h.dataOffset() + 6 * 2 * 3 * 8, Files.size(p));
        assertSameTensor(Tensor.zeros(DType.FLOAT64, 6, 2, 3), Npy.read(p));
        Npy.Header empty = Npy.allocate(dir.resolve("e.npy"), DType.FLOAT32, 0, 4);
        assertSameTensor(Tensor.zeros(DType.FLOAT32, 0, 4), Npy.read(dir.resolve("e.npy")));
        assertEquals(0, empty.dataBytes());
    }

    @Test
    void rowsWrittenAtOffsetsReadBack() {
        Path p = dir.resolve("g.npy");
        Tensor all = values(DType.FLOAT32, 9, 4);
        Npy.Header h = Npy.allocate(p, DType.FLOAT32, 9, 4);
        // Out of order, one range empty: each lands at its own offset.
        Npy.writeRows(p, h, 6, rowsOf(all, 6, 3));
        Npy.writeRows(p, h, 0, rowsOf(all, 0, 2));
        Npy.writeRows(p, h, 2, rowsOf(all, 2, 0));
        Npy.writeRows(p, h, 2, rowsOf(all, 2, 4));
        assertSameTensor(all, Npy.read(p));
    }

    @Test
    void concurrentDisjointWritersFromThreads() throws Exception {
        int n = 20_000, width = 7, chunk = 613;
        Tensor all = values(DType.FLOAT64, n, width);
        Path p = dir.resolve("concurrent.npy");
        Npy.Header h = Npy.allocate(p, DType.FLOAT64, n, width);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> tasks = new ArrayList<>();
            // Chunks in reverse order so that neighbouring ranges are written at the same time.
            for (int first = (n - 1) / chunk * chunk; first >= 0; first -= chunk) {
                int f = first, k = Math.min(chunk, n - first);
                tasks.add(pool.submit(() -> Npy.writeRows(p, h, f, rowsOf(all, f, k))));
            }
            for (Future<?> t : tasks) t.get();
        } finally {
            pool.shutdown();
        }
        assertSameTensor(all, Npy.read(p));
    }

    @Test
    void writeRowsChecksDtypeShapeAndRange() {
        Path p = dir.resolve("g.npy");
        Npy.Header h = Npy.allocate(p, DType.FLOAT32, 4, 3);
        assertThrows(IllegalArgumentException.class, () -> Npy.writeRows(p, h, 0, values(DType.FLOAT64, 1, 3)));
        assertThrows(IllegalArgumentException.class, () -> Npy.writeRows(p, h, 0, values(DType.FLOAT32, 1, 4)));
        assertThrows(IllegalArgumentException.class, () -> Npy.writeRows(p, h, 0, values(DType.FLOAT32, 3)));
        assertThrows(IllegalArgumentException.class, () -> Npy.writeRows(p, h, 3, values(DType.FLOAT32, 2, 3)));
        Npy.write(p, values(DType.FLOAT32, 2, 3));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Npy.writeRows(p, h, 0, values(DType.FLOAT32, 1, 3)));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
    }

    /**
     * The job's scale: 10M x 256 float32 is 10 GB, past 2^31 elements, so row offsets must be
     * longs. The file is sparse, so only the rows written take disk space.
     */
    @Test
    void rowsPastTwoToTheThirtyOneElements() throws Exception {
        assumeTrue(Files.getFileStore(dir).getUsableSpace() > 11L << 30, "needs room for a 10 GB file should the file system not be sparse");
        Path p = dir.resolve("huge.npy");
        long n = 10_000_000L;
        Npy.Header h = Npy.allocate(p, DType.FLOAT32, n, 256);
        assertEquals(h.dataOffset() + n * 256 * 4, Files.size(p));
        Tensor last = values(DType.FLOAT32, 5, 256);
        Npy.writeRows(p, h, n - 5, last);
        Npy.Header read = Npy.readHeader(p);
        assertEquals(h, read);
        assertSameTensor(last, Npy.readRows(p, read, n - 5, 5));
        assertArrayEquals(new float[256], Npy.readRows(p, read, 8_388_609L, 1).rawFloats());
        BadInputException e = assertThrows(BadInputException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains("more than the"), e.getMessage());
        Files.delete(p);
    }
}
