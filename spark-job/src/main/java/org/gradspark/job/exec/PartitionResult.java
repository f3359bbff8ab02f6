package org.gradspark.job.exec;

import java.io.Serializable;
import java.util.List;
import org.gradspark.job.io.BadInputException;

/**
 * What one partition sends back: its index (the reduction's order), its row count, its partial
 * sums in float64 (one array per weight, or per HVP part), the sum of its outputs, its share of the
 * objective ({@code sum(out * s * scale)}, whose gradient the partials are), its time, the CPU time
 * its thread got in that time (BLAS runs one thread per task, in the task's thread), and where it
 * ran: the executor and the backend with its device (so the summary reports what the executors
 * used, not what the driver would have), with the device, the GPU addresses Spark assigned and when it started
 * ({@code placement}; null for a failed partition), and the bytes its kernels moved between the host and a
 * device ({@link org.gradspark.ad.backend.DeviceTraffic}: 0 on a host backend).
 *
 * <p>A partition whose rows are bad (a NaN, a file an executor cannot read, a wrong value) returns
 * the one-line message as {@code failure} instead of failing its task: Spark would retry a failed
 * task, which cannot fix its input, and log each attempt's stack trace.
 */
public record PartitionResult(int index, long rows, long skippedRows, double[][] partials, double outputSum, double objective, long nanos,
                              long cpuNanos, String executor, String backend, long deviceBytesIn, long deviceBytesOut, String failure,
                              TaskDevice.Placement placement) implements Serializable {

    /** A partition that stopped at bad input: the message names the file, row or executor at fault. */
    public static PartitionResult failed(int index, BadInputException e) {
        return new PartitionResult(index, 0, 0, new double[0][], 0, 0, 0, 0, ExecutorIdentity.executorAndHost(), "", 0, 0, e.getMessage(), null);
    }

    /** The same result without its partial sums (what the sharded reduction sends to the driver). */
    public PartitionResult withoutPartials() {
        return new PartitionResult(index, rows, skippedRows, new double[0][], outputSum, objective, nanos, cpuNanos, executor, backend, deviceBytesIn, deviceBytesOut,
                failure, placement);
    }

    /** The same result, having run on {@code where}. */
    PartitionResult placed(TaskDevice.Placement where) {
        return new PartitionResult(index, rows, skippedRows, partials, outputSum, objective, nanos, cpuNanos, executor, backend, deviceBytesIn, deviceBytesOut,
                failure, where);
    }

    /** Throws the first failure among results sorted by partition index: the lowest partition's, whichever finished first. */
    static void requireNoFailure(List<PartitionResult> sorted) {
        for (PartitionResult r : sorted) {
            if (r.failure() != null) throw new BadInputException(r.failure());
        }
    }
}
