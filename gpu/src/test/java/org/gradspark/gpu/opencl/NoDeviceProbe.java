package org.gradspark.gpu.opencl;

import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.UnaryOp;

/** Run by {@link OpenCLDeviceTest} in a child JVM that sees no OpenCL driver; prints what the backend says. */
public final class NoDeviceProbe {
    private NoDeviceProbe() {}

    public static void main(String[] args) {
        System.out.println("available=" + OpenCLBackend.available());
        OpenCLBackend backend = new OpenCLBackend();
        System.out.println("name=" + backend.name());
        try {
            backend.unary(UnaryOp.EXP, Tensor.of(new float[] {1f}));
            System.out.println("error=none");
        } catch (IllegalStateException e) {
            System.out.println("error=" + e.getMessage());
        }
        try {
            backend.device();
            System.out.println("deviceError=none");
        } catch (IllegalStateException e) {
            System.out.println("deviceError=" + e.getMessage());
        }
    }
}
