package org.gradspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.ReferenceBackend;
import org.gradspark.ad.backend.UnaryOp;
import org.gradspark.gpu.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** Backend choice: names, auto's routing by size, and no quiet fallback. */
class AutoBackendTest {

    @Test
    void backendsAreFoundByName() {
        assertInstanceOf(CpuBackend.class, Backends.byName("cpu"));
        assertInstanceOf(AutoBackend.class, Backends.byName("auto"));
        assertEquals("opencl", Backends.byName("opencl").name());
        var e = assertThrows(IllegalArgumentException.class, () -> Backends.byName("cuda"));
        assertTrue(e.getMessage().contains("'cuda'") && e.getMessage().contains("cpu") && e.getMessage().contains("opencl"), e.getMessage());
    }

    @Test
    void withoutAGpuEverythingRunsOnTheCpuAndTheDeviceSaysSo() {
        AutoBackend auto = new AutoBackend(new CpuBackend(), Optional::empty);
        Tensor x = Tensor.uniform(1, -1, 1, DType.FLOAT32, 4096);
        auto.unary(UnaryOp.TANH, x);
        auto.matMul(Tensor.ones(DType.FLOAT32, 64, 64), Tensor.ones(DType.FLOAT32, 64, 64), false, false);
        assertTrue(auto.device().contains("no OpenCL GPU found"), auto.device());
        assertEquals("cpu=2", auto.usage());
    }

    @Test
    void largeKernelsGoToTheGpuAndSmallOnesToTheCpu() {
        // A stand-in "GPU" (the reference backend) with thresholds set, to check the routing itself.
        System.setProperty("gradspark.auto.matmulFlops", String.valueOf(2.0 * 128 * 128 * 128));
        System.setProperty("gradspark.auto.elementwiseSize", "10000");
        try {
            Backend gpu = ReferenceBackend.INSTANCE;
            AutoBackend auto = new AutoBackend(new CpuBackend(), () -> Optional.of(gpu));
            auto.unary(UnaryOp.SIN, Tensor.zeros(DType.FLOAT32, 100));
            auto.unary(UnaryOp.SIN, Tensor.zeros(DType.FLOAT32, 20000));
            auto.matMul(Tensor.ones(DType.FLOAT32, 64, 64), Tensor.ones(DType.FLOAT32, 64, 64), false, false);
            auto.matMul(Tensor.ones(DType.FLOAT32, 128, 128), Tensor.ones(DType.FLOAT32, 128, 128), false, false);
            assertEquals("cpu=2 reference=2", auto.usage());
            assertTrue(auto.device().contains("set"), auto.device());
        } finally {
            System.clearProperty("gradspark.auto.matmulFlops");
            System.clearProperty("gradspark.auto.elementwiseSize");
        }
    }
}
