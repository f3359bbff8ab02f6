package org.gradspark.gpu.opencl;

import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.ReferenceBackend;

/**
 * Run by {@link DeviceAddressTest} in a child JVM started with {@code POCL_DEVICES="pthread pthread"}
 * (two PoCL devices): prints the discovery output, then for addresses 0, 1 and 0 again the device's
 * OpenCL id and whether a MatMul there equals the reference backend's.
 */
public final class TwoDeviceProbe {
    private TwoDeviceProbe() {}

    public static void main(String[] args) {
        GpuProbe.main(args);
        Tensor a = Tensor.uniform(1, -1, 1, DType.FLOAT64, 37, 29), b = Tensor.uniform(2, -1, 1, DType.FLOAT64, 29, 11);
        Tensor expected = ReferenceBackend.INSTANCE.matMul(a, b, false, false);
        for (String address : new String[] {"0", "1", "0"}) {   // back to 0: its kernels must still run there
            Backend on = new OpenCLBackend().onDevice(address);
            Tensor c = on.matMul(a, b, false, false);
            double worst = 0;
            for (int i = 0; i < c.size(); i++) worst = Math.max(worst, Math.abs(c.getDouble(i) - expected.getDouble(i)));
            System.out.println(address + " id=" + ResidentDevices.byAddress(address).id() + " matmulError<1e-12=" + (worst < 1e-12));
        }
    }
}
