package org.gradspark.gpu;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.ad.backend.UnaryOp;
import org.gradspark.gpu.cpu.CpuBackend;
import org.gradspark.gpu.opencl.GpuProbe;

/**
 * {@code auto}: an OpenCL GPU for kernels above a size threshold, the CPU backend for the rest.
 * The thresholds are measured once per JVM (the smallest MatMul and elementwise sizes at which the
 * GPU beats the CPU, data transfer included) unless set with {@code gradspark.auto.matmulFlops} and
 * {@code gradspark.auto.elementwiseSize}. Without a GPU everything runs on the CPU backend, and
 * {@link #device()} says so; which backend ran how many kernels is counted ({@link #usage()}).
 */
public final class AutoBackend implements Backend {
    private final Backend cpu;
    private final Supplier<Optional<Backend>> gpuProbe;
    private volatile Routing routing;
    private final java.util.Map<String, Backend> onDevice = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicLong cpuKernels = new AtomicLong(), gpuKernels = new AtomicLong();

    /** Where kernels go: the GPU backend (or none) and the sizes from which it is used. */
    record Routing(Backend gpu, double matMulFlops, long elementwiseSize, String how) {}

    public AutoBackend() {
        this(new CpuBackend(), GpuProbe::gpu);
    }

    AutoBackend(Backend cpu, Supplier<Optional<Backend>> gpuProbe) {
        this.cpu = cpu;
        this.gpuProbe = gpuProbe;
    }

    @Override public String name() { return "auto"; }

    /**
     * {@code auto} on the device a scheduler assigned: the same thresholds' rule with the OpenCL side
     * bound to {@code address} ({@link org.gradspark.gpu.opencl.OpenCLBackend#onDevice}), measured for
     * that device. One per address.
     *
     * @throws IllegalArgumentException when the address names no OpenCL device
     */
    @Override public Backend onDevice(String address) {
        return onDevice.computeIfAbsent(address, a -> {
            Backend gpu = new org.gradspark.gpu.opencl.OpenCLBackend().onDevice(a);
            return new AutoBackend(cpu, () -> Optional.of(gpu));
        });
    }

    @Override public void warmUp(java.util.Set<org.gradspark.ad.backend.UnaryOp> ops) { cpu.warmUp(ops); }

    @Override public String device() {
        Routing r = routing();
        return r.gpu() == null ? cpu.device() + " (no OpenCL GPU found)" : r.how();
    }

    /** Kernels run so far on each side, e.g. {@code cpu=120 opencl=34}. */
    public String usage() {
        Routing r = routing();
        return cpu.name() + "=" + cpuKernels.get() + (r.gpu() == null ? "" : " " + r.gpu().name() + "=" + gpuKernels.get());
    }

    private Routing routing() {
        Routing r = routing;
        if (r == null) {
            synchronized (this) {
                if (routing == null) routing = decide();
                r = routing;
            }
        }
        return r;
    }

    private Routing decide() {
        Backend gpu = gpuProbe.get().orElse(null);
        if (gpu == null) return new Routing(null, Double.POSITIVE_INFINITY, Long.MAX_VALUE, "cpu only");
        String flopsProp = System.getProperty(org.gradspark.ad.backend.BackendSettings.AUTO_MATMUL_FLOPS), sizeProp = System.getProperty(org.gradspark.ad.backend.BackendSettings.AUTO_ELEMENTWISE_SIZE);
        double flops = flopsProp != null ? Double.parseDouble(flopsProp) : measureMatMulCrossover(gpu);
        long size = sizeProp != null ? Long.parseLong(sizeProp) : measureElementwiseCrossover(gpu);
        String how = String.format("%s for MatMul >= %.3g flops and elementwise >= %d elements (%s), else %s",
                gpu.device(), flops, size, flopsProp != null || sizeProp != null ? "set" : "measured", cpu.device());
        return new Routing(gpu, flops, size, how);
    }

    /** 2n³ at the smallest n in 64..2048 where the GPU's MatMul is faster than the CPU's. */
    private double measureMatMulCrossover(Backend gpu) {
        for (int n = 64; n <= 2048; n *= 2) {
            Tensor a = Tensor.uniform(1, -1, 1, DType.FLOAT32, n, n), b = Tensor.uniform(2, -1, 1, DType.FLOAT32, n, n);
            if (seconds(() -> gpu.matMul(a, b, false, false)) < seconds(() -> cpu.matMul(a, b, false, false))) return 2.0 * n * n * n;
        }
        return Double.POSITIVE_INFINITY;
    }

    /** The smallest size in 2^14..2^24 where the GPU's tanh is faster than the CPU's. */
    private long measureElementwiseCrossover(Backend gpu) {
        for (int n = 1 << 14; n <= 1 << 24; n <<= 2) {
            Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT32, n);
            if (seconds(() -> gpu.unary(UnaryOp.TANH, x)) < seconds(() -> cpu.unary(UnaryOp.TANH, x))) return n;
        }
        return Long.MAX_VALUE;
    }

    /** Best of a few runs after one warm-up (which also compiles the GPU kernel). */
    private static double seconds(Runnable r) {
        r.run();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t = System.nanoTime();
            r.run();
            best = Math.min(best, System.nanoTime() - t);
        }
        return best / 1e9;
    }

    private Backend forElements(long n) {
        Routing r = routing();
        boolean gpu = r.gpu() != null && n >= r.elementwiseSize();
        (gpu ? gpuKernels : cpuKernels).incrementAndGet();
        return gpu ? r.gpu() : cpu;
    }

    @Override public Tensor unary(UnaryOp op, Tensor x) { return forElements(x.size()).unary(op, x); }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        return forElements(Math.max(a.size(), b.size())).binary(op, a, b);
    }

    @Override public Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Routing r = routing();
        boolean gpu = r.gpu() != null && MatMulDims.of(a, b, transA, transB).flops() >= r.matMulFlops();
        (gpu ? gpuKernels : cpuKernels).incrementAndGet();
        return (gpu ? r.gpu() : cpu).matMul(a, b, transA, transB);
    }

    @Override public Tensor sum(Tensor x, int[] axes, boolean keepDims) { return forElements(x.size()).sum(x, axes, keepDims); }

    @Override public Tensor max(Tensor x, int axis, boolean keepDims) { return forElements(x.size()).max(x, axis, keepDims); }

    // Layout ops stay where their operands are: on the GPU backend when one of them lives there, else on the host.

    private Backend holding(Tensor... ts) {
        Routing r = routing;   // not routing(): no kernel has run yet, so nothing is on the GPU, and a layout op must not probe it
        Backend gpu = r == null ? null : r.gpu();
        for (Tensor t : ts) if (gpu != null && t.deviceData() != null) return gpu;   // only the GPU backend makes device tensors here
        return cpu;
    }

    @Override public Tensor reshape(Tensor x, Shape s) { return holding(x).reshape(x, s); }

    @Override public Tensor gather(Tensor x, Shape out, int[] strides, int base) { return holding(x).gather(x, out, strides, base); }

    @Override public Tensor pad(Tensor x, int[] before, int[] after) { return holding(x).pad(x, before, after); }

    @Override public Tensor concat(Tensor[] parts, int axis, Shape out) { return holding(parts).concat(parts, axis, out); }

    @Override public Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) { return holding(cond, a, b).where(cond, a, b, out); }

    @Override public Tensor cast(Tensor x, DType target) { return holding(x).cast(x, target); }
}
