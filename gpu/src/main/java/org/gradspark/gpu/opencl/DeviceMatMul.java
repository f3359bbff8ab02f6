package org.gradspark.gpu.opencl;

import org.gradspark.ad.DType;
import org.gradspark.ad.backend.MatMulDims;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_mem;

/**
 * A MatMul kernel the resident backend can call on device buffers: the seam where a tuned kernel
 * (a GPU-shaped tiled GEMM) takes the products it is good at. Factories are found through
 * {@link java.util.ServiceLoader} when a device is opened; the first kernel that {@link #takes} a
 * product runs it, else the engine's simple kernel ({@code matmul} in {@code resident.cl}) does.
 */
public interface DeviceMatMul {
    /** Whether this kernel computes products of these sizes and dtype on its device. */
    boolean takes(MatMulDims d, DType dtype);

    /**
     * Enqueues {@code c = op(a) @ op(b)} on {@code queue} (in order; the engine holds the device's launch
     * lock). {@code a}, {@code b} are row-major with the shapes {@code d} describes, {@code c} has room
     * for {@code d.outShape()}; nothing may be read back or copied from the host.
     */
    void enqueue(cl_command_queue queue, cl_mem a, cl_mem b, cl_mem c, MatMulDims d, boolean transA, boolean transB, DType dtype);

    /**
     * Makes the kernel for one device, launching on {@code queue} (the engine's only queue), or returns
     * null when it has none for that device. For example, a GPU-shaped GEMM answers only for {@code gpu}.
     */
    /** Releases what it made for its device (its programs): the engine calls it before releasing the context. */
    default void close() {}

    interface Factory {
        DeviceMatMul forDevice(cl_context context, cl_device_id device, cl_command_queue queue, boolean gpu);
    }
}
