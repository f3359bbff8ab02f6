package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.assertSameTensor;
import static org.gradspark.job.io.Fixtures.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class NpyRoundTripTest {
    @TempDir Path dir;

    @ParameterizedTest
    @EnumSource(DType.class)
    void everyRankRoundTripsBitForBit(DType dtype) throws Exception {
        int[][] shapes = {{}, {7}, {3, 4}, {2, 3, 4}, {0}, {0, 3}, {3, 0}, {2, 0, 5}};
        for (int[] shape : shapes) {
            Tensor t = values(dtype, shape);
            Path p = dir.resolve("t.npy");
            Npy.write(p, t);
            assertSameTensor(t, Npy.read(p));
            Npy.Header h = Npy.readHeader(p);
            assertEquals(dtype, h.dtype());
            assertArrayEquals(java.util.Arrays.stream(shape).asLongStream().toArray(), h.shape());
            assertEquals(Files.size(p), h.dataOffset() + h.dataBytes());
            assertEquals(0, h.dataOffset() % 64, "NumPy aligns the data to 64 bytes");
        }
    }

    @Test
    void specialValuesSurvive() {
        float[] f = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, Float.MIN_VALUE, Float.MAX_VALUE};
        double[] d = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0d, Double.MIN_VALUE, Double.MAX_VALUE};
        Path p = dir.resolve("s.npy");
        Npy.write(p, Tensor.of(f));
        assertSameTensor(Tensor.of(f), Npy.read(p));
        Npy.write(p, Tensor.of(d));
        assertSameTensor(Tensor.of(d), Npy.read(p));
    }

    /**
     * The java.nio.file.Path methods wrote "w%5B1%5D%7Ba,b%7D%3F*%20%2541.npy" for "w[1]{a,b}?* %41.npy":
     * Path.toUri() percent-encodes, and Hadoop's Path does not decode a string. A name is that name.
     */
    @Test
    void aNameWithGlobCharactersASpaceAndAPercentSignIsThatName() {
        Path npy = dir.resolve("w[1]{a,b}?* %41.npy"), npz = dir.resolve("w[1]{a,b}?* %41.npz");
        Tensor t = values(DType.FLOAT32, 3, 4);
        Npy.write(npy, t);
        Npz.write(npz, java.util.Map.of("w0", t));
        assertTrue(Files.isRegularFile(npy), "not written as named: " + java.util.Arrays.toString(dir.toFile().list()));
        assertTrue(Files.isRegularFile(npz), "not written as named: " + java.util.Arrays.toString(dir.toFile().list()));
        assertSameTensor(t, Npy.read(npy));
        assertSameTensor(t, Npz.read(npz).get("w0"));
    }

    @Test
    void writeReplacesALongerFile() throws Exception {
        Path p = dir.resolve("r.npy");
        Npy.write(p, values(DType.FLOAT64, 100, 10));
        Npy.write(p, values(DType.FLOAT32, 2));
        assertSameTensor(values(DType.FLOAT32, 2), Npy.read(p));
    }

    @Test
    void largerThanOneBufferRoundTrips() {
        // More than NpyData's 1 MiB buffer, so slicing is exercised in both directions.
        Tensor t = values(DType.FLOAT64, 300_001);
        Path p = dir.resolve("big.npy");
        Npy.write(p, t);
        assertSameTensor(t, Npy.read(p));
    }

    @Test
    void writtenBytesAreDeterministic() throws Exception {
        Path a = dir.resolve("a.npy"), b = dir.resolve("b.npy");
        Npy.write(a, values(DType.FLOAT32, 5, 6));
        Npy.write(b, values(DType.FLOAT32, 5, 6));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void readRefusesMoreThanItsCap() {
        Path p = dir.resolve("cap.npy");
        Npy.write(p, values(DType.FLOAT32, 100, 10));
        BadInputException e = assertThrows(BadInputException.class, () -> Npy.read(p, 3999));
        assertTrue(e.getMessage().startsWith(p + ": holds 4000 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("read it in row ranges"), e.getMessage());
        assertEquals(Shape.of(100, 10), Npy.read(p, 4000).shape());
    }

    @Test
    void headerDescribesItself() {
        Path p = dir.resolve("h.npy");
        Npy.write(p, values(DType.FLOAT32, 10, 3));
        Npy.Header h = Npy.readHeader(p);
        assertEquals("float32 (10, 3), C order, little-endian, .npy 1.0, data at byte 128", h.toString());
        assertEquals(10, h.rows());
        assertEquals(3, h.rowWidth());
        assertEquals(h, Npy.readHeader(p));
    }
}
