package org.gradspark.ad.batch;

import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;

/**
 * The Gauss-Newton matrix of the per-example mean squared error, assembled densely:
 * {@code G = Σ_n scale · s_n · (2/m) · J_n^T J_n}, with {@code J_n} [m, P] the Jacobian of row n's m
 * outputs by the P weights (in parameter order, each flattened row-major) and {@code s_n} the row's
 * sensitivity: exactly {@code Σ_n J_n^T H_n J_n} for {@code H_n} the Hessian of
 * {@code scale · s_n · mean_j (z_nj - y_nj)²} in the outputs, which is {@code (2 scale s_n / m) I} (the
 * labels do not enter). It is the matrix whose products {@link BatchGradient#gaussNewtonVectorProduct}
 * computes; for a residual model (one PDE residual per row, labels 0) it is the energy natural
 * gradient's Gramian (Müller and Zeinhofer, 2023).
 *
 * <p>J_n comes row by row, one backward pass per output of the row alone (row n's outputs depend on
 * row n only), so any Cell works, a residual with a Laplacian inside included; cost about
 * {@code rows × m} one-row gradients plus {@code rows × m × P²} multiply-adds; memory P² doubles.
 *
 * <pre>{@code
 * double[] g = new double[p * p];
 * GaussNewtonMatrix.accumulate(g, model, params, x, null, null, 1.0 / rows);   // (2/N) J^T J for one output per row
 * }</pre>
 */
public final class GaussNewtonMatrix {
    private GaussNewtonMatrix() {}

    /** The number of weights P: the sum of the parameters' sizes. */
    public static int size(List<Parameter> params) {
        long p = 0;
        for (Parameter q : params) p += q.size();
        if (p > Integer.MAX_VALUE) throw new IllegalArgumentException("gauss-newton matrix: " + p + " weights do not fit an array's index");
        return (int) p;
    }

    /**
     * Adds the chunk's rows' terms to {@code into} (row-major P × P, float64), row after row in order, so
     * the same chunks give the same bits.
     *
     * @param s     per-example sensitivities ([rows] or [rows, 1]), or null for ones
     * @param skip  rows to leave out, or null for none
     * @param scale the objective's scale (1/N for a mean over N rows)
     * @throws IllegalArgumentException when {@code into} is not P × P
     */
    public static void accumulate(double[] into, Cell model, List<Parameter> params, Tensor x, Tensor s, boolean[] skip, double scale) {
        int p = size(params);
        if ((long) p * p != into.length) throw new IllegalArgumentException("gauss-newton matrix: " + p + " weights need " + (long) p * p + " values, got " + into.length);
        int rows = x.shape().dim(0);
        double[] sens = s == null ? null : s.toDoubleArray();
        if (sens != null && sens.length != rows) {
            throw new IllegalArgumentException("gauss-newton matrix: " + rows + " rows but " + sens.length + " sensitivities (one per row with --loss mse)");
        }
        double[] j = new double[p];
        for (int n = 0; n < rows; n++) {
            if (skip != null && skip[n]) continue;
            Tensor xn = PerRowStatistics.row(x, n);
            Tensor out = model.call(xn);
            int m = out.size();
            double weight = 2 * scale * (sens == null ? 1 : sens[n]) / m;
            if (weight == 0) continue;
            for (int k = 0; k < m; k++) {
                int unit = k;
                Tensor e = Tensor.fromFunction(out.dtype(), out.shape(), i -> i == unit ? 1 : 0);
                flatten(BatchGradient.weightGradients(model, null, params, xn, e, null), j);
                addOuter(into, j, weight);
            }
        }
    }

    /** {@code into += w · j j^T}. */
    private static void addOuter(double[] into, double[] j, double w) {
        int p = j.length;
        for (int a = 0; a < p; a++) {
            double wa = w * j[a];
            if (wa == 0) continue;
            int base = a * p;
            for (int b = 0; b < p; b++) into[base + b] += wa * j[b];
        }
    }

    private static void flatten(Tensor[] parts, double[] into) {
        int at = 0;
        for (Tensor t : parts) {
            double[] v = t.toDoubleArray();
            System.arraycopy(v, 0, into, at, v.length);
            at += v.length;
        }
    }
}
