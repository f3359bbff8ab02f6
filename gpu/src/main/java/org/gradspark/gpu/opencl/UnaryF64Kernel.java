package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * float64 {@code out[i] = op(x[i])} for every {@link org.gradspark.ad.backend.UnaryOp}, the op
 * chosen by {@link #op} (Aparapi translates no {@code switch}, hence the if-chain). NaN stays NaN
 * through RELU and STEP by an explicit {@code v != v} test: a comparison alone would turn it into 0.
 */
final class UnaryF64Kernel extends Kernel implements DeviceArrays.Resident {
    static final int NEG = UnaryF32Kernel.NEG, EXP = UnaryF32Kernel.EXP, LOG = UnaryF32Kernel.LOG, SIN = UnaryF32Kernel.SIN,
            COS = UnaryF32Kernel.COS, TANH = UnaryF32Kernel.TANH, SIGMOID = UnaryF32Kernel.SIGMOID, RELU = UnaryF32Kernel.RELU,
            SQRT = UnaryF32Kernel.SQRT, STEP = UnaryF32Kernel.STEP;

    double[] x = new double[1], out = new double[1];
    int n, op;

    /** Binds {@code in} (uploaded unless the device holds it), a fresh output and the op; returns the output. */
    double[] bind(DeviceArrays arrays, double[] in, int op) {
        x = arrays.upload(this, x, in);
        out = new double[in.length];
        n = in.length;
        this.op = op;
        return out;
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

    double apply(double v) {
        double r = v;
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
            double e = exp(-abs(v));
            r = v >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            r = v != v ? v : r;
        } else if (op == RELU) {
            r = v > 0.0 ? v : (v != v ? v : 0.0);
        } else if (op == SQRT) {
            r = sqrt(v);
        } else if (op == STEP) {
            r = v > 0.0 ? 1.0 : (v != v ? v : 0.0);
        }
        return r;
    }
}
