package org.gradspark.ad.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Which backend the primitives call. Chosen once per JVM from the system property
 * {@code gradspark.backend} (default {@code reference}); other backends register through
 * {@link ServiceLoader}. An unknown name is an error listing the known ones, never a fallback.
 */
public final class Backends {
    private static volatile Backend current;

    private Backends() {}

    public static Backend current() {
        Backend b = current;
        if (b == null) {
            synchronized (Backends.class) {
                if (current == null) current = byName(System.getProperty("gradspark.backend", "reference"));
                b = current;
            }
        }
        return b;
    }

    /** Selects the backend for this JVM (tests and the job call this before computing). */
    public static void use(Backend backend) {
        current = backend;
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
