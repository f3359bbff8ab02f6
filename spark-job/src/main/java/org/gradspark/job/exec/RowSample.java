package org.gradspark.job.exec;

import org.gradspark.job.io.BadInputException;

/**
 * Rows kept in an evaluation: row r is kept iff a hash of (seed, step, r) falls below
 * {@code fraction}, the same on any partitioning and cluster (a minibatch of about
 * {@code fraction × N} rows, a new one each step).
 */
public record RowSample(double fraction, long seed, long step) implements java.io.Serializable {
    public RowSample {
        if (!(fraction > 0 && fraction <= 1)) throw new BadInputException("--minibatch-fraction: expected a value in (0, 1], got " + fraction);
    }

    /** Whether row {@code row} is in this step's sample. */
    public boolean keeps(long row) {
        long h = mix(mix(seed ^ 0x6A09E667F3BCC909L) ^ step * 0x9E3779B97F4A7C15L ^ mix(row));
        return (h >>> 11) * 0x1.0p-53 < fraction;
    }

    /** SplitMix64's finaliser: every input bit reaches every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
