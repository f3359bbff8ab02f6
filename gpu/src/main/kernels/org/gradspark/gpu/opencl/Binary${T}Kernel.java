package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * ${dtype} {@code out = op(a, b)} for every {@link org.gradspark.ad.backend.BinaryOp}, with NumPy
 * broadcasting: the output's (coalesced) dims and each operand's strides, 0 along a broadcast axis,
 * come as arrays, so a broadcast operand is read in place, never expanded. Element i's offsets are
 * found by peeling its row-major index digit by digit from the last axis.
 * Generated from gpu/src/main/kernels (one template for float32 and float64).
 */
final class Binary${T}Kernel extends Kernel implements DeviceArrays.Resident {
    static final int ADD = 0, MUL = 1, DIV = 2, POW = 3, EQUAL = 4, GREATER = 5, TANH_BACKWARD = 6, SIGMOID_BACKWARD = 7;

    ${real}[] a = new ${real}[1], b = new ${real}[1], out = new ${real}[1];
    int[] dims = new int[1], aStrides = new int[1], bStrides = new int[1];
    int n, rank, op;
    /** NaN and +infinity, passed in because Aparapi has no such constants. */
    ${real} nan, inf;

    /** Binds the operands, their broadcast, a fresh output of {@code n} and the op; returns the kernel and that output. */
    OpenCLBackend.Bound bind(DeviceArrays arrays, ${real}[] x, ${real}[] y, OpenCLBackend.Broadcast br, int n, int op) {
        a = arrays.upload(this, a, x);
        b = arrays.upload(this, b, y);
        dims = arrays.upload(this, dims, br.dims);
        aStrides = arrays.upload(this, aStrides, br.aStrides);
        bStrides = arrays.upload(this, bStrides, br.bStrides);
        out = new ${real}[n];
        this.n = n;
        rank = br.rank;
        this.op = op;
        nan = ${Real}.NaN;
        inf = ${Real}.POSITIVE_INFINITY;
        return new OpenCLBackend.Bound(this, out);
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

    ${real} apply(${real} u, ${real} v) {
        ${real} r = 0${f};
        if (op == ADD) {
            r = u + v;
        } else if (op == MUL) {
            r = u * v;
        } else if (op == DIV) {
            r = u / v;
        } else if (op == POW) {
            r = javaPow(u, v);
        } else if (op == EQUAL) {
            r = u == v ? 1${f} : 0${f};
        } else if (op == GREATER) {
            r = u > v ? 1${f} : 0${f};
        } else if (op == TANH_BACKWARD) {
            r = u * (1${f} - v * v);
        } else if (op == SIGMOID_BACKWARD) {
            r = u * (v * (1${f} - v));
        }
        return r;
    }

    /**
     * pow with the reference's (Java's) special cases: C's pow(1, y) is 1 even for y = NaN or
     * +-Inf, and pow(-1, +-Inf) is 1, where Java says NaN. Ternaries, not ifs: Aparapi cannot
     * rebuild the control flow of an if inside the op chain ("child list broken").
     */
    ${real} javaPow(${real} u, ${real} v) {
        ${real} r = pow(u, v);
        ${real} unitBase = abs(v) == inf ? nan : r;
        ${real} fixed = abs(u) == 1${f} ? unitBase : r;
        return v != v ? nan : fixed;
    }
}
