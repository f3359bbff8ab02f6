package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * ${dtype} maximum along one axis, the input seen as [outer, len, inner]: one work-item per
 * (outer, inner) pair. NaN wins, as in NumPy: once the running maximum is NaN it stays.
 * Generated from gpu/src/main/kernels (one template for float32 and float64).
 */
final class Max${T}Kernel extends Kernel implements DeviceArrays.Resident {
    ${real}[] x = new ${real}[1], out = new ${real}[1];
    int outer, len, inner;
    /** -infinity, the maximum of nothing; passed in because Aparapi has no infinity constants. */
    ${real} lowest;

    /** Binds {@code in} as [outer, len, inner] and a fresh output of outer × inner; returns the kernel and that output. */
    OpenCLBackend.Bound bind(DeviceArrays arrays, ${real}[] in, int outer, int len, int inner) {
        x = arrays.upload(this, x, in);
        out = new ${real}[outer * inner];
        this.outer = outer;
        this.len = len;
        this.inner = inner;
        lowest = ${Real}.NEGATIVE_INFINITY;
        return new OpenCLBackend.Bound(this, out);
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
            ${real} best = lowest;
            for (int r = 0; r < len; r++) {
                ${real} v = x[base + r * inner];
                if (best == best && (v != v || v > best)) {
                    best = v;
                }
            }
            out[o] = best;
        }
    }
}
