package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gradspark.ad.backend.Backend;
import org.gradspark.gpu.AutoBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link OpenCLBackend#onDevice}: the address rule of {@link ResidentDevices#byAddress}, one backend per device. */
class DeviceAddressTest {
    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Test
    void indexZeroIsTheDefaultDeviceAndEachAddressHasOneBackend() {
        Backend zero = new OpenCLBackend().onDevice("0");
        assertEquals(new OpenCLBackend().device(), zero.device());
        assertSame(zero, new OpenCLBackend().onDevice("0"));
        assertEquals("opencl", zero.name());
    }

    @Test
    void anAddressOutOfRangeNamesItselfAndTheDevicesThereAre() {
        int n = ResidentDevices.list().size();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new OpenCLBackend().onDevice(String.valueOf(n + 6)));
        assertTrue(e.getMessage().contains("GPU address '" + (n + 6) + "' names no OpenCL device here (out of range; an index 0.." + (n - 1))
                && e.getMessage().contains("the devices, by index: " + ResidentDevices.listing(ResidentDevices.list())), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void aPciBusIdOrAnythingElseIsRefusedSayingWhy() {
        IllegalArgumentException pci = assertThrows(IllegalArgumentException.class, () -> new OpenCLBackend().onDevice("0000:3b:00.0"));
        assertTrue(pci.getMessage().contains("'0000:3b:00.0'") && pci.getMessage().contains("a PCI bus id no device here reports"), pci.getMessage());
        for (String bad : List.of("-1", "gpu0", "", "1e3")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new OpenCLBackend().onDevice(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void autoDelegatesToTheAddressedDevice() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AutoBackend().onDevice("99"));
        assertTrue(e.getMessage().contains("GPU address '99'"), e.getMessage());
        Backend auto = new AutoBackend();
        assertSame(auto.onDevice("0"), auto.onDevice("0"));
        assertEquals("auto", auto.onDevice("0").name());
    }

    /**
     * PoCL with two devices (a child JVM: PoCL reads POCL_DEVICES once, when it loads): addresses 0 and 1
     * are two devices, both correct, and device 0 still runs its kernels after device 1 prepared the same
     * kernel classes (Aparapi keeps preferred devices per class).
     */
    @Test
    void twoPoclDevicesAreTwoAddresses() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector",
                // Every op on the device: the probe's small MatMul would otherwise run on the host (gradspark.opencl.hostBelow).
                "-D" + org.gradspark.ad.backend.BackendSettings.OPENCL_HOST_BELOW + "=0",
                "-cp", System.getProperty("java.class.path"), TwoDeviceProbe.class.getName());
        pb.environment().put("POCL_DEVICES", "pthread pthread");
        Path err = Files.createTempFile("two-device-probe", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        String errors = Files.readString(err);
        Files.delete(err);
        assertEquals(0, p.exitValue(), out + errors);
        List<String> lines = out.lines().toList();
        assertEquals(4, lines.size(), out);
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}", lines.get(0));
        assertTrue(lines.get(1).matches("0 id=\\S+ matmulError<1e-12=true"), out);
        assertTrue(lines.get(2).matches("1 id=\\S+ matmulError<1e-12=true"), out);
        assertEquals(lines.get(1), lines.get(3), out);
        assertNotEquals(lines.get(1).replaceAll(".*id=(\\S+).*", "$1"), lines.get(2).replaceAll(".*id=(\\S+).*", "$1"), out);
    }
}
