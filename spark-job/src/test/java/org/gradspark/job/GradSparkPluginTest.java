package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.gradspark.ad.backend.Backends;
import org.junit.jupiter.api.Test;

/** The executors' warm-up runs a tiny gradient of the job's own model on the job's backend. */
class GradSparkPluginTest {
    private static JobConfig job(String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--out";
        all[args.length + 1] = "unused";
        return JobOptions.parse(Map.of(), all);
    }

    @Test
    void theWarmUpRunsTheJobsModelWithItsLossOnItsBackend() {
        JobConfig cfg = job("--layers", "5,7,3", "--activation", "sigmoid", "--loss", "softmax-cross-entropy", "--labels", "y.npy", "--backend", "reference",
                "--dtype", "float64", "--synthetic", "10");
        String spec = GradSparkPlugin.specOf(cfg);
        assertEquals("--backend reference --dtype float64 --layers 5,7,3 --activation sigmoid --loss softmax-cross-entropy", spec);
        GradSparkPlugin.WarmUp done = GradSparkPlugin.warmUp(spec);
        assertTrue(done.gradients() > 0, "gradients run");
        assertEquals("reference", done.backend(), "on the job's backend");
        assertTrue(GradSparkPlugin.warmUp(GradSparkPlugin.specOf(job("--layers", "4,2", "--backend", "reference", "--synthetic", "3"))).gradients() > 0);
        assertEquals(new GradSparkPlugin.WarmUp(0, null), GradSparkPlugin.warmUp("--backend nosuch --layers 4,2"),
                "a backend that cannot start is the tasks' error, not the warm-up's");
        assertEquals("none", GradSparkPlugin.specOf(job("--model-class", "org.example.Net", "--synthetic", "3")));
    }
}
