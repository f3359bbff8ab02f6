package org.gradspark.job.exec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.gradspark.ad.Tensor;

/**
 * Kryo form of a {@link PartitionRows.Chunk} (a record): what {@code --repeat} keeps in memory, sent
 * when Spark moves a kept partition to another executor.
 */
final class ChunkSerializer extends Serializer<PartitionRows.Chunk> {
    @Override public void write(Kryo kryo, Output out, PartitionRows.Chunk c) {
        out.writeVarLong(c.first(), true);
        kryo.writeObject(out, c.x());
        kryo.writeObjectOrNull(out, c.s(), Tensor.class);
        kryo.writeObjectOrNull(out, c.y(), Tensor.class);
        out.writeBoolean(c.bad() != null);
        if (c.bad() != null) {
            out.writeVarInt(c.bad().length, true);
            for (boolean b : c.bad()) out.writeBoolean(b);
        }
    }

    @Override public PartitionRows.Chunk read(Kryo kryo, Input in, Class<PartitionRows.Chunk> type) {
        long first = in.readVarLong(true);
        Tensor x = kryo.readObject(in, Tensor.class), s = kryo.readObjectOrNull(in, Tensor.class), y = kryo.readObjectOrNull(in, Tensor.class);
        boolean[] bad = null;
        if (in.readBoolean()) {
            bad = new boolean[in.readVarInt(true)];
            for (int i = 0; i < bad.length; i++) bad[i] = in.readBoolean();
        }
        return new PartitionRows.Chunk(first, x, s, y, bad);
    }

    /** Kryo form of a partition's kept rows (its chunks, or the bad input that stopped reading them). */
    static final class RowsSerializer extends Serializer<PartitionRows.Rows> {
        @Override public void write(Kryo kryo, Output out, PartitionRows.Rows r) {
            out.writeString(r.failure());
            out.writeVarInt(r.chunks().size(), true);
            for (PartitionRows.Chunk c : r.chunks()) kryo.writeObject(out, c);
        }

        @Override public PartitionRows.Rows read(Kryo kryo, Input in, Class<PartitionRows.Rows> type) {
            String failure = in.readString();
            int n = in.readVarInt(true);
            java.util.List<PartitionRows.Chunk> chunks = new java.util.ArrayList<>(n);
            for (int i = 0; i < n; i++) chunks.add(kryo.readObject(in, PartitionRows.Chunk.class));
            return new PartitionRows.Rows(chunks, failure);
        }
    }

    /** Kryo form of a partition's count of used rows. */
    static final class KeptSerializer extends Serializer<PartitionRows.Kept> {
        @Override public void write(Kryo kryo, Output out, PartitionRows.Kept k) {
            out.writeVarInt(k.index(), true);
            out.writeVarLong(k.rows(), true);
            out.writeString(k.failure());
        }

        @Override public PartitionRows.Kept read(Kryo kryo, Input in, Class<PartitionRows.Kept> type) {
            return new PartitionRows.Kept(in.readVarInt(true), in.readVarLong(true), in.readString());
        }
    }
}
