package org.gradspark.gpu;

import org.gradspark.ad.backend.Backends;

/** Child JVM of {@link RequireBackendTest}: asks for the cpu backend in a fresh JVM and uses it. */
public final class RequireCpuProbe {
    private RequireCpuProbe() {}

    public static void main(String[] args) {
        System.out.println("backend=" + Backends.require("cpu").name());
        try (Backends.Scope s = Backends.scoped(Backends.require("cpu"))) {
            System.out.println("current=" + Backends.current().name());
        }
    }
}
