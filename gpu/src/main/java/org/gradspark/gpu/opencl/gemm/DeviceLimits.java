package org.gradspark.gpu.opencl.gemm;

import static org.jocl.CL.CL_DEVICE_EXTENSIONS;
import static org.jocl.CL.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_ITEM_SIZES;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_PLATFORM;
import static org.jocl.CL.CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE;
import static org.jocl.CL.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DRIVER_VERSION;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.clGetDeviceInfo;
import static org.jocl.CL.clGetPlatformInfo;

import java.nio.charset.StandardCharsets;
import org.gradspark.ad.DType;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * What a device allows a GEMM parameter set, and the identity its tuned parameters are cached under
 * (platform, device name, driver version: a new driver is tuned again).
 *
 * @param maxWorkItems the largest local size along dimensions 0 and 1
 */
record DeviceLimits(String platform, String name, String driver, boolean gpu, long maxWorkGroupSize,
                    long[] maxWorkItems, long localMemBytes, int preferredFloatWidth, int preferredDoubleWidth,
                    boolean fp64) {

    /** Asks the driver. */
    static DeviceLimits of(cl_device_id device) {
        cl_platform_id platform = new cl_platform_id();
        OpenCLStatus.check(clGetDeviceInfo(device, CL_DEVICE_PLATFORM, Sizeof.cl_platform_id, Pointer.to(platform), null),
                "clGetDeviceInfo(CL_DEVICE_PLATFORM)");
        long[] type = new long[1];
        OpenCLStatus.check(clGetDeviceInfo(device, CL_DEVICE_TYPE, Sizeof.cl_long, Pointer.to(type), null), "clGetDeviceInfo(CL_DEVICE_TYPE)");
        long[] items = new long[3];
        OpenCLStatus.check(clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_SIZES, 3L * Sizeof.size_t, Pointer.to(items), null),
                "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)");
        String extensions = deviceString(device, CL_DEVICE_EXTENSIONS);
        return new DeviceLimits(platformString(platform, CL_PLATFORM_NAME), deviceString(device, CL_DEVICE_NAME),
                deviceString(device, CL_DRIVER_VERSION), (type[0] & CL_DEVICE_TYPE_GPU) != 0,
                sizeT(device, CL_DEVICE_MAX_WORK_GROUP_SIZE), new long[] {items[0], items[1]},
                deviceLong(device, CL_DEVICE_LOCAL_MEM_SIZE), (int) deviceInt(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT),
                (int) deviceInt(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE), extensions.contains("cl_khr_fp64"));
    }

    /** Whether the device runs {@code dtype} at all (float64 needs cl_khr_fp64). */
    boolean supports(DType dtype) {
        return dtype == DType.FLOAT32 || fp64;
    }

    /** The device's preferred vector width for {@code dtype}, at least 1. */
    int preferredWidth(DType dtype) {
        return Math.max(1, dtype == DType.FLOAT32 ? preferredFloatWidth : preferredDoubleWidth);
    }

    /** How messages name the device. */
    String describe() {
        return "'" + name + "' (" + platform + ", driver " + driver + ")";
    }

    private static String deviceString(cl_device_id device, int param) {
        long[] size = new long[1];
        OpenCLStatus.check(clGetDeviceInfo(device, param, 0, null, size), "clGetDeviceInfo");
        byte[] bytes = new byte[(int) size[0]];
        OpenCLStatus.check(clGetDeviceInfo(device, param, bytes.length, Pointer.to(bytes), null), "clGetDeviceInfo");
        return trimmed(bytes);
    }

    private static String platformString(cl_platform_id platform, int param) {
        long[] size = new long[1];
        OpenCLStatus.check(clGetPlatformInfo(platform, param, 0, null, size), "clGetPlatformInfo");
        byte[] bytes = new byte[(int) size[0]];
        OpenCLStatus.check(clGetPlatformInfo(platform, param, bytes.length, Pointer.to(bytes), null), "clGetPlatformInfo");
        return trimmed(bytes);
    }

    private static String trimmed(byte[] nulTerminated) {
        int end = 0;
        while (end < nulTerminated.length && nulTerminated[end] != 0) end++;
        return new String(nulTerminated, 0, end, StandardCharsets.UTF_8).trim();
    }

    private static long sizeT(cl_device_id device, int param) {
        long[] v = new long[1];
        OpenCLStatus.check(clGetDeviceInfo(device, param, Sizeof.size_t, Pointer.to(v), null), "clGetDeviceInfo");
        return v[0];
    }

    private static long deviceLong(cl_device_id device, int param) {
        long[] v = new long[1];
        OpenCLStatus.check(clGetDeviceInfo(device, param, Sizeof.cl_ulong, Pointer.to(v), null), "clGetDeviceInfo");
        return v[0];
    }

    private static long deviceInt(cl_device_id device, int param) {
        int[] v = new int[1];
        OpenCLStatus.check(clGetDeviceInfo(device, param, Sizeof.cl_uint, Pointer.to(v), null), "clGetDeviceInfo");
        return v[0];
    }
}
