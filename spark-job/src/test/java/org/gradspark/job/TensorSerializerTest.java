package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.DeviceData;
import org.gradspark.ad.backend.ReferenceBackend;
import org.junit.jupiter.api.Test;

/** Kryo's form of a tensor whose values are on a device: the host values, read back once, and a host tensor on the other side. */
class TensorSerializerTest {

    /** float64 device data held in a Java array. */
    private record ArrayData(double[] values) implements DeviceData {
        @Override public DType dtype() { return DType.FLOAT64; }
        @Override public int size() { return values.length; }
        @Override public Backend owner() { return ReferenceBackend.INSTANCE; }
        @Override public void readInto(float[] dst) { throw new AssertionError("float64 data"); }
        @Override public void readInto(double[] dst) { System.arraycopy(values, 0, dst, 0, values.length); }
    }

    @Test
    void aDeviceTensorTravelsAsItsHostValues() {
        Kryo kryo = new Kryo();
        kryo.register(Tensor.class, new TensorSerializer());
        Tensor onDevice = Tensor.onDevice(new ArrayData(new double[] {1.5, -2, 3.25, 4, 5, 6}), Shape.of(2, 3));
        Output out = new Output(256);
        kryo.writeObject(out, onDevice);
        Tensor back = kryo.readObject(new Input(out.toBytes()), Tensor.class);
        assertEquals(Shape.of(2, 3), back.shape());
        assertNull(back.deviceData());
        assertArrayEquals(new double[] {1.5, -2, 3.25, 4, 5, 6}, back.rawDoubles());
    }
}
