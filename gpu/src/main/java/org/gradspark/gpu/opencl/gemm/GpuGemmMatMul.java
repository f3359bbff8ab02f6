package org.gradspark.gpu.opencl.gemm;

import org.gradspark.ad.DType;
import org.gradspark.ad.backend.BackendSettings;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.gpu.opencl.DeviceMatMul;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_mem;

/**
 * The resident opencl backend's MatMul on GPU devices: {@link GpuGemm} (tiled, tuned per device) on
 * the engine's own buffers and queue, for every product of a dtype the device computes. Registered
 * through {@link java.util.ServiceLoader} as a {@link DeviceMatMul.Factory}; on CPU devices (PoCL) the
 * engine keeps its CPU-shaped kernels, unless {@code gradspark.gemm.onCpuDevices=true} (tests: the
 * GPU kernel then runs on PoCL, where it is correct but slower).
 */
public final class GpuGemmMatMul implements DeviceMatMul {
    private final cl_context context;
    private final GpuGemm gemm;

    private GpuGemmMatMul(cl_context context, GpuGemm gemm) {
        this.context = context;
        this.gemm = gemm;
    }

    @Override
    public void close() {
        GpuGemm.release(context);
    }

    /** Products Spark executors run on a GPU: every one of a dtype the device computes. */
    @Override
    public boolean takes(MatMulDims d, DType dtype) {
        return gemm.supports(dtype);
    }

    /** Operands are whole buffers from element 0, [batch, rows, cols] when batched (rank 3: equal batches). */
    @Override
    public void enqueue(cl_command_queue queue, cl_mem a, cl_mem b, cl_mem c, MatMulDims d, boolean transA, boolean transB, DType dtype) {
        gemm.enqueue(a, 0, b, 0, c, 0, d.batch(), d.m(), d.n(), d.k(), transA, transB, dtype);
    }

    /** Answers for GPU devices (and CPU devices with {@code gradspark.gemm.onCpuDevices=true}). */
    public static final class Factory implements DeviceMatMul.Factory {
        @Override
        public DeviceMatMul forDevice(cl_context context, cl_device_id device, cl_command_queue queue, boolean gpu) {
            if (!gpu && !Boolean.getBoolean(BackendSettings.GEMM_ON_CPU_DEVICES)) return null;
            return new GpuGemmMatMul(context, GpuGemm.forDevice(context, device, queue));
        }
    }
}
