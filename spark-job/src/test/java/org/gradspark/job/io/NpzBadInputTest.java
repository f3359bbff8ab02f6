package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.path;
import static org.gradspark.job.io.Fixtures.values;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.gradspark.ad.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way an {@code .npz} can be bad gives one line naming the file and, where there is one, the key. */
class NpzBadInputTest {
    private static final long MB = 1L << 20;

    @TempDir Path dir;

    /** The filesystem the case is read from (the HDFS subclass reads the same archives from HDFS). */
    Storage storage() {
        return Storage.local();
    }

    /** Where the case's file is read from: the local file itself here. */
    String locate(Path p) {
        return Storage.uri(p);
    }

    private String failure(Path p, long bound) {
        String uri = locate(p);
        BadInputException e = assertThrows(BadInputException.class, () -> Npz.read(storage(), uri, bound));
        assertTrue(e.getMessage().startsWith(Storage.display(uri)), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private String failure(Path p) {
        return failure(p, 64 * MB);
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) assertTrue(message.contains(part), () -> "'" + part + "' not in: " + message);
    }

    private Path file(byte[] bytes) throws IOException {
        return Files.write(dir.resolve("bad.npz"), bytes);
    }

    private static byte[] npyBytes(DType dtype, int... shape) throws IOException {
        Path tmp = Files.createTempFile("member", ".npy");
        try {
            Npy.write(tmp, values(dtype, shape));
            return Files.readAllBytes(tmp);
        } finally {
            Files.delete(tmp);
        }
    }

    private static Map<String, byte[]> members(Object... nameAndBytes) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int k = 0; k < nameAndBytes.length; k += 2) m.put((String) nameAndBytes[k], (byte[]) nameAndBytes[k + 1]);
        return m;
    }

    @Test
    void missingFileAndDirectory() {
        assertContains(failure(dir.resolve("nope.npz")), "no such file");
        assertContains(failure(dir), "is a directory");
    }

    @Test
    void notAZip() throws Exception {
        assertContains(failure(file(new byte[0])), "not a valid zip archive");
        assertContains(failure(file("w0,b0\n1,2\n".getBytes())), "not a valid zip archive");
        assertContains(failure(path("f32_3x4.npy")), "not a valid zip archive", "it is a .npy array");
    }

    @Test
    void truncatedArchive() throws Exception {
        byte[] whole = Files.readAllBytes(path("weights.npz"));
        assertContains(failure(file(Arrays.copyOf(whole, whole.length / 2))), "not a valid zip archive");
    }

    @Test
    void corruptDeflatedData() throws Exception {
        byte[] zip = BadFiles.zip(members("w0.npy", npyBytes(DType.FLOAT64, 64, 64)), ZipEntry.DEFLATED);
        int data = BadFiles.dataOffset(zip, "w0.npy");
        for (int k = data + 10; k < data + 60; k++) zip[k] ^= 0x5a;
        assertContains(failure(file(zip)), ", key 'w0': ");
    }

    @Test
    void corruptStoredDataFailsItsCrc() throws Exception {
        byte[] zip = BadFiles.zip(members("w0.npy", npyBytes(DType.FLOAT32, 3, 4)), ZipEntry.STORED);
        zip[BadFiles.dataOffset(zip, "w0.npy") + 130] ^= 1;
        assertContains(failure(file(zip)), ", key 'w0': corrupt: CRC-32");
    }

    @Test
    void duplicateKey() throws Exception {
        byte[] zip = BadFiles.zip(members("w0.npy", npyBytes(DType.FLOAT32, 2), "b0.npy", npyBytes(DType.FLOAT32, 3)), ZipEntry.STORED);
        BadFiles.rename(zip, "b0.npy", "w0.npy");
        assertContains(failure(file(zip)), ", key 'w0': the key appears twice");
    }

    @Test
    void memberThatIsNotAnArray() throws Exception {
        assertContains(failure(path("weights_with_readme.npz")), "member 'README.txt' is not a .npy array");
        byte[] zip = BadFiles.zip(members("w0.npy", npyBytes(DType.FLOAT32, 2), "sub/", new byte[0]), ZipEntry.STORED);
        assertContains(failure(file(zip)), "member 'sub/' is not a .npy array");
    }

    @Test
    void memberWithTheNpyNameButNotItsContent() throws Exception {
        byte[] zip = BadFiles.zip(members("w0.npy", "hello".getBytes()), ZipEntry.DEFLATED);
        assertContains(failure(file(zip)), ", key 'w0': not a .npy array");
    }

    @Test
    void objectAndIntegerMembers() throws Exception {
        assertContains(failure(path("weights_object.npz")), ", key 'b0': object (pickled) arrays are not supported");
        byte[] ints = Files.readAllBytes(path("int64.npy"));
        assertContains(failure(file(BadFiles.zip(members("w0.npy", ints), ZipEntry.DEFLATED))), ", key 'w0': dtype '<i8' (int64)");
    }

    @Test
    void memberHeaderClaimingMoreThanTheMemberHolds() throws Exception {
        byte[] lying = BadFiles.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }", new byte[16]);
        assertContains(failure(file(BadFiles.zip(members("w0.npy", lying), ZipEntry.STORED))),
                ", key 'w0': the zip entry declares 144 bytes, but its .npy header needs 528");
    }

    @Test
    void truncatedMember() throws Exception {
        // Entry and header agree on 528 bytes, but only 144 are stored.
        byte[] lying = BadFiles.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }", new byte[16]);
        byte[] zip = BadFiles.zip(members("w0.npy", lying), ZipEntry.DEFLATED);
        BadFiles.declareSize(zip, "w0.npy", 528);
        assertContains(failure(file(zip)), ", key 'w0': truncated", "ends at byte 144", "needs 528");
    }

    @Test
    void unsupportedCompressionMethod() throws Exception {
        byte[] zip = BadFiles.zip(members("w0.npy", npyBytes(DType.FLOAT32, 2)), ZipEntry.STORED);
        BadFiles.setMethod(zip, "w0.npy", 14);
        assertContains(failure(file(zip)), "not a valid zip archive", "bad compression method: 14");
    }

    /** 200 MB of zeros deflated to a few hundred KB: the archive's honest sizes alone exceed the bound. */
    @Test
    void zipBombIsRefusedBeforeInflating() throws Exception {
        Path p = zipBomb(200 * MB);
        long t0 = System.nanoTime();
        assertContains(failure(p, 64 * MB), ", key 'bomb': the archive declares " + (200 * MB + 128) + " bytes", "past the bound of " + 64 * MB);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "refused without inflating");
    }

    /** The same bomb with its central directory lying about the size: the header's claim is caught instead. */
    @Test
    void zipBombWithALyingDirectoryStopsAtTheHeader() throws Exception {
        Path p = zipBomb(200 * MB);
        byte[] zip = Files.readAllBytes(p);
        BadFiles.declareSize(zip, "bomb.npy", 144);
        assertContains(failure(file(zip), 64 * MB), ", key 'bomb': its header declares float32 (52428800,)", "past the " + 64 * MB + " bytes left");
    }

    /** A small honest header followed by 200 MB more zeros: inflation stops one byte past the declared size. */
    @Test
    void memberInflatingPastItsDeclaredSize() throws Exception {
        Path p = dir.resolve("tail.npz");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            z.putNextEntry(new ZipEntry("w0.npy"));
            z.write(BadFiles.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new byte[16]));
            writeZeros(z, 200 * MB);
            z.closeEntry();
        }
        byte[] zip = Files.readAllBytes(p);
        BadFiles.declareSize(zip, "w0.npy", 144);
        long t0 = System.nanoTime();
        assertContains(failure(file(zip), 64 * MB), ", key 'w0': inflates past the 144 bytes its entry and header declare");
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "stopped early");
    }

    @Test
    void manyMembersTogetherPastTheBound() throws Exception {
        byte[] m = npyBytes(DType.FLOAT32, 100_000); // 400 KB each
        byte[] zip = BadFiles.zip(members("a.npy", m, "b.npy", m, "c.npy", m), ZipEntry.DEFLATED);
        assertContains(failure(file(zip), MB), ", key 'c': the archive declares 1200384 bytes up to this member");
    }

    private Path zipBomb(long dataBytes) throws IOException {
        Path p = dir.resolve("bomb.npz");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            z.putNextEntry(new ZipEntry("bomb.npy"));
            z.write(BadFiles.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (" + dataBytes / 4 + ",), }", new byte[0]));
            writeZeros(z, dataBytes);
            z.closeEntry();
        }
        assertTrue(Files.size(p) < MB, "deflates to little");
        return p;
    }

    private static void writeZeros(OutputStream out, long n) throws IOException {
        byte[] zeros = new byte[1 << 20];
        for (long done = 0; done < n; done += zeros.length) out.write(zeros, 0, (int) Math.min(zeros.length, n - done));
    }
}
