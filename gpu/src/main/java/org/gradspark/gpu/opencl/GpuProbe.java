package org.gradspark.gpu.opencl;

import com.aparapi.device.Device;
import java.util.Optional;
import org.gradspark.ad.backend.Backend;

/** For backend {@code auto}: the OpenCL backend when the machine has an OpenCL GPU (which it then picks), else none. */
public final class GpuProbe {
    private GpuProbe() {}

    /**
     * Spark's discovery-script output for the OpenCL devices a GPU address indexes
     * ({@code {"name":"gpu","addresses":["0","1"]}}, one index per device of
     * {@link ResidentDevices#list()}, the list an address indexes); {@code conf/gpu-discovery.sh} runs it where there is no nvidia-smi.
     */
    public static void main(String[] args) {
        int n = ResidentDevices.list().size();
        StringBuilder json = new StringBuilder("{\"name\":\"gpu\",\"addresses\":[");
        for (int i = 0; i < n; i++) json.append(i == 0 ? "" : ",").append('"').append(i).append('"');
        System.out.println(json.append("]}"));
    }

    public static Optional<Backend> gpu() {
        boolean gpu = OpenCLDevices.all().stream().anyMatch(d -> d.getType() == Device.TYPE.GPU);
        return gpu && System.getProperty(OpenCLDevices.DEVICE_PROPERTY) == null ? Optional.of(new OpenCLBackend()) : Optional.empty();
    }
}
