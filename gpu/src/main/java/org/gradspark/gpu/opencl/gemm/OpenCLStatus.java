package org.gradspark.gpu.opencl.gemm;

import org.jocl.CL;

/**
 * OpenCL status codes as exceptions. JOCL returns them unless {@code CL.setExceptionsEnabled(true)}, a
 * JVM-wide switch this package leaves to the code that owns the context.
 */
final class OpenCLStatus {
    private OpenCLStatus() {}

    /** Throws an {@link IllegalStateException} naming {@code call} and the status unless it is CL_SUCCESS. */
    static void check(int status, String call) {
        if (status != CL.CL_SUCCESS) throw new IllegalStateException(call + " failed: " + CL.stringFor_errorCode(status));
    }
}
