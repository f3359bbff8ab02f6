package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.aparapi.Kernel;
import com.aparapi.Range;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Aparapi's silent fallback to Java threads is refused: a kernel runs on the device or the call fails, saying why. */
class KernelLauncherTest {
    private static KernelLauncher launcher;

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
        launcher = new KernelLauncher(OpenCLDevices.choose());
    }

    /** Aparapi translates no switch: it would run this in Java threads. */
    static final class SwitchKernel extends Kernel {
        float[] out = new float[64];
        int mode;

        @Override
        public void run() {
            int i = getGlobalId();
            switch (mode) {
                case 0:
                    out[i] = 1f;
                    break;
                case 1:
                    out[i] = 2f;
                    break;
                default:
                    out[i] = 3f;
            }
        }
    }

    /** Nor objects. */
    static final class AllocatingKernel extends Kernel {
        float[] out = new float[64];

        @Override
        public void run() {
            int i = getGlobalId();
            out[i] = new java.util.Random(i).nextFloat();
        }
    }

    static final class SquareKernel extends Kernel {
        float[] in = new float[64], out = new float[64];

        @Override
        public void run() {
            int i = getGlobalId();
            out[i] = in[i] * in[i];
        }
    }

    @Test
    void aKernelWithASwitchIsRefusedNamingTheKernelAndTheReason() {
        SwitchKernel k = new SwitchKernel();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> launcher.prepare(k));
        assertTrue(e.getMessage().startsWith("opencl backend: kernel SwitchKernel cannot be compiled for OpenCL"), e.getMessage());
        assertTrue(e.getMessage().toLowerCase().contains("switch"), e.getMessage());
    }

    @Test
    void aKernelThatAllocatesIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> launcher.prepare(new AllocatingKernel()));
        assertTrue(e.getMessage().contains("AllocatingKernel"), e.getMessage());
    }

    @Test
    void anUnpreparedBadKernelRunThroughTheLauncherThrowsInsteadOfReturningJavaResults() {
        SwitchKernel k = new SwitchKernel();
        k.setExplicit(true);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> launcher.run(k, launcher.linear(64, 16), 1));
        assertTrue(e.getMessage().contains("SwitchKernel"), e.getMessage());
        assertEquals(0f, k.out[0], "the Java fallback never wrote its results");
    }

    @Test
    void aLaunchTheDeviceRejectsThrows() {
        SquareKernel k = launcher.prepare(new SquareKernel());
        int tooBig = launcher.maxGroupSize() * 2;
        k.in = new float[tooBig];
        k.out = new float[tooBig];
        Range range = Range.create(launcher.device(), tooBig, tooBig);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> launcher.run(k, range, 1));
        assertTrue(e.getMessage().contains("SquareKernel"), e.getMessage());
    }

    @Test
    void aGoodKernelRunsOnTheDevice() {
        SquareKernel k = launcher.prepare(new SquareKernel());
        for (int i = 0; i < 64; i++) k.in[i] = i;
        k.put(k.in);
        launcher.run(k, launcher.linear(64, 16), 1);
        k.get(k.out);
        assertTrue(k.isRunningCL());
        float[] expected = new float[64];
        for (int i = 0; i < 64; i++) expected[i] = i * i;
        assertArrayEquals(expected, k.out);
    }
}
