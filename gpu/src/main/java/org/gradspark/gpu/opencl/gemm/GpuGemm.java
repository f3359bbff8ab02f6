package org.gradspark.gpu.opencl.gemm;

import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_MEM_SIZE;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clEnqueueNDRangeKernel;
import static org.jocl.CL.clEnqueueWriteBuffer;
import static org.jocl.CL.clFinish;
import static org.jocl.CL.clGetMemObjectInfo;
import static org.jocl.CL.clReleaseMemObject;
import static org.jocl.CL.clSetKernelArg;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.gradspark.ad.DType;
import org.gradspark.ad.backend.BackendSettings;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_mem;

/**
 * {@code C = op(A) op(B)} on a GPU OpenCL device, on buffers the caller owns: the OpenCL C kernel of
 * {@code gemm.cl} (local-memory tiles, register blocking, vector loads, transposes by how tiles are
 * loaded), with its tile sizes chosen per device by {@link GemmTuner} at first use and cached in
 * {@code ~/.cache/gradspark/gemm-*.json} ({@link TunedParametersFile}). Example, for float32 {@code a} of
 * [m, k] and {@code b} of [n, k]:
 * <pre>GpuGemm.forDevice(context, device, queue).enqueue(a, 0, b, 0, c, 0, 1, m, n, k, false, true, DType.FLOAT32);</pre>
 *
 * <p>System properties: {@value #CACHE_DIR_PROPERTY} (the cache's directory), {@value #PARAMETERS_PROPERTY}
 * ({@code MWG=64,NWG=64,KWG=16,MDIMC=16,NDIMC=16,VW=4}: no search, no cache; a set the device cannot run
 * is an error) and {@value #RETUNE_PROPERTY}{@code =true} (search once in this JVM even when the cache file holds a set).
 *
 * <p>On CPU devices (PoCL) the CPU-shaped kernels of the opencl backend are faster; this one runs there
 * too, which is how its tests run on machines without a GPU.
 */
public final class GpuGemm {
    public static final String CACHE_DIR_PROPERTY = BackendSettings.GEMM_CACHE_DIR;
    public static final String PARAMETERS_PROPERTY = BackendSettings.GEMM_PARAMETERS;
    public static final String RETUNE_PROPERTY = BackendSettings.GEMM_RETUNE;
    private static final System.Logger LOG = System.getLogger(GpuGemm.class.getName());
    private static final Map<List<Object>, GpuGemm> INSTANCES = new ConcurrentHashMap<>();
    /** Tuned sets already found in this JVM, by cache file and dtype: a second context on a device does not search again. */
    private static final Map<List<Object>, GemmParameters> TUNED = new ConcurrentHashMap<>();
    private static final Map<List<Object>, Object> SEARCHES = new ConcurrentHashMap<>();

    /** Where the parameters come from: a forced set, else the cache in {@code cacheDir} unless {@code retune}, else a search. */
    record TuningPolicy(Path cacheDir, GemmParameters forced, boolean retune) {
        static TuningPolicy fromSystemProperties() {
            String dir = System.getProperty(CACHE_DIR_PROPERTY);
            String forced = System.getProperty(PARAMETERS_PROPERTY);
            return new TuningPolicy(dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "gradspark"),
                    forced != null ? GemmParameters.parse(forced) : null, Boolean.parseBoolean(System.getProperty(RETUNE_PROPERTY)));
        }
    }

    private final cl_context context;
    private final cl_device_id device;
    private final cl_command_queue queue;
    private final DeviceLimits limits;
    private final TuningPolicy policy;
    private final Map<DType, GemmParameters> chosen = new HashMap<>();
    private final Map<List<Object>, GemmProgram> programs = new HashMap<>();

    private GpuGemm(cl_context context, cl_device_id device, cl_command_queue queue, TuningPolicy policy) {
        this.context = context;
        this.device = device;
        this.queue = queue;
        this.limits = DeviceLimits.of(device);
        this.policy = policy;
    }

    /**
     * The GEMM for {@code device}, one per (context, device, queue) in this JVM: its programs belong to the
     * context and it launches on the queue. The system properties are read on the first call for a triple.
     */
    public static GpuGemm forDevice(cl_context context, cl_device_id device, cl_command_queue queue) {
        return INSTANCES.computeIfAbsent(List.of(context, device, queue),
                key -> new GpuGemm(context, device, queue, TuningPolicy.fromSystemProperties()));
    }

    /** A GEMM with its own policy, not memoized (tests). */
    static GpuGemm create(cl_context context, cl_device_id device, cl_command_queue queue, TuningPolicy policy) {
        return new GpuGemm(context, device, queue, policy);
    }

    /** Releases the programs built for {@code context} and forgets its instances; call before releasing the context. */
    public static void release(cl_context context) {
        INSTANCES.entrySet().removeIf(e -> {
            if (!e.getKey().get(0).equals(context)) return false;
            e.getValue().close();
            return true;
        });
    }

    /** Forgets the sets tuned in this JVM, so that the next choice reads the cache file as a new run would (tests). */
    static void forgetTunedInThisJvm() {
        TUNED.clear();
    }

    /** Releases this instance's programs (instances made by {@link #create}). */
    synchronized void close() {
        programs.values().forEach(GemmProgram::close);
        programs.clear();
    }

    /**
     * Enqueues {@code C[b] = op(A[b]) op(B[b])} for {@code b < batch} on the queue, row-major, op the
     * transpose of the last two axes where the flag is set: A is [batch, m, k] ([batch, k, m] if transA),
     * B is [batch, k, n] ([batch, n, k] if transB), C is [batch, m, n], each contiguous from its offset
     * (in elements). It returns once the launch is enqueued. An {@link IllegalArgumentException} for sizes
     * below zero, a batch below 1, a buffer too small for its operand, or float64 on a device without fp64.
     */
    public void enqueue(cl_mem a, long offA, cl_mem b, long offB, cl_mem c, long offC, int batch, int m, int n, int k,
                        boolean transA, boolean transB, DType dtype) {
        enqueue(parameters(dtype), a, offA, b, offB, c, offC, batch, m, n, k, transA, transB, dtype);
    }

    /** As {@link #enqueue(cl_mem, long, cl_mem, long, cl_mem, long, int, int, int, int, boolean, boolean, DType)} with a given parameter set. */
    synchronized void enqueue(GemmParameters p, cl_mem a, long offA, cl_mem b, long offB, cl_mem c, long offC, int batch, int m, int n, int k,
                              boolean transA, boolean transB, DType dtype) {
        if (!limits.supports(dtype)) {
            throw new IllegalArgumentException("GpuGemm: float64 needs cl_khr_fp64, which device " + limits.describe() + " lacks");
        }
        if (batch < 1 || m < 0 || n < 0 || k < 0 || offA < 0 || offB < 0 || offC < 0) {
            throw new IllegalArgumentException("GpuGemm: batch " + batch + ", m " + m + ", n " + n + ", k " + k + ", offsets "
                    + offA + ", " + offB + ", " + offC + ": batch must be at least 1, the rest at least 0");
        }
        fits(a, "A", offA, (long) batch * m * k, dtype, batch, transA ? k : m, transA ? m : k);
        fits(b, "B", offB, (long) batch * k * n, dtype, batch, transB ? n : k, transB ? k : n);
        fits(c, "C", offC, (long) batch * m * n, dtype, batch, m, n);
        if (m == 0 || n == 0) return;
        GemmProgram program = program(p, dtype);
        int vw = p.vw();
        // Vector loads only where every row of the stored operand starts on a multiple of VW.
        boolean vecA = offA % vw == 0 && (transA ? m : k) % vw == 0;
        boolean vecB = offB % vw == 0 && (transB ? k : n) % vw == 0;
        Object[] args = {a, offA, b, offB, c, offC, m, n, k, transA ? 1 : 0, transB ? 1 : 0, vecA ? 1 : 0, vecB ? 1 : 0};
        for (int i = 0; i < args.length; i++) setArg(program, i, args[i]);
        long[] local = {p.ndimc(), p.mdimc(), 1};
        long[] global = {ceilDiv(n, p.nwg()) * p.ndimc(), ceilDiv(m, p.mwg()) * p.mdimc(), batch};
        OpenCLStatus.check(clEnqueueNDRangeKernel(queue, program.kernel, 3, null, global, local, 0, null, null), "clEnqueueNDRangeKernel(gemm " + p + ")");
    }

    private static void setArg(GemmProgram program, int index, Object value) {
        int status;
        if (value instanceof cl_mem mem) status = clSetKernelArg(program.kernel, index, Sizeof.cl_mem, Pointer.to(mem));
        else if (value instanceof Long l) status = clSetKernelArg(program.kernel, index, Sizeof.cl_long, Pointer.to(new long[] {l}));
        else status = clSetKernelArg(program.kernel, index, Sizeof.cl_int, Pointer.to(new int[] {(Integer) value}));
        OpenCLStatus.check(status, "clSetKernelArg(gemm, " + index + ")");
    }

    private static long ceilDiv(long x, long y) {
        return (x + y - 1) / y;
    }

    /** An {@link IllegalArgumentException} naming the operand, its shape and the buffer's size if it does not hold the operand. */
    private static void fits(cl_mem buffer, String name, long offset, long elements, DType dtype, int batch, int rows, int cols) {
        long[] size = new long[1];
        OpenCLStatus.check(clGetMemObjectInfo(buffer, CL_MEM_SIZE, Sizeof.size_t, Pointer.to(size), null), "clGetMemObjectInfo(" + name + ")");
        long needed = Math.multiplyExact(Math.addExact(offset, elements), (long) GemmParameters.elementBytes(dtype));
        if (needed > size[0]) {
            throw new IllegalArgumentException("GpuGemm: " + name + " of " + dtype.numpyName() + " [" + batch + ", " + rows + ", " + cols + "] from element "
                    + offset + " needs " + needed + " bytes; its buffer holds " + size[0]);
        }
    }

    /** Whether this device computes {@code dtype} (float64 needs cl_khr_fp64). */
    public boolean supports(DType dtype) {
        return limits.supports(dtype);
    }

    /** The parameter set {@link #enqueue} uses for {@code dtype} here: forced, cached or searched now (see the class comment). */
    public synchronized GemmParameters parameters(DType dtype) {
        GemmParameters p = chosen.get(dtype);
        if (p == null) {
            p = choose(dtype);
            chosen.put(dtype, p);
        }
        return p;
    }

    private GemmParameters choose(DType dtype) {
        if (!limits.supports(dtype)) {
            throw new IllegalArgumentException("GpuGemm: float64 needs cl_khr_fp64, which device " + limits.describe() + " lacks");
        }
        if (policy.forced() != null) {
            String unfit = policy.forced().unfitFor(limits, dtype);
            if (unfit != null) {
                throw new IllegalArgumentException(PARAMETERS_PROPERTY + "=" + policy.forced() + ": device " + limits.describe()
                        + " cannot run it for " + dtype.numpyName() + ": " + unfit);
            }
            return policy.forced();
        }
        TunedParametersFile file = new TunedParametersFile(policy.cacheDir(), limits);
        List<Object> key = List.of(file.path().toAbsolutePath().toString(), dtype);
        // One search per device and dtype at a time: tasks that open the same device wait for its result.
        synchronized (SEARCHES.computeIfAbsent(key, k -> new Object())) {
            GemmParameters known = TUNED.get(key);
            if (known == null && !policy.retune()) known = file.read(dtype);
            if (known != null && builds(known, dtype, file)) {
                TUNED.put(key, known);
                return known;
            }
            return search(dtype, file, key);
        }
    }

    private GemmParameters search(DType dtype, TunedParametersFile file, List<Object> key) {
        GemmTuner.Result result = GemmTuner.search(limits, dtype, candidate -> time(candidate, dtype));
        LOG.log(System.Logger.Level.INFO, "GEMM tuned for " + limits.describe() + ", " + dtype.numpyName() + ": " + result.parameters()
                + " at " + Math.round(result.gflops()) + " GFLOP/s on " + GemmTuner.side(limits) + "^3; cached in " + file.path());
        file.write(dtype, result.parameters(), result.gflops());
        TUNED.put(key, result.parameters());
        return result.parameters();
    }

    /**
     * Whether a cached set builds into a kernel that runs its work-group here (a set within the device's
     * limits can still exceed what the compiled kernel allows); if not, a WARNING naming the file.
     */
    private boolean builds(GemmParameters cached, DType dtype, TunedParametersFile file) {
        try {
            program(cached, dtype);
            return true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "GEMM tuning cache " + file.path() + " is not used (" + dtype.numpyName() + " " + cached
                    + " does not build here: " + e.getMessage() + "); searching the parameters for " + limits.describe() + " again");
            return false;
        }
    }

    /** Seconds per square product of {@link GemmTuner#side} with {@code candidate}, after one untimed launch. */
    private double time(GemmParameters candidate, DType dtype) {
        int side = GemmTuner.side(limits);
        long elements = (long) side * side, bytes = elements * GemmParameters.elementBytes(dtype);
        cl_mem[] buffers = new cl_mem[3];
        try {
            int[] status = new int[1];
            for (int i = 0; i < 3; i++) {
                buffers[i] = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, status);
                OpenCLStatus.check(status[0], "clCreateBuffer");
            }
            Pointer values = representativeValues(elements, dtype);
            for (int i = 0; i < 2; i++) OpenCLStatus.check(clEnqueueWriteBuffer(queue, buffers[i], true, 0, bytes, values, 0, null, null), "clEnqueueWriteBuffer");
            enqueue(candidate, buffers[0], 0, buffers[1], 0, buffers[2], 0, 1, side, side, side, false, false, dtype);
            OpenCLStatus.check(clFinish(queue), "clFinish");
            int runs = 0;
            long start = System.nanoTime(), elapsed;
            do {
                enqueue(candidate, buffers[0], 0, buffers[1], 0, buffers[2], 0, 1, side, side, side, false, false, dtype);
                OpenCLStatus.check(clFinish(queue), "clFinish");
                runs++;
                elapsed = System.nanoTime() - start;
            } while (runs < 10 && elapsed < 30_000_000L);
            return elapsed / 1e9 / runs;
        } finally {
            for (cl_mem m : buffers) if (m != null) clReleaseMemObject(m);
            GemmProgram unused = programs.remove(List.of(candidate, dtype));
            if (unused != null) unused.close();
        }
    }

    /** Values in [-1, 1): no denormals or NaN to slow a device down or mislead the timing. */
    private static Pointer representativeValues(long elements, DType dtype) {
        java.util.Random random = new java.util.Random(24);
        if (dtype == DType.FLOAT32) {
            float[] v = new float[(int) elements];
            for (int i = 0; i < v.length; i++) v[i] = random.nextFloat() * 2 - 1;
            return Pointer.to(v);
        }
        double[] v = new double[(int) elements];
        for (int i = 0; i < v.length; i++) v[i] = random.nextDouble() * 2 - 1;
        return Pointer.to(v);
    }

    private GemmProgram program(GemmParameters p, DType dtype) {
        return programs.computeIfAbsent(List.of(p, dtype), key -> GemmProgram.build(context, device, limits, p, dtype));
    }
}
