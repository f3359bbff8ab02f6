package org.gradspark.bench;

import java.util.concurrent.TimeUnit;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.UnaryOp;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The kernels behind the hot primitives, per backend: fp32 MatMul (2n³ flops) and fp32
 * sin / tanh / exp over 4M elements. Each benchmark returns its result so nothing is dead code.
 * Run through {@code bench/run-kernels}, which converts the times to GFLOP/s and Melem/s and sets
 * them beside NumPy's.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class KernelBenchmarks {

    @State(Scope.Benchmark)
    public static class MatMulState {
        @Param({"cpu", "opencl"})
        public String backend;

        @Param({"1024", "2048"})
        public int n;

        Backend b;
        Tensor x, y;

        @Setup(Level.Trial)
        public void setUp() {
            b = Backends.byName(backend);
            x = Tensor.uniform(1, -1, 1, DType.FLOAT32, n, n);
            y = Tensor.uniform(2, -1, 1, DType.FLOAT32, n, n);
        }
    }

    @Benchmark
    public Tensor matMul(MatMulState s) {
        return s.b.matMul(s.x, s.y, false, false);
    }

    @State(Scope.Benchmark)
    public static class UnaryState {
        @Param({"cpu"})
        public String backend;

        @Param({"SIN", "TANH", "EXP"})
        public UnaryOp op;

        @Param({"4194304"})
        public int n;

        Backend b;
        Tensor x;

        @Setup(Level.Trial)
        public void setUp() {
            b = Backends.byName(backend);
            x = Tensor.uniform(3, -4, 4, DType.FLOAT32, n);
        }
    }

    @Benchmark
    public Tensor unary(UnaryState s) {
        return s.b.unary(s.op, s.x);
    }
}
