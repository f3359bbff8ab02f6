package org.gradspark.gpu.opencl;

import static org.jocl.CL.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * The OpenCL devices the resident backend can open, found through JOCL, in the order that gives
 * device addresses their meaning: the GPUs if there are any, else the accelerators, else the CPU
 * devices (such as PoCL's), in platform order and then device order. An address is an index into
 * that list ({@code "0"}, {@code "1"}: what a discovery script that counts the GPUs prints), or a PCI
 * bus id ({@code 0000:3b:00.0}) matched where the driver reports one (cl_khr_pci_bus_info, or
 * NVIDIA's attributes); indices are what Spark's example discovery scripts hand out, bus ids survive
 * a driver that lists the devices in another order.
 *
 * <p>Why indices first: a discovery script can list them without knowing OpenCL (NVIDIA's lists
 * nvidia-smi's indices, 0..n-1), and a container given k GPUs by YARN or Kubernetes sees exactly those
 * k, so the indices name the same set of devices in nvidia-smi and in OpenCL. Within that set the two
 * orders may differ (nvidia-smi orders by PCI bus id; NVIDIA's OpenCL lists devices in its own order):
 * index i may be another physical GPU than nvidia-smi's i, but distinct indices are always distinct
 * devices, which is what gives each task its own GPU. A discovery script that prints PCI bus ids
 * instead names each device exactly. Index 0 is the device {@link #choose} picks by default.
 */
final class ResidentDevices {
    private static final long CL_DEVICE_PCI_BUS_INFO_KHR = 0x410F;
    private static final int CL_DEVICE_PCI_BUS_ID_NV = 0x4008, CL_DEVICE_PCI_SLOT_ID_NV = 0x4009, CL_DEVICE_PCI_DOMAIN_ID_NV = 0x400A;

    private ResidentDevices() {}

    /** One device: its platform, id, type, name and (where reported) PCI bus id. */
    record Entry(int index, cl_platform_id platform, cl_device_id id, long type, String name, String platformName, String pciBusId, int computeUnits) {
        /** For example {@code OpenCL device 1: pthread-skylake-avx512 (CPU, 2 compute units) on Portable Computing Language (OpenCL 3.0 PoCL 3.1 ...)}. */
        String describe() {
            String kind = (type & CL_DEVICE_TYPE_GPU) != 0 ? "GPU" : (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "ACC" : "CPU";
            return "OpenCL device " + index + ": " + name + " (" + kind + ", " + computeUnits + " compute units"
                    + (pciBusId == null ? "" : ", " + pciBusId) + ") on " + platformName;
        }

        boolean isPocl() {
            return platformName.contains("Portable Computing Language") || platformName.toLowerCase(Locale.ROOT).contains("pocl");
        }
    }

    private static volatile List<Entry> listed;

    /** The devices in address order (see the class comment), found once per JVM; empty when there is no OpenCL driver. */
    /** Why JOCL could not load the OpenCL library, or null. */
    private static volatile String loadFailure;

    static List<Entry> list() {
        List<Entry> l = listed;
        if (l == null) listed = l = find();
        return l;
    }

    private static List<Entry> find() {
        List<Entry> all = new ArrayList<>();
        try {
            CL.setExceptionsEnabled(true);
            int[] count = new int[1];
            clGetPlatformIDs(0, null, count);
            cl_platform_id[] platforms = new cl_platform_id[count[0]];
            clGetPlatformIDs(platforms.length, platforms, null);
            for (cl_platform_id p : platforms) {
                int[] n = new int[1];
                try {
                    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
                } catch (org.jocl.CLException e) {
                    continue;   // CL_DEVICE_NOT_FOUND: a platform without devices
                }
                cl_device_id[] ids = new cl_device_id[n[0]];
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, ids.length, ids, null);
                String platformName = platformString(p, CL_PLATFORM_NAME) + " (" + platformString(p, CL_PLATFORM_VERSION) + ")";
                for (cl_device_id d : ids) {
                    all.add(new Entry(-1, p, d, deviceLong(d, CL_DEVICE_TYPE), deviceString(d, CL_DEVICE_NAME), platformName, pciBusId(d),
                            (int) deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS)));
                }
            }
        } catch (LinkageError e) {
            // JOCL opens only the unversioned libOpenCL.so, which Debian ships in the loader's dev package.
            loadFailure = "JOCL cannot load the OpenCL loader libOpenCL.so (" + e.getMessage()
                    + "); install it (Debian: apt-get install ocl-icd-opencl-dev) or link libOpenCL.so to libOpenCL.so.1 on the library path";
            return List.of();
        } catch (RuntimeException e) {
            return List.of();   // no ICD: no device to use
        }
        for (long kind : new long[] {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ACCELERATOR, CL_DEVICE_TYPE_CPU}) {
            List<Entry> some = all.stream().filter(e -> (e.type() & kind) != 0).toList();
            if (!some.isEmpty()) return numbered(some);
        }
        return List.of();
    }

    private static List<Entry> numbered(List<Entry> devices) {
        List<Entry> r = new ArrayList<>();
        for (Entry e : devices) r.add(new Entry(r.size(), e.platform(), e.id(), e.type(), e.name(), e.platformName(), e.pciBusId(), e.computeUnits()));
        return r;
    }

    /**
     * The device {@code address} names: an index into {@link #list()} or a PCI bus id.
     *
     * @throws IllegalArgumentException naming the address and the devices there are
     */
    static Entry byAddress(String address) {
        List<Entry> devices = list();
        String a = address == null ? "" : address.trim();
        if (a.matches("\\d{1,9}")) {
            int i = Integer.parseInt(a);
            if (i < devices.size()) return devices.get(i);
        } else if (a.matches("(?i)([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]")) {
            String full = (a.length() == 7 ? "0000:" + a : a).toLowerCase(Locale.ROOT);
            for (Entry e : devices) if (full.equals(e.pciBusId())) return e;
        }
        if (devices.isEmpty()) {
            throw new IllegalArgumentException(OpenCLDevices.NO_DEVICE + " for GPU address '" + address + "'" + (loadFailure == null ? "" : ": " + loadFailure));
        }
        String why = a.matches("\\d{1,9}") ? "out of range"
                : a.matches("(?i)([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]") ? "a PCI bus id no device here reports"
                : "neither an index nor a PCI bus id";
        throw new IllegalArgumentException("opencl backend: GPU address '" + address + "' names no OpenCL device here (" + why
                + "; an index 0.." + (devices.size() - 1) + " or a PCI bus id); the devices, by index: " + listing(devices));
    }

    /** The default device: the one whose name or platform contains {@code gradspark.opencl.device}, else the first. */
    static Entry choose() {
        List<Entry> devices = list();
        if (devices.isEmpty()) throw new IllegalStateException(OpenCLDevices.NO_DEVICE + (loadFailure == null ? "" : ": " + loadFailure));
        String wanted = System.getProperty(OpenCLDevices.DEVICE_PROPERTY);
        if (wanted == null || wanted.isBlank()) return devices.get(0);
        String w = wanted.toLowerCase(Locale.ROOT);
        for (Entry e : devices) {
            if (e.name().toLowerCase(Locale.ROOT).contains(w) || e.platformName().toLowerCase(Locale.ROOT).contains(w)) return e;
        }
        throw new IllegalStateException("opencl backend: no OpenCL device matches " + OpenCLDevices.DEVICE_PROPERTY + "='" + wanted
                + "'; found: " + listing(devices));
    }

    static String listing(List<Entry> devices) {
        if (devices.isEmpty()) return "none";
        List<String> names = new ArrayList<>();
        for (Entry e : devices) names.add(e.describe().substring("OpenCL device ".length()));
        return String.join("; ", names);
    }

    /** {@code dddd:bb:dd.f}, or null when the driver reports no bus id. */
    private static String pciBusId(cl_device_id d) {
        String extensions = deviceString(d, CL_DEVICE_EXTENSIONS);
        try {
            if (extensions.contains("cl_khr_pci_bus_info")) {
                int[] info = new int[4];   // domain, bus, device, function
                clGetDeviceInfo(d, (int) CL_DEVICE_PCI_BUS_INFO_KHR, Sizeof.cl_int * 4L, Pointer.to(info), null);
                return String.format("%04x:%02x:%02x.%x", info[0], info[1], info[2], info[3]);
            }
            if (extensions.contains("cl_nv_device_attribute_query")) {
                long bus = deviceInt(d, CL_DEVICE_PCI_BUS_ID_NV), slot = deviceInt(d, CL_DEVICE_PCI_SLOT_ID_NV);
                long domain = safeInt(d, CL_DEVICE_PCI_DOMAIN_ID_NV);   // older drivers do not answer: domain 0
                return String.format("%04x:%02x:%02x.%x", domain, bus, slot >> 3, slot & 7);
            }
        } catch (org.jocl.CLException e) {
            return null;   // the extension is listed but the query is not answered: no bus id to match
        }
        return null;
    }

    private static long safeInt(cl_device_id d, int param) {
        try {
            return deviceInt(d, param);
        } catch (org.jocl.CLException e) {
            return 0;
        }
    }

    static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_long, Pointer.to(v), null);
        return v[0];
    }

    static long deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_int, Pointer.to(v), null);
        return v[0] & 0xffffffffL;
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return new String(b, 0, Math.max(0, b.length - 1), java.nio.charset.StandardCharsets.UTF_8).trim();
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return new String(b, 0, Math.max(0, b.length - 1), java.nio.charset.StandardCharsets.UTF_8).trim();
    }
}
