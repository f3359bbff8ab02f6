package org.gradspark.gpu.opencl;

import static org.jocl.CL.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.DeviceTraffic;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * One OpenCL device opened through JOCL: its context, one in-order queue, the kernels of
 * {@code resident.cl} built for float32 and float64, and the device memory of the tensors the
 * resident backend computes there.
 *
 * <p><b>Why JOCL and not Aparapi's buffers.</b> Aparapi binds Java arrays to each launch and copies
 * them in and out around it (its {@code bind} pins and unpins unevenly, see {@link OpenCLCProgram}),
 * so a result cannot stay on the device between kernels. Here the engine owns {@code cl_mem} buffers
 * that outlive launches, and copies only when a host tensor is uploaded or a device tensor read back.
 *
 * <p><b>Memory.</b> Buffers are pooled by size: a tensor's buffer goes back to the pool when the
 * tensor is unreachable ({@link Cleaner}), and the next result of that size reuses it, so a steady
 * loop creates no buffers. The pool keeps at most {@link #POOLED_PER_SIZE} buffers of one size: a
 * collection can hand back tens of thousands of tiny buffers at once, which the byte budget alone
 * would all keep (each a Java object, a native handle and the driver's own bookkeeping). Host tensors are uploaded once while their array stays in use: the
 * uploads are cached by array identity (weights broadcast to an executor cross the bus once), up to
 * {@code gradspark.opencl.cacheBytes} (default a quarter of the device's memory, at most 1 GiB).
 * Every copy is counted in {@link DeviceTraffic} on the calling thread. Launches and copies are
 * serialised per device (OpenCL kernel objects are not thread-safe); different devices run in parallel.
 */
final class ResidentEngine {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Map<cl_device_id, ResidentEngine> OPEN = new ConcurrentHashMap<>();
    static final String SOURCE = "resident.cl";

    private final ResidentDevices.Entry device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final Map<String, cl_kernel> f32Kernels = new HashMap<>(), f64Kernels = new HashMap<>();
    private final boolean fp64;
    private final long cacheBudget;
    private final Object lock = new Object();
    private volatile OpenCLBackend backend;
    private volatile boolean closed;

    // Memory: free buffers by byte size, buffers given back by the cleaner, every buffer not yet released.
    private final Map<Long, ArrayDeque<cl_mem>> free = new HashMap<>();
    private long freeBytes;
    private final ConcurrentLinkedQueue<Memory> givenBack = new ConcurrentLinkedQueue<>();
    private final Set<Memory> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextId = new AtomicLong(1);
    final AtomicLong buffersCreated = new AtomicLong(), buffersReused = new AtomicLong();
    private final UploadCache uploads = new UploadCache();
    private static final int MAX_SCALARS = 1024;
    /** Free buffers kept per byte size; more of one size given back at once are released. */
    static final int POOLED_PER_SIZE = 256;
    private final Map<Long, DeviceBuffer> scalarsF32 = new HashMap<>(), scalarsF64 = new HashMap<>();
    /** Tuned MatMul kernels for this device (see {@link DeviceMatMul}); the simple kernel takes the rest. */
    private final java.util.List<DeviceMatMul> tunedMatMuls = new java.util.ArrayList<>();
    /** matmul_f32.cl's kernels and their MatMul, on a CPU device (null elsewhere). */
    private final Map<String, cl_kernel> panelKernels = new HashMap<>();
    private PanelMatMulF32 panelMatMul;

    private ResidentEngine(ResidentDevices.Entry device, long cacheBudget) {
        this.device = device;
        this.cacheBudget = cacheBudget;
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL_CONTEXT_PLATFORM, device.platform());
        this.context = clCreateContext(props, 1, new cl_device_id[] {device.id()}, null, null, null);
        this.queue = clCreateCommandQueue(context, device.id(), 0, null);
        this.fp64 = ResidentDevices.deviceString(device.id(), CL_DEVICE_EXTENSIONS).contains("cl_khr_fp64");
        String source = source(SOURCE);
        build(SOURCE, source, "-DREAL=float" + (fp64 ? " -DHAS_FP64" : ""), f32Kernels, "unary", "binary", "gather", "fill", "scatter", "where_select",
                "sum_axes", "max_axis", "matmul");
        if (fp64) {
            build(SOURCE, source, "-DREAL=double -DFP64 -DHAS_FP64", f64Kernels, "unary", "binary", "gather", "fill", "scatter", "where_select",
                    "sum_axes", "max_axis", "matmul", "cast_to_double", "cast_to_float");
        }
        boolean gpu = (device.type() & CL_DEVICE_TYPE_GPU) != 0;
        for (DeviceMatMul.Factory f : java.util.ServiceLoader.load(DeviceMatMul.Factory.class)) {
            DeviceMatMul m = f.forDevice(context, device.id(), queue, gpu);
            if (m != null) tunedMatMuls.add(m);
        }
        if ((device.type() & CL_DEVICE_TYPE_CPU) != 0) {
            build(MatMulF32Program.SOURCE, source(MatMulF32Program.SOURCE), "", panelKernels, "pack", "multiply");
            panelMatMul = new PanelMatMulF32(context, panelKernels.get("pack"), panelKernels.get("multiply"));
            tunedMatMuls.add(panelMatMul);
        }
    }

    /** The tuned MatMul kernels this engine tries before its simple one, in order (their class names). */
    java.util.List<String> matMulKernels() {
        return tunedMatMuls.stream().map(m -> m.getClass().getSimpleName()).toList();
    }

    /** The engine of {@code device}, opened once per JVM. */
    static ResidentEngine of(ResidentDevices.Entry device) {
        return OPEN.computeIfAbsent(device.id(), id -> {
            long global = ResidentDevices.deviceLong(device.id(), CL_DEVICE_GLOBAL_MEM_SIZE);
            long budget = Long.getLong(OpenCLBackend.CACHE_PROPERTY, Math.min(global / 4, 1L << 30));
            return new ResidentEngine(device, budget);
        });
    }

    /** An engine of its own on {@code device} (tests that close it); not shared. */
    static ResidentEngine open(ResidentDevices.Entry device, long cacheBudget) {
        return new ResidentEngine(device, cacheBudget);
    }

    String description() {
        return device.describe();
    }

    ResidentDevices.Entry device() {
        return device;
    }

    /** The backend whose kernels read this engine's buffers in place (one per device). */
    OpenCLBackend backend() {
        OpenCLBackend b = backend;
        if (b == null) {
            synchronized (this) {
                if (backend == null) backend = new OpenCLBackend(this);
                b = backend;
            }
        }
        return b;
    }

    /** How many products ran as matmul_f32.cl's panel kernels (0 on a device without them), for tests. */
    long panelProducts() {
        synchronized (lock) {
            return panelMatMul == null ? 0 : panelMatMul.products;
        }
    }

    boolean supports(DType dtype) {
        return dtype == DType.FLOAT32 || fp64;
    }

    // ------------------------------------------------------------------ memory

    /** A buffer for {@code n} values of {@code dtype}: a pooled one of that size when there is one. */
    DeviceBuffer allocate(DType dtype, int n) {
        long bytes = (long) n * (dtype == DType.FLOAT32 ? Sizeof.cl_float : Sizeof.cl_double);
        synchronized (lock) {
            requireOpen();
            reclaim();
            ArrayDeque<cl_mem> same = free.get(bytes);
            cl_mem mem;
            if (same != null && !same.isEmpty()) {
                mem = same.pop();
                freeBytes -= bytes;
                buffersReused.incrementAndGet();
            } else {
                mem = create(bytes);
            }
            Memory m = new Memory(this, mem, bytes, nextId.getAndIncrement());
            live.add(m);
            DeviceBuffer buffer = new DeviceBuffer(this, dtype, n, m);
            CLEANER.register(buffer, m::giveBack);
            return buffer;
        }
    }

    private cl_mem create(long bytes) {
        try {
            buffersCreated.incrementAndGet();
            return clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
        } catch (CLException e) {
            if (e.getStatus() != CL_MEM_OBJECT_ALLOCATION_FAILURE && e.getStatus() != CL_OUT_OF_RESOURCES && e.getStatus() != CL_OUT_OF_HOST_MEMORY) throw e;
            // Unreachable tensors may still hold device memory the collector has not given back yet.
            releaseFree();
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            reclaim();
            releaseFree();
            return clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
        }
    }

    /** Moves buffers the cleaner gave back into the pool, releasing what exceeds the cache budget. */
    private void reclaim() {
        for (Memory m; (m = givenBack.poll()) != null; ) {
            if (!live.remove(m)) continue;   // released by close() already
            ArrayDeque<cl_mem> same = free.computeIfAbsent(m.bytes, b -> new ArrayDeque<>());
            if (freeBytes + m.bytes > cacheBudget || same.size() >= POOLED_PER_SIZE) {
                clReleaseMemObject(m.mem);
            } else {
                same.push(m.mem);
                freeBytes += m.bytes;
            }
        }
    }

    /** Free buffers in the pool now (after taking what the cleaner gave back). */
    int pooledBuffers() {
        synchronized (lock) {
            reclaim();
            int n = 0;
            for (ArrayDeque<cl_mem> q : free.values()) n += q.size();
            return n;
        }
    }

    private void releaseFree() {
        for (ArrayDeque<cl_mem> q : free.values()) for (cl_mem mem : q) clReleaseMemObject(mem);
        free.clear();
        freeBytes = 0;
    }

    /**
     * {@code t}'s values on this device: its own buffer when this engine computed it, else the host
     * values uploaded (once per array while the upload stays cached), counted as bytes in.
     */
    DeviceBuffer argument(Tensor t) {
        if (t.deviceData() instanceof DeviceBuffer b && b.engine() == this) return b;
        requireSupported(t.dtype());
        Object array = t.dtype() == DType.FLOAT32 ? t.rawFloats() : t.rawDoubles();   // a foreign device's tensor is read back first
        // The rules' scalar constants (2, -1, 0.5, ...) are made afresh by every op: keep them by value, not by array.
        Long scalarKey = t.size() == 1 ? (t.dtype() == DType.FLOAT32 ? Float.floatToRawIntBits(t.rawFloats()[0]) & 0xffffffffL
                : Double.doubleToRawLongBits(t.rawDoubles()[0])) : null;
        Map<Long, DeviceBuffer> scalarCache = t.dtype() == DType.FLOAT32 ? scalarsF32 : scalarsF64;
        synchronized (lock) {
            DeviceBuffer cached = scalarKey != null ? scalarCache.get(scalarKey) : uploads.get(array);
            if (cached != null) return cached;
        }
        DeviceBuffer b = allocate(t.dtype(), t.size());
        Pointer p = array instanceof float[] f ? Pointer.to(f) : Pointer.to((double[]) array);
        synchronized (lock) {
            requireOpen();
            clEnqueueWriteBuffer(queue, b.mem(), true, 0, b.bytes(), p, 0, null, null);
            if (scalarKey == null) {
                uploads.put(array, b);
            } else {
                if (scalarCache.size() >= MAX_SCALARS) scalarCache.clear();
                scalarCache.put(scalarKey, b);
            }
        }
        DeviceTraffic.addIn(b.bytes());
        return b;
    }

    /** Copies {@code b}'s values to {@code dst} (blocking), counted as bytes out. */
    void read(DeviceBuffer b, Pointer dst) {
        synchronized (lock) {
            clEnqueueReadBuffer(queue, b.mem(), true, 0, b.bytes(), dst, 0, null, null);
        }
        DeviceTraffic.addOut(b.bytes());
    }

    // ------------------------------------------------------------------ launches

    /**
     * Runs kernel {@code name} of {@code dtype}'s program over {@code global} work-items (1 to 3
     * dims) with the given arguments: {@link DeviceBuffer}s, {@code Integer}s, {@code int[8]}s, and a
     * {@code Float} or {@code Double} (the program's real type).
     */
    void launch(DType dtype, String name, long[] global, Object... args) {
        requireSupported(dtype);
        synchronized (lock) {
            requireOpen();
            cl_kernel k = (dtype == DType.FLOAT32 ? f32Kernels : f64Kernels).get(name);
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof DeviceBuffer b) clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(b.mem()));
                else if (a instanceof Integer v) clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
                else if (a instanceof Float v) clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
                else if (a instanceof Double v) clSetKernelArg(k, i, Sizeof.cl_double, Pointer.to(new double[] {v}));
                else if (a instanceof int[] v && v.length == 8) clSetKernelArg(k, i, Sizeof.cl_int * 8L, Pointer.to(v));
                else throw new IllegalArgumentException("kernel " + name + ": argument " + i + " of type " + a.getClass().getSimpleName());
            }
            clEnqueueNDRangeKernel(queue, k, global.length, null, padded(global), local(global.length), 0, null, null);
        }
    }

    /**
     * {@code c = op(a) @ op(b)}: a tuned kernel that takes these sizes, else the simple one (one
     * work-item per element of C, {@code matmul} in resident.cl).
     */
    void matMul(DeviceBuffer a, DeviceBuffer b, DeviceBuffer c, org.gradspark.ad.backend.MatMulDims d, boolean transA, boolean transB) {
        DType dtype = c.dtype();
        for (DeviceMatMul m : tunedMatMuls) {
            if (m.takes(d, dtype)) {
                synchronized (lock) {
                    requireOpen();
                    m.enqueue(queue, a.mem(), b.mem(), c.mem(), d, transA, transB, dtype);
                }
                return;
            }
        }
        int ar = d.aRows(), ac = d.aCols(), br = d.bRows(), bc = d.bCols();
        int aBatch = a.size() == ar * ac ? 0 : ar * ac, bBatch = b.size() == br * bc ? 0 : br * bc;
        launch(dtype, "matmul", new long[] {d.n(), d.m(), d.batch()}, a, b, c, d.m(), d.n(), d.k(),
                transA ? 1 : ac, transA ? ac : 1, transB ? 1 : bc, transB ? bc : 1, aBatch, bBatch);
    }

    /**
     * A fixed work-group shape: 64 work-items along the first axis, 16 for 2 and 3 axes. PoCL compiles
     * a kernel once per work-group shape, and left to choose it picks one per global size, so a job
     * with many tensor sizes would recompile on every new size; every kernel skips the items past its end.
     */
    private static long[] local(int dims) {
        long[] l = new long[dims];
        java.util.Arrays.fill(l, 1);
        l[0] = dims == 1 ? 64 : 16;
        return l;
    }

    private static long[] padded(long[] global) {
        long[] g = global.clone();
        long l0 = global.length == 1 ? 64 : 16;
        g[0] = (g[0] + l0 - 1) / l0 * l0;
        return g;
    }

    private void requireSupported(DType dtype) {
        if (!supports(dtype)) {
            throw new IllegalStateException("opencl backend: " + device.describe() + " has no float64 (cl_khr_fp64); run float64 jobs on the cpu backend");
        }
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("opencl backend: the engine of " + device.describe() + " is closed");
    }

    /** Releases every buffer, kernel and the context; a tensor of this engine read later fails naming its buffer. */
    void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            uploads.clear();
            scalarsF32.clear();
            scalarsF64.clear();
            for (Iterator<Memory> it = live.iterator(); it.hasNext(); ) {
                Memory m = it.next();
                m.released = true;
                clReleaseMemObject(m.mem);
                it.remove();
            }
            releaseFree();
            for (cl_kernel k : f32Kernels.values()) clReleaseKernel(k);
            for (cl_kernel k : f64Kernels.values()) clReleaseKernel(k);
            for (DeviceMatMul m : tunedMatMuls) m.close();   // their programs belong to this context
            for (cl_kernel k : panelKernels.values()) clReleaseKernel(k);
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
            OPEN.remove(device.id(), this);
        }
    }

    /** A device buffer's memory: what the cleaner gives back to the pool when its tensor is gone. */
    static final class Memory {
        final cl_mem mem;
        final long bytes, id;
        private final ResidentEngine engine;
        volatile boolean released;

        Memory(ResidentEngine engine, cl_mem mem, long bytes, long id) {
            this.engine = engine;
            this.mem = mem;
            this.bytes = bytes;
            this.id = id;
        }

        cl_mem live(DeviceBuffer owner) {
            if (released) throw new IllegalStateException(owner + " was released (its engine closed): its values are gone");
            return mem;
        }

        void giveBack() {
            engine.givenBack.add(this);
        }
    }

    /** Uploads by host array identity, least recently used dropped beyond the budget; arrays the collector took drop out. */
    private final class UploadCache {
        private final ReferenceQueue<Object> gone = new ReferenceQueue<>();
        private final LinkedHashMap<ArrayKey, DeviceBuffer> byArray = new LinkedHashMap<>(16, 0.75f, true);
        private long bytes;

        DeviceBuffer get(Object array) {
            return byArray.get(new ArrayKey(array, null));
        }

        void put(Object array, DeviceBuffer b) {
            for (Object k; (k = gone.poll()) != null; ) drop((ArrayKey) k);
            if (b.bytes() > cacheBudget) return;
            byArray.put(new ArrayKey(array, gone), b);
            bytes += b.bytes();
            for (Iterator<Map.Entry<ArrayKey, DeviceBuffer>> it = byArray.entrySet().iterator(); bytes > cacheBudget && it.hasNext(); ) {
                bytes -= it.next().getValue().bytes();
                it.remove();
            }
        }

        private void drop(ArrayKey k) {
            DeviceBuffer b = byArray.remove(k);
            if (b != null) bytes -= b.bytes();
        }

        void clear() {
            byArray.clear();
            bytes = 0;
        }
    }

    /** A host array by identity, held weakly. */
    private static final class ArrayKey extends WeakReference<Object> {
        private final int hash;

        ArrayKey(Object array, ReferenceQueue<Object> q) {
            super(array, q);
            this.hash = System.identityHashCode(array);
        }

        @Override public int hashCode() { return hash; }

        @Override public boolean equals(Object o) {
            if (this == o) return true;
            Object mine = get();
            return o instanceof ArrayKey k && mine != null && mine == k.get();
        }
    }

    // ------------------------------------------------------------------ programs

    private void build(String sourceName, String source, String options, Map<String, cl_kernel> into, String... names) {
        cl_program program = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            clBuildProgram(program, 1, new cl_device_id[] {device.id()}, options, null, null);
        } catch (CLException e) {
            throw new IllegalStateException("opencl backend: " + sourceName + " (" + options + ") does not build on " + device.describe() + ": "
                    + buildLog(program), e);
        }
        for (String n : names) into.put(n, clCreateKernel(program, n, null));
        clReleaseProgram(program);   // the kernels keep it
    }

    private String buildLog(cl_program program) {
        long[] size = new long[1];
        clGetProgramBuildInfo(program, device.id(), CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetProgramBuildInfo(program, device.id(), CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
        return new String(b, StandardCharsets.UTF_8).trim().replace('\n', ' ');
    }

    private static String source(String name) {
        try (InputStream in = ResidentEngine.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("opencl backend: " + name + " is missing from the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("opencl backend: cannot read " + name + ": " + e.getMessage(), e);
        }
    }
}
