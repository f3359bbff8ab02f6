package org.gradspark.gpu;

import org.gradspark.ad.backend.Backend;
import org.gradspark.gpu.cpu.CpuBackend;

class CpuBackendParityTest extends BackendParityContract {
    private static final Backend CPU = new CpuBackend();

    @Override protected Backend backend() { return CPU; }
}
