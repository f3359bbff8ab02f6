package org.gradspark.job.exec;

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
            PrimitiveArrays.writeDoubles(out, p);
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
        TaskDevice.Placement p = r.placement();
        out.writeBoolean(p != null);
        if (p == null) return;
        out.writeString(p.device());
        out.writeString(p.address());
        out.writeVarInt(p.gpus().size(), true);
        for (String g : p.gpus()) out.writeString(g);
        out.writeString(p.assignment());
        out.writeLong(p.startMillis());
    }

    @Override public PartitionResult read(Kryo kryo, Input in, Class<PartitionResult> type) {
        int index = in.readVarInt(true);
        long rows = in.readVarLong(true), skipped = in.readVarLong(true);
        double[][] partials = new double[in.readVarInt(true)][];
        for (int k = 0; k < partials.length; k++) partials[k] = PrimitiveArrays.readDoubles(in, in.readVarInt(true));
        double outputSum = in.readDouble(), objective = in.readDouble();
        long nanos = in.readVarLong(true), cpuNanos = in.readVarLong(true);
        String executor = in.readString(), backend = in.readString();
        long bytesIn = in.readVarLong(true), bytesOut = in.readVarLong(true);
        String failure = in.readString();
        return new PartitionResult(index, rows, skipped, partials, outputSum, objective, nanos, cpuNanos, executor, backend, bytesIn, bytesOut, failure,
                in.readBoolean() ? readPlacement(in) : null);
    }

    private static TaskDevice.Placement readPlacement(Input in) {
        String device = in.readString(), address = in.readString();
        String[] gpus = new String[in.readVarInt(true)];
        for (int i = 0; i < gpus.length; i++) gpus[i] = in.readString();
        return new TaskDevice.Placement(device, address, java.util.List.of(gpus), in.readString(), in.readLong());
    }
}
