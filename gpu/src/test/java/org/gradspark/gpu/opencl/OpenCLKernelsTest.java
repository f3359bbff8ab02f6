package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.ReferenceBackend;
import org.gradspark.ad.backend.UnaryOp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the shared parity contract does not reach: MatMul past its 4x6 tiles and its k-chunks
 * in every transpose and batch combination, NaN and infinities through every kernel and both MatMul
 * paths (packed and read in place), the broadcasting shapes of the brief, reductions over several
 * axes, empty tensors, and concurrent callers.
 */
class OpenCLKernelsTest {
    private static final ReferenceBackend REF = ReferenceBackend.INSTANCE;
    private static OpenCLBackend cl;
    private static long seed = 7000;

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
        cl = new OpenCLBackend(null, 0);   // every op on the device, however small
    }

    private static Tensor widened(Tensor t) {
        return Tensor.wrap(t.toDoubleArray(), t.shape());
    }

    /** ||actual - reference||_F / ||reference||_F in float64; NaN (anywhere) fails. */
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

    /** Equal as NumPy's allclose, and NaN exactly where the reference has NaN. */
    private static void assertClose(Tensor reference, Tensor actual, double rtol, String what) {
        assertEquals(reference.shape(), actual.shape(), what + ": shape");
        for (int i = 0; i < reference.size(); i++) {
            double r = reference.getDouble(i), a = actual.getDouble(i);
            if (Double.isNaN(r) || Double.isInfinite(r)) {
                assertTrue(Double.isNaN(r) ? Double.isNaN(a) : a == r, what + ": element " + i + " expected " + r + " got " + a);
            } else {
                double tol = rtol * Math.abs(r) + (actual.dtype() == DType.FLOAT32 ? 4 * Math.ulp((float) r) + 1e-6 : 1e-12);
                assertTrue(Math.abs(a - r) <= tol, what + ": element " + i + " expected " + r + " got " + a);
            }
        }
    }

    @Test
    void matMulBeyondTilesAndChunksInEveryTransposeAndBatch() {
        // m, k, n: sizes no tile divides, k up to three k-chunks, a vector on either side.
        int[][] mkn = {{1, 1025, 1}, {7, 1023, 33}, {1025, 7, 6}, {33, 1025, 7}, {5, 2100, 13}, {64, 512, 48}};
        for (DType dt : DType.values()) {
            for (int[] d : mkn) {
                for (int batch : new int[] {0, 2}) {
                    for (int t = 0; t < 4; t++) {
                        boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                        Tensor a = operand(dt, batch, ta ? d[1] : d[0], ta ? d[0] : d[1]);
                        Tensor b = operand(dt, batch, tb ? d[2] : d[1], tb ? d[1] : d[2]);
                        double rel = frobenius(REF.matMul(widened(a), widened(b), ta, tb), cl.matMul(a, b, ta, tb));
                        assertTrue(rel <= (dt == DType.FLOAT32 ? 1e-5 : 1e-13),
                                "matMul " + dt + " batch " + batch + " " + a.shape() + (ta ? "^T" : "") + " @ " + b.shape() + (tb ? "^T" : "") + ": " + rel);
                    }
                }
            }
        }
    }

    @Test
    void matMulOfSquare1025MatchesTheReference() {
        Tensor a = Tensor.uniform(seed++, -1, 1, DType.FLOAT32, 1025, 1025), b = Tensor.uniform(seed++, -1, 1, DType.FLOAT32, 1025, 1025);
        assertTrue(frobenius(REF.matMul(widened(a), widened(b), false, false), cl.matMul(a, b, false, false)) <= 1e-5);
    }

    private static Tensor operand(DType dt, int batch, int rows, int cols) {
        return batch == 0 ? Tensor.uniform(seed++, -1, 1, dt, rows, cols) : Tensor.uniform(seed++, -1, 1, dt, batch, rows, cols);
    }

    @Test
    void nanAndInfinityPropagateThroughMatMulInEveryTranspose() {
        for (DType dt : DType.values()) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = 9, k = OpenCLBackend.K_CHUNK + 300, n = 13;
                // op(A)[2, 5] = NaN, op(A)[6, k - 100] = +Inf (past the first k-chunk), op(B)[3, 11] = -Inf.
                Tensor a = Tensor.fromFunction(dt, ta ? Shape.of(k, m) : Shape.of(m, k), i -> {
                    int row = ta ? i % m : i / k, p = ta ? i / m : i % k;
                    return row == 2 && p == 5 ? Double.NaN : row == 6 && p == k - 100 ? Double.POSITIVE_INFINITY : 0.25;
                });
                Tensor b = Tensor.fromFunction(dt, tb ? Shape.of(n, k) : Shape.of(k, n), i -> {
                    int p = tb ? i % k : i / n, col = tb ? i / k : i % n;
                    return p == 3 && col == 11 ? Double.NEGATIVE_INFINITY : 0.5;
                });
                Tensor c = cl.matMul(a, b, ta, tb);
                String what = "matMul " + dt + (ta ? " A^T" : " A") + (tb ? " B^T" : " B");
                for (int j = 0; j < n; j++) assertTrue(Double.isNaN(c.get(2, j)), what + ": NaN row, column " + j);
                assertEquals(Double.POSITIVE_INFINITY, c.get(6, 0), what + ": +Inf row");
                assertTrue(Double.isNaN(c.get(6, 11)), what + ": +Inf times -Inf column is NaN");
                assertEquals(Double.NEGATIVE_INFINITY, c.get(0, 11), what + ": -Inf column");
                assertEquals(0.25 * 0.5 * k, c.get(0, 0), 1e-9, what + ": finite entries");
                assertFalse(Double.isNaN(c.get(8, 12)), what + ": no NaN leaks into clean entries");
            }
        }
    }

    @Test
    void nanAndInfinityPropagateThroughEveryUnaryAndBinaryKernel() {
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0, 1.0, -1.0, 1e-30, 88.0, -88.0};
        for (DType dt : DType.values()) {
            Tensor x = Tensor.of(specials).astype(dt);
            for (UnaryOp op : UnaryOp.values()) {
                assertClose(REF.unary(op, widened(x)), cl.unary(op, x), 1e-5, op + " " + dt);
            }
            Tensor col = Tensor.of(specials, specials.length, 1).astype(dt), row = Tensor.of(specials, 1, specials.length).astype(dt);
            for (BinaryOp op : BinaryOp.values()) {
                // Every special against every special, through the broadcasting path.
                assertClose(REF.binary(op, widened(col), widened(row)), cl.binary(op, col, row), 1e-5, op + " " + dt);
            }
        }
    }

    @Test
    void nanAndInfinityInReductions() {
        for (DType dt : DType.values()) {
            double[] v = {1, Double.NaN, 2, 3, Double.POSITIVE_INFINITY, 4, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, 5, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 6};
            Tensor x = Tensor.of(v, 4, 3).astype(dt);
            for (int axis = 0; axis < 2; axis++) {
                assertClose(REF.sum(widened(x), new int[] {axis}, false), cl.sum(x, new int[] {axis}, false), 1e-12, "sum axis " + axis + " " + dt);
                assertClose(REF.max(widened(x), axis, true), cl.max(x, axis, true), 0, "max axis " + axis + " " + dt);
            }
            assertTrue(Double.isNaN(cl.sum(x, new int[] {0, 1}, false).item()), "NaN wins a sum of everything " + dt);
            Tensor nanLast = Tensor.of(new double[] {1, 2, 3, Double.NaN}).astype(dt);
            assertTrue(Double.isNaN(cl.max(nanLast, 0, false).item()), "NaN last still wins max " + dt);
            Tensor nanFirst = Tensor.of(new double[] {Double.NaN, 5, Double.POSITIVE_INFINITY}).astype(dt);
            assertTrue(Double.isNaN(cl.max(nanFirst, 0, false).item()), "NaN first still wins max " + dt);
            Tensor infs = Tensor.of(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY}).astype(dt);
            assertEquals(Double.NEGATIVE_INFINITY, cl.max(infs, 0, false).item());
        }
    }

    @Test
    void broadcastingShapesOfTheBrief() {
        Shape[][] cases = {
            {Shape.of(1025, 1), Shape.of(1, 33)}, {Shape.of(1, 33), Shape.of(1025, 1)}, {Shape.of(33), Shape.of(1023, 33)},
            {Shape.of(1023, 33), Shape.of(33)}, {Shape.SCALAR, Shape.of(1025)}, {Shape.of(7, 1, 33), Shape.SCALAR},
            {Shape.of(2, 1, 3, 1), Shape.of(1, 5, 1, 4)}, {Shape.of(1), Shape.of(1)}, {Shape.SCALAR, Shape.SCALAR},
        };
        for (DType dt : DType.values()) {
            for (Shape[] s : cases) {
                Tensor a = Tensor.uniform(seed++, 0.5, 2, dt, s[0].dims()), b = Tensor.uniform(seed++, 0.5, 2, dt, s[1].dims());
                for (BinaryOp op : BinaryOp.values()) {
                    assertClose(REF.binary(op, widened(a), widened(b)), cl.binary(op, a, b), 1e-5, op + " " + dt + " " + s[0] + " with " + s[1]);
                }
            }
        }
    }

    @Test
    void binaryOfATensorWithItself() {
        for (DType dt : DType.values()) {
            Tensor a = Tensor.uniform(seed++, -3, 3, dt, 33, 7);
            assertClose(REF.binary(BinaryOp.MUL, widened(a), widened(a)), cl.binary(BinaryOp.MUL, a, a), 1e-5, "a * a " + dt);
            assertEquals(a.size(), cl.sum(cl.binary(BinaryOp.EQUAL, a, a), new int[] {0, 1}, false).item(), 0, "a == a " + dt);
        }
    }

    @Test
    void sumsOverSeveralAxesAndShapesWithUnitAxes() {
        Shape s = Shape.of(3, 1, 33, 7, 2);
        int[][] axesSets = {{0}, {2}, {4}, {0, 2}, {1, 3}, {2, 3, 4}, {0, 1, 2, 3, 4}, {0, 4}, {1}};
        for (DType dt : DType.values()) {
            Tensor x = Tensor.uniform(seed++, -2, 2, dt, s.dims());
            for (int[] axes : axesSets) {
                for (boolean keep : new boolean[] {false, true}) {
                    assertClose(REF.sum(widened(x), axes, keep), cl.sum(x, axes, keep), 1e-5, "sum " + java.util.Arrays.toString(axes) + " keep " + keep + " " + dt);
                }
            }
            for (int axis = 0; axis < s.rank(); axis++) {
                assertClose(REF.max(widened(x), axis, false), cl.max(x, axis, false), 0, "max axis " + axis + " " + dt);
            }
            assertClose(widened(x), cl.sum(x, new int[0], false), 0, "sum over no axes " + dt);
        }
    }

    @Test
    void float32SumsAccumulateInDouble() {
        // 2^24 + 1 + 1 + ... : a float accumulator would never leave 2^24.
        float[] v = new float[4097];
        v[0] = 16777216f;
        java.util.Arrays.fill(v, 1, v.length, 1f);
        assertEquals(16777216.0 + 4096, cl.sum(Tensor.of(v), new int[] {0}, false).item(), 0);
    }

    @Test
    void emptyTensors() {
        for (DType dt : DType.values()) {
            Tensor e = Tensor.zeros(dt, 0, 3);
            assertEquals(Shape.of(0, 3), cl.unary(UnaryOp.EXP, e).shape());
            assertEquals(Shape.of(0, 3), cl.binary(BinaryOp.ADD, e, Tensor.zeros(dt, 3)).shape());
            assertClose(Tensor.zeros(DType.FLOAT64, 3), cl.sum(e, new int[] {0}, false), 0, "sum over an empty axis");
            assertClose(Tensor.full(Double.NEGATIVE_INFINITY, DType.FLOAT64, Shape.of(3)), cl.max(e, 0, false), 0, "max over an empty axis");
            assertClose(Tensor.zeros(DType.FLOAT64, 4, 5), cl.matMul(Tensor.zeros(dt, 4, 0), Tensor.zeros(dt, 0, 5), false, false), 0, "k = 0");
            assertEquals(Shape.of(0, 5), cl.matMul(Tensor.zeros(dt, 0, 2), Tensor.zeros(dt, 2, 5), false, false).shape());
        }
    }

    @Test
    void concurrentCallersAreSerialisedAndGetTheirOwnResults() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long s = seed += 10;
                futures.add(pool.submit(() -> {
                    for (int r = 0; r < 5; r++) {
                        Tensor a = Tensor.uniform(s + r, -1, 1, DType.FLOAT32, 40, 30), b = Tensor.uniform(s + r + 100, -1, 1, DType.FLOAT32, 30, 20);
                        assertTrue(frobenius(REF.matMul(widened(a), widened(b), false, false), cl.matMul(a, b, false, false)) <= 1e-5);
                        assertClose(REF.unary(UnaryOp.TANH, widened(a)), cl.unary(UnaryOp.TANH, a), 1e-5, "tanh");
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get();
        } finally {
            pool.shutdownNow();
        }
    }
}
