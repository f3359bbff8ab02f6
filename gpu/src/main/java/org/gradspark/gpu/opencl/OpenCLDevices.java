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
 * <p><b>Addresses</b> (what Spark's resource scheduling hands a task, {@link #byAddress}): a
 * non-negative integer {@code i} names the i-th of the {@linkplain #addressable addressable devices},
 * the GPUs if there are any, else the accelerators, else the CPU devices, in platform order, then the
 * order each platform lists its devices. Index 0 is the device {@link #choose} picks by default. Why
 * indices: a discovery script can list them without knowing OpenCL (NVIDIA's lists nvidia-smi's
 * indices, 0..n-1), and a container given k GPUs by YARN or Kubernetes sees exactly those k, so the
 * indices name the same set of devices in nvidia-smi and in OpenCL. Within that set the two orders
 * may differ (nvidia-smi orders by PCI bus id; NVIDIA's OpenCL lists them in its own order, CUDA's
 * default one putting the fastest first): index i may be another physical GPU than nvidia-smi's i, but distinct indices are always
 * distinct devices, which is what gives each task its own GPU. A PCI bus id ({@code 0000:3b:00.0})
 * would name one device exactly, but Aparapi, through which this backend talks to OpenCL, reports no
 * bus id (no {@code cl_khr_pci_bus_info} query): such an address is refused with a message that says
 * so, never matched by guess.
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

    /**
     * The devices an address indexes: the GPUs if there are any, else the accelerators, else the
     * CPU devices, in platform order, then device order. Empty when there is no OpenCL device.
     */
    static List<OpenCLDevice> addressable() {
        List<OpenCLDevice> devices = all();
        int best = devices.stream().mapToInt(OpenCLDevices::rank).min().orElse(0);
        return devices.stream().filter(d -> rank(d) == best).toList();
    }

    /**
     * The device a scheduler's {@code address} names (see the class comment): an index into
     * {@link #addressable()}.
     *
     * @throws IllegalArgumentException of one line naming the address and listing the devices there are
     */
    static OpenCLDevice byAddress(String address) {
        List<OpenCLDevice> devices = addressable();
        if (devices.isEmpty()) throw new IllegalArgumentException(NO_DEVICE + " for GPU address '" + address + "'");
        if (address.matches("[0-9]{1,9}") && Integer.parseInt(address) < devices.size()) return devices.get(Integer.parseInt(address));
        String why = address.matches("[0-9]{1,9}") ? "out of range"
                : address.matches("(?i)([0-9a-f]{4,8}:)?[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]")
                        ? "a PCI bus id, which OpenCL through Aparapi does not report for any device: give indices (conf/gpu-discovery.sh lists them)"
                        : "neither an index nor a PCI bus id";
        List<String> listed = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) listed.add(i + ": " + describe(devices.get(i)));
        throw new IllegalArgumentException("opencl backend: GPU address '" + address + "' names no OpenCL device here (" + why
                + "); the devices, by index: " + String.join("; ", listed));
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
