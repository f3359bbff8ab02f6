package org.gradspark.gpu.opencl.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.gradspark.ad.DType;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU-shaped GEMM of gemm.cl run on the OpenCL device here (PoCL: a CPU device, but real OpenCL):
 * against a host chain of fused multiply-adds in the kernel's order (equal, element for element) and a
 * float64 reference (within the error bound of a length-k dot product), for every MatMul shape of the
 * backend parity tests and edge shapes, every transpose, float32 and float64, several parameter sets.
 */
class GpuGemmTest {
    /** m, k, n: the shapes of BackendParityContract.matMulAllTransposesAndBatches, then edges (primes, k far above m and n). */
    static final int[][] SHAPES = {{1, 1, 1}, {7, 33, 1}, {33, 7, 1025}, {1023, 33, 7}, {65, 129, 63},
            {17, 31, 13}, {3, 4099, 5}, {1, 1000, 1}, {67, 64, 68}};
    /** Sets besides the default one: non-square tiles and work-groups, 4x1 and 3x4 accumulators, VW 1, 8 and 2. */
    static final List<GemmParameters> OTHER_SETS = List.of(
            new GemmParameters(16, 8, 8, 4, 8, 1),
            new GemmParameters(48, 32, 8, 16, 8, 8),
            new GemmParameters(32, 32, 16, 8, 8, 2));
    static final GemmParameters DEFAULT = GemmTuner.BASE.get(0);

    private static JoclDevice cl;
    private static GpuGemm gemm;
    @TempDir static Path cacheDir;

    @BeforeAll
    static void open() {
        cl = JoclDevice.openOrSkip();
        gemm = GpuGemm.create(cl.context, cl.device, cl.queue, new GpuGemm.TuningPolicy(cacheDir, DEFAULT, false));
    }

    @AfterAll
    static void close() {
        if (gemm != null) gemm.close();
        if (cl != null) cl.close();
    }

    @Test
    void everyParityShapeTransposeBatchAndDtypeWithTheDefaultSet() {
        for (DType dtype : DType.values()) {
            for (int[] s : SHAPES) {
                for (int batch : new int[] {1, 3}) {
                    for (int t = 0; t < 4; t++) check(DEFAULT, dtype, batch, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, 0);
                }
            }
        }
    }

    @Test
    void otherParameterSetsAndOffsetsOnAndOffTheVectorWidth() {
        int[][] shapes = {{1, 1, 1}, {17, 31, 13}, {65, 129, 63}, {3, 300, 5}, {64, 64, 64}};
        for (GemmParameters p : OTHER_SETS) {
            // float64 with the first of them only: each set and dtype is a compile, seconds each on PoCL
            for (DType dtype : p.equals(OTHER_SETS.get(0)) ? DType.values() : new DType[] {DType.FLOAT32}) {
                for (int[] s : shapes) {
                    for (int t = 0; t < 4; t++) {
                        // offset 0 and 8 keep the vector loads (where k, m or n allow them), 3 takes the scalar ones
                        int offset = t == 0 ? 3 : t == 1 ? 8 : 0;
                        check(p, dtype, t == 3 ? 3 : 1, s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, offset);
                    }
                }
            }
        }
    }

    @Test
    void nanAndInfinityPropagate() {
        int m = 20, k = 40, n = 70;
        double[] a = new double[m * k], b = new double[k * n];
        java.util.Arrays.fill(a, 0.25);
        java.util.Arrays.fill(b, 0.5);
        a[2 * k + 5] = Double.NaN;
        a[14 * k + 39] = Double.POSITIVE_INFINITY;
        b[3 * n + 65] = Double.NEGATIVE_INFINITY;
        double[] c = run(cl, gemm, DEFAULT, DType.FLOAT32, a, b, 1, m, n, k, false, false, 0);
        for (int j = 0; j < n; j++) assertTrue(Double.isNaN(c[2 * n + j]), "NaN row, column " + j);
        assertEquals(Double.POSITIVE_INFINITY, c[14 * n]);
        assertTrue(Double.isNaN(c[14 * n + 65]), "+Inf times -Inf");
        assertEquals(Double.NEGATIVE_INFINITY, c[19 * n + 65]);
        assertEquals(0.25 * 0.5 * k, c[19 * n + 69]);
    }

    @Test
    void badArgumentsAreErrorsThatNameWhatIsWrong() {
        cl_mem small = cl.upload(new double[10], DType.FLOAT32, 0);
        try {
            // 10 floats (40 bytes): A [2, 8] needs 64 bytes; with A [3, 1] and B [1, 4], C [3, 4] needs 48
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> gemm.enqueue(small, 0, small, 0, small, 0, 1, 2, 1, 8, false, false, DType.FLOAT32));
            assertEquals("GpuGemm: A of float32 [1, 2, 8] from element 0 needs 64 bytes; its buffer holds 40", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gemm.enqueue(small, 0, small, 0, small, 0, 1, 3, 4, 1, false, false, DType.FLOAT32));
            assertEquals("GpuGemm: C of float32 [1, 3, 4] from element 0 needs 48 bytes; its buffer holds 40", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> gemm.enqueue(small, 0, small, 0, small, 0, 0, 1, 1, 1, false, false, DType.FLOAT32));
            assertThrows(IllegalArgumentException.class, () -> gemm.enqueue(small, -1, small, 0, small, 0, 1, 1, 1, 1, false, false, DType.FLOAT32));
        } finally {
            JoclDevice.release(small);
        }
    }

    /** Runs op(A) op(B) on the device and compares it with the host chain (equal) and the float64 reference (error bound). */
    static void check(GemmParameters p, DType dtype, int batch, int m, int k, int n, boolean ta, boolean tb, int offset) {
        check(cl, gemm, p, dtype, batch, m, k, n, ta, tb, offset);
    }

    static void check(JoclDevice cl, GpuGemm gemm, GemmParameters p, DType dtype, int batch, int m, int k, int n, boolean ta, boolean tb, int offset) {
        Random random = new Random(31L * m + 7L * k + n + (ta ? 1 : 0) + (tb ? 2 : 0) + batch);
        double[] a = values(random, batch * m * k, dtype), b = values(random, batch * k * n, dtype);
        String what = dtype.numpyName() + " " + p + " batch " + batch + " m " + m + " k " + k + " n " + n + (ta ? " A^T" : "") + (tb ? " B^T" : "") + " offset " + offset;
        double[] c = run(cl, gemm, p, dtype, a, b, batch, m, n, k, ta, tb, offset);
        double u = dtype == DType.FLOAT32 ? 0x1p-24 : 0x1p-53;
        for (int bt = 0; bt < batch; bt++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double chain = 0, exact = 0, magnitude = 0;
                    for (int q = 0; q < k; q++) {
                        double x = a[bt * m * k + (ta ? q * m + i : i * k + q)], y = b[bt * k * n + (tb ? j * k + q : q * n + j)];
                        chain = dtype == DType.FLOAT32 ? Math.fma((float) x, (float) y, (float) chain) : Math.fma(x, y, chain);
                        exact += x * y;
                        magnitude += Math.abs(x * y);
                    }
                    double got = c[(bt * m + i) * n + j];
                    if (got != chain) fail(what + ": C[" + bt + "][" + i + "][" + j + "] = " + got + ", the host's fma chain gives " + chain);
                    if (Math.abs(got - exact) > 2 * (k + 1) * u * magnitude) fail(what + ": C[" + bt + "][" + i + "][" + j + "] = " + got + ", float64 reference " + exact);
                }
            }
        }
    }

    static double[] run(JoclDevice cl, GpuGemm gemm, GemmParameters p, DType dtype, double[] a, double[] b, int batch, int m, int n, int k, boolean ta, boolean tb, int offset) {
        cl_mem da = cl.upload(prefixed(a, offset), dtype, 5), db = cl.upload(prefixed(b, offset), dtype, 5);
        cl_mem dc = cl.upload(prefixed(new double[batch * m * n], offset), dtype, 5);
        try {
            gemm.enqueue(p, da, offset, db, offset, dc, offset, batch, m, n, k, ta, tb, dtype);
            double[] out = cl.download(dc, 0, offset + batch * m * n + 5, dtype);
            for (int i = 0; i < out.length; i++) {
                if (i == offset) i += batch * m * n;
                if (i < out.length) assertTrue(Double.isNaN(out[i]), "wrote outside C, at element " + i);
            }
            return java.util.Arrays.copyOfRange(out, offset, offset + batch * m * n);
        } finally {
            JoclDevice.release(da, db, dc);
        }
    }

    private static double[] prefixed(double[] values, int offset) {
        double[] out = new double[offset + values.length];
        java.util.Arrays.fill(out, 0, offset, Double.NaN);
        System.arraycopy(values, 0, out, offset, values.length);
        return out;
    }

    /** Uniform in [-1, 1), rounded to {@code dtype}. */
    private static double[] values(Random random, int count, DType dtype) {
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = dtype == DType.FLOAT32 ? (float) (random.nextDouble() * 2 - 1) : random.nextDouble() * 2 - 1;
        return v;
    }
}
