package org.gradspark.job.exec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/** A compact Kryo form of a Tensor: dtype, rank, dimensions, then the raw values. */
public final class TensorSerializer extends Serializer<Tensor> {
    @Override public void write(Kryo kryo, Output out, Tensor t) {
        out.writeByte(t.dtype().ordinal());
        out.writeVarInt(t.rank(), true);
        for (int d : t.shape().dims()) out.writeVarInt(d, true);
        if (t.dtype() == DType.FLOAT32) PrimitiveArrays.writeFloats(out, t.rawFloats());
        else PrimitiveArrays.writeDoubles(out, t.rawDoubles());
    }

    @Override public Tensor read(Kryo kryo, Input in, Class<Tensor> type) {
        DType dtype = DType.values()[in.readByte()];
        int[] dims = new int[in.readVarInt(true)];
        for (int i = 0; i < dims.length; i++) dims[i] = in.readVarInt(true);
        Shape s = Shape.of(dims);
        return dtype == DType.FLOAT32 ? Tensor.wrap(PrimitiveArrays.readFloats(in, s.size()), s) : Tensor.wrap(PrimitiveArrays.readDoubles(in, s.size()), s);
    }
}
