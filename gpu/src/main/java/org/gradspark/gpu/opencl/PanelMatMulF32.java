package org.gradspark.gpu.opencl;

import static org.jocl.CL.*;

import org.gradspark.ad.DType;
import org.gradspark.ad.backend.MatMulDims;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * The CPU-shaped float32 MatMul of {@code matmul_f32.cl} (packed panels, a 12x32 tile of C per
 * work-item in {@code float16} accumulators; see {@link MatMulF32Program} for the why and the
 * measurements) on the resident engine's device buffers: for CPU devices such as PoCL's, from
 * {@link MatMulF32Program#MIN_FLOPS}. The packed panels are two device buffers kept between
 * products and grown when too small. Called with the engine's launch lock held.
 */
final class PanelMatMulF32 implements DeviceMatMul {
    private final cl_context context;
    private final cl_kernel pack, multiply;
    /** The kernels' launch counter (matmul_f32.cl counts work-groups into it); never read here. */
    private final cl_mem done;
    private cl_mem lhs, rhs;
    private long lhsBytes, rhsBytes;
    /** Products run here, for tests. */
    long products;

    PanelMatMulF32(cl_context context, cl_kernel pack, cl_kernel multiply) {
        this.context = context;
        this.pack = pack;
        this.multiply = multiply;
        this.done = clCreateBuffer(context, CL_MEM_READ_WRITE, Sizeof.cl_int, null, null);
    }

    @Override
    public boolean takes(MatMulDims d, DType dtype) {
        return dtype == DType.FLOAT32 && d.flops() >= MatMulF32Program.MIN_FLOPS;
    }

    @Override
    public void enqueue(cl_command_queue queue, cl_mem a, cl_mem b, cl_mem c, MatMulDims d, boolean transA, boolean transB, DType dtype) {
        int batch = d.batch(), m = d.m(), n = d.n(), k = d.k(), mr = MatMulF32Program.MR, nr = MatMulF32Program.NR, group = MatMulF32Program.GROUP;
        int rowPanels = (m + mr - 1) / mr, colPanels = (n + nr - 1) / nr;
        long needLhs = (long) batch * rowPanels * mr * k * Sizeof.cl_float, needRhs = (long) batch * colPanels * nr * k * Sizeof.cl_float;
        if (lhsBytes < needLhs) {
            if (lhs != null) clReleaseMemObject(lhs);
            lhs = clCreateBuffer(context, CL_MEM_READ_WRITE, lhsBytes = needLhs, null, null);
        }
        if (rhsBytes < needRhs) {
            if (rhs != null) clReleaseMemObject(rhs);
            rhs = clCreateBuffer(context, CL_MEM_READ_WRITE, rhsBytes = needRhs, null, null);
        }
        products++;
        int tasks = Math.multiplyExact(rowPanels + colPanels, (k + 15) / 16);
        args(pack, a, b, lhs, rhs, m, n, k, transA ? 1 : k, transA ? m : 1, transB ? 1 : n, transB ? k : 1, done);
        clEnqueueNDRangeKernel(queue, pack, 2, null, new long[] {KernelLauncher.roundUp(tasks, group), batch}, new long[] {group, 1}, 0, null, null);
        // PoCL compiles a kernel once per work-group shape: (2 or 1, 16 or 1, 1) here.
        int cols = colPanels >= 2 ? 2 : 1, rows = rowPanels >= group ? group : 1;
        args(multiply, lhs, rhs, c, m, n, k, MatMulF32Program.KC, done);
        clEnqueueNDRangeKernel(queue, multiply, 3, null, new long[] {KernelLauncher.roundUp(colPanels, cols), KernelLauncher.roundUp(rowPanels, rows), batch},
                new long[] {cols, rows, 1}, 0, null, null);
    }

    private static void args(cl_kernel k, Object... args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof cl_mem mem) clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(mem));
            else clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {(Integer) args[i]}));
        }
    }

    /** Releases the panels and the counter (the engine releases the kernels). */
    @Override
    public void close() {
        if (lhs != null) clReleaseMemObject(lhs);
        if (rhs != null) clReleaseMemObject(rhs);
        clReleaseMemObject(done);
        lhs = rhs = null;
    }
}
