package org.gradspark.job;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/** Kryo form of a PartitionResult (a record, whose final fields Kryo's field serializer cannot set). */
final class PartitionResultSerializer extends Serializer<PartitionResult> {
    @Override public void write(Kryo kryo, Output out, PartitionResult r) {
        out.writeVarInt(r.index(), true);
        out.writeVarLong(r.rows(), true);
        out.writeVarLong(r.skippedRows(), true);
        out.writeVarInt(r.partials().length, true);
        for (double[] p : r.partials()) {
            out.writeVarInt(p.length, true);
            out.writeDoubles(p);
        }
        out.writeDouble(r.outputSum());
        out.writeDouble(r.objective());
        out.writeVarLong(r.nanos(), true);
        out.writeVarLong(r.cpuNanos(), true);
        out.writeString(r.executor());
        out.writeString(r.backend());
        out.writeVarLong(r.deviceBytesIn(), true);
        out.writeVarLong(r.deviceBytesOut(), true);
        out.writeString(r.failure());
    }

    @Override public PartitionResult read(Kryo kryo, Input in, Class<PartitionResult> type) {
        int index = in.readVarInt(true);
        long rows = in.readVarLong(true), skipped = in.readVarLong(true);
        double[][] partials = new double[in.readVarInt(true)][];
        for (int k = 0; k < partials.length; k++) partials[k] = in.readDoubles(in.readVarInt(true));
        double outputSum = in.readDouble(), objective = in.readDouble();
        long nanos = in.readVarLong(true), cpuNanos = in.readVarLong(true);
        String executor = in.readString(), backend = in.readString();
        long bytesIn = in.readVarLong(true), bytesOut = in.readVarLong(true);
        return new PartitionResult(index, rows, skipped, partials, outputSum, objective, nanos, cpuNanos, executor, backend, bytesIn, bytesOut, in.readString());
    }
}
