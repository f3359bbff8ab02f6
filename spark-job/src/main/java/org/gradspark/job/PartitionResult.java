package org.gradspark.job;

import java.io.Serializable;

/**
 * What one partition sends back: its index (the reduction's order), its row count, its partial
 * sums in float64 (one array per weight, or per HVP part), the sum of its outputs, its time, the
 * CPU time its thread got in that time (BLAS runs one thread per task, in the task's thread), and
 * where it ran: the executor and the backend with its device (so the summary reports what the
 * executors used, not what the driver would have).
 */
public record PartitionResult(int index, long rows, long skippedRows, double[][] partials, double outputSum, long nanos,
                              long cpuNanos, String executor, String backend) implements Serializable {

    /** The same result without its partial sums (what the sharded reduction sends to the driver). */
    public PartitionResult withoutPartials() {
        return new PartitionResult(index, rows, skippedRows, new double[0][], outputSum, nanos, cpuNanos, executor, backend);
    }
}
