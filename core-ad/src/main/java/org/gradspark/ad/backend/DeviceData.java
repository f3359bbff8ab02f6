package org.gradspark.ad.backend;

import org.gradspark.ad.DType;

/**
 * A tensor's values held by a device instead of host arrays: what a backend with device-resident
 * tensors returns from its kernels ({@link org.gradspark.ad.Tensor#onDevice}). The host copy is made
 * once, on the tensor's first host read ({@code getDouble}, {@code rawFloats}, printing,
 * serialization), through {@link #readInto}; an implementation counts those bytes with
 * {@link DeviceTraffic#addOut}. Device data is immutable, so tensors may share it (a reshape, a
 * tensor with another autodiff node, a Parameter).
 *
 * <pre>{@code
 * Tensor y = backend.unary(UnaryOp.SIN, x);   // y.deviceData() != null on a resident backend
 * y.getDouble(0);                              // reads y's values back once; later reads are host reads
 * }</pre>
 */
public interface DeviceData {
    /** FLOAT32 or FLOAT64. */
    DType dtype();

    /** Number of elements. */
    int size();

    /** The backend instance (one per device) whose kernels can read this data in place. */
    Backend owner();

    /** Copies the values into {@code dst} (of length {@link #size()}); float32 data only. */
    void readInto(float[] dst);

    /** Copies the values into {@code dst} (of length {@link #size()}); float64 data only. */
    void readInto(double[] dst);
}
