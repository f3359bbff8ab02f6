package org.gradspark.ad.backend;

/**
 * The bytes this thread's kernels moved between the host and a device: what a backend with
 * device-resident tensors uploads (rows, weights, constants) and downloads (results a host read
 * asked for). Backends add to it as they copy; a Spark task, which runs on one thread, reads the
 * difference around its work and reports it ({@code device_bytes_in}, {@code device_bytes_out}).
 * Host backends (reference, cpu) move nothing and add nothing.
 *
 * <pre>{@code
 * DeviceTraffic.Snapshot before = DeviceTraffic.snapshot();
 * ... run kernels ...
 * DeviceTraffic.Snapshot moved = DeviceTraffic.snapshot().minus(before);   // bytesIn(), bytesOut()
 * }</pre>
 */
public final class DeviceTraffic {
    private static final ThreadLocal<long[]> COUNTS = ThreadLocal.withInitial(() -> new long[2]);

    private DeviceTraffic() {}

    /** Bytes copied from the host to a device by this thread. */
    public static void addIn(long bytes) {
        COUNTS.get()[0] += bytes;
    }

    /** Bytes copied from a device to the host by this thread. */
    public static void addOut(long bytes) {
        COUNTS.get()[1] += bytes;
    }

    /** What this thread has moved so far. */
    public static Snapshot snapshot() {
        long[] c = COUNTS.get();
        return new Snapshot(c[0], c[1]);
    }

    /** Bytes in (host to device) and out (device to host). */
    public record Snapshot(long bytesIn, long bytesOut) {
        public Snapshot minus(Snapshot earlier) {
            return new Snapshot(bytesIn - earlier.bytesIn, bytesOut - earlier.bytesOut);
        }
    }
}
