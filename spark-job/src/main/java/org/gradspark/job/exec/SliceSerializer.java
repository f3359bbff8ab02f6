package org.gradspark.job.exec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/** Kryo form of a reduce-scatter slice (a record: Kryo's field serializer cannot set its final fields). */
final class SliceSerializer extends Serializer<ShardedReduction.Slice> {
    @Override public void write(Kryo kryo, Output out, ShardedReduction.Slice s) {
        out.writeVarInt(s.partition(), true);
        out.writeVarInt(s.values().length, true);
        PrimitiveArrays.writeDoubles(out, s.values());
        kryo.writeObjectOrNull(out, s.meta(), PartitionResult.class);
    }

    @Override public ShardedReduction.Slice read(Kryo kryo, Input in, Class<ShardedReduction.Slice> type) {
        int partition = in.readVarInt(true);
        double[] values = PrimitiveArrays.readDoubles(in, in.readVarInt(true));
        return new ShardedReduction.Slice(partition, values, kryo.readObjectOrNull(in, PartitionResult.class));
    }

    /** Kryo form of a summed shard and the metadata it carries. */
    static final class ShardSumSerializer extends Serializer<ShardedReduction.ShardSum> {
        @Override public void write(Kryo kryo, Output out, ShardedReduction.ShardSum s) {
            out.writeVarInt(s.shard(), true);
            out.writeVarInt(s.values().length, true);
            PrimitiveArrays.writeDoubles(out, s.values());
            out.writeVarInt(s.metas().size(), true);
            for (PartitionResult m : s.metas()) kryo.writeObject(out, m);
        }

        @Override public ShardedReduction.ShardSum read(Kryo kryo, Input in, Class<ShardedReduction.ShardSum> type) {
            int shard = in.readVarInt(true);
            double[] values = PrimitiveArrays.readDoubles(in, in.readVarInt(true));
            int n = in.readVarInt(true);
            java.util.List<PartitionResult> metas = new java.util.ArrayList<>(n);
            for (int i = 0; i < n; i++) metas.add(kryo.readObject(in, PartitionResult.class));
            return new ShardedReduction.ShardSum(shard, values, metas);
        }
    }
}
