package org.gradspark.job.exec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;

/**
 * One partition's SHA-256 digests of its rows, per source: the input rows, the sensitivities, the
 * labels (null when the job has none), each over the values in row order as the task reads them (in
 * the job's dtype, IEEE bits little-endian), so .npy, Parquet/CSV parts, synthetic rows and files on
 * any filesystem are digested alike, and chunking does not change it. {@link #combine} makes the job's
 * digest of a source: SHA-256 over the partitions' digests in partition order (the same rows give the
 * same digest for the same --partitions). What fit records in a checkpoint, so that a resumed run over
 * other rows of the same count is refused.
 *
 * @param failure the bad input that stopped reading the partition, or null
 */
public record RowsDigest(int index, String input, String sens, String labels, String failure) implements Serializable {

    /** The sources' names in a job's digest: {@code input}, {@code sens}, {@code labels}. */
    public static final List<String> SOURCES = List.of("input", "sens", "labels");

    /** Partition {@code index}'s digests over its chunks (read now, or kept in memory). */
    static RowsDigest of(int index, Iterator<PartitionRows.Chunk> chunks) {
        try {
            MessageDigest x = sha256(), s = null, y = null;
            while (chunks.hasNext()) {
                PartitionRows.Chunk c = chunks.next();
                update(x, c.x());
                if (c.s() != null) update(s = s == null ? sha256() : s, c.s());
                if (c.y() != null) update(y = y == null ? sha256() : y, c.y());
            }
            return new RowsDigest(index, hex(x), s == null ? null : hex(s), y == null ? null : hex(y), null);
        } catch (BadInputException e) {
            return new RowsDigest(index, null, null, null, e.getMessage());
        }
    }

    static RowsDigest failed(int index, String failure) {
        return new RowsDigest(index, null, null, null, failure);
    }

    /**
     * The job's digest by source (those the partitions have), from every partition's.
     *
     * @throws BadInputException the first partition's bad input, in partition order
     */
    public static Map<String, String> combine(List<RowsDigest> partitions) {
        List<RowsDigest> ordered = new ArrayList<>(partitions);
        ordered.sort(Comparator.comparingInt(RowsDigest::index));
        for (RowsDigest d : ordered) if (d.failure() != null) throw new BadInputException(d.failure());
        Map<String, String> out = new LinkedHashMap<>();
        for (String source : SOURCES) {
            MessageDigest all = sha256();
            boolean present = false;
            for (RowsDigest d : ordered) {
                String part = d.of(source);
                if (part == null) continue;
                present = true;
                all.update(HexFormat.of().parseHex(part));
            }
            if (present) out.put(source, hex(all));
        }
        return out;
    }

    private String of(String source) {
        return switch (source) {
            case "input" -> input;
            case "sens" -> sens;
            case "labels" -> labels;
            default -> throw new IllegalArgumentException(source);
        };
    }

    private static void update(MessageDigest md, Tensor t) {
        int n = t.size();
        ByteBuffer b = ByteBuffer.allocate(n * t.dtype().bytes()).order(ByteOrder.LITTLE_ENDIAN);
        if (t.dtype() == DType.FLOAT32) b.asFloatBuffer().put(t.rawFloats(), 0, n);
        else b.asDoubleBuffer().put(t.rawDoubles(), 0, n);
        md.update(b.array());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256 (every Java platform must)", e);
        }
    }

    private static String hex(MessageDigest md) {
        return HexFormat.of().formatHex(md.digest());
    }

    /** Kryo form (a task's result). */
    static final class KryoSerializer extends Serializer<RowsDigest> {
        @Override public void write(Kryo kryo, Output out, RowsDigest d) {
            out.writeVarInt(d.index(), true);
            out.writeString(d.input());
            out.writeString(d.sens());
            out.writeString(d.labels());
            out.writeString(d.failure());
        }

        @Override public RowsDigest read(Kryo kryo, Input in, Class<RowsDigest> type) {
            return new RowsDigest(in.readVarInt(true), in.readString(), in.readString(), in.readString(), in.readString());
        }
    }
}
