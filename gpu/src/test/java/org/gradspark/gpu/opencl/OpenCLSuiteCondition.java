package org.gradspark.gpu.opencl;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Registered by auto-detection in the run of the core-ad suite on the opencl backend: with no
 * OpenCL device that run is skipped, unless {@code GRADSPARK_REQUIRE_OPENCL=1} (then every test
 * fails on the missing device, as it should in CI).
 */
public final class OpenCLSuiteCondition implements ExecutionCondition {
    @Override public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (!"opencl".equals(System.getProperty("gradspark.backend")) || OpenCLBackend.available()
                || "1".equals(System.getenv(OpenCLAvailability.REQUIRE))) {
            return ConditionEvaluationResult.enabled("OpenCL device present or required");
        }
        return ConditionEvaluationResult.disabled("no OpenCL device: the core-ad suite on the opencl backend is skipped (set "
                + OpenCLAvailability.REQUIRE + "=1 to make this a failure)");
    }
}
