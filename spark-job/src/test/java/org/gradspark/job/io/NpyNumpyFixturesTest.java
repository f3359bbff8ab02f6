package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.assertSameTensor;
import static org.gradspark.job.io.Fixtures.path;
import static org.gradspark.job.io.Fixtures.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Files written once by NumPy 2.4 (make_fixtures.py); no Python needed to run these. */
class NpyNumpyFixturesTest {
    @TempDir Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "f32_3x4.npy, FLOAT32, 3x4",
            "f64_5.npy, FLOAT64, 5",
            "f32_2x3x4.npy, FLOAT32, 2x3x4",
            "f64_scalar.npy, FLOAT64, ''",
            "f32_0x3.npy, FLOAT32, 0x3",
            "f64_3x4_v2.npy, FLOAT64, 3x4",
            "f32_3x4_v3.npy, FLOAT32, 3x4",
            "f64_3x4_fortran.npy, FLOAT64, 3x4",
            "f32_2x3x4_fortran.npy, FLOAT32, 2x3x4",
            "f32_3x4_bigendian.npy, FLOAT32, 3x4",
    })
    void readsWhatNumpyWrote(String name, DType dtype, String shape) {
        assertSameTensor(values(dtype, dims(shape)), Npy.read(path(name)));
    }

    @Test
    void headersCarryVersionOrderAndEndianness() {
        assertEquals(2, Npy.readHeader(path("f64_3x4_v2.npy")).version());
        assertEquals(3, Npy.readHeader(path("f32_3x4_v3.npy")).version());
        assertTrue(Npy.readHeader(path("f64_3x4_fortran.npy")).fortranOrder());
        assertTrue(Npy.readHeader(path("f32_3x4_bigendian.npy")).bigEndian());
        Npy.Header h = Npy.readHeader(path("f32_3x4.npy"));
        assertEquals(1, h.version());
        assertFalse(h.fortranOrder() || h.bigEndian());
    }

    /** Our writer reproduces np.save byte for byte, header padding included. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "f32_3x4.npy, FLOAT32, 3x4",
            "f64_5.npy, FLOAT64, 5",
            "f32_2x3x4.npy, FLOAT32, 2x3x4",
            "f64_scalar.npy, FLOAT64, ''",
            "f32_0x3.npy, FLOAT32, 0x3",
    })
    void writesWhatNumpyWrites(String name, DType dtype, String shape) throws Exception {
        Path ours = dir.resolve(name);
        Npy.write(ours, values(dtype, dims(shape)));
        assertArrayEquals(Files.readAllBytes(path(name)), Files.readAllBytes(ours));
    }

    @Test
    void allocateWritesNumpysHeader() throws Exception {
        Path ours = dir.resolve("rows.npy");
        Npy.Header h = Npy.allocate(ours, DType.FLOAT32, 3, 4);
        Tensor v = values(DType.FLOAT32, 3, 4);
        Npy.writeRows(ours, h, 0, v);
        assertArrayEquals(Files.readAllBytes(path("f32_3x4.npy")), Files.readAllBytes(ours));
    }

    @Test
    void fortranRowRangesAreTheLogicalRows() {
        Path p = path("f32_2x3x4_fortran.npy");
        Npy.Header h = Npy.readHeader(p);
        Tensor all = values(DType.FLOAT32, 2, 3, 4);
        Tensor row1 = Npy.readRows(p, h, 1, 1);
        assertEquals(org.gradspark.ad.Shape.of(1, 3, 4), row1.shape());
        float[] expected = java.util.Arrays.copyOfRange(all.rawFloats(), 12, 24);
        assertArrayEquals(expected, row1.rawFloats());
        Path q = path("f64_3x4_fortran.npy");
        Tensor rows12 = Npy.readRows(q, Npy.readHeader(q), 1, 2);
        assertArrayEquals(java.util.Arrays.copyOfRange(values(DType.FLOAT64, 3, 4).rawDoubles(), 4, 12), rows12.rawDoubles());
    }

    static int[] dims(String shape) {
        if (shape.isEmpty()) return new int[0];
        String[] parts = shape.split("x");
        int[] d = new int[parts.length];
        for (int k = 0; k < d.length; k++) d[k] = Integer.parseInt(parts[k]);
        return d;
    }
}
