package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.DeviceTraffic;
import org.gradspark.ad.backend.UnaryOp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The resident engine's memory: results stay on the device, uploads happen once per array, buffers are reused and never read after release. */
class ResidentEngineTest {

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @Test
    void aResultStaysOnTheDeviceUntilTheHostReadsItOnce() {
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 1L << 20);
        try {
            ResidentKernels k = new ResidentKernels(engine);
            Tensor x = Tensor.of(new float[] {0f, 1f, -2f});
            DeviceTraffic.Snapshot before = DeviceTraffic.snapshot();
            Tensor y = k.unary(UnaryOp.NEG, k.unary(UnaryOp.EXP, x));
            assertTrue(y.deviceData() instanceof DeviceBuffer && !y.onHost());
            assertEquals(new DeviceTraffic.Snapshot(12, 0), DeviceTraffic.snapshot().minus(before), "x went in once, nothing came out");
            assertEquals(-Math.exp(-2), y.getDouble(2), 1e-6);
            y.toString();
            assertEquals(new DeviceTraffic.Snapshot(12, 12), DeviceTraffic.snapshot().minus(before), "y came out once");
        } finally {
            engine.close();
        }
    }

    @Test
    void weightsAreUploadedOncePerArrayWhateverTensorCarriesThem() {
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 1L << 20);
        try {
            Parameter w = new Parameter(Tensor.uniform(1, -1, 1, DType.FLOAT64, 4, 8), "w");
            DeviceTraffic.Snapshot before = DeviceTraffic.snapshot();
            DeviceBuffer first = engine.argument(w);
            assertSame(first, engine.argument(w.value()), "the same array: the same upload");
            engine.argument(Tensor.scalar(2, DType.FLOAT64));
            assertEquals(4 * 8 * 8 + 8, DeviceTraffic.snapshot().minus(before).bytesIn(), "w once, the scalar once");
            engine.argument(Tensor.scalar(2, DType.FLOAT64).withShape(Shape.of(1)));
            assertEquals(4 * 8 * 8 + 8, DeviceTraffic.snapshot().minus(before).bytesIn(), "a scalar constant is kept by value");
        } finally {
            engine.close();
        }
    }

    @Test
    void buffersOfUnreachableTensorsAreReused() throws InterruptedException {
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 1L << 20);
        try {
            ResidentKernels k = new ResidentKernels(engine);
            Tensor x = Tensor.uniform(2, -1, 1, DType.FLOAT32, 1000);
            for (int i = 0; i < 100; i++) {
                k.unary(UnaryOp.TANH, x);   // dropped at once: its buffer can go back to the pool
                if (i % 10 == 9) {
                    System.gc();
                    Thread.sleep(20);
                }
            }
            assertTrue(engine.buffersReused.get() > 0 && engine.buffersCreated.get() < 100,
                    "created " + engine.buffersCreated.get() + ", reused " + engine.buffersReused.get());
        } finally {
            engine.close();
        }
    }

    /** Thousands of tiny tensors dropped between two collections: the pool keeps a bounded number of them, not all. */
    @Test
    void thePoolKeepsABoundedNumberOfBuffersOfOneSize() throws InterruptedException {
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 1L << 30);
        try {
            ResidentKernels k = new ResidentKernels(engine);
            Tensor x = Tensor.uniform(2, -1, 1, DType.FLOAT32, 2);
            java.util.List<Tensor> held = new java.util.ArrayList<>();
            for (int i = 0; i < 3 * ResidentEngine.POOLED_PER_SIZE; i++) held.add(k.unary(UnaryOp.TANH, x));
            held.clear();
            for (int i = 0; i < 20 && engine.pooledBuffers() < ResidentEngine.POOLED_PER_SIZE; i++) {
                System.gc();
                Thread.sleep(20);
            }
            int pooled = engine.pooledBuffers();
            assertTrue(pooled == ResidentEngine.POOLED_PER_SIZE, "pooled " + pooled + " buffers of 8 bytes");
        } finally {
            engine.close();
        }
    }

    @Test
    void aTensorReadAfterItsEngineClosedIsAnErrorNamingItsBuffer() {
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 1L << 20);
        Tensor y = new ResidentKernels(engine).unary(UnaryOp.SIN, Tensor.of(new double[] {1, 2}));
        engine.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.getDouble(0));
        assertTrue(e.getMessage().matches("device buffer #\\d+ \\(float64, 2 elements\\) on OpenCL device .* was released .*"), e.getMessage());
    }

    /** Large float32 products on a CPU device run matmul_f32.cl's panel kernels on the device buffers, every transpose and a batch. */
    @Test
    void largeFloat32ProductsOnACpuDeviceRunThePanelKernels() {
        ResidentEngine engine = ResidentEngine.open(ResidentDevices.choose(), 64L << 20);
        try {
            org.junit.jupiter.api.Assumptions.assumeTrue((engine.device().type() & org.jocl.CL.CL_DEVICE_TYPE_CPU) != 0, "a CPU device");
            ResidentKernels k = new ResidentKernels(engine);
            int m = 150, kk = 170, n = 190;
            for (int batch : new int[] {1, 2}) {
                for (boolean ta : new boolean[] {false, true}) {
                    for (boolean tb : new boolean[] {false, true}) {
                        int[] aShape = batch == 1 ? (ta ? new int[] {kk, m} : new int[] {m, kk}) : (ta ? new int[] {batch, kk, m} : new int[] {batch, m, kk});
                        int[] bShape = batch == 1 ? (tb ? new int[] {n, kk} : new int[] {kk, n}) : (tb ? new int[] {batch, n, kk} : new int[] {batch, kk, n});
                        Tensor a = Tensor.uniform(11, -1, 1, DType.FLOAT32, aShape), b = Tensor.uniform(12, -1, 1, DType.FLOAT32, bShape);
                        long before = engine.panelProducts();
                        Tensor c = k.matMul(a, b, ta, tb);
                        assertEquals(before + 1, engine.panelProducts(), "the panel kernels took it");
                        Tensor r = org.gradspark.ad.backend.ReferenceBackend.INSTANCE.matMul(a, b, ta, tb);
                        double num = 0, den = 0;
                        for (int i = 0; i < r.size(); i++) {
                            double d = r.getDouble(i) - c.getDouble(i);
                            num += d * d;
                            den += r.getDouble(i) * r.getDouble(i);
                        }
                        assertTrue(Math.sqrt(num / den) < 1e-5, "batch " + batch + " transA " + ta + " transB " + tb + ": " + Math.sqrt(num / den));
                    }
                }
            }
        } finally {
            engine.close();
        }
    }
}
