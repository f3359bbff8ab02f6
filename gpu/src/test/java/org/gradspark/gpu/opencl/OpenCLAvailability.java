package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/**
 * The rule every OpenCL test class follows: without an OpenCL device it is skipped, unless the
 * environment says {@code GRADSPARK_REQUIRE_OPENCL=1} (as CI does, having installed PoCL), when the
 * missing device is a failure rather than a quietly green build.
 */
final class OpenCLAvailability {
    static final String REQUIRE = "GRADSPARK_REQUIRE_OPENCL";
    private static Boolean available;

    private OpenCLAvailability() {}

    /** Call from {@code @BeforeAll}. */
    static synchronized void requireDeviceOrSkip() {
        if (available == null) available = OpenCLBackend.available();
        if (available) return;
        String why = "no OpenCL device on this machine (install an OpenCL driver, e.g. Debian's pocl-opencl-icd)";
        if ("1".equals(System.getenv(REQUIRE))) fail(REQUIRE + "=1 but " + why);
        Assumptions.abort(why + "; set " + REQUIRE + "=1 to make this a failure");
    }
}
