package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.assertSameTensor;
import static org.gradspark.job.io.Fixtures.path;
import static org.gradspark.job.io.Fixtures.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NpzTest {
    @TempDir Path dir;

    /** An MLP's weights in the job's key order, mixed dtypes and ranks, an empty and a 0-d array. */
    static Map<String, Tensor> weights() {
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("w0", values(DType.FLOAT32, 8, 32));
        w.put("b0", values(DType.FLOAT32, 32));
        w.put("w1", values(DType.FLOAT64, 32, 3));
        w.put("b1", values(DType.FLOAT64, 3));
        w.put("empty", values(DType.FLOAT32, 0, 5));
        w.put("scale", Tensor.scalar(0.25, DType.FLOAT64));
        w.put("cube", values(DType.FLOAT32, 2, 3, 4));
        return w;
    }

    static void assertSameArrays(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()), "keys in archive order");
        expected.forEach((k, t) -> assertSameTensor(t, actual.get(k)));
    }

    @ParameterizedTest
    @EnumSource(Npz.Compression.class)
    void roundTripKeepsKeysOrderAndBits(Npz.Compression compression) {
        Path p = dir.resolve("w.npz");
        Npz.write(p, weights(), compression);
        assertSameArrays(weights(), Npz.read(p, 1 << 20));
    }

    @Test
    void emptyArchive() {
        Path p = dir.resolve("none.npz");
        Npz.write(p, Map.of());
        assertTrue(Npz.read(p).isEmpty());
    }

    @Test
    void sameMapGivesSameBytesLaterAndInAnotherTimeZone() throws Exception {
        for (Npz.Compression c : Npz.Compression.values()) Npz.write(dir.resolve("a-" + c + ".npz"), weights(), c);
        Thread.sleep(2100); // past the zip format's 2-second time resolution: a clock in the bytes would show
        TimeZone saved = TimeZone.getDefault();
        try {
            TimeZone.setDefault(TimeZone.getTimeZone("Pacific/Kiritimati"));
            for (Npz.Compression c : Npz.Compression.values()) Npz.write(dir.resolve("b-" + c + ".npz"), weights(), c);
        } finally {
            TimeZone.setDefault(saved);
        }
        for (Npz.Compression c : Npz.Compression.values()) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a-" + c + ".npz")), Files.readAllBytes(dir.resolve("b-" + c + ".npz")), c.name());
        }
    }

    @Test
    void membersAreWhatNpyWrites() throws Exception {
        Path p = dir.resolve("w.npz"), single = dir.resolve("w1.npy");
        Npz.write(p, weights());
        Npy.write(single, weights().get("w1"));
        try (ZipFile z = new ZipFile(p.toFile())) {
            ZipEntry e = z.getEntry("w1.npy");
            assertEquals(ZipEntry.STORED, e.getMethod());
            assertArrayEquals(Files.readAllBytes(single), z.getInputStream(e).readAllBytes());
        }
    }

    @Test
    void readsNumpySavez() {
        Map<String, Tensor> expected = new LinkedHashMap<>();
        expected.put("w0", values(DType.FLOAT32, 3, 4));
        expected.put("b0", values(DType.FLOAT32, 4));
        expected.put("w1", values(DType.FLOAT32, 4, 2));
        expected.put("b1", values(DType.FLOAT32, 2));
        assertSameArrays(expected, Npz.read(path("weights.npz")));
        assertSameArrays(expected, Npz.read(path("weights_compressed.npz")));
    }

    @Test
    void readsATransposedNumpyMemberAsItsLogicalValues() {
        // np.savez(w0=values((4, 3)).T): a Fortran-order (3, 4) member whose [i][j] is values((4, 3))[j][i].
        Map<String, Tensor> w = Npz.read(path("weights_transposed.npz"));
        Tensor w0 = w.get("w0"), source = values(DType.FLOAT64, 4, 3);
        assertEquals(org.gradspark.ad.Shape.of(3, 4), w0.shape());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) assertEquals(source.get(j, i), w0.get(i, j));
        }
    }

    @Test
    void writeRefusesEmptyKeysAndNullArrays() {
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("", values(DType.FLOAT32, 1));
        assertThrows(IllegalArgumentException.class, () -> Npz.write(dir.resolve("x.npz"), bad));
        bad.clear();
        bad.put("w0", null);
        assertThrows(IllegalArgumentException.class, () -> Npz.write(dir.resolve("x.npz"), bad));
    }
}
