package org.gradspark.ad.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Which backend the primitives call: one per JVM, chosen from the system property
 * {@code gradspark.backend} ({@code reference}, or {@code cpu | opencl | auto} from module gpu),
 * by default {@code auto} when module gpu is on the class path, else {@code reference}. Backends
 * other than the reference register through {@link ServiceLoader}. An unknown or unusable choice
 * is an error naming it, never a quiet fallback; the choice and its device are logged once.
 */
public final class Backends {
    public static final String PROPERTY = BackendSettings.BACKEND;
    private static volatile Backend current;

    private Backends() {}

    public static Backend current() {
        Backend b = current;
        if (b == null) {
            synchronized (Backends.class) {
                if (current == null) {
                    String name = System.getProperty(PROPERTY);
                    use(byName(name != null ? name : defaultName()));
                }
                b = current;
            }
        }
        return b;
    }

    /** Selects the backend for this JVM and logs it with the device that runs it. */
    public static synchronized void use(Backend backend) {
        current = backend;
        System.getLogger("org.gradspark.backend").log(System.Logger.Level.INFO,
                "GradSpark backend: " + backend.name() + " on " + backend.device());
    }

    /**
     * The backend named {@code name}, made this JVM's backend if another one was current (a job
     * that asks for a backend gets it on every executor, also when no system property said so).
     *
     * @throws IllegalArgumentException for an unknown name, or one whose device is missing
     */
    public static synchronized Backend require(String name) {
        // The field, not current(): asking for a backend must not start the default one first (auto
        // probes OpenCL, which loads the driver, and PoCL's LLVM takes over the JVM's signal handlers).
        Backend b = current;
        if (b == null || !b.name().equals(name)) {
            b = byName(name);
            use(b);
        }
        return b;
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
