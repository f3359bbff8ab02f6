package org.gradspark.job.exec;

import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.nio.ByteBuffer;

/**
 * Float and double arrays in Kryo's own layout (big-endian, 4 or 8 bytes a value, no length: the same
 * bytes as {@link Output#writeFloats}/{@link Output#writeDoubles}), moved a block at a time instead of
 * a value at a time. Kryo 4 writes and reads each value through its own bounds check and byte shifts: on
 * a partition's float64 partial sums (1.3 M values for the benchmarks' large MLP, every evaluation, on
 * the executor and again on the driver) and the broadcast weights, that was milliseconds of the
 * evaluation's fixed cost. Values keep their exact bits, NaN payloads included ({@code raw} conversions).
 */
public final class PrimitiveArrays {
    /** Bytes moved per block: a buffer that stays in cache, allocated once per call. */
    private static final int BLOCK = 1 << 16;

    private PrimitiveArrays() {}

    public static void writeDoubles(Output out, double[] values) {
        byte[] block = new byte[Math.min(BLOCK, values.length * Double.BYTES)];
        ByteBuffer bytes = ByteBuffer.wrap(block);
        int per = block.length / Double.BYTES;
        for (int i = 0; i < values.length; i += per) {
            int n = Math.min(per, values.length - i);
            bytes.clear();
            bytes.asDoubleBuffer().put(values, i, n);
            out.writeBytes(block, 0, n * Double.BYTES);
        }
    }

    public static double[] readDoubles(Input in, int length) {
        double[] values = new double[length];
        byte[] block = new byte[Math.min(BLOCK, length * Double.BYTES)];
        ByteBuffer bytes = ByteBuffer.wrap(block);
        int per = block.length / Double.BYTES;
        for (int i = 0; i < length; i += per) {
            int n = Math.min(per, length - i);
            in.readBytes(block, 0, n * Double.BYTES);
            bytes.clear();
            bytes.asDoubleBuffer().get(values, i, n);
        }
        return values;
    }

    public static void writeFloats(Output out, float[] values) {
        byte[] block = new byte[Math.min(BLOCK, values.length * Float.BYTES)];
        ByteBuffer bytes = ByteBuffer.wrap(block);
        int per = block.length / Float.BYTES;
        for (int i = 0; i < values.length; i += per) {
            int n = Math.min(per, values.length - i);
            bytes.clear();
            bytes.asFloatBuffer().put(values, i, n);
            out.writeBytes(block, 0, n * Float.BYTES);
        }
    }

    public static float[] readFloats(Input in, int length) {
        float[] values = new float[length];
        byte[] block = new byte[Math.min(BLOCK, length * Float.BYTES)];
        ByteBuffer bytes = ByteBuffer.wrap(block);
        int per = block.length / Float.BYTES;
        for (int i = 0; i < length; i += per) {
            int n = Math.min(per, length - i);
            in.readBytes(block, 0, n * Float.BYTES);
            bytes.clear();
            bytes.asFloatBuffer().get(values, i, n);
        }
        return values;
    }
}
