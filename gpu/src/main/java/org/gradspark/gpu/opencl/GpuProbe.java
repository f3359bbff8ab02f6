package org.gradspark.gpu.opencl;

import com.aparapi.device.Device;
import java.util.Optional;
import org.gradspark.ad.backend.Backend;

/** For backend {@code auto}: the OpenCL backend when the machine has an OpenCL GPU (which it then picks), else none. */
public final class GpuProbe {
    private GpuProbe() {}

    public static Optional<Backend> gpu() {
        boolean gpu = OpenCLDevices.all().stream().anyMatch(d -> d.getType() == Device.TYPE.GPU);
        return gpu && System.getProperty(OpenCLDevices.DEVICE_PROPERTY) == null ? Optional.of(new OpenCLBackend()) : Optional.empty();
    }
}
