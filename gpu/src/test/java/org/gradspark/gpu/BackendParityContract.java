package org.gradspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.ReferenceBackend;
import org.gradspark.ad.backend.UnaryOp;
import org.junit.jupiter.api.Test;

/**
 * Every kernel of a backend against the reference backend computed in float64, for float32 and
 * float64 inputs, at sizes that are multiples of no tile (1, 7, 33, 1023, 1025) and at
 * broadcasting shapes. Elementwise results must be within 1e-5 relative (plus a few float32 ulps
 * for float32), MatMul within 1e-4 relative Frobenius norm; NaN never passes.
 */
public abstract class BackendParityContract {
    protected static final int[] SIZES = {1, 7, 33, 1023, 1025};
    private static final Backend REF = ReferenceBackend.INSTANCE;

    protected abstract Backend backend();

    private static long seed = 100;

    /** Values where every unary op is defined: log and sqrt get positive inputs. */
    protected static Tensor input(UnaryOp op, DType dtype, Shape shape) {
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT;
        return Tensor.uniform(seed++, positive ? 0.01 : -8, 8, dtype, shape.dims());
    }

    /** The reference result in float64 from the same (possibly float32) input values. */
    private static Tensor widened(Tensor t) {
        return Tensor.wrap(t.toDoubleArray(), t.shape());
    }

    /** |a - r| <= rtol |r| + atol elementwise, with atol scaled to float32's resolution of r. */
    protected static void assertElementwiseClose(Tensor reference, Tensor actual, String what) {
        assertEquals(reference.shape(), actual.shape(), what + ": shape");
        boolean f32 = actual.dtype() == DType.FLOAT32;
        for (int i = 0; i < reference.size(); i++) {
            double r = reference.getDouble(i), a = actual.getDouble(i);
            if (Double.isNaN(r) || Double.isInfinite(r)) {
                assertTrue(Double.isNaN(r) ? Double.isNaN(a) : a == r, what + ": element " + i + " expected " + r + " got " + a);
                continue;
            }
            double tol = 1e-5 * Math.abs(r) + (f32 ? 4 * Math.ulp((float) r) + 1e-6 : 1e-12);
            assertTrue(Math.abs(a - r) <= tol, what + ": element " + i + " expected " + r + " got " + a);
        }
    }

    protected static void assertFrobeniusClose(Tensor reference, Tensor actual, String what) {
        assertEquals(reference.shape(), actual.shape(), what + ": shape");
        double num = 0, den = 0;
        for (int i = 0; i < reference.size(); i++) {
            double d = actual.getDouble(i) - reference.getDouble(i);
            num += d * d;
            den += reference.getDouble(i) * reference.getDouble(i);
        }
        double rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-300);
        assertTrue(rel <= 1e-4, what + ": relative Frobenius error " + rel);
    }

    @Test
    void unaryKernels() {
        for (DType dt : DType.values()) {
            for (UnaryOp op : UnaryOp.values()) {
                for (int n : SIZES) {
                    Tensor x = input(op, dt, Shape.of(n));
                    Tensor out = backend().unary(op, x);
                    assertEquals(dt, out.dtype());
                    assertElementwiseClose(REF.unary(op, widened(x)), out, op + " " + dt + " n=" + n);
                }
            }
        }
    }

    protected static List<Shape[]> broadcastCases() {
        List<Shape[]> cases = new ArrayList<>();
        for (int n : SIZES) cases.add(new Shape[] {Shape.of(n), Shape.of(n)});
        cases.add(new Shape[] {Shape.of(33, 1), Shape.of(1, 7)});
        cases.add(new Shape[] {Shape.of(7, 33), Shape.of(33)});
        cases.add(new Shape[] {Shape.of(1025, 7), Shape.of(1025, 1)});
        cases.add(new Shape[] {Shape.of(4097, 33), Shape.of(4097, 1)});   // per-row factors, split over threads mid-row
        cases.add(new Shape[] {Shape.of(5, 3, 7), Shape.of(5, 1, 1)});
        cases.add(new Shape[] {Shape.of(7), Shape.of(33, 7)});
        cases.add(new Shape[] {Shape.SCALAR, Shape.of(7, 33)});
        cases.add(new Shape[] {Shape.of(1023, 3), Shape.SCALAR});
        cases.add(new Shape[] {Shape.of(2, 1, 7), Shape.of(3, 1)});
        return cases;
    }

    @Test
    void binaryKernelsWithBroadcasting() {
        for (DType dt : DType.values()) {
            for (BinaryOp op : BinaryOp.values()) {
                for (Shape[] s : broadcastCases()) {
                    boolean pow = op == BinaryOp.POW;
                    Tensor a = Tensor.uniform(seed++, pow ? 0.1 : -4, 4, dt, s[0].dims());
                    Tensor b = op == BinaryOp.EQUAL ? a : Tensor.uniform(seed++, pow ? -2 : 0.25, 4, dt, s[1].dims());
                    if (op == BinaryOp.EQUAL && !s[0].equals(s[1])) b = Tensor.uniform(seed++, -1, 1, dt, s[1].dims());
                    Tensor out = backend().binary(op, a, b);
                    assertEquals(dt, out.dtype());
                    assertElementwiseClose(REF.binary(op, widened(a), widened(b)), out, op + " " + dt + " " + s[0] + " with " + s[1]);
                }
            }
        }
    }

    @Test
    void matMulAllTransposesAndBatches() {
        int[][] mkn = {{1, 1, 1}, {7, 33, 1}, {33, 7, 1025}, {1023, 33, 7}, {65, 129, 63}};
        for (DType dt : DType.values()) {
            for (int[] d : mkn) {
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        for (int batch : new int[] {0, 3}) {
                            int m = d[0], k = d[1], n = d[2];
                            int[] as = ta ? new int[] {k, m} : new int[] {m, k};
                            int[] bs = tb ? new int[] {n, k} : new int[] {k, n};
                            if (batch > 0) {
                                as = new int[] {batch, as[0], as[1]};
                                bs = new int[] {batch, bs[0], bs[1]};
                            }
                            Tensor a = Tensor.uniform(seed++, -1, 1, dt, as), b = Tensor.uniform(seed++, -1, 1, dt, bs);
                            Tensor out = backend().matMul(a, b, ta, tb);
                            assertEquals(dt, out.dtype());
                            assertFrobeniusClose(REF.matMul(widened(a), widened(b), ta, tb), out,
                                    "matMul " + dt + " " + Shape.of(as) + (ta ? "^T" : "") + " @ " + Shape.of(bs) + (tb ? "^T" : ""));
                        }
                    }
                }
            }
        }
    }

    @Test
    void reductions() {
        Shape[] shapes = {Shape.of(1), Shape.of(1025), Shape.of(33, 7), Shape.of(7, 1023), Shape.of(3, 33, 7)};
        for (DType dt : DType.values()) {
            for (Shape s : shapes) {
                Tensor x = Tensor.uniform(seed++, -2, 2, dt, s.dims());
                for (int axis = 0; axis < s.rank(); axis++) {
                    for (boolean keep : new boolean[] {false, true}) {
                        String what = dt + " " + s + " axis " + axis + (keep ? " keepDims" : "");
                        assertElementwiseClose(REF.sum(widened(x), new int[] {axis}, keep), backend().sum(x, new int[] {axis}, keep), "sum " + what);
                        assertElementwiseClose(REF.max(widened(x), axis, keep), backend().max(x, axis, keep), "max " + what);
                    }
                }
                int[] all = java.util.stream.IntStream.range(0, s.rank()).toArray();
                assertElementwiseClose(REF.sum(widened(x), all, false), backend().sum(x, all, false), "sum all " + dt + " " + s);
                if (s.rank() == 3) {
                    assertElementwiseClose(REF.sum(widened(x), new int[] {0, 2}, true), backend().sum(x, new int[] {0, 2}, true), "sum axes 0,2 " + dt);
                }
            }
        }
    }

    @Test
    void nanAndInfinityPropagate() {
        for (DType dt : DType.values()) {
            Tensor special = Tensor.of(new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1.0}).astype(dt);
            for (UnaryOp op : UnaryOp.values()) {
                assertElementwiseClose(REF.unary(op, widened(special)), backend().unary(op, special), op + " on NaN/Inf " + dt);
            }
            for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.MUL, BinaryOp.DIV}) {
                assertElementwiseClose(REF.binary(op, widened(special), widened(special)), backend().binary(op, special, special), op + " on NaN/Inf " + dt);
            }
            Tensor a = Tensor.fromFunction(dt, Shape.of(9, 9), i -> i == 10 ? Double.NaN : i == 40 ? Double.POSITIVE_INFINITY : 0.5);
            Tensor b = Tensor.full(1, dt, Shape.of(9, 9));
            Tensor c = backend().matMul(a, b, false, false);
            assertTrue(Double.isNaN(c.get(1, 0)) && Double.isNaN(c.get(1, 8)), "NaN row of the product " + dt);
            assertEquals(Double.POSITIVE_INFINITY, c.get(4, 3), "Inf row of the product " + dt);
            assertEquals(4.5, c.get(0, 0), 1e-6);
            assertTrue(Double.isNaN(backend().sum(a, new int[] {1}, false).get(1)), "NaN sum " + dt);
            assertTrue(Double.isNaN(backend().max(a, 1, false).get(1)), "NaN max " + dt);
        }
    }
}
