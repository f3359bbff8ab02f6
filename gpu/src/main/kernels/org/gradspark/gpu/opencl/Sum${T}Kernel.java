package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;

/**
 * ${dtype} sum over a set of axes: one work-item per output element. The input is seen as its
 * kept axes (giving the element's base offset) and its reduced axes, both coalesced by the caller so
 * that the common cases (the last axis, the first, everything) are a single strided loop.
 * Accumulates in double and rounds once, as the reference backend does, so float32 sums of many
 * terms lose no more than their final rounding (this needs the device to support cl_khr_fp64).
 * Generated from gpu/src/main/kernels (one template for float32 and float64).
 */
final class Sum${T}Kernel extends Kernel implements DeviceArrays.Resident {
    ${real}[] x = new ${real}[1], out = new ${real}[1];
    int[] keptDims = new int[1], keptStrides = new int[1], reducedDims = new int[1], reducedStrides = new int[1];
    int outSize, keptRank, reducedRank, reducedSize;

    /** Binds {@code in}, the reduction's layout and a fresh output of {@code outSize}; returns the kernel and that output. */
    OpenCLBackend.Bound bind(DeviceArrays arrays, ${real}[] in, OpenCLBackend.Reduction red, int outSize) {
        x = arrays.upload(this, x, in);
        keptDims = arrays.upload(this, keptDims, red.keptDims);
        keptStrides = arrays.upload(this, keptStrides, red.keptStrides);
        reducedDims = arrays.upload(this, reducedDims, red.reducedDims);
        reducedStrides = arrays.upload(this, reducedStrides, red.reducedStrides);
        out = new ${real}[outSize];
        this.outSize = outSize;
        keptRank = red.keptRank;
        reducedRank = red.reducedRank;
        reducedSize = red.reducedSize;
        return new OpenCLBackend.Bound(this, out);
    }

    @Override
    public Object[] deviceArrays() {
        return new Object[] {x, out, keptDims, keptStrides, reducedDims, reducedStrides};
    }

    @Override
    @SuppressWarnings("cast") // (double) s, in the float64 kernel
    public void run() {
        int o = getGlobalId();
        if (o < outSize) {
            int rest = o, base = 0;
            for (int d = keptRank - 1; d >= 0; d--) {
                int size = keptDims[d];
                base += (rest % size) * keptStrides[d];
                rest = rest / size;
            }
            double s = 0.0;
            if (reducedRank == 1) {
                int stride = reducedStrides[0];
                for (int r = 0; r < reducedSize; r++) {
                    s += x[base + r * stride];
                }
            } else {
                for (int r = 0; r < reducedSize; r++) {
                    int left = r, off = base;
                    for (int d = reducedRank - 1; d >= 0; d--) {
                        int size = reducedDims[d];
                        off += (left % size) * reducedStrides[d];
                        left = left / size;
                    }
                    s += x[off];
                }
            }
            out[o] = (${real}) s;
        }
    }
}
