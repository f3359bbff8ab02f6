package org.gradspark.ad;

import org.gradspark.ad.backend.Strides;

/** Data-movement kernels on constants: views, gathers and scatters. The primitives' forwards call these. */
final class Layout {
    private Layout() {}

    /** Same storage, new shape (sizes already checked). */
    static Tensor reshape(Tensor t, Shape s) {
        return t.dtype() == DType.FLOAT32 ? Tensor.wrap(t.rawFloats(), s) : Tensor.wrap(t.rawDoubles(), s);
    }

    /**
     * out[i] = t[base + sum(index_d(i) * strides[d])], copied by rows of the last axis: a contiguous
     * row is one arraycopy, a broadcast one a fill (a tangent shared by all rows, stretched to them,
     * costs one pass of writes), only a strided one goes element by element.
     */
    static Tensor gather(Tensor t, Shape out, int[] strides, int base) {
        int n = out.size();
        int rank = out.rank();
        if (rank == 0 || n == 0) {
            return t.dtype() == DType.FLOAT32 ? Tensor.wrap(n == 0 ? new float[0] : new float[] {t.rawFloats()[base]}, out)
                    : Tensor.wrap(n == 0 ? new double[0] : new double[] {t.rawDoubles()[base]}, out);
        }
        int[] dims = out.dims();
        int row = dims[rank - 1], step = strides[rank - 1], rows = n / row;
        int[] idx = new int[rank];
        Object src = t.dtype() == DType.FLOAT32 ? t.rawFloats() : t.rawDoubles();
        Object dst = t.dtype() == DType.FLOAT32 ? new float[n] : new double[n];
        int off = base;
        for (int r = 0; r < rows; r++) {
            int at = r * row;
            if (step == 1) {
                System.arraycopy(src, off, dst, at, row);
            } else if (src instanceof float[] f) {
                float[] d = (float[]) dst;
                if (step == 0) java.util.Arrays.fill(d, at, at + row, f[off]);
                else for (int j = 0; j < row; j++) d[at + j] = f[off + j * step];
            } else {
                double[] f = (double[]) src, d = (double[]) dst;
                if (step == 0) java.util.Arrays.fill(d, at, at + row, f[off]);
                else for (int j = 0; j < row; j++) d[at + j] = f[off + j * step];
            }
            for (int ax = rank - 2; ax >= 0; ax--) {
                idx[ax]++;
                off += strides[ax];
                if (idx[ax] < dims[ax]) break;
                off -= strides[ax] * dims[ax];
                idx[ax] = 0;
            }
        }
        return dst instanceof float[] f ? Tensor.wrap(f, out) : Tensor.wrap((double[]) dst, out);
    }

    static Tensor permute(Tensor t, int[] perm) {
        int[] dims = t.shape().dims(), st = t.shape().strides();
        int[] outDims = new int[perm.length], outStrides = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            outDims[i] = dims[perm[i]];
            outStrides[i] = st[perm[i]];
        }
        return gather(t, Shape.of(outDims), outStrides, 0);
    }

    static Tensor broadcastTo(Tensor t, Shape s) {
        if (t.shape().equals(s)) return t;
        return gather(t, s, Strides.broadcast(t.shape(), s), 0);
    }

    static Tensor slice(Tensor t, int[] begin, int[] size) {
        int[] st = t.shape().strides();
        int base = 0;
        for (int i = 0; i < begin.length; i++) base += begin[i] * st[i];
        return gather(t, Shape.of(size), st, base);
    }

    /** Writes {@code src} into {@code dst} (row-major buffer of shape {@code dstShape}) at corner {@code begin}. */
    private static void scatter(Tensor src, Object dst, Shape dstShape, int[] begin) {
        int[] st = dstShape.strides();
        int base = 0;
        for (int i = 0; i < begin.length; i++) base += begin[i] * st[i];
        int[] off = Strides.offsets(src.shape(), st, base);
        if (src.dtype() == DType.FLOAT32) {
            float[] s = src.rawFloats(), d = (float[]) dst;
            for (int i = 0; i < off.length; i++) d[off[i]] = s[i];
        } else {
            double[] s = src.rawDoubles(), d = (double[]) dst;
            for (int i = 0; i < off.length; i++) d[off[i]] = s[i];
        }
    }

    private static Object newBuffer(DType dtype, int n) {
        return dtype == DType.FLOAT32 ? new float[n] : new double[n];
    }

    private static Tensor wrapBuffer(Object buf, Shape s) {
        return buf instanceof float[] f ? Tensor.wrap(f, s) : Tensor.wrap((double[]) buf, s);
    }

    static Tensor pad(Tensor t, int[] before, int[] after) {
        int[] dims = t.shape().dims();
        for (int i = 0; i < dims.length; i++) dims[i] += before[i] + after[i];
        Shape out = Shape.of(dims);
        Object buf = newBuffer(t.dtype(), out.size());
        scatter(t, buf, out, before);
        return wrapBuffer(buf, out);
    }

    static Tensor concat(Tensor[] parts, int axis, Shape out) {
        Object buf = newBuffer(parts[0].dtype(), out.size());
        int[] begin = new int[out.rank()];
        for (Tensor p : parts) {
            scatter(p, buf, out, begin);
            begin[axis] += p.shape().dim(axis);
        }
        return wrapBuffer(buf, out);
    }

    /** cond != 0 ? a : b, all three broadcast to {@code out}. */
    static Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) {
        int[] ic = Strides.offsets(out, Strides.broadcast(cond.shape(), out), 0);
        int[] ia = Strides.offsets(out, Strides.broadcast(a.shape(), out), 0);
        int[] ib = Strides.offsets(out, Strides.broadcast(b.shape(), out), 0);
        return Tensor.fromFunction(a.dtype(), out, i -> cond.getDouble(ic[i]) != 0 ? a.getDouble(ia[i]) : b.getDouble(ib[i]));
    }

    static Tensor cast(Tensor t, DType target) {
        if (t.dtype() == target) return t;
        return target == DType.FLOAT32 ? Tensor.wrap(t.toFloatArray(), t.shape()) : Tensor.wrap(t.toDoubleArray(), t.shape());
    }
}
