package org.gradspark.ad.backend;

import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * The data-movement kernels on host arrays: the {@link Backend} layout methods' default
 * implementations (the reference and cpu backends use them as they are). Inputs on a device are
 * read back first; a reshape shares the storage, wherever it is.
 */
public final class HostLayout {
    private HostLayout() {}

    /** Same storage (host arrays or device data), new shape (sizes already checked). */
    public static Tensor reshape(Tensor t, Shape s) {
        return t.withShape(s);
    }

    /**
     * out[i] = t[base + sum(index_d(i) * strides[d])], copied by rows of the last axis: a contiguous
     * row is one arraycopy, a broadcast one a fill (a tangent shared by all rows, stretched to them,
     * costs one pass of writes), only a strided one goes element by element.
     */
    public static Tensor gather(Tensor t, Shape out, int[] strides, int base) {
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

    /** {@code t} with {@code before[d]} zeros before and {@code after[d]} after it along each axis d. */
    public static Tensor pad(Tensor t, int[] before, int[] after) {
        int[] dims = t.shape().dims();
        for (int i = 0; i < dims.length; i++) dims[i] += before[i] + after[i];
        Shape out = Shape.of(dims);
        Object buf = newBuffer(t.dtype(), out.size());
        scatter(t, buf, out, before);
        return wrapBuffer(buf, out);
    }

    /** The parts side by side along {@code axis}, giving shape {@code out} (already checked). */
    public static Tensor concat(Tensor[] parts, int axis, Shape out) {
        Object buf = newBuffer(parts[0].dtype(), out.size());
        int[] begin = new int[out.rank()];
        for (Tensor p : parts) {
            scatter(p, buf, out, begin);
            begin[axis] += p.shape().dim(axis);
        }
        return wrapBuffer(buf, out);
    }

    /** cond != 0 ? a : b, all three broadcast to {@code out}. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) {
        int[] ic = Strides.offsets(out, Strides.broadcast(cond.shape(), out), 0);
        int[] ia = Strides.offsets(out, Strides.broadcast(a.shape(), out), 0);
        int[] ib = Strides.offsets(out, Strides.broadcast(b.shape(), out), 0);
        return Tensor.fromFunction(a.dtype(), out, i -> cond.getDouble(ic[i]) != 0 ? a.getDouble(ia[i]) : b.getDouble(ib[i]));
    }

    /** {@code t} converted to {@code target} (rounded to nearest for float64 to float32). */
    public static Tensor cast(Tensor t, DType target) {
        if (t.dtype() == target) return t;
        return target == DType.FLOAT32 ? Tensor.wrap(t.toFloatArray(), t.shape()) : Tensor.wrap(t.toDoubleArray(), t.shape());
    }
}
