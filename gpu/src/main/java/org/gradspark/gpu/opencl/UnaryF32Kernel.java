package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * float32 {@code out[i] = op(x[i])} for every {@link org.gradspark.ad.backend.UnaryOp}, the op
 * chosen by {@link #op} (Aparapi translates no {@code switch}, hence the if-chain). NaN stays NaN
 * through RELU and STEP by an explicit {@code v != v} test: a comparison alone would turn it into 0.
 */
final class UnaryF32Kernel extends Kernel implements DeviceArrays.Resident {
    static final int NEG = 0, EXP = 1, LOG = 2, SIN = 3, COS = 4, TANH = 5, SIGMOID = 6, RELU = 7, SQRT = 8, STEP = 9;

    float[] x = new float[1], out = new float[1];
    int n, op;

    /** Binds {@code in} (uploaded unless the device holds it), a fresh output and the op; returns the output. */
    float[] bind(DeviceArrays arrays, float[] in, int op) {
        x = arrays.upload(this, x, in);
        out = new float[in.length];
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

    float apply(float v) {
        float r = v;
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
            float e = exp(-abs(v));
            r = v >= 0f ? 1f / (1f + e) : e / (1f + e);
            r = v != v ? v : r;
        } else if (op == RELU) {
            r = v > 0f ? v : (v != v ? v : 0f);
        } else if (op == SQRT) {
            r = sqrt(v);
        } else if (op == STEP) {
            r = v > 0f ? 1f : (v != v ? v : 0f);
        }
        return r;
    }
}
