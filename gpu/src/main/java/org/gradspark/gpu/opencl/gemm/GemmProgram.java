package org.gradspark.gpu.opencl.gemm;

import static org.jocl.CL.CL_KERNEL_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.clBuildProgram;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clCreateProgramWithSource;
import static org.jocl.CL.clGetKernelWorkGroupInfo;
import static org.jocl.CL.clGetProgramBuildInfo;
import static org.jocl.CL.clReleaseKernel;
import static org.jocl.CL.clReleaseProgram;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.gradspark.ad.DType;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_program;

/** {@code gemm.cl} built for one context, device, dtype and {@link GemmParameters}: the program and its kernel. */
final class GemmProgram implements AutoCloseable {
    static final String SOURCE = "gemm.cl";
    private static final String TEXT = readSource();

    final GemmParameters parameters;
    final DType dtype;
    private final cl_program program;
    final cl_kernel kernel;

    private GemmProgram(GemmParameters parameters, DType dtype, cl_program program, cl_kernel kernel) {
        this.parameters = parameters;
        this.dtype = dtype;
        this.program = program;
        this.kernel = kernel;
    }

    /**
     * Builds the kernel; an {@link IllegalStateException} with the build log if the device's compiler
     * rejects it, or if the built kernel cannot run a work-group of {@code MDIMC x NDIMC} (register pressure).
     */
    static GemmProgram build(cl_context context, cl_device_id device, DeviceLimits limits, GemmParameters parameters, DType dtype) {
        String unfit = parameters.unfitFor(limits, dtype);
        if (unfit != null) throw new IllegalArgumentException("GEMM parameters " + parameters + " on " + limits.describe() + ": " + unfit);
        int[] status = new int[1];
        cl_program program = clCreateProgramWithSource(context, 1, new String[] {TEXT}, null, status);
        OpenCLStatus.check(status[0], "clCreateProgramWithSource(" + SOURCE + ")");
        cl_kernel kernel = null;
        try {
            int built = clBuildProgram(program, 1, new cl_device_id[] {device}, parameters.buildOptions(dtype), null, null);
            if (built != org.jocl.CL.CL_SUCCESS) {
                throw new IllegalStateException(SOURCE + " with " + parameters.buildOptions(dtype) + " does not build on "
                        + limits.describe() + ": " + org.jocl.CL.stringFor_errorCode(built) + "\n" + buildLog(program, device));
            }
            kernel = clCreateKernel(program, "gemm", status);
            OpenCLStatus.check(status[0], "clCreateKernel(gemm)");
            long[] groupSize = new long[1];
            OpenCLStatus.check(clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(groupSize), null),
                    "clGetKernelWorkGroupInfo");
            long threads = (long) parameters.mdimc() * parameters.ndimc();
            if (threads > groupSize[0]) {
                throw new IllegalStateException("GEMM parameters " + parameters + " on " + limits.describe() + ": the built kernel runs work-groups of at most "
                        + groupSize[0] + ", not " + threads);
            }
            return new GemmProgram(parameters, dtype, program, kernel);
        } catch (RuntimeException e) {
            if (kernel != null) clReleaseKernel(kernel);
            clReleaseProgram(program);
            throw e;
        }
    }

    private static String buildLog(cl_program program, cl_device_id device) {
        long[] size = new long[1];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] log = new byte[(int) Math.max(1, size[0])];
        clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
        return new String(log, StandardCharsets.UTF_8).trim();
    }

    private static String readSource() {
        try (InputStream in = GemmProgram.class.getResourceAsStream(SOURCE)) {
            if (in == null) throw new IllegalStateException(SOURCE + " is missing from the classpath beside " + GemmProgram.class.getName());
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + SOURCE, e);
        }
    }

    @Override
    public void close() {
        clReleaseKernel(kernel);
        clReleaseProgram(program);
    }
}
