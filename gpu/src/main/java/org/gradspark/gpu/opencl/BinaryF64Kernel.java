package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * float64 {@code out = op(a, b)} for every {@link org.gradspark.ad.backend.BinaryOp}, with NumPy
 * broadcasting: the output's (coalesced) dims and each operand's strides, 0 along a broadcast axis,
 * come as arrays, so a broadcast operand is read in place, never expanded. Element i's offsets are
 * found by peeling its row-major index digit by digit from the last axis.
 */
final class BinaryF64Kernel extends Kernel implements DeviceArrays.Resident {
    static final int ADD = BinaryF32Kernel.ADD, MUL = BinaryF32Kernel.MUL, DIV = BinaryF32Kernel.DIV, POW = BinaryF32Kernel.POW,
            EQUAL = BinaryF32Kernel.EQUAL, GREATER = BinaryF32Kernel.GREATER,
            TANH_BACKWARD = BinaryF32Kernel.TANH_BACKWARD, SIGMOID_BACKWARD = BinaryF32Kernel.SIGMOID_BACKWARD;

    double[] a = new double[1], b = new double[1], out = new double[1];
    int[] dims = new int[1], aStrides = new int[1], bStrides = new int[1];
    int n, rank, op;
    /** NaN and +infinity, passed in because Aparapi has no such constants. */
    double nan, inf;

    /** Binds the operands, their broadcast, a fresh output of {@code n} and the op; returns the output. */
    double[] bind(DeviceArrays arrays, double[] x, double[] y, OpenCLBackend.Broadcast br, int n, int op) {
        a = arrays.upload(this, a, x);
        b = arrays.upload(this, b, y);
        dims = arrays.upload(this, dims, br.dims);
        aStrides = arrays.upload(this, aStrides, br.aStrides);
        bStrides = arrays.upload(this, bStrides, br.bStrides);
        out = new double[n];
        this.n = n;
        rank = br.rank;
        this.op = op;
        nan = Double.NaN;
        inf = Double.POSITIVE_INFINITY;
        return out;
    }

    @Override
    public Object[] deviceArrays() {
        return new Object[] {a, b, out, dims, aStrides, bStrides};
    }

    @Override
    public void run() {
        int i = getGlobalId();
        if (i < n) {
            int rest = i, ia = 0, ib = 0;
            for (int d = rank - 1; d >= 0; d--) {
                int size = dims[d];
                int digit = rest % size;
                rest = rest / size;
                ia += digit * aStrides[d];
                ib += digit * bStrides[d];
            }
            out[i] = apply(a[ia], b[ib]);
        }
    }

    double apply(double u, double v) {
        double r = 0.0;
        if (op == ADD) {
            r = u + v;
        } else if (op == MUL) {
            r = u * v;
        } else if (op == DIV) {
            r = u / v;
        } else if (op == POW) {
            r = javaPow(u, v);
        } else if (op == EQUAL) {
            r = u == v ? 1.0 : 0.0;
        } else if (op == GREATER) {
            r = u > v ? 1.0 : 0.0;
        } else if (op == TANH_BACKWARD) {
            r = u * (1.0 - v * v);
        } else if (op == SIGMOID_BACKWARD) {
            r = u * (v * (1.0 - v));
        }
        return r;
    }

    /**
     * pow with the reference's (Java's) special cases: C's pow(1, y) is 1 even for y = NaN or
     * +-Inf, and pow(-1, +-Inf) is 1, where Java says NaN. Ternaries, not ifs: Aparapi cannot
     * rebuild the control flow of an if inside the op chain ("child list broken").
     */
    double javaPow(double u, double v) {
        double r = pow(u, v);
        double unitBase = abs(v) == inf ? nan : r;
        double fixed = abs(u) == 1.0 ? unitBase : r;
        return v != v ? nan : fixed;
    }
}
