package org.gradspark.ad;

import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.Strides;

/**
 * Data-movement ops on constants: views, gathers and scatters, run by the current {@link Backend}
 * (a device backend keeps its tensors there). The primitives' forwards call these; permute,
 * broadcastTo and slice are gathers with the strides worked out here.
 */
final class Layout {
    private Layout() {}

    private static Backend backend() {
        return Backends.current();
    }

    /** Same storage, new shape (sizes already checked). */
    static Tensor reshape(Tensor t, Shape s) {
        return backend().reshape(t, s);
    }

    static Tensor permute(Tensor t, int[] perm) {
        int[] dims = t.shape().dims(), st = t.shape().strides();
        int[] outDims = new int[perm.length], outStrides = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            outDims[i] = dims[perm[i]];
            outStrides[i] = st[perm[i]];
        }
        return backend().gather(t, Shape.of(outDims), outStrides, 0);
    }

    static Tensor broadcastTo(Tensor t, Shape s) {
        if (t.shape().equals(s)) return t;
        return backend().gather(t, s, Strides.broadcast(t.shape(), s), 0);
    }

    static Tensor slice(Tensor t, int[] begin, int[] size) {
        int[] st = t.shape().strides();
        int base = 0;
        for (int i = 0; i < begin.length; i++) base += begin[i] * st[i];
        return backend().gather(t, Shape.of(size), st, base);
    }

    static Tensor pad(Tensor t, int[] before, int[] after) {
        return backend().pad(t, before, after);
    }

    static Tensor concat(Tensor[] parts, int axis, Shape out) {
        return backend().concat(parts, axis, out);
    }

    /** cond != 0 ? a : b, all three broadcast to {@code out}. */
    static Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) {
        return backend().where(cond, a, b, out);
    }

    static Tensor cast(Tensor t, DType target) {
        if (t.dtype() == target) return t;
        return backend().cast(t, target);
    }
}
