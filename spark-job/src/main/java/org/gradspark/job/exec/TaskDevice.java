package org.gradspark.job.exec;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import org.apache.spark.resource.ResourceInformation;
import org.gradspark.ad.backend.Backend;

/**
 * The device a task's work runs on: Spark's GPU assignment ({@code spark.task.resource.gpu.amount},
 * read from the task's {@code TaskContext} resources) applied to the job's backend.
 *
 * <ul>
 * <li>Backends with devices ({@code opencl}, {@code auto}): the task runs on
 *     {@link Backend#onDevice onDevice(address)}. A task given several addresses (a task amount above 1)
 *     runs on the first, in the order Spark lists them: one partition's chunks are one sequence of
 *     kernels, which this engine does not split across devices; the summary lists all of them.
 * <li>Backends on the host ({@code cpu}, {@code reference}): the assignment is ignored, and the
 *     summary says so.
 * <li>No assignment: the backend's own choice of device, as without Spark's GPU scheduling.
 * </ul>
 * An address that names no device is the backend's {@link IllegalArgumentException}, naming it.
 */
public record TaskDevice(Backend backend, List<String> gpus, String address, String assignment) {
    /** Spark's resource name for GPUs: the key of the discovery script's {@code "name"}. */
    static final String GPU = "gpu";
    public static final String USED = "used", NONE = "none";

    /** {@code jobBackend} on the first of {@code gpus} when it has devices, else as it is (see the class comment). */
    public static TaskDevice of(Backend jobBackend, List<String> gpus) {
        if (gpus.isEmpty()) return new TaskDevice(jobBackend, gpus, null, NONE);
        if (!hasDevices(jobBackend)) {
            return new TaskDevice(jobBackend, gpus, null, "ignored: backend " + jobBackend.name() + " runs on the host");
        }
        return new TaskDevice(jobBackend.onDevice(gpus.get(0)), gpus, gpus.get(0), USED);
    }

    /** The GPU addresses Spark assigned to the running task; empty outside a task or without an assignment. */
    static List<String> ofRunningTask() {
        org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
        return tc == null ? List.of() : gpus(tc.resourcesJMap());
    }

    /** The GPU addresses among Spark's {@code resources} (a task's or an executor's); empty when none. */
    static List<String> gpus(Map<String, ResourceInformation> resources) {
        ResourceInformation gpu = resources == null ? null : resources.get(GPU);
        return gpu == null ? List.of() : List.of(gpu.addresses());
    }

    private static boolean hasDevices(Backend b) {
        return b.name().equals("opencl") || b.name().equals("auto");
    }

    /** Where and when a partition ran, for {@code summary.json}: its device, the GPU addresses Spark gave it, and what was done with them. */
    public record Placement(String device, String address, List<String> gpus, String assignment, long startMillis) implements Serializable {}

    /** This device as a partition's placement, the partition having started at {@code startMillis} (epoch). */
    public Placement placement(long startMillis) {
        return new Placement(backend.device(), address, gpus, assignment, startMillis);
    }
}
