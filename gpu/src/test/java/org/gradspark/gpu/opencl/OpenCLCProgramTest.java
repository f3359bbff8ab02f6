package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.gradspark.gpu.opencl.OpenCLCProgram.Arg;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenCL C kernels through Aparapi's raw layer: a program that does not build and a launch that does
 * not run are errors saying so, never stale results; and a launch handed arrays at new addresses every
 * time does not deadlock the garbage collector, as Aparapi's own {@code bind} does.
 */
class OpenCLCProgramTest {
    private static OpenCLDevice device;
    private static OpenCLCProgram square;

    @BeforeAll
    static void build() {
        OpenCLAvailability.requireDeviceOrSkip();
        device = OpenCLDevices.choose();
        square = OpenCLCProgram.build(device, "square_for_test.cl", "square");
    }

    @AfterAll
    static void release() {
        if (square != null) square.close();
    }

    @Test
    void aLaunchComputesOnTheDevice() {
        float[] in = new float[100], out = new float[100], expected = new float[100];
        for (int i = 0; i < in.length; i++) {
            in[i] = i - 50;
            expected[i] = in[i] * in[i];
        }
        square.launch("square", Range.create(device, 112, 16), Arg.in(in), Arg.out(out), Arg.of(in.length));
        assertArrayEquals(expected, out);
    }

    @Test
    void aSourceThatDoesNotBuildIsAnErrorNamingIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> OpenCLCProgram.build(device, "does_not_build_for_test.cl", "square"));
        assertTrue(e.getMessage().startsWith("opencl backend: the OpenCL C program does_not_build_for_test.cl does not build for "), e.getMessage());
        assertTrue(e.getMessage().contains("no kernel 'square'"), e.getMessage());
    }

    @Test
    void aMissingSourceIsAnErrorNamingIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> OpenCLCProgram.build(device, "no_such_file.cl", "square"));
        assertTrue(e.getMessage().contains("no_such_file.cl not found"), e.getMessage());
    }

    /** OpenCL would refuse these (and Aparapi's native layer would then crash the JVM): refused before the launch. */
    @Test
    void aWorkGroupTheDeviceWouldRefuseIsAnErrorAndNothingRuns() {
        int tooBig = device.getMaxWorkGroupSize() * 2;
        float[] in = new float[tooBig], out = new float[tooBig];
        java.util.Arrays.fill(in, 3f);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> square.launch("square", Range.create(device, tooBig, tooBig), Arg.in(in), Arg.out(out), Arg.of(tooBig)));
        assertTrue(e.getMessage().startsWith("opencl backend: OpenCL C kernel 'square' of square_for_test.cl on "), e.getMessage());
        assertTrue(e.getMessage().contains("refused"), e.getMessage());
        Range uneven = Range.create(device, 64, 16);
        uneven.setGlobalSize_0(72);
        e = assertThrows(IllegalStateException.class, () -> square.launch("square", uneven, Arg.in(in), Arg.out(out), Arg.of(72)));
        assertTrue(e.getMessage().contains("work-group size 16 along axis 0 does not fit global size 72"), e.getMessage());
        assertEquals(0f, out[0]);
    }

    @Test
    void anUnknownKernelIsAnError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> square.launch("cube", Range.create(device, 16, 16), Arg.in(new float[16]), Arg.out(new float[16]), Arg.of(16)));
        assertTrue(e.getMessage().contains("'cube'") && e.getMessage().contains("could not be created"), e.getMessage());
    }

    /**
     * 40 launches, each with a new 16 MiB output array, with collections between them, in a child JVM:
     * through Aparapi's {@code bind} the second such launch pins its array twice and the next
     * collection waits forever.
     */
    @Test
    void newArraysEveryLaunchDoNotDeadlockTheCollector() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                FreshArraysProbe.class.getName());
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        boolean finished = p.waitFor(120, TimeUnit.SECONDS);
        if (!finished) p.destroyForcibly();
        assertTrue(finished, "the child JVM hung: launches with new arrays deadlocked the garbage collector");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals("ok 40", out);
        assertEquals(0, p.exitValue());
    }
}
