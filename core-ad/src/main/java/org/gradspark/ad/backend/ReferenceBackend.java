package org.gradspark.ad.backend;

import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * The plain reference kernels: straightforward loops, every value computed in float64 and rounded
 * once to the tensor's dtype. Slow but obviously right; the other backends are tested against it.
 */
public final class ReferenceBackend implements Backend {
    public static final ReferenceBackend INSTANCE = new ReferenceBackend();

    @Override public String name() { return "reference"; }

    @Override public String device() { return "Java reference kernels (single thread)"; }

    @Override public Tensor unary(UnaryOp op, Tensor x) {
        return Tensor.fromFunction(x.dtype(), x.shape(), i -> op.apply(x.getDouble(i)));
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Shape out = Shape.broadcast(a.shape(), b.shape(), op.name().toLowerCase());
        if (a.shape().equals(out) && b.shape().equals(out)) {
            return Tensor.fromFunction(a.dtype(), out, i -> op.apply(a.getDouble(i), b.getDouble(i)));
        }
        int[] ia = Strides.offsets(out, Strides.broadcast(a.shape(), out), 0);
        int[] ib = Strides.offsets(out, Strides.broadcast(b.shape(), out), 0);
        return Tensor.fromFunction(a.dtype(), out, i -> op.apply(a.getDouble(ia[i]), b.getDouble(ib[i])));
    }

    @Override public Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) {
        MatMulDims d = MatMulDims.of(a, b, transA, transB);
        int batch = d.batch(), m = d.m(), k = d.k(), n = d.n(), ar = d.aRows(), ac = d.aCols(), br = d.bRows(), bc = d.bCols();
        double[] c = new double[batch * m * n];
        double[] row = new double[n];
        for (int bi = 0; bi < batch; bi++) {
            int ao = bi * ar * ac, bo = bi * br * bc;
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(row, 0.0);
                for (int p = 0; p < k; p++) {
                    double av = a.getDouble(ao + (transA ? p * ac + i : i * ac + p));
                    for (int j = 0; j < n; j++) {
                        row[j] += av * b.getDouble(bo + (transB ? j * bc + p : p * bc + j));
                    }
                }
                System.arraycopy(row, 0, c, (bi * m + i) * n, n);
            }
        }
        return Tensor.fromFunction(a.dtype(), d.outShape(), i -> c[i]);
    }

    @Override public Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        Reduction red = new Reduction(x.shape(), axes);
        double[] acc = new double[red.outSize];
        int[] target = red.targets();
        for (int i = 0; i < x.size(); i++) acc[target[i]] += x.getDouble(i);
        return Tensor.fromFunction(x.dtype(), x.shape().reduce(axes, keepDims), i -> acc[i]);
    }

    @Override public Tensor max(Tensor x, int axis, boolean keepDims) {
        Reduction red = new Reduction(x.shape(), new int[] {axis});
        double[] acc = new double[red.outSize];
        java.util.Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        int[] target = red.targets();
        for (int i = 0; i < x.size(); i++) {
            double v = x.getDouble(i), cur = acc[target[i]];
            if (!Double.isNaN(cur) && (Double.isNaN(v) || v > cur)) acc[target[i]] = v;
        }
        return Tensor.fromFunction(x.dtype(), x.shape().reduce(new int[] {axis}, keepDims), i -> acc[i]);
    }

    /** Where each input element lands when some axes are reduced away. */
    private static final class Reduction {
        final Shape in;
        final boolean[] reduced;
        final int outSize;

        Reduction(Shape in, int[] axes) {
            this.in = in;
            this.reduced = new boolean[in.rank()];
            for (int a : axes) reduced[a] = true;
            int n = 1;
            for (int d = 0; d < in.rank(); d++) if (!reduced[d]) n *= in.dim(d);
            this.outSize = n;
        }

        int[] targets() {
            int[] outStrides = new int[in.rank()];
            int acc = 1;
            for (int d = in.rank() - 1; d >= 0; d--) {
                if (!reduced[d]) {
                    outStrides[d] = acc;
                    acc *= in.dim(d);
                }
            }
            return Strides.offsets(in, outStrides, 0);
        }
    }
}
