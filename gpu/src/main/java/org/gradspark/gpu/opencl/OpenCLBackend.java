package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;
import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.DeviceWork;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.ad.backend.Strides;
import org.gradspark.ad.backend.UnaryOp;

/**
 * The {@link Backend} kernels on an OpenCL device, with device-resident tensors: MatMul (transpose
 * flags, batched), every {@link UnaryOp}, every {@link BinaryOp} with NumPy broadcasting, sum over
 * axes, max along an axis and the layout kernels (gather, pad, concat, where, cast; a reshape shares
 * the buffer), in float32 and float64, with the reference backend's semantics (NaN and infinities
 * propagate; NaN wins a max).
 *
 * <pre>{@code
 * Backends.use(new OpenCLBackend());            // or -Dgradspark.backend=opencl
 * Backend gpu1 = Backends.require("opencl").onDevice("1");   // the second device (see ResidentDevices)
 * }</pre>
 *
 * <p><b>Residency.</b> A kernel's result stays on the device ({@link Tensor#onDevice}) until the host
 * reads it; host tensors (rows, weights, constants) are uploaded once per array while the upload is
 * cached. The device side is {@link ResidentEngine} (JOCL: context, queue, pooled buffers, the OpenCL
 * C kernels of {@code resident.cl}); every copy is counted in {@link org.gradspark.ad.backend.DeviceTraffic}.
 *
 * <p><b>Device.</b> A GPU if there is one, else an accelerator, else a CPU device such as PoCL's;
 * {@code -Dgradspark.opencl.device=<part of a device or platform name>} picks one, and
 * {@link #onDevice} binds an instance to the device a scheduler assigned (an index or a PCI bus id,
 * see {@link ResidentDevices}). Nothing touches OpenCL until the first kernel (or {@link #device()})
 * is asked for; a JVM without a device gets an {@link IllegalStateException} saying so, never a
 * quiet run on the host.
 *
 * <p><b>The Aparapi kernels</b> ({@code UnaryF32Kernel}, ... generated from gpu/src/main/kernels, and
 * the OpenCL C MatMul of {@link MatMulF32Program}) copy every operand in and the result out on each
 * launch; they remain for the instances made with {@link #OpenCLBackend(long)} (their own tests and
 * the copy-per-op measurements), not for the {@code opencl} backend the job uses.
 * PoCL needs {@code POCL_EXTRA_BUILD_FLAGS=-cl-unsafe-math-optimizations} for those to vectorise.
 */
public final class OpenCLBackend implements Backend {
    static final String CACHE_PROPERTY = org.gradspark.ad.backend.BackendSettings.OPENCL_CACHE_BYTES;
    /** Work-items per group for the one-dimensional kernels. */
    private static final int LINEAR_GROUP = 64;
    /**
     * The k-chunk each MatMul pass adds: the rows a 16x16 work-group re-reads (96 of B, 64 of A) then
     * fit in a 1 MiB L2. Measured on PoCL against 256 and 512 (bench/results/opencl-tuning.md).
     */
    static final int K_CHUNK = 1024;
    private static final int TILE_ROWS = 4, TILE_COLS = 6;
    /**
     * The default of {@code gradspark.opencl.hostBelow}, in output elements. Measured on PoCL (2 shared
     * cores): a launch costs about 20 us whatever its size (a chain of 1-16 element ops), while the cpu
     * backend's elementwise ops cost 0.6-0.8 ns per element; below 4096 elements a host op (at most
     * about 3 us) is far cheaper than any launch, so a scalar workload never turns into a launch per scalar.
     */
    static final long HOST_BELOW = 4096;
    /** One lock for every session: they share the device, and Aparapi's kernel setup is not reentrant. */
    private static final Object LOCK = new Object();

    private static Session shared;
    private static String sharedFailure;
    private static boolean warnedAboutPoclFlags;

    /** Null for the JVM-wide session. */
    private final Session own;
    /** The device this instance is bound to ({@link #onDevice}); null for the default device, chosen on first use. */
    private final ResidentEngine bound;
    private static ResidentKernels defaultDevice;
    private static String defaultDeviceFailure;
    private static final java.util.Map<ResidentEngine, ResidentKernels> KERNELS = new java.util.concurrent.ConcurrentHashMap<>();

    /** Ops on host operands with fewer output elements than this run on the host (see {@link #HOST_BELOW}). */
    private final long hostBelow;
    private volatile ResidentKernels kernels;

    /** Touches nothing: OpenCL is initialised on first use. */
    public OpenCLBackend() {
        this(null, hostBelowSetting());
    }

    /** The resident backend on {@code engine}'s device (see {@link ResidentEngine#backend()}). */
    OpenCLBackend(ResidentEngine engine) {
        this(engine, hostBelowSetting());
    }

    /** On {@code engine}'s device (null: the default device), keeping ops under {@code hostBelow} elements on the host. */
    OpenCLBackend(ResidentEngine engine, long hostBelow) {
        this.own = null;
        this.bound = engine;
        this.hostBelow = hostBelow;
    }

    /** A backend running the Aparapi copy-per-op kernels, with its own cache budget (tests); {@link #close()} releases them. */
    OpenCLBackend(long cacheBudgetBytes) {
        synchronized (LOCK) {
            this.own = new Session(OpenCLDevices.choose(), cacheBudgetBytes);
        }
        this.bound = null;
        this.hostBelow = 0;
    }

    private static long hostBelowSetting() {
        return Long.getLong(org.gradspark.ad.backend.BackendSettings.OPENCL_HOST_BELOW, HOST_BELOW);
    }

    /**
     * Runs an op of {@code elements} outputs and {@code flops} on the device, or on the host (the cpu
     * backend's kernels) when every operand is a host tensor and the op has fewer than
     * {@link #hostBelow} elements: a launch costs more than such an op, and a scalar workload would
     * otherwise be one launch per scalar. An op with an operand on the device stays there (reading it
     * back would cost as much as a launch). Where each op ran is counted in {@link DeviceWork}.
     */
    private Tensor route(long elements, long flops, Tensor[] operands, Function<Backend, Tensor> onHost, Function<ResidentKernels, Tensor> onDevice) {
        ResidentKernels k = resident();   // opens the device first: without one, small ops fail like the rest
        boolean small = elements < hostBelow;
        for (int i = 0; small && i < operands.length; i++) small = operands[i].deviceData() == null;
        if (small) {
            DeviceWork.onHost(flops);
            return onHost.apply(host());
        }
        DeviceWork.onDevice(flops);
        return onDevice.apply(k);
    }

    private static Backend host() {
        return org.gradspark.ad.backend.Backends.require("cpu");
    }

    /**
     * This backend on the OpenCL device {@code address} names: an index into the device list
     * (GPUs if any, else accelerators, else CPU devices; platform then device order) or a PCI bus id.
     * One instance per device, shared by the tasks given it.
     *
     * @throws IllegalArgumentException naming the address and the devices there are
     */
    @Override
    public Backend onDevice(String address) {
        return BY_ADDRESS.computeIfAbsent(address, a -> ResidentEngine.of(ResidentDevices.byAddress(a)).backend());
    }

    private static final java.util.Map<String, Backend> BY_ADDRESS = new java.util.concurrent.ConcurrentHashMap<>();

    /** The resident kernels this instance runs, or null for an Aparapi instance ({@link #OpenCLBackend(long)}). */
    ResidentKernels resident() {
        if (own != null) return null;
        ResidentKernels k = kernels;   // every op asks: no lock once known
        if (k == null) kernels = k = bound != null ? KERNELS.computeIfAbsent(bound, ResidentKernels::new) : defaultKernels();
        return k;
    }

    /** The default device's kernels, chosen once per JVM; a JVM without a device fails the same way every time. */
    private static ResidentKernels defaultKernels() {
        synchronized (LOCK) {
            if (defaultDevice == null) {
                if (defaultDeviceFailure != null) throw new IllegalStateException(defaultDeviceFailure);
                try {
                    ResidentEngine e = ResidentEngine.of(ResidentDevices.choose());
                    defaultDevice = KERNELS.computeIfAbsent(e, ResidentKernels::new);
                } catch (IllegalStateException e) {
                    defaultDeviceFailure = e.getMessage();
                    throw e;
                }
            }
            return defaultDevice;
        }
    }

    /** Whether this machine has an OpenCL device at all; never throws. */
    public static boolean available() {
        return !OpenCLDevices.all().isEmpty();
    }

    @Override
    public String name() {
        return "opencl";
    }

    /** The OpenCL device the kernels run on, with its platform and type. */
    @Override
    public String device() {
        ResidentKernels k = resident();
        return k != null ? k.engine().description() : session().description;
    }

    @Override
    public Tensor unary(UnaryOp op, Tensor x) {
        if (own == null) return route(x.size(), x.size(), new Tensor[] {x}, h -> h.unary(op, x), k -> k.unary(op, x));
        int n = x.size();
        if (n == 0) return empty(x.dtype(), x.shape());
        return locked(s -> x.dtype() == DType.FLOAT32
                ? linear(s, s.unaryF32.take(x.rawFloats()).bind(s.arrays, x.rawFloats(), code(op)), n, x.shape())
                : linear(s, s.unaryF64.take(x.rawDoubles()).bind(s.arrays, x.rawDoubles(), code(op)), n, x.shape()));
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        if (own == null) {
            long n = Shape.broadcast(a.shape(), b.shape(), op.name().toLowerCase(Locale.ROOT)).size();
            return route(n, n, new Tensor[] {a, b}, h -> h.binary(op, a, b), k -> k.binary(op, a, b));
        }
        requireSameDType(op.name().toLowerCase(Locale.ROOT), a, b);
        Shape out = Shape.broadcast(a.shape(), b.shape(), op.name().toLowerCase(Locale.ROOT));
        int n = out.size();
        if (n == 0) return empty(a.dtype(), out);
        Broadcast br = new Broadcast(out, Strides.broadcast(a.shape(), out), Strides.broadcast(b.shape(), out));
        return locked(s -> a.dtype() == DType.FLOAT32
                ? linear(s, s.binaryF32.take(a.rawFloats(), b.rawFloats()).bind(s.arrays, a.rawFloats(), b.rawFloats(), br, n, code(op)), n, out)
                : linear(s, s.binaryF64.take(a.rawDoubles(), b.rawDoubles()).bind(s.arrays, a.rawDoubles(), b.rawDoubles(), br, n, code(op)), n, out));
    }

    @Override
    public Tensor matMul(Tensor a, Tensor b, boolean transA, boolean transB) {
        if (own == null) {
            MatMulDims d = MatMulDims.of(a, b, transA, transB);
            return route(d.outShape().size(), (long) d.flops(), new Tensor[] {a, b}, h -> h.matMul(a, b, transA, transB), k -> k.matMul(a, b, transA, transB));
        }
        requireSameDType("matMul", a, b);
        MatMulDims d = MatMulDims.of(a, b, transA, transB);
        Shape outShape = d.outShape();
        if (outShape.size() == 0 || d.k() == 0) return Tensor.full(0, a.dtype(), outShape);
        return locked(s -> {
            MatMulF32Program program = a.dtype() == DType.FLOAT32 ? s.matMulF32Program(d) : null;
            if (program != null) {
                s.openCLCProducts++;
                return Tensor.wrap(program.multiply(a.rawFloats(), b.rawFloats(), d, transA, transB), outShape);
            }
            MatMulPlan plan = new MatMulPlan(d, transA, transB, s.launcher.maxGroupSize());
            Range range = plan.range(s.launcher);
            return a.dtype() == DType.FLOAT32
                    ? run(s, s.matMulF32.take(a.rawFloats(), b.rawFloats()).bind(s.arrays, a.rawFloats(), b.rawFloats(), plan), range, plan.passes, outShape)
                    : run(s, s.matMulF64.take(a.rawDoubles(), b.rawDoubles()).bind(s.arrays, a.rawDoubles(), b.rawDoubles(), plan), range, plan.passes, outShape);
        });
    }

    @Override
    public Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        if (own == null) return route(x.size(), x.size(), new Tensor[] {x}, h -> h.sum(x, axes, keepDims), k -> k.sum(x, axes, keepDims));
        Reduction red = new Reduction(x.shape(), axes);
        Shape outShape = x.shape().reduce(axes, keepDims);
        if (axes.length == 0) return x.dtype() == DType.FLOAT32 ? Tensor.wrap(x.rawFloats().clone(), outShape) : Tensor.wrap(x.rawDoubles().clone(), outShape);
        if (outShape.size() == 0 || x.size() == 0) return Tensor.full(0, x.dtype(), outShape);
        int outSize = outShape.size();
        return locked(s -> x.dtype() == DType.FLOAT32
                ? linear(s, s.sumF32.take(x.rawFloats()).bind(s.arrays, x.rawFloats(), red, outSize), outSize, outShape)
                : linear(s, s.sumF64.take(x.rawDoubles()).bind(s.arrays, x.rawDoubles(), red, outSize), outSize, outShape));
    }

    @Override
    public Tensor max(Tensor x, int axis, boolean keepDims) {
        if (own == null) return route(x.size(), x.size(), new Tensor[] {x}, h -> h.max(x, axis, keepDims), k -> k.max(x, axis, keepDims));
        Shape outShape = x.shape().reduce(new int[] {axis}, keepDims);
        AxisSplit a = AxisSplit.of(x.shape(), axis);
        if (outShape.size() == 0 || a.len() == 0) return Tensor.full(Double.NEGATIVE_INFINITY, x.dtype(), outShape);
        int outSize = outShape.size();
        return locked(s -> x.dtype() == DType.FLOAT32
                ? linear(s, s.maxF32.take(x.rawFloats()).bind(s.arrays, x.rawFloats(), a.outer(), a.len(), a.inner()), outSize, outShape)
                : linear(s, s.maxF64.take(x.rawDoubles()).bind(s.arrays, x.rawDoubles(), a.outer(), a.len(), a.inner()), outSize, outShape));
    }

    // Layout kernels: on the device for the resident backend (reshape shares the buffer: Backend's default);
    // an Aparapi instance keeps Backend's host defaults.

    @Override
    public Tensor gather(Tensor x, Shape out, int[] strides, int base) {
        return own == null ? route(out.size(), 0, new Tensor[] {x}, h -> h.gather(x, out, strides, base), k -> k.gather(x, out, strides, base))
                : Backend.super.gather(x, out, strides, base);
    }

    @Override
    public Tensor full(double value, DType dtype, Shape shape) {
        return own == null ? route(shape.size(), 0, new Tensor[0], h -> h.full(value, dtype, shape), k -> k.full(value, dtype, shape))
                : Backend.super.full(value, dtype, shape);
    }

    @Override
    public Tensor pad(Tensor x, int[] before, int[] after) {
        return own == null ? route(x.size(), 0, new Tensor[] {x}, h -> h.pad(x, before, after), k -> k.pad(x, before, after))
                : Backend.super.pad(x, before, after);
    }

    @Override
    public Tensor concat(Tensor[] parts, int axis, Shape out) {
        return own == null ? route(out.size(), 0, parts, h -> h.concat(parts, axis, out), k -> k.concat(parts, axis, out))
                : Backend.super.concat(parts, axis, out);
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b, Shape out) {
        return own == null ? route(out.size(), 0, new Tensor[] {cond, a, b}, h -> h.where(cond, a, b, out), k -> k.where(cond, a, b, out))
                : Backend.super.where(cond, a, b, out);
    }

    @Override
    public Tensor cast(Tensor x, DType target) {
        return own == null ? route(x.size(), 0, new Tensor[] {x}, h -> h.cast(x, target), k -> k.cast(x, target))
                : Backend.super.cast(x, target);
    }

    /**
     * Runs {@code op} on the session under the device lock (Aparapi kernels and their buffers are
     * not thread-safe), then trims the device-array cache to its budget, whether or not {@code op} threw.
     */
    private Tensor locked(Function<Session, Tensor> op) {
        Session s = session();
        synchronized (LOCK) {
            try {
                return op.apply(s);
            } finally {
                s.arrays.trim();
            }
        }
    }

    /** Runs bound kernel {@code k} with one work-item per output over {@code work} items (see {@link #run}). */
    private static Tensor linear(Session s, Bound k, int work, Shape shape) {
        return run(s, k, s.launcher.linear(work, LINEAR_GROUP), 1, shape);
    }

    /** Runs bound kernel {@code k} for {@code passes} passes over {@code range}, then reads its output back as a tensor. */
    private static Tensor run(Session s, Bound k, Range range, int passes, Shape shape) {
        s.launcher.run(k.kernel(), range, passes);
        if (k.output() instanceof float[] f) {
            k.kernel().get(f);
            return Tensor.wrap(f, shape);
        }
        double[] d = (double[]) k.output();
        k.kernel().get(d);
        return Tensor.wrap(d, shape);
    }

    /** A kernel whose arguments are set ({@code bind}), with the array it writes its output to. */
    record Bound(Kernel kernel, Object output) {}

    /** Releases this backend's own kernels and device buffers (only for one made with its own budget). */
    void close() {
        if (own != null) {
            synchronized (LOCK) {
                own.arrays.clear();
                own.closeMatMulF32Program();
            }
        }
    }

    /** How many products ran as {@link MatMulF32Program}'s OpenCL C kernels, for tests. */
    long openCLCProducts() {
        synchronized (LOCK) {
            return session().openCLCProducts;
        }
    }

    /** The device-array cache behind this backend, for tests. */
    DeviceArrays deviceArrays() {
        return session().arrays;
    }

    // ------------------------------------------------------------------ state

    private Session session() {
        if (own != null) return own;
        synchronized (LOCK) {
            if (shared == null) {
                if (sharedFailure != null) throw new IllegalStateException(sharedFailure);
                try {
                    OpenCLDevice d = OpenCLDevices.choose();
                    long deflt = Math.min(d.getGlobalMemSize() / 4, 1L << 30);
                    shared = new Session(d, Long.getLong(CACHE_PROPERTY, deflt));
                } catch (IllegalStateException e) {
                    sharedFailure = e.getMessage();
                    throw e;
                }
            }
            return shared;
        }
    }

    /** The device, its launcher, and one pool of kernel instances per kernel kind. */
    private static final class Session {
        final String description;
        final KernelLauncher launcher;
        final DeviceArrays arrays;
        final DeviceArrays.Pool<UnaryF32Kernel> unaryF32;
        final DeviceArrays.Pool<UnaryF64Kernel> unaryF64;
        final DeviceArrays.Pool<BinaryF32Kernel> binaryF32;
        final DeviceArrays.Pool<BinaryF64Kernel> binaryF64;
        final DeviceArrays.Pool<MatMulF32Kernel> matMulF32;
        final DeviceArrays.Pool<MatMulF64Kernel> matMulF64;
        final DeviceArrays.Pool<SumF32Kernel> sumF32;
        final DeviceArrays.Pool<SumF64Kernel> sumF64;
        final DeviceArrays.Pool<MaxF32Kernel> maxF32;
        final DeviceArrays.Pool<MaxF64Kernel> maxF64;
        /** Whether float32 products of {@link MatMulF32Program#MIN_FLOPS} and more run as OpenCL C kernels. */
        final boolean openCLCMatMul;
        private MatMulF32Program matMulF32Program;
        private String matMulF32ProgramFailure;
        long openCLCProducts;

        Session(OpenCLDevice device, long budgetBytes) {
            this.description = OpenCLDevices.describe(device);
            this.openCLCMatMul = MatMulF32Program.suits(device);
            this.launcher = new KernelLauncher(device);
            this.arrays = new DeviceArrays(budgetBytes);
            KernelLauncher l = launcher;
            // Four MatMul instances keep the weights of a few layers on the device at once.
            matMulF32 = arrays.pool("MatMulF32Kernel", 4, () -> l.prepare(new MatMulF32Kernel()));
            matMulF64 = arrays.pool("MatMulF64Kernel", 4, () -> l.prepare(new MatMulF64Kernel()));
            unaryF32 = arrays.pool("UnaryF32Kernel", 2, () -> l.prepare(new UnaryF32Kernel()));
            unaryF64 = arrays.pool("UnaryF64Kernel", 2, () -> l.prepare(new UnaryF64Kernel()));
            binaryF32 = arrays.pool("BinaryF32Kernel", 2, () -> l.prepare(new BinaryF32Kernel()));
            binaryF64 = arrays.pool("BinaryF64Kernel", 2, () -> l.prepare(new BinaryF64Kernel()));
            sumF32 = arrays.pool("SumF32Kernel", 2, () -> l.prepare(new SumF32Kernel()));
            sumF64 = arrays.pool("SumF64Kernel", 2, () -> l.prepare(new SumF64Kernel()));
            maxF32 = arrays.pool("MaxF32Kernel", 2, () -> l.prepare(new MaxF32Kernel()));
            maxF64 = arrays.pool("MaxF64Kernel", 2, () -> l.prepare(new MaxF64Kernel()));
            if (OpenCLDevices.isPocl(device) && !String.valueOf(System.getenv("POCL_EXTRA_BUILD_FLAGS")).contains("-cl-unsafe-math-optimizations")
                    && !warnedAboutPoclFlags) {
                warnedAboutPoclFlags = true;
                System.getLogger(OpenCLBackend.class.getName()).log(System.Logger.Level.WARNING,
                        "opencl backend on PoCL without POCL_EXTRA_BUILD_FLAGS=-cl-unsafe-math-optimizations: MatMul will run about 10 times slower");
            }
            System.getLogger(OpenCLBackend.class.getName()).log(System.Logger.Level.INFO, openCLCMatMul
                    ? "opencl backend: float32 MatMul of 2*160^3 flops and more runs the OpenCL C kernels of " + MatMulF32Program.SOURCE
                            + " on this CPU device, smaller ones the Aparapi kernel MatMulF32Kernel"
                    : "opencl backend: float32 MatMul runs the Aparapi kernel MatMulF32Kernel (the OpenCL C kernels of "
                            + MatMulF32Program.SOURCE + " are for CPU devices)");
        }

        /**
         * The OpenCL C MatMul for a float32 product of these sizes, built on first use; null when the
         * Aparapi kernel takes it (a GPU, or a product under the threshold). A program that does not
         * build is an error, every time it is asked for, never a quiet switch to the Aparapi kernel.
         */
        MatMulF32Program matMulF32Program(MatMulDims d) {
            if (!openCLCMatMul || d.flops() < MatMulF32Program.MIN_FLOPS) return null;
            if (matMulF32Program == null) {
                if (matMulF32ProgramFailure != null) throw new IllegalStateException(matMulF32ProgramFailure);
                try {
                    matMulF32Program = MatMulF32Program.build(launcher.device());
                } catch (IllegalStateException e) {
                    matMulF32ProgramFailure = e.getMessage();
                    throw e;
                }
            }
            return matMulF32Program;
        }

        void closeMatMulF32Program() {
            if (matMulF32Program != null) matMulF32Program.close();
            matMulF32Program = null;
        }
    }

    // ------------------------------------------------------------------ shapes

    /** The MatMul launch: packed layout, tiles, grid and passes (pass 0 packs, each later one adds a k-chunk). */
    static final class MatMulPlan {
        final int batch, m, n, k, ld, aRow, aCol, bRow, bCol, passes, rowBlocks, colBlocks, rowGroups, colGroups, l0, l1;
        final int lhsSize, rhsSize, cSize;

        MatMulPlan(MatMulDims d, boolean transA, boolean transB, int maxGroup) {
            this.batch = d.batch();
            this.m = d.m();
            this.n = d.n();
            this.k = d.k();
            // Rows 64-byte aligned and never a multiple of 4 KiB apart (see MatMulF32Kernel).
            this.ld = KernelLauncher.roundUp(k, 16) + 16;
            this.aRow = transA ? 1 : k;
            this.aCol = transA ? m : 1;
            this.bRow = transB ? 1 : n;
            this.bCol = transB ? k : 1;
            this.passes = 1 + (k + K_CHUNK - 1) / K_CHUNK;
            this.rowBlocks = (m + TILE_ROWS - 1) / TILE_ROWS;
            this.colBlocks = (n + TILE_COLS - 1) / TILE_COLS;
            // PoCL compiles a kernel once per work-group shape, so there are only four: 16 along an
            // axis with at least 16 blocks, else 1 (a 7x7 product needs no 256 idle work-items).
            int a = colBlocks >= 16 ? 16 : 1, b = rowBlocks >= 16 ? 16 : 1;
            while (a * b > maxGroup) {
                if (a >= b) a /= 2;
                else b /= 2;
            }
            this.l0 = a;
            this.l1 = b;
            this.colGroups = KernelLauncher.roundUp(colBlocks, l0);
            this.rowGroups = KernelLauncher.roundUp(rowBlocks, l1);
            this.lhsSize = Math.multiplyExact(batch, Math.multiplyExact(m, ld));
            this.rhsSize = Math.multiplyExact(batch, Math.multiplyExact(n, ld));
            this.cSize = d.outShape().size();
        }

        Range range(KernelLauncher launcher) {
            return launcher.grid(colGroups, rowGroups, batch, l0, l1);
        }
    }

    /**
     * Output dims and both operands' strides (0 along a broadcast axis) with size-1 axes dropped and
     * neighbouring axes merged where both operands run on contiguously: [n] for equal shapes, so the
     * kernel peels one digit per element, not one per axis.
     */
    static final class Broadcast {
        final int rank;
        final int[] dims, aStrides, bStrides;

        Broadcast(Shape out, int[] as, int[] bs) {
            int[] od = out.dims();
            int[] d = new int[od.length], sa = new int[od.length], sb = new int[od.length];
            int r = 0;
            for (int i = 0; i < od.length; i++) {
                if (od[i] == 1) continue;
                if (r > 0 && sa[r - 1] == as[i] * od[i] && sb[r - 1] == bs[i] * od[i]) {
                    d[r - 1] *= od[i];
                    sa[r - 1] = as[i];
                    sb[r - 1] = bs[i];
                } else {
                    d[r] = od[i];
                    sa[r] = as[i];
                    sb[r] = bs[i];
                    r++;
                }
            }
            this.rank = r;
            // Aparapi cannot send an empty array.
            this.dims = Arrays.copyOf(d, Math.max(r, 1));
            this.aStrides = Arrays.copyOf(sa, Math.max(r, 1));
            this.bStrides = Arrays.copyOf(sb, Math.max(r, 1));
        }
    }

    /** A sum's kept and reduced axes, each run of neighbouring axes of one kind merged into one. */
    static final class Reduction {
        final int keptRank, reducedRank, reducedSize;
        final int[] keptDims, keptStrides, reducedDims, reducedStrides;

        Reduction(Shape in, int[] axes) {
            int rank = in.rank();
            boolean[] reduced = new boolean[rank];
            for (int ax : axes) reduced[ax] = true;
            int[] dims = in.dims(), strides = in.strides();
            int[] kd = new int[rank], ks = new int[rank], rd = new int[rank], rs = new int[rank];
            int kr = 0, rr = 0, size = 1;
            Boolean previous = null;
            for (int d = 0; d < rank; d++) {
                if (reduced[d]) size *= dims[d];
                if (dims[d] == 1) continue;
                boolean red = reduced[d];
                if (red) rr = append(rd, rs, rr, Boolean.TRUE.equals(previous), dims[d], strides[d]);
                else kr = append(kd, ks, kr, Boolean.FALSE.equals(previous), dims[d], strides[d]);
                previous = red;
            }
            this.keptRank = kr;
            this.reducedRank = rr;
            this.reducedSize = size;
            this.keptDims = Arrays.copyOf(kd, Math.max(kr, 1));
            this.keptStrides = Arrays.copyOf(ks, Math.max(kr, 1));
            this.reducedDims = Arrays.copyOf(rd, Math.max(rr, 1));
            this.reducedStrides = Arrays.copyOf(rs, Math.max(rr, 1));
        }

        /**
         * Adds an axis to the {@code count} axes in {@code dims} and {@code strides}: merged into the last
         * one when it continues a run of its kind, else after it; returns the new count.
         */
        private static int append(int[] dims, int[] strides, int count, boolean merge, int dim, int stride) {
            if (merge) {
                dims[count - 1] *= dim;
                strides[count - 1] = stride;
                return count;
            }
            dims[count] = dim;
            strides[count] = stride;
            return count + 1;
        }
    }

    private static Tensor empty(DType dtype, Shape shape) {
        return dtype == DType.FLOAT32 ? Tensor.wrap(new float[0], shape) : Tensor.wrap(new double[0], shape);
    }

    private static void requireSameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": operands have different dtypes, " + a.dtype() + " " + a.shape() + " and " + b.dtype() + " " + b.shape());
        }
    }

    /** The kernels' code for {@code op}: the float64 kernels have the same codes (one template). */
    private static int code(UnaryOp op) {
        return switch (op) {
            case NEG -> UnaryF32Kernel.NEG;
            case EXP -> UnaryF32Kernel.EXP;
            case LOG -> UnaryF32Kernel.LOG;
            case SIN -> UnaryF32Kernel.SIN;
            case COS -> UnaryF32Kernel.COS;
            case TANH -> UnaryF32Kernel.TANH;
            case SIGMOID -> UnaryF32Kernel.SIGMOID;
            case RELU -> UnaryF32Kernel.RELU;
            case SQRT -> UnaryF32Kernel.SQRT;
        };
    }

    /** The kernels' code for {@code op}: the float64 kernels have the same codes (one template). */
    private static int code(BinaryOp op) {
        return switch (op) {
            case ADD -> BinaryF32Kernel.ADD;
            case MUL -> BinaryF32Kernel.MUL;
            case DIV -> BinaryF32Kernel.DIV;
            case POW -> BinaryF32Kernel.POW;
            case EQUAL -> BinaryF32Kernel.EQUAL;
            case GREATER -> BinaryF32Kernel.GREATER;
            case TANH_BACKWARD -> BinaryF32Kernel.TANH_BACKWARD;
            case SIGMOID_BACKWARD -> BinaryF32Kernel.SIGMOID_BACKWARD;
        };
    }
}
