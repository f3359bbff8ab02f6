package org.gradspark.job;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.gradspark.ad.Tensor;

/**
 * Kryo form of a {@link PartitionTask.Chunk} (a record): what {@code --repeat} keeps in memory, sent
 * when Spark moves a kept partition to another executor.
 */
final class ChunkSerializer extends Serializer<PartitionTask.Chunk> {
    @Override public void write(Kryo kryo, Output out, PartitionTask.Chunk c) {
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

    @Override public PartitionTask.Chunk read(Kryo kryo, Input in, Class<PartitionTask.Chunk> type) {
        long first = in.readVarLong(true);
        Tensor x = kryo.readObject(in, Tensor.class), s = kryo.readObjectOrNull(in, Tensor.class), y = kryo.readObjectOrNull(in, Tensor.class);
        boolean[] bad = null;
        if (in.readBoolean()) {
            bad = new boolean[in.readVarInt(true)];
            for (int i = 0; i < bad.length; i++) bad[i] = in.readBoolean();
        }
        return new PartitionTask.Chunk(first, x, s, y, bad);
    }

    /** Kryo form of a partition's kept rows (its chunks, or the bad input that stopped reading them). */
    static final class RowsSerializer extends Serializer<PartitionTask.Rows> {
        @Override public void write(Kryo kryo, Output out, PartitionTask.Rows r) {
            out.writeString(r.failure());
            out.writeVarInt(r.chunks().size(), true);
            for (PartitionTask.Chunk c : r.chunks()) kryo.writeObject(out, c);
        }

        @Override public PartitionTask.Rows read(Kryo kryo, Input in, Class<PartitionTask.Rows> type) {
            String failure = in.readString();
            int n = in.readVarInt(true);
            java.util.List<PartitionTask.Chunk> chunks = new java.util.ArrayList<>(n);
            for (int i = 0; i < n; i++) chunks.add(kryo.readObject(in, PartitionTask.Chunk.class));
            return new PartitionTask.Rows(chunks, failure);
        }
    }

    /** Kryo form of a partition's count of used rows. */
    static final class KeptSerializer extends Serializer<PartitionTask.Kept> {
        @Override public void write(Kryo kryo, Output out, PartitionTask.Kept k) {
            out.writeVarInt(k.index(), true);
            out.writeVarLong(k.rows(), true);
            out.writeString(k.failure());
        }

        @Override public PartitionTask.Kept read(Kryo kryo, Input in, Class<PartitionTask.Kept> type) {
            return new PartitionTask.Kept(in.readVarInt(true), in.readVarLong(true), in.readString());
        }
    }
}
