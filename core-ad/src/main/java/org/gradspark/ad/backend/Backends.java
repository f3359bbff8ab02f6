package org.gradspark.ad.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which backend the primitives call. A job's work chooses its own: {@link #scoped} makes a backend
 * the current one of the calling thread until the scope closes, so two jobs in one JVM (two Spark
 * jobs of one application, each task on its own thread) run side by side on different backends.
 * A thread without a scope uses the JVM's default, chosen from the system property
 * {@code gradspark.backend} ({@code reference}, or {@code cpu | opencl | auto} from module gpu), by
 * default {@code auto} when module gpu is on the class path, else {@code reference}; {@link #use}
 * replaces it. Backends other than the reference register through {@link ServiceLoader}. An unknown
 * or unusable choice is an error naming it, never a quiet fallback; each backend is logged once,
 * with its device, when first made.
 *
 * <pre>{@code
 * try (Backends.Scope s = Backends.scoped(Backends.require("reference"))) {
 *     Tensor g = new GradOperation().apply(net).call(x);   // every op of this thread on the reference backend
 * }
 * }</pre>
 */
public final class Backends {
    public static final String PROPERTY = BackendSettings.BACKEND;
    private static volatile Backend jvmDefault;
    private static final ThreadLocal<Backend> SCOPED = new ThreadLocal<>();
    // One instance per name, so that a device (an OpenCL context, a thread pool) is opened once per JVM.
    private static final Map<String, Backend> BY_NAME = new ConcurrentHashMap<>();

    private Backends() {}

    /** The calling thread's backend: its innermost {@link #scoped} one, else the JVM's default. */
    public static Backend current() {
        Backend s = SCOPED.get();
        return s != null ? s : jvmDefault();
    }

    /** The JVM's default backend (what threads without a scope use). */
    public static Backend jvmDefault() {
        Backend b = jvmDefault;
        if (b == null) {
            synchronized (Backends.class) {
                if (jvmDefault == null) {
                    String name = System.getProperty(PROPERTY);
                    use(require(name != null ? name : defaultName()));
                }
                b = jvmDefault;
            }
        }
        return b;
    }

    /** Replaces the JVM's default backend (threads inside a {@link #scoped} block keep theirs). */
    public static synchronized void use(Backend backend) {
        jvmDefault = backend;
    }

    /**
     * The backend named {@code name}, made once per JVM and logged with its device then. When the
     * JVM's default has that name it is the one returned (an application, or a test, may install a
     * configured instance with {@link #use}). Does not change the JVM's default, and does not start
     * it: asking for {@code cpu} must not probe OpenCL (the default, auto, does, and PoCL's LLVM
     * takes over the JVM's signal handlers).
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static Backend require(String name) {
        Backend d = jvmDefault;
        if (d != null && d.name().equals(name)) return d;
        return BY_NAME.computeIfAbsent(name, n -> {
            Backend b = byName(n);
            System.getLogger("org.gradspark.backend").log(System.Logger.Level.INFO, "GradSpark backend: " + b.name() + " on " + b.device());
            return b;
        });
    }

    /**
     * Makes {@code backend} the calling thread's until the returned scope is closed (scopes nest;
     * closing restores the one before). Other threads are not affected.
     */
    public static Scope scoped(Backend backend) {
        Backend before = SCOPED.get();
        SCOPED.set(java.util.Objects.requireNonNull(backend, "backend"));
        return new Scope(before);
    }

    /** A thread's backend for the length of a try-with-resources block. */
    public static final class Scope implements AutoCloseable {
        private final Backend before;
        private final Thread owner = Thread.currentThread();
        private boolean closed;

        private Scope(Backend before) {
            this.before = before;
        }

        @Override public void close() {
            if (closed) return;
            if (Thread.currentThread() != owner) throw new IllegalStateException("a backend scope is closed by the thread that opened it");
            closed = true;
            if (before == null) SCOPED.remove();
            else SCOPED.set(before);
        }
    }

    private static String defaultName() {
        for (Backend b : ServiceLoader.load(Backend.class)) {
            if (b.name().equals("auto")) return "auto";
        }
        return ReferenceBackend.INSTANCE.name();
    }

    /** The names of the backends this JVM offers: the reference one, then those registered through {@link ServiceLoader}. */
    public static List<String> names() {
        List<String> names = new ArrayList<>();
        names.add(ReferenceBackend.INSTANCE.name());
        for (Backend b : ServiceLoader.load(Backend.class)) names.add(b.name());   // constructing one touches no device
        return names;
    }

    /** A new instance of the backend named {@code name} (no device touched yet); {@link #require} keeps one per JVM. */
    public static Backend byName(String name) {
        List<String> known = new ArrayList<>();
        known.add(ReferenceBackend.INSTANCE.name());
        if (name.equals(ReferenceBackend.INSTANCE.name())) return ReferenceBackend.INSTANCE;
        for (Backend b : ServiceLoader.load(Backend.class)) {
            if (b.name().equals(name)) return b;
            known.add(b.name());
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; available: " + String.join(", ", known));
    }
}
