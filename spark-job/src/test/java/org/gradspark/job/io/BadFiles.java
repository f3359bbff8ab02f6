package org.gradspark.job.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Byte-level builders and surgery for the malformed {@code .npy} and {@code .npz} files the tests feed the readers. */
final class BadFiles {
    private static final int LOC = 0x04034b50, CEN = 0x02014b50;

    private BadFiles() {}

    /** A {@code .npy} with the given header dict text (padded as NumPy pads it) and raw data bytes. */
    static byte[] npy(int major, String dict, byte[] data) {
        byte[] text = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int lengthBytes = major == 1 ? 2 : 4;
        int hlen = text.length + 1;
        int pad = 64 - (8 + lengthBytes + hlen) % 64;
        ByteBuffer b = ByteBuffer.allocate(8 + lengthBytes + hlen + pad + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) b.putShort((short) (hlen + pad));
        else b.putInt(hlen + pad);
        b.put(text);
        for (int k = 0; k < pad; k++) b.put((byte) ' ');
        b.put((byte) '\n').put(data);
        return b.array();
    }

    static byte[] npy(String dict, byte[] data) {
        return npy(1, dict, data);
    }

    /** A zip of the given members, in order, stored or deflated. */
    static byte[] zip(Map<String, byte[]> members, int method) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> m : members.entrySet()) {
                ZipEntry e = new ZipEntry(m.getKey());
                e.setMethod(method);
                if (method == ZipEntry.STORED) {
                    CRC32 crc = new CRC32();
                    crc.update(m.getValue());
                    e.setSize(m.getValue().length);
                    e.setCompressedSize(m.getValue().length);
                    e.setCrc(crc.getValue());
                }
                z.putNextEntry(e);
                z.write(m.getValue());
                z.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Sets the uncompressed size the central directory declares for a member. */
    static void declareSize(byte[] zip, String name, long size) {
        ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN).putInt(header(zip, CEN, name) + 24, (int) size);
    }

    /** Sets the compression method in both the local and the central header. */
    static void setMethod(byte[] zip, String name, int method) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(header(zip, LOC, name) + 8, (short) method);
        b.putShort(header(zip, CEN, name) + 10, (short) method);
    }

    /** Renames a member everywhere it is named; the new name must have the same length. */
    static void rename(byte[] zip, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.UTF_8), t = to.getBytes(StandardCharsets.UTF_8);
        if (f.length != t.length) throw new IllegalArgumentException("names of different lengths");
        for (int i = 0; i + f.length <= zip.length; i++) {
            if (java.util.Arrays.equals(zip, i, i + f.length, f, 0, f.length)) System.arraycopy(t, 0, zip, i, t.length);
        }
    }

    /** Offset of the first byte of a member's data, for a stored member. */
    static int dataOffset(byte[] zip, String name) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        int loc = header(zip, LOC, name);
        return loc + 30 + (b.getShort(loc + 26) & 0xffff) + (b.getShort(loc + 28) & 0xffff);
    }

    private static int header(byte[] zip, int signature, String name) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int nameAt = signature == LOC ? 30 : 46, lengthAt = signature == LOC ? 26 : 28;
        for (int i = 0; i + nameAt <= zip.length; i++) {
            if (b.getInt(i) == signature && (b.getShort(i + lengthAt) & 0xffff) == n.length
                    && java.util.Arrays.equals(zip, i + nameAt, i + nameAt + n.length, n, 0, n.length)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no header for " + name);
    }
}
