package org.gradspark.ad.backend;

import org.gradspark.ad.Shape;

/** Strided index arithmetic shared by the reference kernels and the layout ops. */
public final class Strides {
    private Strides() {}

    /** Strides of {@code in} seen through a broadcast to {@code out}: 0 along stretched or missing axes. */
    public static int[] broadcast(Shape in, Shape out) {
        int[] s = new int[out.rank()];
        int[] inStrides = in.strides();
        int off = out.rank() - in.rank();
        for (int i = 0; i < in.rank(); i++) {
            s[i + off] = in.dim(i) == 1 && out.dim(i + off) != 1 ? 0 : inStrides[i];
        }
        return s;
    }

    /**
     * For each element of {@code out} in row-major order, the offset {@code base + sum(index[d] * strides[d])}
     * into a source buffer.
     */
    public static int[] offsets(Shape out, int[] strides, int base) {
        int n = out.size();
        int[] res = new int[n];
        int rank = out.rank();
        int[] dims = out.dims();
        int[] idx = new int[rank];
        int off = base;
        for (int i = 0; i < n; i++) {
            res[i] = off;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                off += strides[d];
                if (idx[d] < dims[d]) break;
                off -= strides[d] * dims[d];
                idx[d] = 0;
            }
        }
        return res;
    }
}
