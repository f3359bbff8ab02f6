package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.DeviceTraffic;
import org.gradspark.ad.backend.DeviceWork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Small ops of host tensors run on the host, counted as such; large ones, and any op with an operand
 * already on the device, run on the device. Nothing is quiet: {@link DeviceWork} says where each ran.
 */
class SmallTensorRoutingTest {
    private static final Backend OPENCL = new OpenCLBackend(null, 1000);

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Test
    void aScalarWorkloadStaysOnTheHostAndSaysSo() {
        try (Backends.Scope ignored = Backends.scoped(OPENCL)) {
            DeviceWork.Snapshot before = DeviceWork.snapshot();
            DeviceTraffic.Snapshot moved = DeviceTraffic.snapshot();
            Tensor x = Tensor.of(new double[] {0.3, 0.7});
            Tensor y = Ops.sum(Ops.mul(Ops.sin(x), x));
            DeviceWork.Snapshot ran = DeviceWork.snapshot().minus(before);
            assertNull(y.deviceData());
            assertEquals(3, ran.hostOps());
            assertEquals(0, ran.deviceOps());
            assertEquals(new DeviceTraffic.Snapshot(0, 0), DeviceTraffic.snapshot().minus(moved));
            assertEquals(Math.sin(0.3) * 0.3 + Math.sin(0.7) * 0.7, y.item(), 1e-15);
        }
    }

    @Test
    void aLargeOpRunsOnTheDeviceAndItsSmallSuccessorsFollowIt() {
        try (Backends.Scope ignored = Backends.scoped(OPENCL)) {
            DeviceWork.Snapshot before = DeviceWork.snapshot();
            Tensor x = Tensor.uniform(1, -1, 1, DType.FLOAT32, 40, 50);
            Tensor rows = Ops.sum(Ops.tanh(x), 1, false);        // 2000 elements on the device, then a sum of 40 outputs
            Tensor small = Ops.mul(rows, 2.0);                   // 40 elements, but its operand is on the device
            DeviceWork.Snapshot ran = DeviceWork.snapshot().minus(before);
            assertTrue(small.deviceData() != null, "an op with a device operand stays on the device");
            assertEquals(3, ran.deviceOps());
            assertEquals(0, ran.hostOps());
            assertEquals(2000 + 2000 + 40, ran.deviceFlops());
        }
    }
}
