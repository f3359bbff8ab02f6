package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * float64 maximum along one axis, the input seen as [outer, len, inner]: one work-item per
 * (outer, inner) pair. NaN wins, as in NumPy: once the running maximum is NaN it stays.
 */
final class MaxF64Kernel extends Kernel implements DeviceArrays.Resident {
    double[] x = new double[1], out = new double[1];
    int outer, len, inner;
    /** -infinity, the maximum of nothing; passed in because Aparapi has no infinity constants. */
    double lowest;

    /** Binds {@code in} as [outer, len, inner] and a fresh output of outer × inner; returns the output. */
    double[] bind(DeviceArrays arrays, double[] in, int outer, int len, int inner) {
        x = arrays.upload(this, x, in);
        out = new double[outer * inner];
        this.outer = outer;
        this.len = len;
        this.inner = inner;
        lowest = Double.NEGATIVE_INFINITY;
        return out;
    }

    @Override
    public Object[] deviceArrays() {
        return new Object[] {x, out};
    }

    @Override
    public void run() {
        int o = getGlobalId();
        if (o < outer * inner) {
            int q = o / inner;
            int base = q * len * inner + (o - q * inner);
            double best = lowest;
            for (int r = 0; r < len; r++) {
                double v = x[base + r * inner];
                if (best == best && (v != v || v > best)) {
                    best = v;
                }
            }
            out[o] = best;
        }
    }
}
