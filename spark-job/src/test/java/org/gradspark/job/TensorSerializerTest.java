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
import org.gradspark.job.exec.PrimitiveArrays;
import org.gradspark.job.exec.TensorSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    /**
     * The block-wise arrays are Kryo's own bytes (so a build without them reads what one with them wrote, and
     * back), across block ends and through an Output that flushes to a stream mid-array, and every value comes
     * back with its exact bits, NaN payloads included.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 8191, 8192, 8193, 40_000})
    void arraysTravelInKryosLayoutBlockByBlock(int length) {
        java.util.Random random = new java.util.Random(length);
        double[] d = new double[length];
        float[] f = new float[length];
        for (int i = 0; i < length; i++) {
            d[i] = random.nextGaussian() * Math.pow(10, random.nextInt(20) - 10);
            f[i] = (float) d[i];
        }
        Output kryos = new Output(16, -1);
        kryos.writeDoubles(d);
        kryos.writeFloats(f);
        java.io.ByteArrayOutputStream stream = new java.io.ByteArrayOutputStream();
        Output ours = new Output(stream, 1000);
        PrimitiveArrays.writeDoubles(ours, d);
        PrimitiveArrays.writeFloats(ours, f);
        ours.flush();
        assertArrayEquals(kryos.toBytes(), stream.toByteArray());

        if (length > 0) {
            d[0] = Double.longBitsToDouble(0x7ff8_0000_dead_beefL);
            f[0] = Float.intBitsToFloat(0x7fc0_beef);
        }
        Output again = new Output(16, -1);
        PrimitiveArrays.writeDoubles(again, d);
        PrimitiveArrays.writeFloats(again, f);
        Input in = new Input(new java.io.ByteArrayInputStream(again.toBytes()), 777);
        double[] dBack = PrimitiveArrays.readDoubles(in, length);
        float[] fBack = PrimitiveArrays.readFloats(in, length);
        for (int i = 0; i < length; i++) {
            assertEquals(Double.doubleToRawLongBits(d[i]), Double.doubleToRawLongBits(dBack[i]), "double " + i);
            assertEquals(Float.floatToRawIntBits(f[i]), Float.floatToRawIntBits(fBack[i]), "float " + i);
        }
    }
}
