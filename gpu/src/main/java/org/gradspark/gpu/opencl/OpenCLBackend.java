package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;
import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.BinaryOp;
import org.gradspark.ad.backend.MatMulDims;
import org.gradspark.ad.backend.Strides;
import org.gradspark.ad.backend.UnaryOp;

/**
 * The {@link Backend} kernels as OpenCL kernels written in Java and translated by Aparapi: MatMul
 * (transpose flags, batched), every {@link UnaryOp}, every {@link BinaryOp} with NumPy broadcasting,
 * sum over axes and max along an axis, in float32 and float64, with the reference backend's
 * semantics (NaN and infinities propagate; NaN wins a max).
 *
 * <pre>{@code
 * Backends.use(new OpenCLBackend());            // or -Dgradspark.backend=opencl
 * System.out.println(Backends.current().device());
 * // pthread-skylake-avx512-Intel(R) Xeon(R) ... (CPU, 2 compute units) on Portable Computing Language (OpenCL 3.0 PoCL 3.1 ...)
 * }</pre>
 *
 * <p><b>Device.</b> A GPU if there is one, else an accelerator, else a CPU device such as PoCL's;
 * {@code -Dgradspark.opencl.device=<part of a device or platform name>} picks one. Nothing touches
 * OpenCL until the first kernel (or {@link #device()}) is asked for; then the device is chosen once per
 * JVM, and a JVM without one gets an {@link IllegalStateException} saying so. A Spark task given a GPU
 * runs on {@link #onDevice onDevice(address)} instead: each device has its own session (kernels,
 * device-array cache), made on first use. Every kernel runs
 * there or the call fails: Aparapi's silent fallback to Java threads is refused
 * ({@link KernelLauncher}). Each kernel is compiled once per JVM, on first use (PoCL's disk cache
 * shortens that for later JVMs); launches are serialised, as Aparapi kernels are not thread-safe.
 *
 * <p><b>PoCL needs {@code POCL_EXTRA_BUILD_FLAGS=-cl-unsafe-math-optimizations}</b> in the JVM's
 * environment. Aparapi passes no build options, and without that flag PoCL's LLVM may not reassociate
 * the MatMul dot products, so it cannot vectorise them: MatMul is then many times slower
 * (the backend logs a warning). The flag keeps NaN and infinity semantics (it does not imply
 * finite-math), which the tests check through every kernel.
 *
 * <p><b>float32 MatMul on a CPU device</b> (PoCL's) runs, from 2 x 160^3 flops, as OpenCL C kernels
 * with {@code float16} accumulators ({@link MatMulF32Program}, {@code matmul_f32.cl}) that Aparapi cannot
 * translate from Java; smaller products, float64, and every product on a GPU run the Aparapi kernels.
 * Which one runs is logged once per device.
 *
 * <p><b>Memory.</b> A tensor's array is copied to the device once while it stays in use: inputs
 * are cached by array identity, with MatMul's packed operands, up to
 * {@code -Dgradspark.opencl.cacheBytes} (default a quarter of the device's memory, at most 1 GiB);
 * see {@link DeviceArrays}. The OpenCL C MatMul needs no cache: on a CPU device OpenCL uses the arrays
 * in place, and nothing is copied (see {@link OpenCLCProgram}).
 *
 * <p><b>Kernels.</b> The Aparapi kernels come in float32 and float64 ({@code UnaryF32Kernel},
 * {@code UnaryF64Kernel}, ...), generated from one template each (gpu/src/main/kernels). Elementwise
 * kernels and reductions are bound by the copies to and from the device, which on a CPU device are
 * memcpy. Measured speeds: bench/results/kernels.md and bench/results/opencl-tuning.md.
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
     * One lock for every session, whatever its device: Aparapi's kernel setup is not reentrant. Two
     * tasks on two devices therefore run their kernels one after the other in this engine (each on
     * its own device, with its own kernels and cache); only the work between kernels overlaps.
     */
    private static final Object LOCK = new Object();

    /** One session per device (by OpenCL device id), made on first use, shared by every backend bound to it. */
    private static final Map<Long, Session> SESSIONS = new HashMap<>();
    /** The backends {@link #onDevice} made, one per address. */
    private static final Map<String, OpenCLBackend> BY_ADDRESS = new HashMap<>();
    private static OpenCLDevice chosen;
    private static String chosenFailure;
    private static boolean warnedAboutPoclFlags;

    /** Null for a session of the device's shared ones. */
    private final Session own;
    /** The device a scheduler assigned ({@link #onDevice}); null: the JVM's choice ({@link OpenCLDevices#choose}). */
    private final OpenCLDevice bound;

    /** Touches nothing: OpenCL is initialised on first use. */
    public OpenCLBackend() {
        this.own = null;
        this.bound = null;
    }

    private OpenCLBackend(OpenCLDevice bound) {
        this.own = null;
        this.bound = bound;
    }

    /** A backend with its own kernels and cache budget (tests); {@link #close()} releases them. */
    OpenCLBackend(long cacheBudgetBytes) {
        synchronized (LOCK) {
            this.own = new Session(OpenCLDevices.choose(), cacheBudgetBytes);
            this.bound = null;
        }
    }

    /**
     * This backend on the device {@code address} names: an index into the GPUs OpenCL lists (else
     * its accelerators, else its CPU devices), see {@link OpenCLDevices}. One backend per address,
     * each on its device's one session (kernels and device-array cache).
     *
     * @throws IllegalArgumentException naming the address and the devices there are, when it names none
     */
    @Override
    public Backend onDevice(String address) {
        synchronized (LOCK) {
            OpenCLBackend b = BY_ADDRESS.get(address);
            if (b == null) {
                b = new OpenCLBackend(OpenCLDevices.byAddress(address));
                BY_ADDRESS.put(address, b);
            }
            return b;
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
        return session().description;
    }

    @Override
    public Tensor unary(UnaryOp op, Tensor x) {
        int n = x.size();
        if (n == 0) return empty(x.dtype(), x.shape());
        return locked(s -> x.dtype() == DType.FLOAT32
                ? linear(s, s.unaryF32.take(x.rawFloats()).bind(s.arrays, x.rawFloats(), code(op)), n, x.shape())
                : linear(s, s.unaryF64.take(x.rawDoubles()).bind(s.arrays, x.rawDoubles(), code(op)), n, x.shape()));
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
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
        Shape outShape = x.shape().reduce(new int[] {axis}, keepDims);
        int[] dims = x.shape().dims();
        int outer = 1, inner = 1, len = dims[axis];
        for (int d = 0; d < axis; d++) outer *= dims[d];
        for (int d = axis + 1; d < dims.length; d++) inner *= dims[d];
        if (outShape.size() == 0 || len == 0) return Tensor.full(Double.NEGATIVE_INFINITY, x.dtype(), outShape);
        int outSize = outShape.size(), outerSize = outer, innerSize = inner;
        return locked(s -> x.dtype() == DType.FLOAT32
                ? linear(s, s.maxF32.take(x.rawFloats()).bind(s.arrays, x.rawFloats(), outerSize, len, innerSize), outSize, outShape)
                : linear(s, s.maxF64.take(x.rawDoubles()).bind(s.arrays, x.rawDoubles(), outerSize, len, innerSize), outSize, outShape));
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
            OpenCLDevice d = bound != null ? bound : chosenDevice();
            Session s = SESSIONS.get(d.getDeviceId());
            if (s == null) {
                s = new Session(d, Long.getLong(CACHE_PROPERTY, Math.min(d.getGlobalMemSize() / 4, 1L << 30)));
                SESSIONS.put(d.getDeviceId(), s);
            }
            return s;
        }
    }

    /** The JVM's device, chosen once; a JVM without one gets the same error every time. Under LOCK. */
    private static OpenCLDevice chosenDevice() {
        if (chosen == null) {
            if (chosenFailure != null) throw new IllegalStateException(chosenFailure);
            try {
                chosen = OpenCLDevices.choose();
            } catch (IllegalStateException e) {
                chosenFailure = e.getMessage();
                throw e;
            }
        }
        return chosen;
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
