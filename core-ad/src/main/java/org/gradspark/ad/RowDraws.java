package org.gradspark.ad;

import java.util.Objects;

/**
 * How a {@link RowAware} Cell draws its randomised operators for one batch of rows: the
 * {@link LaplacianEstimator}, the seed, and the index in the whole input of the batch's first row. Row
 * {@code firstRow + i} of the batch gets the directions {@link Operators#laplacian(Fn, Tensor, LaplacianEstimator, long, long)}
 * draws for that global index, so a row's directions do not depend on the batch (chunk, partition) it lands in.
 *
 * <pre>{@code
 * RowDraws d = new RowDraws(LaplacianEstimator.parse("stde:16"), 42, 4096);   // a batch starting at row 4096
 * Tensor lap = d.laplacian(u, x);          // = Operators.laplacian(u, x, stde:16, 42, 4096)
 * }</pre>
 */
public record RowDraws(LaplacianEstimator estimator, long seed, long firstRow) implements java.io.Serializable {

    /** The exact operators: no randomness (a Cell's draws before anyone sets them). */
    public static final RowDraws EXACT = new RowDraws(LaplacianEstimator.EXACT, 0, 0);

    public RowDraws {
        Objects.requireNonNull(estimator, "estimator");
        if (firstRow < 0) throw new IllegalArgumentException("a batch's first row is a row index (>= 0), got " + firstRow);
    }

    /** {@code Δ out_j} of {@code f} at each row of {@code x}, [N, out], by these draws (exact: the forward Laplacian). */
    public Tensor laplacian(Fn f, Tensor x) {
        return Operators.laplacian(f, x, estimator, seed, firstRow);
    }
}
