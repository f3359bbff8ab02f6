package org.gradspark.gpu.opencl;

import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.internal.opencl.OpenCLPlatform;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The OpenCL devices of this machine, and which one the backend uses: the one whose device or
 * platform name contains the system property {@code gradspark.opencl.device} when it is set, else a
 * GPU before an accelerator before a CPU device (such as PoCL's), in the order the drivers list them.
 *
 * <p>What a scheduler's device address means is {@link ResidentDevices}' rule (the resident backend's
 * devices, found through JOCL): this class serves the Aparapi kernels.
 */
final class OpenCLDevices {
    static final String DEVICE_PROPERTY = org.gradspark.ad.backend.BackendSettings.OPENCL_DEVICE;
    static final String NO_DEVICE = "opencl backend: no OpenCL device found (install an OpenCL driver, e.g. Debian's pocl-opencl-icd for CPUs)";

    private OpenCLDevices() {}

    /** Every device of every platform; empty when there is no driver, or no OpenCL library at all. */
    static List<OpenCLDevice> all() {
        List<OpenCLDevice> devices = new ArrayList<>();
        try {
            for (OpenCLPlatform p : OpenCLPlatform.getUncachedOpenCLPlatforms()) devices.addAll(p.getOpenCLDevices());
        } catch (LinkageError | RuntimeException e) {
            // No libOpenCL, or Aparapi's native library would not load: there is no device to use.
            return List.of();
        }
        return devices;
    }

    /** The device to use; an {@link IllegalStateException} of one line when there is none (or none matches). */
    static OpenCLDevice choose() {
        List<OpenCLDevice> devices = all();
        if (devices.isEmpty()) throw new IllegalStateException(NO_DEVICE);
        String wanted = System.getProperty(DEVICE_PROPERTY);
        if (wanted != null && !wanted.isBlank()) {
            String w = wanted.toLowerCase(Locale.ROOT);
            for (OpenCLDevice d : devices) {
                if (d.getName().toLowerCase(Locale.ROOT).contains(w) || d.getOpenCLPlatform().getName().toLowerCase(Locale.ROOT).contains(w)) return d;
            }
            List<String> names = new ArrayList<>();
            for (OpenCLDevice d : devices) names.add(describe(d));
            throw new IllegalStateException("opencl backend: no OpenCL device matches " + DEVICE_PROPERTY + "='" + wanted + "'; found: " + String.join("; ", names));
        }
        return devices.stream().min(Comparator.comparingInt(OpenCLDevices::rank)).orElseThrow();
    }

    /** For example {@code pthread-skylake-avx512-Intel(R) Xeon(R) ... (CPU, 2 compute units) on Portable Computing Language (OpenCL 3.0 PoCL 3.1 ...)}. */
    static String describe(OpenCLDevice d) {
        OpenCLPlatform p = d.getOpenCLPlatform();
        return d.getName().trim() + " (" + d.getType() + ", " + d.getMaxComputeUnits() + " compute units) on " + p.getName().trim() + " (" + p.getVersion().trim() + ")";
    }

    /** PoCL, whose LLVM needs {@code -cl-unsafe-math-optimizations} in POCL_EXTRA_BUILD_FLAGS to vectorise a dot product. */
    static boolean isPocl(OpenCLDevice d) {
        String p = d.getOpenCLPlatform().getName() + " " + d.getOpenCLPlatform().getVersion();
        return p.contains("Portable Computing Language") || p.contains("PoCL") || p.contains("pocl");
    }

    private static int rank(OpenCLDevice d) {
        Device.TYPE t = d.getType();
        return t == Device.TYPE.GPU ? 0 : t == Device.TYPE.ACC ? 1 : 2;
    }
}
