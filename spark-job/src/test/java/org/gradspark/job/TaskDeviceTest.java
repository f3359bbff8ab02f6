package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.ReferenceBackend;
import org.gradspark.ad.backend.UnaryOp;
import org.gradspark.job.exec.TaskDevice;
import org.junit.jupiter.api.Test;

/** The rule of {@link TaskDevice#of}: which device a task's backend runs on, given Spark's GPU addresses. */
class TaskDeviceTest {
    /** A backend named {@code name} with devices: {@code onDevice(a)} is one whose device is "device a"; address "7" names none. */
    private static Backend withDevices(String name, String device) {
        return new Backend() {
            @Override public String name() { return name; }
            @Override public String device() { return device; }
            @Override public Backend onDevice(String address) {
                if (address.equals("7")) throw new IllegalArgumentException("GPU address '7' names no device");
                return withDevices(name, "device " + address);
            }
            @Override public Tensor unary(UnaryOp op, Tensor x) { throw new UnsupportedOperationException(); }
            @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { throw new UnsupportedOperationException(); }
            @Override public Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) { throw new UnsupportedOperationException(); }
            @Override public Tensor sum(Tensor x, int[] axes, boolean keepDims) { throw new UnsupportedOperationException(); }
            @Override public Tensor max(Tensor x, int axis, boolean keepDims) { throw new UnsupportedOperationException(); }
        };
    }

    @Test
    void openclAndAutoRunOnTheFirstAssignedAddress() {
        for (String name : List.of("opencl", "auto")) {
            TaskDevice d = TaskDevice.of(withDevices(name, "jvm's device"), List.of("1", "0"));
            assertEquals("device 1", d.backend().device());
            assertEquals("1", d.address());
            assertEquals(List.of("1", "0"), d.gpus());
            assertEquals(TaskDevice.USED, d.assignment());
            assertEquals(new TaskDevice.Placement("device 1", "1", List.of("1", "0"), "used", 42L), d.placement(42L));
        }
    }

    @Test
    void withoutAnAssignmentTheBackendKeepsItsOwnDevice() {
        Backend b = withDevices("opencl", "jvm's device");
        TaskDevice d = TaskDevice.of(b, List.of());
        assertSame(b, d.backend());
        assertNull(d.address());
        assertEquals(TaskDevice.NONE, d.assignment());
    }

    @Test
    void aBackendOnTheHostIgnoresTheAssignmentAndSaysSo() {
        TaskDevice d = TaskDevice.of(ReferenceBackend.INSTANCE, List.of("0"));
        assertSame(ReferenceBackend.INSTANCE, d.backend());
        assertNull(d.address());
        assertEquals("ignored: backend reference runs on the host", d.assignment());
        assertEquals("ignored: backend cpu runs on the host", TaskDevice.of(withDevices("cpu", "host"), List.of("0")).assignment());
    }

    @Test
    void anAddressThatNamesNoDeviceIsTheBackendsError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskDevice.of(withDevices("opencl", "x"), List.of("7")));
        assertEquals("GPU address '7' names no device", e.getMessage());
    }
}
