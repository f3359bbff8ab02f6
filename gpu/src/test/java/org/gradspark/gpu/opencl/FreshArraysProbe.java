package org.gradspark.gpu.opencl;

import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;
import org.gradspark.gpu.opencl.OpenCLCProgram.Arg;

/** Run by {@link OpenCLCProgramTest} in a child JVM: launches with a new output array each time, collecting between them; prints "ok 40". */
public final class FreshArraysProbe {
    private FreshArraysProbe() {}

    public static void main(String[] args) {
        OpenCLDevice device = OpenCLDevices.choose();
        int n = 1 << 22;
        float[] in = new float[n];
        int launches = 0;
        try (OpenCLCProgram square = OpenCLCProgram.build(device, "square_for_test.cl", "square")) {
            for (int i = 0; i < 40; i++) {
                float[] out = new float[n];
                in[7] = i;
                square.launch("square", Range.create(device, n, 64), Arg.in(in), Arg.out(out), Arg.of(n));
                if (out[7] != (float) i * i) throw new AssertionError("launch " + i + ": " + out[7]);
                if (i % 10 == 0) System.gc();
                launches++;
            }
        }
        System.out.println("ok " + launches);
    }
}
