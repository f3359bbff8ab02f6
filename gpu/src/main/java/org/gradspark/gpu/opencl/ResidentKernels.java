package org.gradspark.gpu.opencl;

import java.util.Locale;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.ad.backend.Strides;
import org.gradspark.ad.backend.UnaryOp;

/**
 * The {@link org.gradspark.ad.backend.Backend} kernels on one {@link ResidentEngine}: each reads its
 * operands where they are (this device's buffers in place; host tensors uploaded once per array) and
 * returns a tensor whose values stay on the device ({@link Tensor#onDevice}) until the host reads them.
 * One launch per op (pad: two), no copy, no host round trip; the kernels are in {@code resident.cl}.
 */
final class ResidentKernels {
    private final ResidentEngine engine;

    ResidentKernels(ResidentEngine engine) {
        this.engine = engine;
    }

    ResidentEngine engine() {
        return engine;
    }

    Tensor unary(UnaryOp op, Tensor x) {
        int n = x.size();
        if (n == 0) return empty(x.dtype(), x.shape());
        DeviceBuffer in = engine.argument(x), out = engine.allocate(x.dtype(), n);
        engine.launch(x.dtype(), "unary", new long[] {n}, in, out, op.ordinal(), n);
        return Tensor.onDevice(out, x.shape());
    }

    Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase(Locale.ROOT);
        requireSameDType(name, a, b);
        Shape out = Shape.broadcast(a.shape(), b.shape(), name);
        int n = out.size();
        if (n == 0) return empty(a.dtype(), out);
        Strided s = Strided.of(name, out.dims(), Strides.broadcast(a.shape(), out), Strides.broadcast(b.shape(), out));
        DeviceBuffer da = engine.argument(a), db = engine.argument(b), dy = engine.allocate(a.dtype(), n);
        engine.launch(a.dtype(), "binary", new long[] {n}, da, db, dy, op.ordinal(), n, s.rank, s.dims, s.strides[0], s.strides[1]);
        return Tensor.onDevice(dy, out);
    }

    Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) {
        requireSameDType("matMul", a, b);
        MatMulDims d = MatMulDims.of(a, b, transA, transB);
        Shape outShape = d.outShape();
        if (outShape.size() == 0 || d.k() == 0) return Tensor.full(0, a.dtype(), outShape);
        DeviceBuffer da = engine.argument(a), db = engine.argument(b), dc = engine.allocate(a.dtype(), outShape.size());
        engine.matMul(da, db, dc, d, transA, transB);
        return Tensor.onDevice(dc, outShape);
    }

    Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        Shape outShape = x.shape().reduce(axes, keepDims);
        if (axes.length == 0) return x.withShape(outShape);
        if (outShape.size() == 0 || x.size() == 0) return Tensor.full(0, x.dtype(), outShape);
        OpenCLBackend.Reduction red = new OpenCLBackend.Reduction(x.shape(), axes);
        int outSize = outShape.size();
        DeviceBuffer in = engine.argument(x), out = engine.allocate(x.dtype(), outSize);
        engine.launch(x.dtype(), "sum_axes", new long[] {outSize}, in, out, outSize,
                red.keptRank, Strided.pad8(red.keptDims, red.keptRank, "sum"), Strided.pad8(red.keptStrides, red.keptRank, "sum"),
                red.reducedRank, Strided.pad8(red.reducedDims, red.reducedRank, "sum"), Strided.pad8(red.reducedStrides, red.reducedRank, "sum"),
                red.reducedSize);
        return Tensor.onDevice(out, outShape);
    }

    Tensor max(Tensor x, int axis, boolean keepDims) {
        Shape outShape = x.shape().reduce(new int[] {axis}, keepDims);
        AxisSplit a = AxisSplit.of(x.shape(), axis);
        if (outShape.size() == 0 || a.len() == 0) return Tensor.full(Double.NEGATIVE_INFINITY, x.dtype(), outShape);
        DeviceBuffer in = engine.argument(x), out = engine.allocate(x.dtype(), outShape.size());
        engine.launch(x.dtype(), "max_axis", new long[] {outShape.size()}, in, out, a.outer(), a.len(), a.inner());
        return Tensor.onDevice(out, outShape);
    }

    // ------------------------------------------------------------------ layout

    Tensor gather(Tensor x, Shape out, int[] strides, int base) {
        int n = out.size();
        if (n == 0) return empty(x.dtype(), out);
        Strided s = Strided.of("gather", out.dims(), strides);
        DeviceBuffer in = engine.argument(x), dy = engine.allocate(x.dtype(), n);
        engine.launch(x.dtype(), "gather", new long[] {n}, in, dy, n, base, s.rank, s.dims, s.strides[0]);
        return Tensor.onDevice(dy, out);
    }

    Tensor pad(Tensor x, int[] before, int[] after) {
        int[] dims = x.shape().dims();
        for (int i = 0; i < dims.length; i++) dims[i] += before[i] + after[i];
        Shape out = Shape.of(dims);
        if (out.size() == 0) return empty(x.dtype(), out);
        Tensor padded = full(0, x.dtype(), out);
        scatter(x, (DeviceBuffer) padded.deviceData(), out, before);
        return padded;
    }

    /** {@code value} everywhere, made on the device (one launch, nothing uploaded). */
    Tensor full(double value, DType dtype, Shape shape) {
        int n = shape.size();
        if (n == 0) return empty(dtype, shape);
        DeviceBuffer dy = engine.allocate(dtype, n);
        engine.launch(dtype, "fill", new long[] {n}, dy, dtype == DType.FLOAT32 ? (Object) (float) value : (Object) value, n);
        return Tensor.onDevice(dy, shape);
    }

    Tensor concat(Tensor[] parts, int axis, Shape out) {
        DType dtype = parts[0].dtype();
        if (out.size() == 0) return empty(dtype, out);
        DeviceBuffer dy = engine.allocate(dtype, out.size());
        int[] begin = new int[out.rank()];
        for (Tensor p : parts) {
            requireSameDType("concat", parts[0], p);
            scatter(p, dy, out, begin);
            begin[axis] += p.shape().dim(axis);
        }
        return Tensor.onDevice(dy, out);
    }

    /** Writes {@code src} into {@code dst} (shape {@code dstShape}) with its corner at {@code begin}. */
    private void scatter(Tensor src, DeviceBuffer dst, Shape dstShape, int[] begin) {
        int n = src.size();
        if (n == 0) return;
        int[] st = dstShape.strides();
        int base = 0;
        for (int i = 0; i < begin.length; i++) base += begin[i] * st[i];
        Strided s = Strided.of("scatter", src.shape().dims(), st);
        engine.launch(src.dtype(), "scatter", new long[] {n}, engine.argument(src), dst, n, base, s.rank, s.dims, s.strides[0]);
    }

    Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) {
        requireSameDType("where", a, b);
        if (out.size() == 0) return empty(a.dtype(), out);
        Tensor c = cond.dtype() == a.dtype() ? cond : cast(cond, a.dtype());
        Strided s = Strided.of("where", out.dims(), Strides.broadcast(c.shape(), out), Strides.broadcast(a.shape(), out), Strides.broadcast(b.shape(), out));
        DeviceBuffer dc = engine.argument(c), da = engine.argument(a), db = engine.argument(b), dy = engine.allocate(a.dtype(), out.size());
        engine.launch(a.dtype(), "where_select", new long[] {out.size()}, dc, da, db, dy, out.size(), s.rank, s.dims, s.strides[0], s.strides[1], s.strides[2]);
        return Tensor.onDevice(dy, out);
    }

    Tensor cast(Tensor x, DType target) {
        if (x.dtype() == target) return x;
        int n = x.size();
        if (n == 0) return empty(target, x.shape());
        DeviceBuffer in = engine.argument(x), out = engine.allocate(target, n);
        // Both directions are kernels of the float64 program (they read or write doubles).
        engine.launch(DType.FLOAT64, target == DType.FLOAT64 ? "cast_to_double" : "cast_to_float", new long[] {n}, in, out, n);
        return Tensor.onDevice(out, x.shape());
    }

    private static Tensor empty(DType dtype, Shape shape) {
        return dtype == DType.FLOAT32 ? Tensor.wrap(new float[0], shape) : Tensor.wrap(new double[0], shape);
    }

    private static void requireSameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": operands have different dtypes, " + a.dtype() + " " + a.shape() + " and " + b.dtype() + " " + b.shape());
        }
    }
}
