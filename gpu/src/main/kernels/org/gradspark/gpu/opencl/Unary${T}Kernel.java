package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * ${dtype} {@code out[i] = op(x[i])} for every {@link org.gradspark.ad.backend.UnaryOp}, the op
 * chosen by {@link #op} (Aparapi translates no {@code switch}, hence the if-chain). NaN stays NaN
 * through RELU by an explicit {@code v != v} test: a comparison alone would turn it into 0.
 * Generated from gpu/src/main/kernels (one template for float32 and float64).
 */
final class Unary${T}Kernel extends Kernel implements DeviceArrays.Resident {
    static final int NEG = 0, EXP = 1, LOG = 2, SIN = 3, COS = 4, TANH = 5, SIGMOID = 6, RELU = 7, SQRT = 8;

    ${real}[] x = new ${real}[1], out = new ${real}[1];
    int n, op;

    /** Binds {@code in} (uploaded unless the device holds it), a fresh output and the op; returns the kernel and that output. */
    OpenCLBackend.Bound bind(DeviceArrays arrays, ${real}[] in, int op) {
        x = arrays.upload(this, x, in);
        out = new ${real}[in.length];
        n = in.length;
        this.op = op;
        return new OpenCLBackend.Bound(this, out);
    }

    @Override
    public Object[] deviceArrays() {
        return new Object[] {x, out};
    }

    @Override
    public void run() {
        int i = getGlobalId();
        if (i < n) {
            out[i] = apply(x[i]);
        }
    }

    ${real} apply(${real} v) {
        ${real} r = v;
        if (op == NEG) {
            r = -v;
        } else if (op == EXP) {
            r = exp(v);
        } else if (op == LOG) {
            r = log(v);
        } else if (op == SIN) {
            r = sin(v);
        } else if (op == COS) {
            r = cos(v);
        } else if (op == TANH) {
            r = tanh(v);
        } else if (op == SIGMOID) {
            // The two forms never overflow exp: e^-|v| <= 1.
            ${real} e = exp(-abs(v));
            r = v >= 0${f} ? 1${f} / (1${f} + e) : e / (1${f} + e);
            r = v != v ? v : r;
        } else if (op == RELU) {
            r = v > 0${f} ? v : (v != v ? v : 0${f});
        } else if (op == SQRT) {
            r = sqrt(v);
        }
        return r;
    }
}
