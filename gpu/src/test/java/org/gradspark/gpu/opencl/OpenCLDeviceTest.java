package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gradspark.ad.backend.Backend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which device runs the kernels, how it is described, and what a machine without one is told. */
class OpenCLDeviceTest {
    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Test
    void availableAndDescribed() {
        assertTrue(OpenCLBackend.available());
        Backend b = new OpenCLBackend();
        assertEquals("opencl", b.name());
        String d = b.device();
        assertTrue(d.matches(".+ \\((CPU|GPU|ACC), \\d+ compute units\\) on .+ \\(OpenCL .+\\)"), d);
        // The resident engine opens the device through JOCL and numbers it; Aparapi names it the same way.
        assertEquals(ResidentDevices.choose().describe(), d);
        assertTrue(d.endsWith(OpenCLDevices.describe(OpenCLDevices.choose())), d);
    }

    @Test
    void aDeviceNameThatMatchesNothingIsAnErrorListingTheDevices() {
        String old = System.getProperty(OpenCLDevices.DEVICE_PROPERTY);
        System.setProperty(OpenCLDevices.DEVICE_PROPERTY, "no-such-device-anywhere");
        try {
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, OpenCLDevices::choose);
            assertTrue(e.getMessage().contains("no-such-device-anywhere") && e.getMessage().contains("found: "), e.getMessage());
        } finally {
            if (old == null) System.clearProperty(OpenCLDevices.DEVICE_PROPERTY);
            else System.setProperty(OpenCLDevices.DEVICE_PROPERTY, old);
        }
    }

    /**
     * A child JVM whose OpenCL loader finds no driver (OCL_ICD_VENDORS points at an empty directory,
     * OCL_ICD_FILENAMES is unset):
     * constructing the backend works, using it fails with the one-line message.
     */
    @Test
    void withoutADriverTheBackendSaysWhatIsMissing(@TempDir Path emptyVendors) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), NoDeviceProbe.class.getName());
        pb.environment().put("OCL_ICD_VENDORS", emptyVendors.toString());
        // Both ICD loaders (ocl-icd, Khronos') also load the drivers this variable names, beside the folder's.
        pb.environment().remove("OCL_ICD_FILENAMES");
        pb.redirectErrorStream(false);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        List<String> lines = List.of(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        assertEquals(0, p.exitValue(), String.join("\n", lines));
        assertEquals(List.of(
                "available=false",
                "name=opencl",
                "error=" + OpenCLDevices.NO_DEVICE,
                "deviceError=" + OpenCLDevices.NO_DEVICE), lines);
        assertTrue(Files.isDirectory(emptyVendors));
    }
}
