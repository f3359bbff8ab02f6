package org.gradspark.ad.backend;

import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * The raw kernels the primitives call. Inputs are constants (no autodiff links are read) of one
 * dtype; outputs are new tensors of that dtype. Implementations: {@link ReferenceBackend} here,
 * fast CPU and OpenCL backends in module {@code gpu}, found through {@link java.util.ServiceLoader}.
 * The layout kernels ({@link #reshape}, {@link #gather}, {@link #pad}, {@link #concat}, {@link #where},
 * {@link #cast}) run on host arrays by default ({@link HostLayout}); a backend whose tensors live on a
 * device overrides them so that they stay there.
 */
public interface Backend {

    /** Short name used to select it ({@code reference}, {@code cpu}, {@code opencl}). */
    String name();

    /** The device that actually runs the kernels, in words (for logs and job summaries). */
    String device();

    /** {@code op(x)} elementwise. */
    Tensor unary(UnaryOp op, Tensor x);

    /** {@code op(a, b)} elementwise with NumPy broadcasting; a and b have the same dtype. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /**
     * {@code op(a) @ op(b)}, where op transposes the last two axes when its flag is set.
     * Rank 2, or rank 3 with equal batch sizes (a batched product). Shapes are already checked.
     */
    Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB);

    /** Sum over the given axes (sorted, distinct, non-negative), keeping them as size 1 if asked. */
    Tensor sum(Tensor x, int[] axes, boolean keepDims);

    /** Maximum along one axis; NaN wins (as NumPy's max). */
    Tensor max(Tensor x, int axis, boolean keepDims);

    /**
     * A tensor of {@code shape} filled with {@code value}: the zero cotangents and tangents and the
     * ones the transforms seed with. A device backend makes it on the device, so it never crosses the bus.
     */
    default Tensor full(double value, DType dtype, Shape shape) {
        return Tensor.full(value, dtype, shape);
    }

    /** The same storage in shape {@code s} (same size, already checked): by default shared, never copied. */
    default Tensor reshape(Tensor x, Shape s) {
        return HostLayout.reshape(x, s);
    }

    /**
     * {@code out[i] = x[base + sum(index_d(i) * strides[d])]} over the elements of shape {@code out}:
     * permute, broadcastTo and slice (strides of 0 repeat a value).
     */
    default Tensor gather(Tensor x, Shape out, int[] strides, int base) {
        return HostLayout.gather(x, out, strides, base);
    }

    /** {@code x} with {@code before[d]} zeros before and {@code after[d]} after it along each axis d. */
    default Tensor pad(Tensor x, int[] before, int[] after) {
        return HostLayout.pad(x, before, after);
    }

    /** The parts (one dtype) side by side along {@code axis}, giving shape {@code out} (already checked). */
    default Tensor concat(Tensor[] parts, int axis, Shape out) {
        return HostLayout.concat(parts, axis, out);
    }

    /** {@code cond != 0 ? a : b}, all three broadcast to {@code out}; cond may have the other dtype. */
    default Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) {
        return HostLayout.where(cond, a, b, out);
    }

    /** {@code x} converted to {@code target} (a different dtype). */
    default Tensor cast(Tensor x, DType target) {
        return HostLayout.cast(x, target);
    }

    /**
     * Gets the float32 kernels of {@code ops} compiled before their first large use: a JIT backend
     * runs them on small arrays until the JVM has optimised them (a fresh executor JVM otherwise
     * crawls through its first chunks). Blocks until done; results are the same either way. By
     * default nothing to do.
     */
    default void warmUp(java.util.Set<UnaryOp> ops) {}

    /**
     * This backend on the device a scheduler assigned to the running task: {@code address} is one of
     * the addresses Spark's resource scheduling gave it (for GPUs, what the discovery script listed).
     * A backend with devices returns an instance bound to that device (one per device, shared by the
     * tasks given it); one that runs on the host has no device to choose and refuses, naming the
     * address. An address that names no device is an {@link IllegalArgumentException} naming it.
     */
    default Backend onDevice(String address) {
        throw new IllegalArgumentException("backend '" + name() + "' runs on the host: it has no device '" + address + "' to run on");
    }
}
