package org.gradspark.job;

import java.io.Serializable;

/**
 * What one partition sends back: its index (the reduction's order), its row count, its partial
 * sums in float64 (one array per weight, or per HVP part), the sum of its outputs and its time.
 */
public record PartitionResult(int index, long rows, long skippedRows, double[][] partials, double outputSum, long nanos)
        implements Serializable {
}
