package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;
import com.aparapi.Range;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.exception.CompileFailedException;
import com.aparapi.internal.kernel.KernelManager;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Runs Aparapi kernels on one OpenCL device, and only there.
 *
 * <p>Aparapi's rule is to fall back: when it cannot translate a kernel ({@code switch},
 * {@code break}, the enhanced {@code for}, {@code new}, {@code throw}), cannot build it, or the
 * launch fails, it logs a warning and runs the kernel in its Java thread pool; the results look
 * right and are far slower, and {@code getExecutionMode()} still says AUTO. Here every
 * kernel is compiled for the device before its first use, which turns a translation or build failure
 * into {@link CompileFailedException} and its reason, and every launch is checked afterwards with
 * {@link Kernel#isRunningCL()}; either failure is an {@link IllegalStateException} naming the
 * kernel and Aparapi's reason, taken from the warnings it logged meanwhile.
 */
final class KernelLauncher {
    /** Held strongly: java.util.logging keeps loggers, and so our handler, only weakly. */
    private static final Logger APARAPI_LOG = Logger.getLogger("com.aparapi");
    private static final ThreadLocal<List<String>> WARNINGS = new ThreadLocal<>();

    static {
        APARAPI_LOG.addHandler(new Handler() {
            @Override
            public void publish(LogRecord record) {
                List<String> sink = WARNINGS.get();
                // Aparapi logs everything to one logger; its class reader's notes and "Trying next device" are no reasons.
                String m = record.getMessage();
                if (sink != null && record.getLevel().intValue() >= Level.WARNING.intValue() && m != null
                        && !m.startsWith("Found unexpected Attribute") && !m.startsWith("Trying next device")) {
                    sink.add(m);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        });
    }

    /** The devices each kernel class has been prepared for, in order (see {@link #prepare}). */
    private static final java.util.Map<Class<?>, LinkedHashSet<com.aparapi.device.Device>> PREPARED_ON = new java.util.concurrent.ConcurrentHashMap<>();

    private final OpenCLDevice device;

    KernelLauncher(OpenCLDevice device) {
        this.device = device;
    }

    OpenCLDevice device() {
        return device;
    }

    /**
     * Explicit buffer transfers, this device only, compiled now: a kernel that cannot run here fails here.
     * Aparapi keeps preferred devices per kernel class, not per instance, and refuses a launch on a
     * device outside them; so the class's preferred devices are every device a launcher has prepared
     * it for (each launch names its own device in its {@link Range}). Callers hold the backend's lock.
     */
    <K extends Kernel> K prepare(K kernel) {
        kernel.setExplicit(true);
        LinkedHashSet<com.aparapi.device.Device> devices = PREPARED_ON.computeIfAbsent(kernel.getClass(), k -> new LinkedHashSet<>());
        devices.add(device);
        KernelManager.instance().setPreferredDevices(kernel, new LinkedHashSet<>(devices));
        List<String> warnings = new ArrayList<>();
        WARNINGS.set(warnings);
        try {
            kernel.compile(device);
        } catch (CompileFailedException | RuntimeException e) {
            throw failure(kernel, "cannot be compiled for OpenCL", e, warnings);
        } finally {
            WARNINGS.remove();
        }
        return kernel;
    }

    /** Launches {@code passes} passes over {@code range}; returns only if they all ran on the device. */
    void run(Kernel kernel, Range range, int passes) {
        List<String> warnings = new ArrayList<>();
        WARNINGS.set(warnings);
        try {
            kernel.execute(range, passes);
        } catch (RuntimeException | AssertionError e) {
            // Aparapi's fallback for a device given in the Range ends in an AssertionError of its own.
            throw failure(kernel, "failed on the OpenCL device", e, warnings);
        } finally {
            WARNINGS.remove();
        }
        if (!kernel.isRunningCL()) {
            String target = kernel.getTargetDevice() == null ? "Java" : kernel.getTargetDevice().getShortDescription();
            throw failure(kernel, "did not run on the OpenCL device (Aparapi fell back to " + target
                    + ", execution mode " + kernel.getExecutionMode() + ")", null, warnings);
        }
    }

    /** A 1-D range of at least {@code n} work-items in groups of {@code local} (which must divide it, else OpenCL error -54). */
    Range linear(int n, int local) {
        int l = Math.min(local, device.getMaxWorkGroupSize());
        return Range.create(device, roundUp(Math.max(n, 1), l), l);
    }

    /** The largest work-group the device takes. */
    int maxGroupSize() {
        return device.getMaxWorkGroupSize();
    }

    /** A 3-D range covering (g0, g1, g2) in (l0, l1, 1) groups; the caller's global sizes are already multiples. */
    Range grid(int g0, int g1, int g2, int l0, int l1) {
        return Range.create3D(device, g0, g1, g2, l0, l1, 1);
    }

    static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    private static IllegalStateException failure(Kernel kernel, String what, Throwable cause, List<String> warnings) {
        StringBuilder msg = new StringBuilder("opencl backend: kernel ").append(kernel.getClass().getSimpleName()).append(' ').append(what);
        List<String> reasons = new ArrayList<>();
        for (String w : warnings) {
            if (!reasons.contains(w.trim())) reasons.add(w.trim());
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? null : t.getMessage().trim();
            // Aparapi wraps its own exceptions with the cause's toString() as message: keep the innermost words once.
            if (m != null && reasons.stream().noneMatch(r -> r.contains(m) || m.contains(r))) reasons.add(m);
        }
        if (!reasons.isEmpty()) msg.append(": ").append(String.join("; ", reasons));
        return new IllegalStateException(msg.toString(), cause);
    }
}
