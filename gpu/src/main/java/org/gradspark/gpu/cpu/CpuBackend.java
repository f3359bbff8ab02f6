package org.gradspark.gpu.cpu;

import dev.ludovic.netlib.blas.BLAS;
import java.util.Arrays;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.ad.backend.Strides;
import org.gradspark.ad.backend.UnaryOp;

/**
 * The fast CPU backend: MatMul on {@code dev.ludovic.netlib} BLAS (native OpenBLAS through
 * {@code libblas.so.3} when the machine has it, netlib's Java implementation otherwise), float32
 * transcendentals on {@link VectorMath32}'s vectorised polynomials, the rest in loops the JIT
 * vectorises, all split over the cores above {@link Parallel#GRAIN} elements.
 */
public final class CpuBackend implements Backend {
    /** The system property that sets how many threads the elementwise kernels use (default: every core the JVM sees). */
    public static final String THREADS_PROPERTY = org.gradspark.ad.backend.BackendSettings.CPU_THREADS;
    private static final BLAS BLAS_IMPL = BLAS.getInstance();

    @Override public String name() { return "cpu"; }

    @Override public String device() {
        return "CPU (" + Parallel.THREADS + (Parallel.THREADS == 1 ? " thread" : " threads") + "), BLAS " + blasName() + ", float32 elementwise on the Vector API (" + VectorMath32.F.vectorBitSize() + "-bit lanes)";
    }

    /** Which BLAS netlib loaded: a native library (fast) or its Java fallback. */
    public static String blasName() {
        String c = BLAS_IMPL.getClass().getSimpleName();
        return c.startsWith("Native") || c.startsWith("JNI") ? c + " (native libblas.so.3)" : c + " (Java fallback: install libopenblas0 for native speed)";
    }

    // ------------------------------------------------------------ elementwise

    @Override public Tensor unary(UnaryOp op, Tensor x) {
        int n = x.size();
        if (x.dtype() == DType.FLOAT32) {
            float[] in = x.rawFloats(), out = new float[n];
            Parallel.forRange(n, (from, to) -> unary32(op, in, out, from, to));
            return Tensor.wrap(out, x.shape());
        }
        double[] in = x.rawDoubles(), out = new double[n];
        Parallel.forRange(n, (from, to) -> unary64(op, in, out, from, to));
        return Tensor.wrap(out, x.shape());
    }

    /**
     * Runs each vectorised float32 kernel of {@code ops} on 1024 values until C2 has compiled it
     * (measured: about 2,000 such calls; the Vector API runs far slower before that; timings in
     * bench/results/opencl-tuning.md).
     */
    @Override public void warmUp(java.util.Set<UnaryOp> ops) {
        float[] x = new float[1024], y = new float[1024];
        for (int i = 0; i < x.length; i++) x[i] = (i % 200) / 20f - 5f;
        for (UnaryOp op : ops) {
            for (int call = 0; call < WARM_UP_CALLS; call++) unary32(op, x, y, 0, x.length);
        }
    }

    private static final int WARM_UP_CALLS = 3000;

    /**
     * y[i] = op(x[i]) for i in [from, to), in float32; returns y. A switch expression, so that a new
     * {@link UnaryOp} does not compile until it has a kernel here (a statement switch left it zeros).
     * The kernels are called directly, not through an interface: VectorMath32's vectorised loops are
     * sensitive to how C2 inlines their callers (see its class comment).
     */
    private static float[] unary32(UnaryOp op, float[] x, float[] y, int from, int to) {
        return switch (op) {
            case SIN -> VectorMath32.sin(x, y, from, to);
            case COS -> VectorMath32.cos(x, y, from, to);
            case EXP -> VectorMath32.exp(x, y, from, to);
            case TANH -> VectorMath32.tanh(x, y, from, to);
            case SIGMOID -> VectorMath32.sigmoid(x, y, from, to);
            case LOG -> VectorMath32.log(x, y, from, to);
            case NEG -> { for (int i = from; i < to; i++) y[i] = -x[i]; yield y; }
            case RELU -> { for (int i = from; i < to; i++) y[i] = Math.max(x[i], 0f); yield y; }
            case SQRT -> { for (int i = from; i < to; i++) y[i] = (float) Math.sqrt(x[i]); yield y; }
        };
    }

    /** y[i] = op(x[i]) for i in [from, to), in float64; returns y. Exhaustive, as {@link #unary32}; the transcendentals are the reference's java.lang.Math. */
    private static double[] unary64(UnaryOp op, double[] x, double[] y, int from, int to) {
        return switch (op) {
            case NEG -> { for (int i = from; i < to; i++) y[i] = -x[i]; yield y; }
            case RELU -> { for (int i = from; i < to; i++) y[i] = Math.max(x[i], 0.0); yield y; }
            case SQRT -> { for (int i = from; i < to; i++) y[i] = Math.sqrt(x[i]); yield y; }
            case EXP, LOG, SIN, COS, TANH, SIGMOID -> { for (int i = from; i < to; i++) y[i] = op.apply(x[i]); yield y; }
        };
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Shape out = Shape.broadcast(a.shape(), b.shape(), op.name().toLowerCase());
        int n = out.size();
        Indexing ix = Indexing.of(a.shape(), b.shape(), out);
        if (a.dtype() == DType.FLOAT32) {
            float[] x = a.rawFloats(), y = b.rawFloats(), z = new float[n];
            Parallel.forRange(n, (from, to) -> binary32(op, x, y, z, ix, from, to));
            return Tensor.wrap(z, out);
        }
        double[] x = a.rawDoubles(), y = b.rawDoubles(), z = new double[n];
        Parallel.forRange(n, (from, to) -> binary64(op, x, y, z, ix, from, to));
        return Tensor.wrap(z, out);
    }

    /**
     * How output element i finds its operands: both at i (same shape), one fixed (a scalar), the
     * smaller one repeating with period {@code period} (a trailing-dims row), b's element {@code i / period}
     * (b a column: out's leading dims, trailing 1s, such as per-row factors [rows, 1]), or general offsets
     * (an int array as large as the output, which a per-row scaling of a [rows, width] array does not need).
     */
    private record Indexing(int kind, int period, int[] offA, int[] offB) {
        static final int SAME = 0, A_SCALAR = 1, B_SCALAR = 2, B_ROW = 3, A_ROW = 4, GENERAL = 5, B_COLUMN = 6;

        static Indexing of(Shape a, Shape b, Shape out) {
            if (a.equals(out) && b.equals(out)) return new Indexing(SAME, 0, null, null);
            if (a.size() == 1) return new Indexing(b.equals(out) ? A_SCALAR : GENERAL, 0, null, null).general(a, b, out);
            if (b.size() == 1) return new Indexing(a.equals(out) ? B_SCALAR : GENERAL, 0, null, null).general(a, b, out);
            if (a.equals(out) && isTrailing(b, out)) return new Indexing(B_ROW, b.size(), null, null);
            if (b.equals(out) && isTrailing(a, out)) return new Indexing(A_ROW, a.size(), null, null);
            int period = columnPeriod(b, out);
            if (a.equals(out) && period > 0) return new Indexing(B_COLUMN, period, null, null);
            return new Indexing(GENERAL, 0, null, null).general(a, b, out);
        }

        /** The number of output elements per element of s when s is out's leading dims and then 1s only (a column), else 0. */
        private static int columnPeriod(Shape s, Shape out) {
            if (s.rank() != out.rank()) return 0;
            int j = 0;
            while (j < s.rank() && s.dim(j) == out.dim(j)) j++;
            int period = 1;
            for (int t = j; t < s.rank(); t++) {
                if (s.dim(t) != 1) return 0;
                period *= out.dim(t);
            }
            return period;
        }

        private Indexing general(Shape a, Shape b, Shape out) {
            if (kind != GENERAL) return this;
            return new Indexing(GENERAL, 0, Strides.offsets(out, Strides.broadcast(a, out), 0), Strides.offsets(out, Strides.broadcast(b, out), 0));
        }

        /** True if s equals the last dims of out, leading 1s aside: then it repeats row by row. */
        private static boolean isTrailing(Shape s, Shape out) {
            int[] d = s.dims();
            int lead = 0;
            while (lead < d.length && d[lead] == 1) lead++;
            int k = d.length - lead;
            for (int i = 0; i < k; i++) if (d[lead + i] != out.dim(out.rank() - k + i)) return false;
            return true;
        }

        int a(int i) {
            return switch (kind) {
                case SAME, B_SCALAR, B_ROW, B_COLUMN -> i;
                case A_SCALAR -> 0;
                case A_ROW -> i % period;
                default -> offA[i];
            };
        }

        int b(int i) {
            return switch (kind) {
                case SAME, A_SCALAR, A_ROW -> i;
                case B_SCALAR -> 0;
                case B_ROW -> i % period;
                case B_COLUMN -> i / period;
                default -> offB[i];
            };
        }
    }

    private static void binary32(BinaryOp op, float[] x, float[] y, float[] z, Indexing ix, int from, int to) {
        if (ix.kind() == Indexing.SAME && op == BinaryOp.ADD) { for (int i = from; i < to; i++) z[i] = x[i] + y[i]; return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.MUL) { for (int i = from; i < to; i++) z[i] = x[i] * y[i]; return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.DIV) { for (int i = from; i < to; i++) z[i] = x[i] / y[i]; return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.TANH_BACKWARD) { for (int i = from; i < to; i++) z[i] = x[i] * (1f - y[i] * y[i]); return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.SIGMOID_BACKWARD) { for (int i = from; i < to; i++) z[i] = x[i] * (y[i] * (1f - y[i])); return; }
        if (ix.kind() == Indexing.B_ROW && (op == BinaryOp.ADD || op == BinaryOp.MUL)) {
            rowBroadcast32(op == BinaryOp.ADD, x, y, z, ix.period(), from, to);
            return;
        }
        if (ix.kind() == Indexing.B_COLUMN && op == BinaryOp.MUL) {
            columnScale32(x, y, z, ix.period(), from, to);
            return;
        }
        if (ix.kind() == Indexing.B_SCALAR && (op == BinaryOp.ADD || op == BinaryOp.MUL)) {
            float s = y[0];
            if (op == BinaryOp.ADD) { for (int i = from; i < to; i++) z[i] = x[i] + s; } else { for (int i = from; i < to; i++) z[i] = x[i] * s; }
            return;
        }
        for (int i = from; i < to; i++) z[i] = (float) op.apply(x[ix.a(i)], y[ix.b(i)]);
    }

    /** z = x + row or x * row, with the row repeating: the bias add of a dense layer. */
    private static void rowBroadcast32(boolean add, float[] x, float[] row, float[] z, int period, int from, int to) {
        int i = from;
        while (i < to) {
            int j = i % period, end = Math.min(to, i + (period - j));
            if (add) { for (int k = i; k < end; k++) z[k] = x[k] + row[k - i + j]; } else { for (int k = i; k < end; k++) z[k] = x[k] * row[k - i + j]; }
            i = end;
        }
    }

    /** z = x * column, each run of {@code period} elements scaled by one factor: per-row weights of a [rows, width] array. */
    private static void columnScale32(float[] x, float[] column, float[] z, int period, int from, int to) {
        int i = from;
        while (i < to) {
            int end = Math.min(to, (i / period + 1) * period);
            float f = column[i / period];
            for (int k = i; k < end; k++) z[k] = x[k] * f;
            i = end;
        }
    }

    private static void binary64(BinaryOp op, double[] x, double[] y, double[] z, Indexing ix, int from, int to) {
        if (ix.kind() == Indexing.SAME && op == BinaryOp.ADD) { for (int i = from; i < to; i++) z[i] = x[i] + y[i]; return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.MUL) { for (int i = from; i < to; i++) z[i] = x[i] * y[i]; return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.TANH_BACKWARD) { for (int i = from; i < to; i++) z[i] = x[i] * (1 - y[i] * y[i]); return; }
        if (ix.kind() == Indexing.SAME && op == BinaryOp.SIGMOID_BACKWARD) { for (int i = from; i < to; i++) z[i] = x[i] * (y[i] * (1 - y[i])); return; }
        for (int i = from; i < to; i++) z[i] = op.apply(x[ix.a(i)], y[ix.b(i)]);
    }

    // ------------------------------------------------------------ matmul

    /**
     * Row-major C = op(A) op(B) as column-major BLAS sees it: C^T = op(B)^T op(A)^T, where a
     * row-major matrix is its own transpose in column-major order, so no data is moved.
     */
    @Override public Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) {
        MatMulDims d = MatMulDims.of(a, b, transA, transB);
        int batch = d.batch(), m = d.m(), k = d.k(), n = d.n(), ar = d.aRows(), ac = d.aCols(), br = d.bRows(), bc = d.bCols();
        Shape out = d.outShape();
        String ta = transB ? "T" : "N", tb = transA ? "T" : "N";
        if (m == 0 || n == 0) return Tensor.full(0, a.dtype(), out);
        if (a.dtype() == DType.FLOAT32) {
            float[] c = new float[batch * m * n];
            if (k > 0) {
                for (int i = 0; i < batch; i++) {
                    BLAS_IMPL.sgemm(ta, tb, n, m, k, 1f, b.rawFloats(), i * br * bc, bc, a.rawFloats(), i * ar * ac, ac, 0f, c, i * m * n, n);
                }
            }
            return Tensor.wrap(c, out);
        }
        double[] c = new double[batch * m * n];
        if (k > 0) {
            for (int i = 0; i < batch; i++) {
                BLAS_IMPL.dgemm(ta, tb, n, m, k, 1.0, b.rawDoubles(), i * br * bc, bc, a.rawDoubles(), i * ar * ac, ac, 0.0, c, i * m * n, n);
            }
        }
        return Tensor.wrap(c, out);
    }

    // ------------------------------------------------------------ reductions

    /** Reduces one contiguous block of axes at a time: [outer, reduced, inner]. */
    @Override public Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        Tensor t = x;
        for (int i = axes.length - 1; i >= 0; i--) t = reduceAxis(t, axes[i], false);
        return keepDims ? t : reshaped(t, x.shape().reduce(axes, false));
    }

    @Override public Tensor max(Tensor x, int axis, boolean keepDims) {
        Tensor t = reduceAxis(x, axis, true);
        return keepDims ? t : reshaped(t, x.shape().reduce(new int[] {axis}, false));
    }

    /** {@code t}'s values (not copied) in shape {@code s}. */
    private static Tensor reshaped(Tensor t, Shape s) {
        return t.dtype() == DType.FLOAT32 ? Tensor.wrap(t.rawFloats(), s) : Tensor.wrap(t.rawDoubles(), s);
    }

    /** Sum (in float64) or max (NaN wins) over one axis, keeping it as size 1. */
    private static Tensor reduceAxis(Tensor x, int axis, boolean max) {
        int[] d = x.shape().dims();
        int outer = 1, inner = 1, red = d[axis];
        for (int i = 0; i < axis; i++) outer *= d[i];
        for (int i = axis + 1; i < d.length; i++) inner *= d[i];
        d[axis] = 1;
        Shape outShape = Shape.of(d);
        double[] acc = new double[outer * inner];
        boolean f32 = x.dtype() == DType.FLOAT32;
        float[] xf = f32 ? x.rawFloats() : null;
        double[] xd = f32 ? null : x.rawDoubles();
        final int fo = outer, fi = inner;
        Parallel.forRange(outer * inner, Math.max(1, Parallel.GRAIN / Math.max(1, red)), (from, to) -> {
            for (int o = from / fi; o <= (to - 1) / fi && from < to; o++) {
                int iFrom = Math.max(from, o * fi) - o * fi, iTo = Math.min(to, (o + 1) * fi) - o * fi;
                reduceBlock(xf, xd, acc, o, red, fi, iFrom, iTo, max);
            }
        });
        if (f32) {
            float[] out = new float[acc.length];
            for (int i = 0; i < acc.length; i++) out[i] = (float) acc[i];
            return Tensor.wrap(out, outShape);
        }
        return Tensor.wrap(acc, outShape);
    }

    private static void reduceBlock(float[] xf, double[] xd, double[] acc, int o, int red, int inner, int iFrom, int iTo, boolean max) {
        int base = o * red * inner, outBase = o * inner;
        if (max) {
            Arrays.fill(acc, outBase + iFrom, outBase + iTo, Double.NEGATIVE_INFINITY);
            for (int r = 0; r < red; r++) {
                int row = base + r * inner;
                for (int i = iFrom; i < iTo; i++) {
                    double v = xf != null ? xf[row + i] : xd[row + i];
                    double cur = acc[outBase + i];
                    if (cur == cur && (v != v || v > cur)) acc[outBase + i] = v;
                }
            }
            return;
        }
        // Sums: one branch-free loop per row, which the JIT vectorises (the bias gradient of a dense layer).
        if (xf != null) {
            for (int r = 0; r < red; r++) {
                int row = base + r * inner - outBase;
                for (int i = outBase + iFrom; i < outBase + iTo; i++) acc[i] += xf[row + i];
            }
        } else {
            for (int r = 0; r < red; r++) {
                int row = base + r * inner - outBase;
                for (int i = outBase + iFrom; i < outBase + iTo; i++) acc[i] += xd[row + i];
            }
        }
    }
}
