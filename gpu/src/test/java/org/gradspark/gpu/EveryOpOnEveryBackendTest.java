package org.gradspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.ReferenceBackend;
import org.gradspark.ad.backend.UnaryOp;
import org.gradspark.gpu.opencl.OpenCLBackend;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every {@link UnaryOp} and {@link BinaryOp} on every backend this JVM offers ({@link Backends#names()}:
 * the reference, then all that {@code ServiceLoader} finds, so a backend added later is checked without
 * a line here), in float32 and float64, against the reference backend in float64. An op a backend lacks
 * (zeros, or an exception) fails here, naming the backend, the op and the dtype. The sizes take the
 * vectorised loops and their tails ({@link BackendParityContract} checks the values more widely). The OpenCL backend is left
 * out only where no device exists and {@code GRADSPARK_REQUIRE_OPENCL=1} is not set (the OpenCL tests' rule).
 */
class EveryOpOnEveryBackendTest {
    private static final int[] SIZES = {33, 1025};
    private static long seed = 500;

    @TestFactory
    Stream<DynamicTest> everyOpOnEveryBackend() {
        List<String> names = Backends.names();
        assertTrue(names.containsAll(List.of("reference", "cpu", "opencl", "auto")), "backends found: " + names);
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : names) {
            for (DType dt : DType.values()) {
                tests.add(DynamicTest.dynamicTest(name + " " + dt, () -> checkEveryOp(name, dt)));
            }
        }
        return tests.stream();
    }

    private static void checkEveryOp(String name, DType dt) {
        if (name.equals("opencl") && !OpenCLBackend.available()) {
            if ("1".equals(System.getenv("GRADSPARK_REQUIRE_OPENCL"))) fail("GRADSPARK_REQUIRE_OPENCL=1 but no OpenCL device");
            return;
        }
        Backend backend = Backends.byName(name);
        for (UnaryOp op : UnaryOp.values()) {
            for (int n : SIZES) {
                Tensor x = BackendParityContract.input(op, dt, Shape.of(n));
                String what = name + " " + op + " " + dt + " n=" + n;
                Tensor out = run(what, () -> backend.unary(op, x));
                assertEquals(dt, out.dtype(), what);
                BackendParityContract.assertElementwiseClose(ReferenceBackend.INSTANCE.unary(op, widened(x)), out, what);
            }
        }
        for (BinaryOp op : BinaryOp.values()) {
            for (int n : SIZES) {
                boolean pow = op == BinaryOp.POW;
                Tensor a = Tensor.uniform(seed++, pow ? 0.1 : -4, 4, dt, n);
                // EQUAL is compared with itself half of the time, so that both of its values occur.
                Tensor b = op == BinaryOp.EQUAL ? Tensor.fromFunction(dt, a.shape(), i -> i % 2 == 0 ? a.getDouble(i) : 0.5)
                        : Tensor.uniform(seed++, pow ? -2 : 0.25, 4, dt, n);
                String what = name + " " + op + " " + dt + " n=" + n;
                Tensor out = run(what, () -> backend.binary(op, a, b));
                assertEquals(dt, out.dtype(), what);
                BackendParityContract.assertElementwiseClose(ReferenceBackend.INSTANCE.binary(op, widened(a), widened(b)), out, what);
            }
        }
    }

    private static Tensor run(String what, java.util.function.Supplier<Tensor> kernel) {
        try {
            return kernel.get();
        } catch (RuntimeException e) {
            throw new AssertionError(what + ": " + e, e);
        }
    }

    private static Tensor widened(Tensor t) {
        return Tensor.wrap(t.toDoubleArray(), t.shape());
    }
}
