package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.ReferenceBackend;
import org.gradspark.ad.backend.UnaryOp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A tensor's array crosses to the device once while it stays in use, and the bytes held stay under the budget. */
class DeviceArraysTest {
    private OpenCLBackend backend;

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    @AfterEach
    void release() {
        if (backend != null) backend.close();
    }

    private static long bytes(Tensor t) {
        return (long) t.size() * t.dtype().bytes();
    }

    /** Products under {@link MatMulF32Program#MIN_FLOPS}: float32 ones too take the Aparapi kernel and this cache. */
    @Test
    void aWeightUsedInConsecutiveMatMulsIsUploadedOnce() {
        backend = new OpenCLBackend(256L << 20);
        for (DType dt : DType.values()) {
            Tensor w = Tensor.uniform(1, -1, 1, dt, 300, 200);
            Tensor x1 = Tensor.uniform(2, -1, 1, dt, 16, 300), x2 = Tensor.uniform(3, -1, 1, dt, 16, 300);
            assertTrue(2.0 * 16 * 300 * 200 < MatMulF32Program.MIN_FLOPS);
            backend.matMul(x1, w, false, false);
            long before = backend.deviceArrays().uploadedBytes();
            Tensor y = backend.matMul(x2, w, false, false);
            assertEquals(bytes(x2), backend.deviceArrays().uploadedBytes() - before, "only the new input crosses, " + dt);
            assertTrue(y.allClose(ReferenceBackend.INSTANCE.matMul(x2, w, false, false), 1e-4, 1e-4));

            // The same tensor again: nothing crosses at all.
            before = backend.deviceArrays().uploadedBytes();
            backend.matMul(x2, w, false, false);
            assertEquals(0, backend.deviceArrays().uploadedBytes() - before, "repeated product, " + dt);
        }
    }

    @Test
    void twoLayersKeepBothWeightsOnTheDevice() {
        backend = new OpenCLBackend(256L << 20);
        Tensor w1 = Tensor.uniform(4, -1, 1, DType.FLOAT32, 100, 80), w2 = Tensor.uniform(5, -1, 1, DType.FLOAT32, 80, 10);
        Tensor x = Tensor.uniform(6, -1, 1, DType.FLOAT32, 32, 100);
        Tensor h = backend.unary(UnaryOp.TANH, backend.matMul(x, w1, false, false));
        backend.matMul(h, w2, false, false);
        Tensor xNext = Tensor.uniform(7, -1, 1, DType.FLOAT32, 32, 100);
        long before = backend.deviceArrays().uploadedBytes();
        Tensor hNext = backend.unary(UnaryOp.TANH, backend.matMul(xNext, w1, false, false));
        Tensor out = backend.matMul(hNext, w2, false, false);
        // xNext into the first product, the two products' outputs into tanh and the second product.
        long expected = bytes(xNext) + 2 * bytes(hNext);
        assertEquals(expected, backend.deviceArrays().uploadedBytes() - before, "w1 and w2 stayed on the device");
        Tensor ref = ReferenceBackend.INSTANCE.matMul(ReferenceBackend.INSTANCE.unary(UnaryOp.TANH, ReferenceBackend.INSTANCE.matMul(xNext, w1, false, false)), w2, false, false);
        assertTrue(out.allClose(ref, 1e-4, 1e-5));
    }

    @Test
    void theBytesHeldStayUnderTheBudgetAndResultsStayRight() {
        long budget = 1L << 20;
        backend = new OpenCLBackend(budget);
        ReferenceBackend ref = ReferenceBackend.INSTANCE;
        for (int i = 0; i < 6; i++) {
            Tensor a = Tensor.uniform(10 + i, -1, 1, DType.FLOAT32, 200, 300), b = Tensor.uniform(20 + i, -1, 1, DType.FLOAT32, 300, 100);
            assertTrue(backend.matMul(a, b, false, false).allClose(ref.matMul(a, b, false, false), 1e-4, 1e-4));
            assertTrue(backend.deviceArrays().residentBytes() <= budget, "after matMul " + i + ": " + backend.deviceArrays().residentBytes());
            Tensor big = Tensor.uniform(30 + i, -1, 1, DType.FLOAT64, 400, 400);
            assertTrue(backend.unary(UnaryOp.SIN, big).allClose(ref.unary(UnaryOp.SIN, big), 1e-12, 1e-12));
            assertTrue(backend.deviceArrays().residentBytes() <= budget, "after sin " + i + ": " + backend.deviceArrays().residentBytes());
        }
    }
}
