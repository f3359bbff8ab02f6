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
}
