package org.gradspark.ad.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.gradspark.ad.DType;
import org.gradspark.ad.Fn;
import org.gradspark.ad.Functional;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.Test;

/** The residency contract: a tensor on a device is read back once, on its first host read, and shared, never copied, by views. */
class DeviceDataTest {

    /** Device data held in a Java array, counting its read backs. */
    static final class CountingData implements DeviceData {
        final float[] values;
        int reads;

        CountingData(float... values) { this.values = values; }

        @Override public DType dtype() { return DType.FLOAT32; }
        @Override public int size() { return values.length; }
        @Override public Backend owner() { return ReferenceBackend.INSTANCE; }
        @Override public void readInto(float[] dst) { reads++; System.arraycopy(values, 0, dst, 0, values.length); }
        @Override public void readInto(double[] dst) { throw new AssertionError("float32 data"); }
    }

    @Test
    void aDeviceTensorIsReadBackOnceOnItsFirstHostRead() {
        CountingData data = new CountingData(1, 2, 3, 4);
        Tensor t = Tensor.onDevice(data, Shape.of(2, 2));
        assertFalse(t.onHost());
        assertEquals(0, data.reads, "making the tensor reads nothing");
        assertEquals(3.0, t.get(1, 0));
        assertEquals("[[1. 2.]\n [3. 4.]]", t.toString());
        assertArrayEquals(new float[] {1, 2, 3, 4}, t.rawFloats());
        assertEquals(1, data.reads);
        assertTrue(t.onHost());
    }

    @Test
    void reshapeAndParametersShareTheDeviceDataWithoutReadingIt() {
        CountingData data = new CountingData(1, 2, 3, 4, 5, 6);
        Tensor t = Tensor.onDevice(data, Shape.of(2, 3));
        Tensor r = Ops.reshape(t, 3, 2);
        Parameter p = new Parameter(t, "w");
        assertSame(data, r.deviceData());
        assertSame(data, p.deviceData());
        assertSame(data, p.value().deviceData());
        assertEquals(0, data.reads);
    }

    @Test
    void aGradientOfADeviceTensorMatchesTheHostOne() {
        Tensor host = Tensor.of(new float[] {0.5f, -1.5f, 2f});
        Tensor dev = Tensor.onDevice(new CountingData(0.5f, -1.5f, 2f), Shape.of(3));
        Fn f = x -> Ops.sum(Ops.mul(Ops.sin(x[0]), x[0]));
        Tensor expected = Functional.grad(f).apply(host).asTensor();
        Tensor actual = Functional.grad(f).apply(dev).asTensor();
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray());
    }

    @Test
    void serializationWritesTheHostValues() throws Exception {
        Tensor t = Tensor.onDevice(new CountingData(7, 8), Shape.of(2));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(t);
        }
        Tensor back;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (Tensor) in.readObject();
        }
        assertArrayEquals(new float[] {7, 8}, back.rawFloats());
        assertTrue(back.deviceData() == null);
    }
}
