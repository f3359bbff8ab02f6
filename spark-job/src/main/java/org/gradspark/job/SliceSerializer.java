package org.gradspark.job;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/** Kryo form of a reduce-scatter slice (a record: Kryo's field serializer cannot set its final fields). */
final class SliceSerializer extends Serializer<ShardedReduction.Slice> {
    @Override public void write(Kryo kryo, Output out, ShardedReduction.Slice s) {
        out.writeVarInt(s.partition(), true);
        out.writeVarInt(s.values().length, true);
        out.writeDoubles(s.values());
    }

    @Override public ShardedReduction.Slice read(Kryo kryo, Input in, Class<ShardedReduction.Slice> type) {
        int partition = in.readVarInt(true);
        return new ShardedReduction.Slice(partition, in.readDoubles(in.readVarInt(true)));
    }
}
