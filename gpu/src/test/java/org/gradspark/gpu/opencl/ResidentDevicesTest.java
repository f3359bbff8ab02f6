package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code onDevice}: one resident backend per OpenCL device, by index or PCI bus id. The gpu module's
 * tests run with {@code POCL_DEVICES="pthread pthread"} (gpu/pom.xml), so PoCL shows two CPU devices.
 */
class ResidentDevicesTest {
    private static final Backend OPENCL = new OpenCLBackend();

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Test
    void anAddressThatNamesNoDeviceIsAnErrorListingTheDevices() {
        int count = ResidentDevices.list().size();
        for (String bad : new String[] {String.valueOf(count), "-1", "gpu0", "0000:ff:1f.7", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OPENCL.onDevice(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'") && e.getMessage().contains("0: "), e.getMessage());
        }
    }

    @Test
    void eachAddressIsOneBackendOnItsDevice() {
        assertSame(OPENCL.onDevice("0"), OPENCL.onDevice("0"), "one instance per device");
        assertEquals("opencl", OPENCL.onDevice("0").name());
        assumeTrue(ResidentDevices.list().size() >= 2, "needs two OpenCL devices (POCL_DEVICES=\"pthread pthread\")");
        Backend d0 = OPENCL.onDevice("0"), d1 = OPENCL.onDevice("1");
        assertNotSame(d0, d1);
        assertNotEquals(d0.device(), d1.device());
    }

    /** Two threads, each on its own device, computing at once: both right. */
    @Test
    void twoDevicesComputeCorrectlyAtOnceFromTwoThreads() throws Exception {
        assumeTrue(ResidentDevices.list().size() >= 2, "needs two OpenCL devices (POCL_DEVICES=\"pthread pthread\")");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<double[]> f0 = pool.submit(work(OPENCL.onDevice("0"), 1)), f1 = pool.submit(work(OPENCL.onDevice("1"), 2));
            double[] expected0 = work(ReferenceBackend.INSTANCE, 1).call(), expected1 = work(ReferenceBackend.INSTANCE, 2).call();
            assertClose(expected0, f0.get());
            assertClose(expected1, f1.get());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Twenty rounds of a layer's forward pass and a reduction on {@code backend}. */
    private static Callable<double[]> work(Backend backend, long seed) {
        return () -> {
            try (Backends.Scope s = Backends.scoped(backend)) {
                // [128, 64]: above the size under which the backend keeps ops of host tensors on the host.
                Tensor x = Tensor.uniform(seed, -1, 1, DType.FLOAT64, 128, 64), w = Tensor.uniform(seed + 10, -1, 1, DType.FLOAT64, 64, 64);
                for (int i = 0; i < 20; i++) x = Ops.tanh(Ops.matMul(x, w));
                Tensor r = Ops.sum(x, 0, false);
                if (backend != ReferenceBackend.INSTANCE) {
                    assertTrue(r.deviceData() != null && r.deviceData().owner() == backend, "the result stays on its own device");
                }
                return r.toDoubleArray();
            }
        };
    }

    private static void assertClose(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            // float64 through 20 layers: the rounding of differently ordered sums grows to about 1e-8; a wrong result is off by O(1).
            assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-7 * (1 + Math.abs(expected[i])), "element " + i + ": " + expected[i] + " vs " + actual[i]);
        }
    }
}
