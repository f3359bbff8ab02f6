package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.assertSameTensor;
import static org.gradspark.job.io.Fixtures.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every way a {@code .npy} can be bad gives one line that names the file and the fault. */
class NpyBadInputTest {
    private static final String F4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

    @TempDir Path dir;

    /** The filesystem the case is read from (the HDFS subclass reads the same files from HDFS). */
    Storage storage() {
        return Storage.local();
    }

    /** Where the case's file is read from: the local file itself here. */
    String locate(Path p) {
        return Storage.uri(p);
    }

    /** Reads the file both ways the job does and returns the message, checking it names the file on one line. */
    private String failure(Path p) {
        String uri = locate(p);
        BadInputException e = assertThrows(BadInputException.class, () -> Npy.read(storage(), uri, Npy.DEFAULT_MAX_READ_BYTES));
        BadInputException h = assertThrows(BadInputException.class, () -> Npy.readHeader(storage(), uri));
        assertEquals(e.getMessage(), h.getMessage());
        assertTrue(e.getMessage().startsWith(Storage.display(uri) + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private Path file(byte[] bytes) throws Exception {
        return Files.write(dir.resolve("bad.npy"), bytes);
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) assertTrue(message.contains(part), () -> "'" + part + "' not in: " + message);
    }

    @Test
    void missingFile() {
        assertContains(failure(dir.resolve("nope.npy")), "no such file");
    }

    @Test
    void directory() {
        assertContains(failure(dir), "is a directory");
    }

    @Test
    void unreadableFile() throws Exception {
        Path p = file(BadFiles.npy(F4, new byte[8]));
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("---------"));
        assumeFalse(Files.isReadable(p), "running as root: permissions are not enforced");
        assertContains(failure(p), "permission denied");
    }

    @Test
    void emptyFile() throws Exception {
        assertContains(failure(file(new byte[0])), "empty file");
    }

    @Test
    void badMagic() throws Exception {
        assertContains(failure(file("x,y\n1,2\n".getBytes(StandardCharsets.US_ASCII))), "not a .npy array", "78 2c 79");
        assertContains(failure(path("weights.npz")), "not a .npy array", "zip archive");
    }

    @Test
    void truncatedHeader() throws Exception {
        byte[] whole = BadFiles.npy(F4, new byte[8]);
        assertContains(failure(file(Arrays.copyOf(whole, 4))), "truncated header", "after 4 bytes");
        assertContains(failure(file(Arrays.copyOf(whole, 9))), "truncated header", "after 9 bytes");
        assertContains(failure(file(Arrays.copyOf(whole, 40))), "truncated header", "declares 128 bytes", "after 40");
    }

    @Test
    void truncatedData() throws Exception {
        byte[] whole = Files.readAllBytes(path("f32_3x4.npy"));
        String m = failure(file(Arrays.copyOf(whole, whole.length - 5)));
        assertContains(m, "float32 (3, 4)", "48 bytes of data", "176 bytes in all", "holds 171 bytes", "truncated");
    }

    @Test
    void headerClaimsMoreDataThanPresent() throws Exception {
        String m = failure(file(BadFiles.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 3), }", new byte[16])));
        assertContains(m, "float64 (1000, 3)", "24000 bytes of data", "24128 bytes in all", "holds 144 bytes");
    }

    @Test
    void trailingBytesAfterTheData() throws Exception {
        assertContains(failure(file(BadFiles.npy(F4, new byte[9]))), "136 bytes in all", "holds 137 bytes");
    }

    @Test
    void objectArray() {
        Path p = path("object.npy");
        assertContains(failure(p), "object (pickled) arrays are not supported");
    }

    @Test
    void integerArray() {
        assertContains(failure(path("int64.npy")), "dtype '<i8' (int64) is not supported", "float32 ('<f4')");
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " | ", quoteCharacter = '"', value = {
            "'<f2'                     | dtype '<f2' (float16) is not supported",
            "'|b1'                     | dtype '|b1' (bool) is not supported",
            "'<U3'                     | dtype '<U3' (unicode string) is not supported",
            "'<c16'                    | dtype '<c16' (complex128) is not supported",
            "'<M8[ns]'                 | dtype '<M8[ns]' (datetime64) is not supported",
            "'|O8'                     | object (pickled) arrays are not supported",
            "[('x', '<f4')]            | structured dtype [('x', '<f4')] is not supported",
            "'float32'                 | unknown dtype 'float32'",
            "4                         | descr is not a dtype string: 4",
    })
    void unsupportedDtypes(String descr, String expected) throws Exception {
        String dict = "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }";
        assertContains(failure(file(BadFiles.npy(dict, new byte[8]))), expected);
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " | ", quoteCharacter = '"', value = {
            "{'descr': '<f4', 'fortran_order': False, }                         | the header has no 'shape'",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, } | unexpected key 'x'",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }          | shape 2 is not a tuple of integers",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }          | shape [2] is not a tuple",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }        | shape (-2,) is not a tuple of non-negative integers",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }       | only plain integers",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }             | fortran_order is not True or False: 0",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) }}          | unexpected '}' after the value",
            "{'descr': '<f4', 'fortran_order': False 'shape': (2,), }          | expected ',' or '}'",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), } | duplicate key 'descr'",
            "{'descr': '<f4\\x', 'fortran_order': False, 'shape': (2,), }      | escape sequences",
            "('descr', '<f4')                                                  | not a Python dict",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), } | too large",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), } | too large to address",
    })
    void malformedHeaders(String dict, String expected) throws Exception {
        assertContains(failure(file(BadFiles.npy(dict, new byte[8]))), expected);
    }

    @Test
    void unsupportedVersion() throws Exception {
        byte[] b = BadFiles.npy(F4, new byte[8]);
        b[6] = 4;
        assertContains(failure(file(b)), "unsupported .npy format version 4.0");
    }

    @Test
    void headerLargerThanNumpysLimit() throws Exception {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + " ".repeat(20_000);
        assertContains(failure(file(BadFiles.npy(2, dict, new byte[8]))), "larger than NumPy's limit of 10000");
    }

    @Test
    void invalidUtf8InAVersion3Header() throws Exception {
        byte[] b = BadFiles.npy(3, F4, new byte[8]);
        b[13] = (byte) 0xff;
        assertContains(failure(file(b)), "not valid UTF-8");
    }

    @Test
    void leniencyNumpyAlsoHas() throws Exception {
        // Python 2 longs, no byte-order prefix, extra spaces: NumPy reads all of these.
        byte[] data = {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40};
        String p = locate(file(BadFiles.npy("{ 'descr' : 'f4' , 'fortran_order' : False , \"shape\" : ( 2L , ) }", data)));
        assertSameTensor(Tensor.of(new float[] {1f, 2f}), Npy.read(storage(), p, Npy.DEFAULT_MAX_READ_BYTES));
        assertEquals(DType.FLOAT32, Npy.readHeader(storage(), p).dtype());
    }

    @Test
    void fileShrunkAfterItsHeaderWasRead() throws Exception {
        Path local = dir.resolve("shrinks.npy");
        Npy.write(local, Fixtures.values(DType.FLOAT32, 10, 2));
        Npy.Header h = Npy.readHeader(storage(), locate(local));
        Files.write(local, Arrays.copyOf(Files.readAllBytes(local), 150));
        String p = locate(local);
        BadInputException e = assertThrows(BadInputException.class, () -> Npy.readRows(storage(), p, h, 8, 2));
        assertContains(e.getMessage(), Storage.display(p) + ": truncated", "ends at byte 150", "needs 208");
    }
}
