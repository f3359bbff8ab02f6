package org.gradspark.ad;

/**
 * A Cell whose value at a row depends on random draws for that row (a PINN residual whose Laplacian is
 * randomised): whoever evaluates it on a batch of rows first tells it how to draw and which row of the
 * whole input the batch starts at ({@link RowDraws}); the Cell's {@code construct} then draws through
 * {@link RowDraws#laplacian} (or {@link Operators#laplacian(Fn, Tensor, LaplacianEstimator, long, long)} with
 * the same values), so row r gets the same directions in whatever batch, chunk or partition it lands.
 *
 * <p>The rule for callers: call {@link #drawFrom} before every evaluation whose batch starts at another
 * row, with the batch's first row as an index into the whole input, and give the Cell its rows in
 * input order. The rule for implementations: keep the draws in a field (an instance is used by one
 * thread at a time: the job builds one Cell per task), use them for the next evaluations, and start
 * from {@link RowDraws#EXACT}, so the Cell used without a caller that knows the hook is exact.
 * GradSpark's job ({@code fit} and {@code grad} with {@code --model-class}) sets them from
 * {@code --estimator}, {@code --seed} and each chunk's first row; it refuses a randomised
 * {@code --estimator} for a Cell that does not implement this.
 */
public interface RowAware {

    /** The draws of the next evaluations: their batch starts at row {@code draws.firstRow()} of the whole input. */
    void drawFrom(RowDraws draws);
}
