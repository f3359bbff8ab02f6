package org.gradspark.gpu.opencl;

import org.gradspark.ad.backend.Backend;
import org.gradspark.gpu.BackendParityContract;
import org.junit.jupiter.api.BeforeAll;

/** The shared parity contract, run on the OpenCL device: every op there, however small (no host routing). */
class OpenCLBackendParityTest extends BackendParityContract {
    private static final Backend OPENCL = new OpenCLBackend(null, 0);

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Override
    protected Backend backend() {
        return OPENCL;
    }
}
