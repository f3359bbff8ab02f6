package org.gradspark.job.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;

/**
 * NumPy's {@code .npz} archives: a zip of {@code KEY.npy} members, as {@code np.savez} (stored)
 * and {@code np.savez_compressed} (deflated) write them.
 *
 * <pre>{@code
 * Map<String, Tensor> w = Npz.read(Path.of("weights.npz"), 1L << 30);  // {w0=..., b0=..., ...}
 * Npz.write(Path.of("grads.npz"), grads);                            // deterministic bytes
 * }</pre>
 *
 * <p><b>Reading</b> trusts nothing the archive says about itself: the inflated bytes of all
 * members together are counted and capped (a zip bomb stops at the bound), a member's size is
 * checked against both its zip entry and its {@code .npy} header (a lying entry fails), and its
 * CRC is verified. Duplicate keys, members that are not {@code .npy}, compression methods other
 * than stored and deflated, and corrupt or
 * truncated archives are rejected; every message names
 * the file and, where there is one, the key.
 *
 * <p><b>Writing</b> is deterministic: members in the map's iteration order, every timestamp
 * 1980-02-01 00:00 whatever the time zone, no extra fields, and member bytes
 * equal to what {@link Npy#write} (and so {@code np.save}) writes. {@link Compression#STORED}
 * is the default, as in {@code np.savez}: its bytes do not depend on the zlib version.
 *
 * <p><b>Reading from any filesystem.</b> The archive is opened with Apache Commons Compress's
 * {@link ZipFile} over a {@link SeekableByteChannel} of positional reads ({@link Storage#openRead}),
 * the zip reader Spark itself ships, because {@code java.util.zip.ZipFile} needs a local
 * {@code File}: an {@code .npz} on HDFS or an object store is read in place, never copied.
 *
 * <p><b>Why not a library.</b> The NPZ code of {@code org.openlca:npy} 0.0.3 and
 * {@code org.jetbrains.bio:npy} 0.3.5 inflates whatever {@code java.util.zip.ZipFile} hands it, with no bound
 * and no size, CRC or duplicate check, and creates entries without setting their time, so they
 * carry the clock and two runs never give the same bytes.
 */
public final class Npz {
    /** What {@link #read(Path)} inflates at most, over all members together. */
    public static final long DEFAULT_MAX_INFLATED_BYTES = 1L << 30;

    private static final String SUFFIX = ".npy";
    // Not 1980-01-01 00:00 itself: ZipEntry stores that DOS minimum with an extra field in the
    // machine's time zone, so the bytes would vary with it. Gradle picks the same date for the same reason.
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(1980, 2, 1, 0, 0);

    /** How members are stored: as {@code np.savez} does, or deflated as {@code np.savez_compressed} does. */
    public enum Compression { STORED, DEFLATED }

    private Npz() {}

    /** The archive's arrays, inflating at most {@link #DEFAULT_MAX_INFLATED_BYTES}. */
    public static Map<String, Tensor> read(Path path) {
        return read(path, DEFAULT_MAX_INFLATED_BYTES);
    }

    /** {@link #read(Storage, String, long)} of a local file. */
    public static Map<String, Tensor> read(Path path, long maxInflatedBytes) {
        return read(Storage.local(), Storage.uri(path), maxInflatedBytes);
    }

    /**
     * The archive's arrays by key (member name without {@code .npy}), in archive order, from any
     * filesystem: the zip's central directory and members are read with positional reads, so the
     * archive is never copied or read whole.
     *
     * @param maxInflatedBytes a bound on the bytes inflated from all members together; an archive
     *        that needs more is rejected before or while inflating, never after
     * @return a new LinkedHashMap
     * @throws BadInputException naming the file and key, for any archive or member that is not a
     *         sound {@code .npz} of float32/float64 arrays within the bound
     */
    public static Map<String, Tensor> read(Storage storage, String uri, long maxInflatedBytes) {
        Origin origin = Origin.of(uri);
        SeekableByteChannel ch;
        try {
            ch = storage.openRead(uri);
        } catch (IOException e) {
            throw origin.readFailure(e);
        }
        ZipFile zip;
        try {
            zip = ZipFile.builder().setSeekableByteChannel(ch).setCharset(StandardCharsets.UTF_8).setUseUnicodeExtraFields(false).get();
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            throw origin.fail("not a valid zip archive, so not an .npz; truncated or corrupt? (" + e.getMessage() + ")" + npyHint(storage, uri), e);
        }
        try (zip) {
            List<ZipArchiveEntry> members = members(zip, origin, maxInflatedBytes);
            Map<String, Tensor> arrays = new LinkedHashMap<>();
            long inflated = 0;
            for (ZipArchiveEntry e : members) {
                String key = keyOf(e);
                Origin member = origin.member(key);
                try (CountingInput in = new CountingInput(zip.getInputStream(e), maxInflatedBytes - inflated, maxInflatedBytes, member)) {
                    arrays.put(key, readMember(in, e, member, maxInflatedBytes - inflated));
                    inflated += in.count();
                } catch (IOException ex) {
                    throw member.readFailure(ex);
                }
            }
            return arrays;
        } catch (IOException e) {
            throw origin.readFailure(e);
        }
    }

    /** Writes the arrays as {@code np.savez} would (stored members), deterministically. */
    public static void write(Path path, Map<String, Tensor> arrays) {
        write(path, arrays, Compression.STORED);
    }

    /**
     * Writes one {@code KEY.npy} member per entry, in the map's iteration order, replacing the
     * file. The same map gives the same bytes on every run.
     *
     * @throws IllegalArgumentException for an empty or null key or a null array
     * @throws UncheckedIOException naming the file if it cannot be written
     */
    public static void write(Path path, Map<String, Tensor> arrays, Compression compression) {
        write(Storage.local(), Storage.uri(path), arrays, compression);
    }

    /** {@link #write(Path, Map, Compression)} on any filesystem. */
    public static void write(Storage storage, String uri, Map<String, Tensor> arrays, Compression compression) {
        arrays.forEach((key, t) -> {
            if (key == null || key.isEmpty()) throw new IllegalArgumentException("an .npz key must be a non-empty string, not " + (key == null ? "null" : "''"));
            if (t == null) throw new IllegalArgumentException("the array for key '" + key + "' is null");
        });
        try (OutputStream file = new BufferedOutputStream(storage.create(uri), 1 << 16);
             ZipOutputStream zip = new ZipOutputStream(file, StandardCharsets.UTF_8)) {
            for (Map.Entry<String, Tensor> a : arrays.entrySet()) {
                Tensor t = a.getValue();
                byte[] header = NpyHeaderCodec.encode(t.dtype(), longs(t));
                ZipEntry e = new ZipEntry(a.getKey() + SUFFIX);
                e.setTimeLocal(ENTRY_TIME);
                if (compression == Compression.STORED) {
                    // A stored entry's size and CRC go in its local header, before the data.
                    CRC32 crc = new CRC32();
                    crc.update(header);
                    NpyData.encode(t, 0, t.size(), ByteOrder.LITTLE_ENDIAN, crc::update);
                    long size = header.length + (long) t.size() * t.dtype().bytes();
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(size);
                    e.setCompressedSize(size);
                    e.setCrc(crc.getValue());
                } else {
                    e.setMethod(ZipEntry.DEFLATED);
                }
                zip.putNextEntry(e);
                zip.write(header);
                NpyData.encode(t, 0, t.size(), ByteOrder.LITTLE_ENDIAN, slice -> zip.write(slice.array(), slice.position(), slice.remaining()));
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + Storage.display(uri) + ": " + Storage.reason(e), e);
        }
    }

    /** Checks every entry before inflating anything, so a bad archive fails fast and whole. */
    private static List<ZipArchiveEntry> members(ZipFile zip, Origin origin, long maxInflatedBytes) {
        List<ZipArchiveEntry> members = new ArrayList<>();
        Set<String> names = new HashSet<>();
        long declared = 0;
        for (ZipArchiveEntry e : Collections.list(zip.getEntriesInPhysicalOrder())) {
            String name = e.getName();
            if (e.isDirectory() || !name.endsWith(SUFFIX)) {
                throw origin.fail("member '" + name + "' is not a .npy array (an .npz holds only KEY.npy members)");
            }
            Origin member = origin.member(keyOf(e));
            if (!names.add(name)) throw member.fail("the key appears twice in the archive");
            // java.util.zip's ZipFile refused other methods when it opened the archive; keep that rule.
            if (e.getMethod() != ZipEntry.STORED && e.getMethod() != ZipEntry.DEFLATED) {
                throw origin.fail("not a valid zip archive for an .npz (bad compression method: " + e.getMethod()
                        + "; np.savez stores, np.savez_compressed deflates)");
            }
            if (e.getSize() >= 0) declared += e.getSize();
            if (e.getSize() > maxInflatedBytes || declared > maxInflatedBytes) {
                throw member.fail("the archive declares " + declared + " bytes up to this member, past the bound of "
                        + maxInflatedBytes + " inflated bytes");
            }
            members.add(e);
        }
        return members;
    }

    private static Tensor readMember(CountingInput in, ZipArchiveEntry e, Origin member, long budget) throws IOException {
        var ch = Channels.newChannel(in);
        Npy.Header h = NpyHeaderCodec.read(ch, member);
        long needed = h.dataOffset() + h.dataBytes();
        if (needed > budget) {
            throw member.fail("its header declares " + h.dtype().numpyName() + " " + NpyHeaderCodec.shapeRepr(h.shape()) + ", " + needed
                    + " bytes, past the " + budget + " bytes left of the bound on inflated bytes");
        }
        if (e.getSize() >= 0 && e.getSize() != needed) {
            throw member.fail("the zip entry declares " + e.getSize() + " bytes, but its .npy header needs " + needed);
        }
        Npy.checkFitsOneTensor(h, member);
        Tensor t = NpyData.readRows(ch, h, 0, h.rank() == 0 ? 1 : (int) h.rows(), member);
        if (in.read() >= 0) {
            throw member.fail("inflates past the " + needed + " bytes its entry and header declare");
        }
        if (in.crc() != e.getCrc()) {
            throw member.fail(String.format("corrupt: CRC-32 of the data is %08x, the archive says %08x", in.crc(), e.getCrc()));
        }
        return t;
    }

    private static String keyOf(ZipArchiveEntry e) {
        String name = e.getName();
        return name.endsWith(SUFFIX) ? name.substring(0, name.length() - SUFFIX.length()) : name;
    }

    private static String npyHint(Storage storage, String uri) {
        try (SeekableByteChannel ch = storage.openRead(uri)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(6);
            while (b.hasRemaining() && ch.read(b) > 0) { /* fill */ }
            byte[] start = b.array();
            return b.position() == 6 && (start[0] & 0xff) == 0x93 && new String(start, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY")
                    ? "; it is a .npy array" : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // the archive's own failure is the one to report
        }
    }

    private static long[] longs(Tensor t) {
        int[] d = t.shape().dims();
        long[] out = new long[d.length];
        for (int k = 0; k < d.length; k++) out[k] = d[k];
        return out;
    }

    /** Counts, checksums and caps what a member inflates to, whatever its entry claims. */
    private static final class CountingInput extends InputStream {
        private final InputStream in;
        private final long budget;
        private final long bound;
        private final Origin member;
        private final CRC32 crc = new CRC32();
        private long count;

        CountingInput(InputStream in, long budget, long bound, Origin member) {
            this.in = in;
            this.budget = budget;
            this.bound = bound;
            this.member = member;
        }

        long count() { return count; }

        long crc() { return crc.getValue(); }

        @Override public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            // Ask for at most one byte past the budget: enough to know it is exceeded, not more.
            int n = in.read(b, off, (int) Math.min(len, budget - count + 1));
            if (n > 0) {
                count += n;
                if (count > budget) throw member.fail("inflates past the bound of " + bound + " bytes for the whole archive");
                crc.update(b, off, n);
            }
            return n;
        }

        @Override public void close() throws IOException {
            in.close();
        }
    }
}
