package org.gradspark.job;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * An {@code .npz} with one deflated member, {@code head} followed by {@code zeros} zero bytes,
 * written in milliseconds whatever {@code zeros} is: a megabyte of zeros is deflated once, with a
 * full flush so that the deflater forgets it, and that block is repeated. Zeroes past 1 GiB make a
 * real bomb for the job's default inflation bound without deflating a gigabyte in the test.
 */
final class ZipBomb {
    private static final int BLOCK = 1 << 20;

    private ZipBomb() {}

    /**
     * @param declaredSize the uncompressed size the zip headers state, or -1 for the true one
     */
    static void write(Path file, String member, byte[] head, long zeros, long declaredSize) throws IOException {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        byte[] headBytes = deflate(d, head, Deflater.FULL_FLUSH);
        byte[] block = deflate(d, new byte[BLOCK], Deflater.FULL_FLUSH);
        if (!Arrays.equals(block, deflate(d, new byte[BLOCK], Deflater.FULL_FLUSH))) {
            throw new IllegalStateException("a full flush did not make the deflated zero blocks identical");
        }
        long blocks = zeros / BLOCK;
        byte[] rest = deflate(d, new byte[(int) (zeros % BLOCK)], Deflater.FULL_FLUSH);
        d.finish();
        byte[] end = deflate(d, new byte[0], Deflater.NO_FLUSH);
        d.end();

        CRC32 crc = new CRC32();
        crc.update(head);
        byte[] zeroBlock = new byte[BLOCK];
        for (long k = 0; k < blocks; k++) crc.update(zeroBlock);
        crc.update(new byte[(int) (zeros % BLOCK)]);
        long compressed = headBytes.length + blocks * block.length + rest.length + end.length;
        long size = declaredSize >= 0 ? declaredSize : head.length + zeros;
        if (compressed > 0xFFFF_FFFFL || size > 0xFFFF_FFFFL) throw new IllegalArgumentException("needs zip64, which this writer does not do");

        byte[] name = member.getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(header(0x04034b50, name, crc.getValue(), compressed, size, 0));
            out.write(headBytes);
            for (long k = 0; k < blocks; k++) out.write(block);
            out.write(rest);
            out.write(end);
            long directoryAt = 30 + name.length + compressed;
            byte[] directory = header(0x02014b50, name, crc.getValue(), compressed, size, 0);
            out.write(directory);
            ByteBuffer eocd = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
            eocd.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) 1).putShort((short) 1)
                    .putInt(directory.length).putInt((int) directoryAt).putShort((short) 0);
            out.write(eocd.array());
        }
    }

    /** A local file header (0x04034b50) or central directory header (0x02014b50) for a deflated member. */
    private static byte[] header(int signature, byte[] name, long crc, long compressed, long size, long localOffset) {
        boolean central = signature == 0x02014b50;
        ByteBuffer b = ByteBuffer.allocate((central ? 46 : 30) + name.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(signature);
        if (central) b.putShort((short) 20);           // version made by
        b.putShort((short) 20).putShort((short) 0).putShort((short) Deflater.DEFLATED)
                .putShort((short) 0).putShort((short) 0x0021)   // 00:00, 1980-01-01
                .putInt((int) crc).putInt((int) compressed).putInt((int) size)
                .putShort((short) name.length).putShort((short) 0);
        if (central) b.putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt((int) localOffset);
        return b.put(name).array();
    }

    private static byte[] deflate(Deflater d, byte[] input, int flush) {
        d.setInput(input);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (true) {
            int n = d.deflate(buf, 0, buf.length, flush);
            out.write(buf, 0, n);
            if (n < buf.length && (d.needsInput() || d.finished())) break;
        }
        return out.toByteArray();
    }
}
