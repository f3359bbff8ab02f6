package org.gradspark.gpu.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks the ulp bounds stated in {@link VectorMath32}'s javadoc against the double-precision
 * {@link Math} functions, over a strided sweep of all 2^32 float bit patterns, a dense sweep of
 * [-10, 10] (where the tensors of a network live), the special values, and for sin/cos the
 * large arguments that take the scalar path. The error of a result is |got - ref| / ulp(float ref)
 * with ref the double value, so a correctly rounded result scores at most 0.5. NaN must give NaN,
 * and infinities and signed zeros must match exactly.
 *
 * <p>The bounds were also checked exhaustively, over every float (every float with
 * |x| <= 2^15 for sin/cos, the vector path), by a throwaway harness; this test keeps a sample
 * of that which runs in seconds.
 */
class VectorMath32Test {

    /** Bounds stated in the javadoc of {@link VectorMath32}, in ulps of the exact value. */
    static final double SIN_ULP = 1.8, COS_ULP = 1.8, EXP_ULP = 1.0, TANH_ULP = 2.5, SIGMOID_ULP = 2.5,
            LOG_ULP = 2.9;

    interface Kernel {
        void apply(float[] x, float[] out, int from, int to);
    }

    private static ExecutorService pool;

    @BeforeAll
    static void startPool() {
        pool = Executors.newFixedThreadPool(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
    }

    @Test
    void sin() throws Exception {
        check("sin", VectorMath32::sin, Math::sin, SIN_ULP, true);
    }

    @Test
    void cos() throws Exception {
        check("cos", VectorMath32::cos, Math::cos, COS_ULP, true);
    }

    @Test
    void exp() throws Exception {
        check("exp", VectorMath32::exp, Math::exp, EXP_ULP, false);
    }

    @Test
    void tanh() throws Exception {
        check("tanh", VectorMath32::tanh, Math::tanh, TANH_ULP, false);
    }

    @Test
    void sigmoid() throws Exception {
        check("sigmoid", VectorMath32::sigmoid, d -> 1.0 / (1.0 + Math.exp(-d)), SIGMOID_ULP, false);
    }

    @Test
    void log() throws Exception {
        check("log", VectorMath32::log, Math::log, LOG_ULP, false);
    }

    @Test
    void specialValuesAreExact() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        expectExact(VectorMath32::sin, new float[] {nan, inf, -inf, 0f, -0f},
                new float[] {nan, nan, nan, 0f, -0f});
        expectExact(VectorMath32::cos, new float[] {nan, inf, -inf, 0f, -0f},
                new float[] {nan, nan, nan, 1f, 1f});
        expectExact(VectorMath32::exp, new float[] {nan, inf, -inf, 0f, -0f, 89f, -104f, 1000f, -1000f},
                new float[] {nan, inf, 0f, 1f, 1f, inf, 0f, inf, 0f});
        expectExact(VectorMath32::tanh, new float[] {nan, inf, -inf, 0f, -0f, 10f, -10f, Float.MIN_VALUE, -Float.MIN_VALUE},
                new float[] {nan, 1f, -1f, 0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE});
        expectExact(VectorMath32::sigmoid, new float[] {nan, inf, -inf, 0f, -0f, 200f, -200f},
                new float[] {nan, 1f, 0f, 0.5f, 0.5f, 1f, 0f});
        expectExact(VectorMath32::log, new float[] {nan, inf, -inf, 0f, -0f, -1f, -Float.MIN_VALUE, 1f},
                new float[] {nan, inf, nan, -inf, -inf, nan, nan, 0f});
    }

    @Test
    void inPlaceSubRangesAndTailsAgreeWithFullArray() {
        Kernel[] kernels = {VectorMath32::sin, VectorMath32::cos, VectorMath32::exp, VectorMath32::tanh,
                VectorMath32::sigmoid, VectorMath32::log};
        Random rnd = new Random(7);
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 5);
        }
        x[3] = 1e6f; // a large sin/cos argument, taking the scalar lane path
        for (Kernel k : kernels) {
            float[] full = new float[x.length];
            k.apply(x, full, 0, x.length);
            for (int from : new int[] {0, 1, 5, 17}) {
                for (int to : new int[] {from, from + 1, from + 15, from + 33, 999, 1000}) {
                    float[] inPlace = x.clone();
                    k.apply(inPlace, inPlace, from, to);
                    for (int i = 0; i < x.length; i++) {
                        String at = "from=" + from + " to=" + to + " i=" + i;
                        if (i < from || i >= to) {
                            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(inPlace[i]), at);
                        } else {
                            // an element may fall in the scalar tail in one call and in a vector in
                            // the other, so only the stated bounds relate the two results
                            assertTrue(ulps(inPlace[i], full[i]) <= 4, at + ": " + inPlace[i] + " vs " + full[i]);
                        }
                    }
                }
            }
        }
    }

    @Test
    void rangeIsChecked() {
        float[] a = new float[8];
        assertThrows(IndexOutOfBoundsException.class, () -> VectorMath32.sin(a, a, 0, 9));
        assertThrows(IndexOutOfBoundsException.class, () -> VectorMath32.exp(a, new float[4], 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> VectorMath32.log(a, a, 5, 4));
    }

    /**
     * A kernel within FreqInlineSize may be inlined into ForkJoinPool's worker loop, where C2 hits
     * its node-count cutoff inside the kernel's loop, leaves the Vector API calls unintrinsified
     * and runs them on the heap-allocating Java fallbacks: several times slower, in some JVMs only
     * (see {@link VectorMath32}). Compiled on its own, a kernel is intrinsified every time.
     */
    @Test
    void kernelsAreTooLargeToBeInlinedIntoTheirCaller() throws IOException {
        int freqInlineSize = Integer.parseInt(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption("FreqInlineSize").getValue());
        Map<String, Integer> sizes = bytecodeSizes(VectorMath32.class);
        for (String kernel : new String[] {"sin", "cos", "exp", "tanh", "sigmoid", "log"}) {
            Integer size = sizes.get(kernel + "([F[FII)[F");
            assertNotNull(size, "no method VectorMath32." + kernel + "(float[], float[], int, int)");
            assertTrue(size > freqInlineSize, "VectorMath32." + kernel + " has " + size
                    + " bytes of bytecode, within FreqInlineSize = " + freqInlineSize + ": C2 may inline it"
                    + " into ForkJoinPool's worker loop, give up partway through it (node-count cutoff) and"
                    + " run the Vector API without its intrinsics, several times slower");
        }
    }

    // -------------------------------------------------------------------------------------------

    /**
     * Code length of each method of {@code c}, by name and descriptor, read from its class file
     * (JVMS 4): the constant pool for the names, then each method's Code attribute.
     */
    static Map<String, Integer> bytecodeSizes(Class<?> c) throws IOException {
        try (InputStream raw = c.getResourceAsStream(c.getSimpleName() + ".class");
                DataInputStream in = new DataInputStream(raw)) {
            in.readInt(); // magic
            in.readInt(); // minor, major version
            int poolCount = in.readUnsignedShort();
            String[] utf8 = new String[poolCount];
            for (int k = 1; k < poolCount; k++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> utf8[k] = in.readUTF();
                    case 7, 8, 16, 19, 20 -> in.skipNBytes(2);
                    case 15 -> in.skipNBytes(3);
                    case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                    case 5, 6 -> { in.skipNBytes(8); k++; } // takes two pool entries
                    default -> throw new IOException("constant pool tag " + tag);
                }
            }
            in.skipNBytes(6); // access flags, this class, super class
            in.skipNBytes(2L * in.readUnsignedShort()); // interfaces
            int fields = in.readUnsignedShort();
            for (int f = 0; f < fields; f++) {
                in.skipNBytes(6);
                skipAttributes(in);
            }
            Map<String, Integer> sizes = new HashMap<>();
            int methods = in.readUnsignedShort();
            for (int m = 0; m < methods; m++) {
                in.skipNBytes(2);
                String name = utf8[in.readUnsignedShort()] + utf8[in.readUnsignedShort()];
                int attributes = in.readUnsignedShort();
                for (int a = 0; a < attributes; a++) {
                    String attribute = utf8[in.readUnsignedShort()];
                    int length = in.readInt();
                    if (attribute.equals("Code")) {
                        in.skipNBytes(4); // max stack, max locals
                        sizes.put(name, in.readInt());
                        in.skipNBytes(length - 8);
                    } else {
                        in.skipNBytes(length);
                    }
                }
            }
            return sizes;
        }
    }

    private static void skipAttributes(DataInputStream in) throws IOException {
        int attributes = in.readUnsignedShort();
        for (int a = 0; a < attributes; a++) {
            in.skipNBytes(2);
            in.skipNBytes(in.readInt());
        }
    }

    private void check(String name, Kernel k, DoubleUnaryOperator ref, double bound, boolean trig)
            throws Exception {
        List<Future<Worst>> parts = new ArrayList<>();
        // every 1031st bit pattern over all 2^32, in slices (1031 is odd, so every exponent,
        // both signs and both low-bit parities are covered)
        long step = 1031, n = (1L << 32) / step + 1;
        int slices = 8;
        for (int s = 0; s < slices; s++) {
            long a = n * s / slices, b = n * (s + 1) / slices;
            parts.add(pool.submit(() -> sweepBits(k, ref, a * step, b * step, step)));
        }
        // [-10, 10]: every 97th float pattern of each sign, then an even grid
        int ten = Float.floatToRawIntBits(10f);
        parts.add(pool.submit(() -> sweepBits(k, ref, 0, ten + 1, 97)));
        parts.add(pool.submit(() -> sweepBits(k, ref, 0x80000000L, 0x80000000L + ten + 1, 97)));
        parts.add(pool.submit(() -> {
            float[] x = new float[2_000_001];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (-10 + 20.0 * i / (x.length - 1));
            }
            return sweep(k, ref, x);
        }));
        parts.add(pool.submit(() -> sweep(k, ref, specials())));
        if (trig) {
            parts.add(pool.submit(() -> sweep(k, ref, largeArguments())));
        }
        Worst worst = new Worst();
        for (Future<Worst> f : parts) {
            worst.merge(f.get());
        }
        assertTrue(worst.err <= bound, name + ": max error " + worst.err + " ulp at x = " + worst.x
                + " (" + Integer.toHexString(Float.floatToRawIntBits(worst.x)) + "), bound " + bound);
    }

    /** Bit patterns lo, lo + step, ... below hi (as unsigned 32-bit values). */
    private static Worst sweepBits(Kernel k, DoubleUnaryOperator ref, long lo, long hi, long step) {
        Worst w = new Worst();
        float[] x = new float[4096];
        int m = 0;
        for (long b = lo; b < hi; b += step) {
            x[m++] = Float.intBitsToFloat((int) b);
            if (m == x.length) {
                w.merge(sweep(k, ref, x));
                m = 0;
            }
        }
        w.merge(sweep(k, ref, java.util.Arrays.copyOf(x, m)));
        return w;
    }

    private static Worst sweep(Kernel k, DoubleUnaryOperator ref, float[] x) {
        float[] out = new float[x.length];
        k.apply(x, out, 0, x.length);
        Worst w = new Worst();
        for (int i = 0; i < x.length; i++) {
            double e = error(out[i], ref.applyAsDouble(x[i]));
            if (e > w.err || Double.isNaN(e)) {
                w.err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
                w.x = x[i];
            }
        }
        return w;
    }

    /** Error of got against the double reference, in ulps of the float nearest the reference. */
    static double error(float got, double ref) {
        float rf = (float) ref;
        if (Double.isNaN(ref) || Float.isNaN(got)) {
            return Double.isNaN(ref) && Float.isNaN(got) ? 0 : Double.POSITIVE_INFINITY;
        }
        if (Float.isInfinite(rf) || Float.isInfinite(got)) {
            return got == rf ? 0 : Double.POSITIVE_INFINITY;
        }
        if (got == 0 && rf == 0 && Float.floatToRawIntBits(got) != Float.floatToRawIntBits(rf)) {
            return Double.POSITIVE_INFINITY;
        }
        return Math.abs(got - ref) / Math.ulp(rf);
    }

    private static double ulps(float a, float b) {
        return error(a, b);
    }

    private static float[] specials() {
        List<Float> v = new ArrayList<>();
        float[] base = {Float.NaN, Float.POSITIVE_INFINITY, 0f, Float.MIN_VALUE, Float.MIN_NORMAL,
                Float.MAX_VALUE, 1f, 0.5f, 2f, (float) Math.PI, (float) (Math.PI / 2), (float) Math.E,
                88.72283f, 88.72284f, 89f, 103.97f, 103.98f, 104f, 9.01f, 9.02f, 9.5f, 0x1p15f,
                Math.nextUp(0x1p15f), 0x1p22f, 0x1p-126f, 0x1p-149f, 1e-20f, 1e-7f};
        for (float f : base) {
            v.add(f);
            v.add(-f);
            v.add(Math.nextUp(f));
            v.add(Math.nextDown(f));
            v.add(-Math.nextUp(f));
            v.add(-Math.nextDown(f));
        }
        v.add(Float.intBitsToFloat(0x7fc00001)); // other NaN payloads
        v.add(Float.intBitsToFloat(0xffc00000));
        v.add(Float.intBitsToFloat(0x7f800001));
        float[] r = new float[v.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = v.get(i);
        }
        return r;
    }

    /** 1e4 .. 1e38 on a log grid plus random draws, and all floats just around 2^15. */
    private static float[] largeArguments() {
        Random rnd = new Random(42);
        float[] x = new float[400_000];
        int m = 0;
        for (int i = 0; i < 100_000; i++) {
            x[m++] = (float) Math.pow(10, 4 + 34.0 * i / 99_999);
        }
        for (int i = 0; i < 100_000; i++) {
            x[m++] = (float) Math.pow(10, 4 + 34 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
        }
        int limit = Float.floatToRawIntBits(0x1p15f);
        for (int i = -100_000; i < 100_000; i++) {
            x[m++] = Float.intBitsToFloat(limit + i);
        }
        return x;
    }

    private static void expectExact(Kernel k, float[] in, float[] want) {
        // pad to several vectors so the values go through the vector path, not the scalar tail
        int reps = 64;
        float[] x = new float[in.length * reps];
        for (int i = 0; i < x.length; i++) {
            x[i] = in[i % in.length];
        }
        float[] y = new float[x.length];
        k.apply(x, y, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            float w = want[i % in.length];
            if (Float.isNaN(w)) {
                assertTrue(Float.isNaN(y[i]), "f(" + x[i] + ") = " + y[i] + ", want NaN");
            } else {
                assertEquals(Float.floatToRawIntBits(w), Float.floatToRawIntBits(y[i]),
                        "f(" + x[i] + ") = " + y[i] + ", want " + w);
            }
        }
    }

    private static final class Worst {
        double err;
        float x = Float.NaN;

        void merge(Worst o) {
            if (o.err > err) {
                err = o.err;
                x = o.x;
            }
        }
    }
}
