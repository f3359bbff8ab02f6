package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.BackendSettings;
import org.gradspark.ad.backend.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU MatMul (gemm.GpuGemm) plugged into the resident engine through DeviceMatMul.Factory: a
 * GPU device runs every product on it; on PoCL (a CPU device) only with gradspark.gemm.onCpuDevices,
 * which this test sets to run it for real here, on device buffers the engine owns, against the
 * reference backend for plain, transposed and batched products in float32 and float64.
 */
class GpuGemmInEngineTest {
    @TempDir
    static Path cache;

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Test
    void theEngineRunsItsProductsOnTheGpuMatMul() throws Exception {
        String[] keys = {BackendSettings.GEMM_ON_CPU_DEVICES, BackendSettings.GEMM_CACHE_DIR, BackendSettings.GEMM_PARAMETERS};
        String[] saved = new String[keys.length];
        for (int i = 0; i < keys.length; i++) saved[i] = System.getProperty(keys[i]);
        ResidentEngine plain = ResidentEngine.open(ResidentDevices.choose(), 1L << 24);
        try {
            assertFalse(plain.matMulKernels().contains("GpuGemmMatMul"), "a CPU device keeps its CPU-shaped kernels: " + plain.matMulKernels());
        } finally {
            plain.close();
        }
        System.setProperty(BackendSettings.GEMM_ON_CPU_DEVICES, "true");
        System.setProperty(BackendSettings.GEMM_CACHE_DIR, cache.toString());
        // A set PoCL runs (no search: the tuner has its own tests).
        System.setProperty(BackendSettings.GEMM_PARAMETERS, "MWG=32,NWG=32,KWG=16,MDIMC=8,NDIMC=8,VW=2");
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 1L << 24);
        try {
            assertEquals("GpuGemmMatMul", engine.matMulKernels().get(0), engine.matMulKernels().toString());
            OpenCLBackend backend = new OpenCLBackend(engine, 0);
            for (DType dtype : List.of(DType.FLOAT32, DType.FLOAT64)) {
                double tol = dtype == DType.FLOAT32 ? 1e-5 : 1e-13;
                for (int[] s : new int[][] {{1, 1, 1}, {17, 31, 13}, {64, 96, 33}, {200, 7, 150}}) {
                    for (boolean ta : new boolean[] {false, true}) {
                        for (boolean tb : new boolean[] {false, true}) {
                            Tensor a = Tensor.uniform(s[0] * 7 + s[1], -1, 1, dtype, ta ? s[1] : s[0], ta ? s[0] : s[1]);
                            Tensor b = Tensor.uniform(s[2] * 5 + s[1], -1, 1, dtype, tb ? s[2] : s[1], tb ? s[1] : s[2]);
                            Tensor c = backend.matMul(a, b, ta, tb);
                            assertFalse(c.onHost(), "the product stays on the device");
                            assertTrue(c.allClose(ReferenceBackend.INSTANCE.matMul(a, b, ta, tb), tol, tol), dtype + " " + java.util.Arrays.toString(s) + " " + ta + tb);
                        }
                    }
                }
                Tensor a = Tensor.uniform(3, -1, 1, dtype, 3, 9, 5), b = Tensor.uniform(4, -1, 1, dtype, 3, 5, 11);
                assertTrue(backend.matMul(a, b, false, false).allClose(ReferenceBackend.INSTANCE.matMul(a, b, false, false), tol, tol), dtype + " batched");
            }
        } finally {
            engine.close();
            for (int i = 0; i < keys.length; i++) {
                if (saved[i] == null) System.clearProperty(keys[i]);
                else System.setProperty(keys[i], saved[i]);
            }
        }
    }
}
