package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.aparapi.device.OpenCLDevice;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.ad.backend.ReferenceBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL C float32 MatMul (matmul_f32.cl) called directly, so at every size whatever the backend's
 * threshold: sizes no 12x32 tile divides, k past its k-chunks, every transpose, batches, NaN and
 * infinities; and the backend's choice between it and the Aparapi kernel.
 */
class MatMulF32ProgramTest {
    private static final ReferenceBackend REF = ReferenceBackend.INSTANCE;
    private static OpenCLDevice device;
    private static MatMulF32Program program;
    private static long seed = 9000;

    @BeforeAll
    static void build() {
        OpenCLAvailability.requireDeviceOrSkip();
        device = OpenCLDevices.choose();
        program = MatMulF32Program.build(device);
    }

    @AfterAll
    static void release() {
        if (program != null) program.close();
    }

    private static Tensor multiply(Tensor a, Tensor b, boolean transA, boolean transB) {
        MatMulDims d = MatMulDims.of(a, b, transA, transB);
        return Tensor.wrap(program.multiply(a.rawFloats(), b.rawFloats(), d, transA, transB), d.outShape());
    }

    private static Tensor widened(Tensor t) {
        return Tensor.wrap(t.toDoubleArray(), t.shape());
    }

    private static double frobenius(Tensor reference, Tensor actual) {
        assertEquals(reference.shape(), actual.shape());
        double num = 0, den = 0;
        for (int i = 0; i < reference.size(); i++) {
            double d = actual.getDouble(i) - reference.getDouble(i);
            num += d * d;
            den += reference.getDouble(i) * reference.getDouble(i);
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
    }

    @Test
    void everyTransposeAndBatchAtSizesNoTileDivides() {
        // m, k, n: 1, 7, 33, 1023, 1025 on every side; k past two k-chunks; a vector on either side.
        int[][] mkn = {{1, 1, 1}, {7, 33, 1}, {1, 1025, 7}, {33, 7, 1025}, {1023, 33, 7}, {13, 1023, 33}, {25, 1100, 65}, {1025, 300, 1023}};
        for (int[] d : mkn) {
            for (int batch : new int[] {0, 3}) {
                if (batch > 0 && d[0] * d[2] > 100_000) continue;
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    Tensor a = operand(batch, ta ? d[1] : d[0], ta ? d[0] : d[1]);
                    Tensor b = operand(batch, tb ? d[2] : d[1], tb ? d[1] : d[2]);
                    double rel = frobenius(REF.matMul(widened(a), widened(b), ta, tb), multiply(a, b, ta, tb));
                    assertTrue(rel <= 1e-5, "batch " + batch + " " + a.shape() + (ta ? "^T" : "") + " @ " + b.shape() + (tb ? "^T" : "") + ": " + rel);
                }
            }
        }
    }

    @Test
    void square1025() {
        Tensor a = operand(0, 1025, 1025), b = operand(0, 1025, 1025);
        assertTrue(frobenius(REF.matMul(widened(a), widened(b), false, false), multiply(a, b, false, false)) <= 1e-5);
    }

    /** One array as both operands: two read-only buffers over the same memory. */
    @Test
    void aMatrixTimesItself() {
        Tensor x = operand(0, 200, 200);
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            assertTrue(frobenius(REF.matMul(widened(x), widened(x), ta, tb), multiply(x, x, ta, tb)) <= 1e-5, "x" + (ta ? "^T" : "") + " x" + (tb ? "^T" : ""));
        }
    }

    private static Tensor operand(int batch, int rows, int cols) {
        return batch == 0 ? Tensor.uniform(seed++, -1, 1, DType.FLOAT32, rows, cols) : Tensor.uniform(seed++, -1, 1, DType.FLOAT32, batch, rows, cols);
    }

    @Test
    void nanAndInfinityPropagateInEveryTranspose() {
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            // Three row panels, two column panels, three k-chunks: op(A)[2, 5] = NaN,
            // op(A)[14, k - 100] = +Inf (second row panel, last k-chunk), op(B)[3, 35] = -Inf (second column panel).
            int m = 30, k = 2 * MatMulF32Program.KC + 300, n = 40;
            Tensor a = Tensor.fromFunction(DType.FLOAT32, ta ? Shape.of(k, m) : Shape.of(m, k), i -> {
                int row = ta ? i % m : i / k, p = ta ? i / m : i % k;
                return row == 2 && p == 5 ? Double.NaN : row == 14 && p == k - 100 ? Double.POSITIVE_INFINITY : 0.25;
            });
            Tensor b = Tensor.fromFunction(DType.FLOAT32, tb ? Shape.of(n, k) : Shape.of(k, n), i -> {
                int p = tb ? i % k : i / n, col = tb ? i / k : i % n;
                return p == 3 && col == 35 ? Double.NEGATIVE_INFINITY : 0.5;
            });
            Tensor c = multiply(a, b, ta, tb);
            String what = (ta ? "A^T" : "A") + (tb ? " B^T" : " B");
            for (int j = 0; j < n; j++) assertTrue(Double.isNaN(c.get(2, j)), what + ": NaN row, column " + j);
            assertEquals(Double.POSITIVE_INFINITY, c.get(14, 0), what + ": +Inf row");
            assertTrue(Double.isNaN(c.get(14, 35)), what + ": +Inf times -Inf is NaN");
            for (int i : new int[] {0, 13, 29}) assertEquals(Double.NEGATIVE_INFINITY, c.get(i, 35), what + ": -Inf column, row " + i);
            assertEquals(0.25 * 0.5 * k, c.get(0, 0), 1e-9, what + ": finite entries");
            assertFalse(Double.isNaN(c.get(29, 39)) || Double.isNaN(c.get(15, 34)), what + ": no NaN leaks into clean entries");
        }
    }

    @Test
    void theBackendSendsLargeFloat32ProductsHereOnACpuDeviceAndCopiesNothing() {
        Assumptions.assumeTrue(MatMulF32Program.suits(device), "the OpenCL C MatMul is for CPU devices; this one is a " + device.getType());
        OpenCLBackend backend = new OpenCLBackend(64L << 20);
        try {
            int side = 160;  // 2 side^3 = MatMulF32Program.MIN_FLOPS
            Tensor a = operand(0, side, side), b = operand(0, side, side);
            long uploaded = backend.deviceArrays().uploadedBytes();
            Tensor c = backend.matMul(a, b, false, true);
            assertEquals(1, backend.openCLCProducts(), "2 x 160^3 flops runs as OpenCL C");
            assertEquals(uploaded, backend.deviceArrays().uploadedBytes(), "nothing was put to the device: it uses the arrays in place");
            assertTrue(frobenius(REF.matMul(widened(a), widened(b), false, true), c) <= 1e-5);

            backend.matMul(operand(0, side - 1, side), b, false, true);
            assertEquals(1, backend.openCLCProducts(), "under the threshold: the Aparapi kernel");
            backend.matMul(a.astype(DType.FLOAT64), b.astype(DType.FLOAT64), false, true);
            assertEquals(1, backend.openCLCProducts(), "float64: the Aparapi kernel");
        } finally {
            backend.close();
        }
    }
}
