package org.gradspark.gpu.opencl.gemm;

import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clCreateCommandQueue;
import static org.jocl.CL.clCreateContext;
import static org.jocl.CL.clEnqueueReadBuffer;
import static org.jocl.CL.clFinish;
import static org.jocl.CL.clGetDeviceIDs;
import static org.jocl.CL.clGetPlatformIDs;
import static org.jocl.CL.clReleaseCommandQueue;
import static org.jocl.CL.clReleaseContext;
import static org.jocl.CL.clReleaseMemObject;
import static org.junit.jupiter.api.Assertions.fail;

import org.gradspark.ad.DType;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.junit.jupiter.api.Assumptions;

/**
 * The first OpenCL device JOCL finds (PoCL's CPU device here), with a context and an in-order queue, for
 * the tests of this package. No device: the tests are skipped, or fail under {@code GRADSPARK_REQUIRE_OPENCL=1}
 * (the rule of the opencl package's tests).
 */
final class JoclDevice implements AutoCloseable {
    final cl_context context;
    final cl_device_id device;
    final cl_command_queue queue;

    private JoclDevice(cl_context context, cl_device_id device, cl_command_queue queue) {
        this.context = context;
        this.device = device;
        this.queue = queue;
    }

    static JoclDevice openOrSkip() {
        cl_device_id device;
        String why = "no OpenCL device on this machine (install an OpenCL driver, e.g. Debian's pocl-opencl-icd)";
        try {
            device = firstDevice();
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            device = null;
            why = "JOCL cannot load libOpenCL.so (" + e.getMessage() + "; Debian: apt-get install ocl-icd-opencl-dev)";
        }
        if (device == null) {
            if ("1".equals(System.getenv("GRADSPARK_REQUIRE_OPENCL"))) fail("GRADSPARK_REQUIRE_OPENCL=1 but " + why);
            Assumptions.abort(why);
        }
        int[] status = new int[1];
        cl_context context = clCreateContext(null, 1, new cl_device_id[] {device}, null, null, status);
        OpenCLStatus.check(status[0], "clCreateContext");
        cl_command_queue queue = clCreateCommandQueue(context, device, 0, status);
        OpenCLStatus.check(status[0], "clCreateCommandQueue");
        return new JoclDevice(context, device, queue);
    }

    private static cl_device_id firstDevice() {
        int[] count = new int[1];
        if (clGetPlatformIDs(0, null, count) != CL.CL_SUCCESS || count[0] == 0) return null;
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        clGetPlatformIDs(platforms.length, platforms, null);
        for (cl_platform_id platform : platforms) {
            int[] devices = new int[1];
            if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, null, devices) != CL.CL_SUCCESS || devices[0] == 0) continue;
            cl_device_id[] ids = new cl_device_id[devices[0]];
            clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, ids.length, ids, null);
            return ids[0];
        }
        return null;
    }

    /** A buffer holding {@code values} (float32 or float64 as {@code dtype} says), padded with {@code extra} elements of NaN. */
    cl_mem upload(double[] values, DType dtype, int extra) {
        int[] status = new int[1];
        cl_mem mem;
        if (dtype == DType.FLOAT32) {
            float[] f = new float[values.length + extra];
            java.util.Arrays.fill(f, Float.NaN);
            for (int i = 0; i < values.length; i++) f[i] = (float) values[i];
            mem = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (long) f.length * Sizeof.cl_float, Pointer.to(f), status);
        } else {
            double[] d = java.util.Arrays.copyOf(values, values.length + extra);
            java.util.Arrays.fill(d, values.length, d.length, Double.NaN);
            mem = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (long) d.length * Sizeof.cl_double, Pointer.to(d), status);
        }
        OpenCLStatus.check(status[0], "clCreateBuffer");
        return mem;
    }

    /** {@code count} elements from element {@code offset}, after the queue has finished. */
    double[] download(cl_mem mem, long offset, int count, DType dtype) {
        OpenCLStatus.check(clFinish(queue), "clFinish");
        double[] out = new double[count];
        if (dtype == DType.FLOAT32) {
            float[] f = new float[count];
            OpenCLStatus.check(clEnqueueReadBuffer(queue, mem, true, offset * Sizeof.cl_float, (long) count * Sizeof.cl_float, Pointer.to(f), 0, null, null), "read");
            for (int i = 0; i < count; i++) out[i] = f[i];
        } else {
            OpenCLStatus.check(clEnqueueReadBuffer(queue, mem, true, offset * Sizeof.cl_double, (long) count * Sizeof.cl_double, Pointer.to(out), 0, null, null), "read");
        }
        return out;
    }

    static void release(cl_mem... mems) {
        for (cl_mem m : mems) clReleaseMemObject(m);
    }

    @Override
    public void close() {
        GpuGemm.release(context);
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }
}
