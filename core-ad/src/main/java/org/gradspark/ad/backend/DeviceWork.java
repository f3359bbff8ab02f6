package org.gradspark.ad.backend;

/**
 * Where this thread's kernels ran: how many ops and flops a device backend launched on its device,
 * and how many it kept on the host because they were too small to be worth a launch. The sibling
 * of {@link DeviceTraffic}; a Spark task reads the difference around its work so the job summary can
 * say where each partition's work ran. Host backends (reference, cpu) record nothing.
 *
 * <pre>{@code
 * DeviceWork.Snapshot before = DeviceWork.snapshot();
 * ... run kernels ...
 * DeviceWork.Snapshot ran = DeviceWork.snapshot().minus(before);   // deviceOps(), hostOps(), ...
 * }</pre>
 */
public final class DeviceWork {
    private static final ThreadLocal<long[]> COUNTS = ThreadLocal.withInitial(() -> new long[4]);

    private DeviceWork() {}

    /** One op launched on a device, of {@code flops} floating-point operations (elements for elementwise ops). */
    public static void onDevice(long flops) {
        long[] c = COUNTS.get();
        c[0]++;
        c[1] += flops;
    }

    /** One op a device backend ran on the host instead. */
    public static void onHost(long flops) {
        long[] c = COUNTS.get();
        c[2]++;
        c[3] += flops;
    }

    /** What this thread has run so far. */
    public static Snapshot snapshot() {
        long[] c = COUNTS.get();
        return new Snapshot(c[0], c[1], c[2], c[3]);
    }

    /** Ops and flops on the device and on the host. */
    public record Snapshot(long deviceOps, long deviceFlops, long hostOps, long hostFlops) {
        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(deviceOps - earlier.deviceOps, deviceFlops - earlier.deviceFlops, hostOps - earlier.hostOps, hostFlops - earlier.hostFlops);
        }
    }
}
