package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.GradSparkPlugin;
import org.gradspark.job.exec.JobConfig;
import org.junit.jupiter.api.Test;

/** The executors' warm-up runs a tiny gradient of the job's own model on the job's backend; the CPU backend's threads are the executor's cores. */
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
        assertEquals("backend=reference dtype=float64 layers=5,7,3 activation=sigmoid loss=softmax-cross-entropy", spec);
        GradSparkPlugin.WarmUp done = GradSparkPlugin.warmUp(spec);
        assertTrue(done.gradients() > 0, "gradients run");
        assertEquals("reference", done.backend(), "on the job's backend");
        assertTrue(GradSparkPlugin.warmUp(GradSparkPlugin.specOf(job("--layers", "4,2", "--backend", "reference", "--synthetic", "3"))).gradients() > 0);
        assertEquals(new GradSparkPlugin.WarmUp(0, null), GradSparkPlugin.warmUp("backend=nosuch dtype=float32 layers=4,2 activation=tanh loss=none"),
                "a backend that cannot start is the tasks' error, not the warm-up's");
        assertEquals("none", GradSparkPlugin.specOf(job("--model-class", "org.example.Net", "--synthetic", "3")));
    }

    /**
     * On an executor given GPUs the warm-up runs on them, as the tasks will (TaskDevice): a host backend
     * ignores them, an address that names no device leaves it to the tasks to fail, and on opencl (where
     * there is an OpenCL device) it runs on device 0.
     */
    @Test
    void theWarmUpRunsOnTheExecutorsGpus() {
        String reference = GradSparkPlugin.specOf(job("--layers", "4,2", "--backend", "reference", "--synthetic", "3"));
        GradSparkPlugin.WarmUp ignored = GradSparkPlugin.warmUp(reference, List.of("0", "1"));
        assertTrue(ignored.gradients() > 0 && ignored.backend().equals("reference"), ignored.toString());
        String opencl = GradSparkPlugin.specOf(job("--layers", "4,2", "--backend", "opencl", "--dtype", "float64", "--synthetic", "3"));
        assertEquals(new GradSparkPlugin.WarmUp(0, null), GradSparkPlugin.warmUp(opencl, List.of("7")),
                "an address that names no device is the tasks' error, not the warm-up's");
        if (!org.gradspark.gpu.opencl.OpenCLBackend.available()) return;
        GradSparkPlugin.WarmUp onDevice0 = GradSparkPlugin.warmUp(opencl, List.of("0"));
        assertTrue(onDevice0.gradients() > 0 && onDevice0.backend().equals("opencl"), onDevice0.toString());
    }

    /**
     * An executor's threads are the cores its launch command gave it (a standalone worker of 1 core, with
     * spark.executor.cores unset, gives 1: not the machine's 2), else spark.executor.cores; local mode and
     * an executor with neither keep the default.
     */
    @Test
    void anExecutorsThreadsAreTheCoresItWasGiven() {
        List<String> standalone = List.of("/usr/lib/jvm/java-17/bin/java", "-cp", "jars/*", "-Xmx1024M",
                "org.apache.spark.executor.CoarseGrainedExecutorBackend", "--driver-url", "spark://CoarseGrainedScheduler@127.0.0.1:40111",
                "--executor-id", "0", "--hostname", "127.0.0.1", "--cores", "1", "--app-id", "app-1", "--worker-url", "spark://Worker@127.0.0.1:40112");
        SparkConf cluster = new SparkConf(false).setMaster("spark://127.0.0.1:7077");
        assertEquals(1, GradSparkPlugin.executorThreads(cluster, standalone));
        assertEquals(1, GradSparkPlugin.executorThreads(cluster.clone().set("spark.executor.cores", "1"), standalone));
        assertEquals(3, GradSparkPlugin.executorThreads(cluster.clone().set("spark.executor.cores", "3"), List.of("java", "SomeOtherLauncher")));
        assertEquals(0, GradSparkPlugin.executorThreads(cluster, List.of("java", "SomeOtherLauncher")), "nothing says: the default");
        assertEquals(0, GradSparkPlugin.executorThreads(new SparkConf(false).setMaster("local[2]").set("spark.executor.cores", "1"), standalone),
                "local mode keeps the cores it was given");
    }
}
