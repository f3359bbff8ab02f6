package org.gradspark.gpu.opencl;

import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.internal.opencl.OpenCLArgDescriptor;
import com.aparapi.internal.opencl.OpenCLKernel;
import com.aparapi.internal.opencl.OpenCLProgram;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kernels written in OpenCL C (a source file among this package's resources), built once for one
 * device and launched through Aparapi's raw OpenCL layer ({@link OpenCLProgram}, {@link OpenCLKernel}),
 * the layer under {@code OpenCLDevice.bind}. Aparapi translates no Java into these, so they may use
 * what its translator cannot express, such as {@code float16}.
 *
 * <p><b>Nothing fails quietly.</b> Aparapi's native layer prints OpenCL errors on standard error and
 * returns as if all went well. So a program is checked once built (each kernel must be creatable from
 * it: a compile error leaves none), and every kernel takes a counter as its last argument, which the
 * first work-item of each work-group increments: a launch that did not run every group is an
 * {@link IllegalStateException} naming the kernel, the source and the device. A work-group shape the
 * device would refuse is refused before the launch: Aparapi's native layer does not survive OpenCL
 * refusing one (it waits on an event that was never created; PoCL then crashes the JVM).
 *
 * <p><b>Memory.</b> Each launch hands the Java arrays to OpenCL as {@code CL_MEM_USE_HOST_PTR} buffers,
 * pinned (a JNI critical region: the garbage collector waits) from before the kernel until its results
 * are back. On a CPU device those buffers are the arrays themselves: nothing is copied (a launch handed
 * 256 MiB in and out costs barely more than one handed 64 bytes: bench/results/opencl-tuning.md). A GPU
 * would copy every array in and the written ones out on every launch.
 *
 * <p><b>Why a kernel object per launch.</b> Aparapi's own {@code bind} keeps one kernel object with
 * buffers per argument, but when an argument's array is not at the address of the previous launch
 * (another array, or the same one moved by the garbage collector) its native code pins it twice and
 * unpins it once; the JVM then deadlocks at the next collection (GCLocker waits forever; seen with a new
 * output array per launch). A fresh kernel object per launch (clCreateKernel) pins each
 * argument once and releases its buffers after.
 *
 * <p><b>A known leak.</b> Aparapi's native launch allocates its event list and range arrays and never
 * frees them: about 130 bytes of native memory per launch (measured, 80 000 launches), whichever way it
 * is called. The backend therefore sends only products large enough that this is noise (see
 * {@link MatMulF32Program}).
 *
 * <p>Not thread-safe: the backend calls it under its device lock.
 */
final class OpenCLCProgram implements AutoCloseable {
    private static final long ARRAY = OpenCLArgDescriptor.ARG_GLOBAL_BIT | OpenCLArgDescriptor.ARG_ARRAY_BIT;
    private static final long IN_FLOATS = ARRAY | OpenCLArgDescriptor.ARG_FLOAT_BIT | OpenCLArgDescriptor.ARG_READONLY_BIT;
    private static final long OUT_FLOATS = ARRAY | OpenCLArgDescriptor.ARG_FLOAT_BIT | OpenCLArgDescriptor.ARG_WRITEONLY_BIT;
    private static final long COUNTER = ARRAY | OpenCLArgDescriptor.ARG_INT_BIT | OpenCLArgDescriptor.ARG_READWRITE_BIT;
    private static final long INT = OpenCLArgDescriptor.ARG_PRIMITIVE_BIT | OpenCLArgDescriptor.ARG_INT_BIT | OpenCLArgDescriptor.ARG_ISARG_BIT;

    /** Each source file is read once per JVM. */
    private static final Map<String, String> SOURCES = new ConcurrentHashMap<>();

    private final OpenCLDevice device;
    private final String source;
    private final OpenCLProgram program;

    /** An argument of a launch: an array the kernel reads or writes, or an int. */
    record Arg(Object value, long bits) {
        static Arg in(float[] a) {
            return new Arg(a, IN_FLOATS);
        }

        static Arg out(float[] a) {
            return new Arg(a, OUT_FLOATS);
        }

        static Arg of(int v) {
            return new Arg(v, INT);
        }
    }

    private OpenCLCProgram(OpenCLDevice device, String source, OpenCLProgram program) {
        this.device = device;
        this.source = source;
        this.program = program;
    }

    /**
     * The OpenCL C file {@code resource} (next to this class), built for {@code device}; an
     * {@link IllegalStateException} if it is missing or does not build, which shows as any of
     * {@code kernels} not being in the program.
     */
    static OpenCLCProgram build(OpenCLDevice device, String resource, String... kernels) {
        String text = SOURCES.computeIfAbsent(resource, OpenCLCProgram::read);
        OpenCLProgram program;
        try {
            program = new OpenCLProgram(device, text).createProgram(device);
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("opencl backend: cannot build the OpenCL C program " + resource + " for "
                    + OpenCLDevices.describe(device) + ": " + e, e);
        }
        OpenCLCProgram built = new OpenCLCProgram(device, resource, program);
        for (String name : kernels) {
            OpenCLKernel k = OpenCLKernel.createKernel(program, name, List.of());
            if (k == null) {
                program.dispose();
                throw new IllegalStateException("opencl backend: the OpenCL C program " + resource + " does not build for "
                        + OpenCLDevices.describe(device) + " (no kernel '" + name + "' in it; Aparapi printed the compiler's log on standard error)");
            }
            k.dispose();
        }
        return built;
    }

    OpenCLDevice device() {
        return device;
    }

    /**
     * Runs {@code kernel} over {@code range} with {@code args} and the launch counter after them, and
     * returns once its results are in the output arrays; throws unless every work-group ran.
     */
    void launch(String kernel, Range range, Arg... args) {
        long groups = checkedGroups(kernel, range);
        int[] done = new int[1];
        List<OpenCLArgDescriptor> descriptors = new ArrayList<>();
        Object[] values = new Object[args.length + 2];
        values[0] = range;
        for (int i = 0; i < args.length; i++) {
            descriptors.add(new OpenCLArgDescriptor("arg" + i, args[i].bits()));
            values[i + 1] = args[i].value();
        }
        descriptors.add(new OpenCLArgDescriptor("done", COUNTER));
        values[args.length + 1] = done;

        OpenCLKernel k = OpenCLKernel.createKernel(program, kernel, descriptors);
        if (k == null) throw failure(kernel, "could not be created (Aparapi printed the OpenCL error on standard error)", null);
        try {
            k.invoke(values);
        } catch (RuntimeException | LinkageError e) {
            throw failure(kernel, "failed: " + e, e);
        } finally {
            k.dispose();
        }
        if (done[0] != groups) {
            throw failure(kernel, "did not run: " + done[0] + " of " + groups + " work-groups completed (Aparapi printed the OpenCL error on standard error)", null);
        }
    }

    /**
     * The work-groups of {@code range}, which must be one the device takes: Aparapi's native layer does
     * not survive a launch that OpenCL refuses (it then waits on an event never created, and PoCL
     * crashes the JVM), so what OpenCL would refuse is refused here, before anything runs.
     */
    private long checkedGroups(String kernel, Range range) {
        long groups = 1, groupSize = 1;
        int[] maxItems = device.getMaxWorkItemSize();
        for (int d = 0; d < range.getDims(); d++) {
            int global = range.getGlobalSize(d), local = range.getLocalSize(d);
            if (local < 1 || global < 1 || global % local != 0 || (maxItems != null && d < maxItems.length && local > maxItems[d])) {
                throw failure(kernel, "refused: work-group size " + local + " along axis " + d + " does not fit global size " + global
                        + " or the device's limit " + (maxItems != null && d < maxItems.length ? maxItems[d] : "?"), null);
            }
            groups *= global / local;
            groupSize *= local;
        }
        if (groupSize > device.getMaxWorkGroupSize()) {
            throw failure(kernel, "refused: work-groups of " + groupSize + " work-items, the device takes at most " + device.getMaxWorkGroupSize(), null);
        }
        return groups;
    }

    @Override
    public void close() {
        program.dispose();
    }

    private IllegalStateException failure(String kernel, String what, Throwable cause) {
        return new IllegalStateException("opencl backend: OpenCL C kernel '" + kernel + "' of " + source + " on "
                + OpenCLDevices.describe(device) + " " + what, cause);
    }

    private static String read(String resource) {
        try (InputStream in = OpenCLCProgram.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("opencl backend: OpenCL C source " + resource + " not found beside " + OpenCLCProgram.class.getName());
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("opencl backend: cannot read OpenCL C source " + resource + ": " + e, e);
        }
    }
}
