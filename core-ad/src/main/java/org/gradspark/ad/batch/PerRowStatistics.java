package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.reshape;
import static org.gradspark.ad.Ops.slice;
import static org.gradspark.ad.Ops.sum;

import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Functional;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.GradientStatistics.Path;
import org.gradspark.ad.batch.GradientStatistics.Request;
import org.gradspark.ad.batch.GradientStatistics.Result;
import org.gradspark.ad.batch.GradientStatistics.StatisticsChunk;

/**
 * The generic path of {@link GradientStatistics}: example n's gradient by one backward pass over row n
 * alone, for any Cell and every primitive of the table. Cost: one forward and backward pass per row
 * (plus one per model output and row, and a Hessian of the loss per row, for the GGN diagonal), so
 * about {@code rows} times a chunk gradient; memory: one row's gradient at a time plus the sums.
 */
final class PerRowStatistics {
    private PerRowStatistics() {}

    /** @param plainSum the chunk's summed gradient (from the recorded forward pass), or null when clipping replaces it */
    static Result compute(Cell model, Cell loss, List<Parameter> params, StatisticsChunk chunk, Request what, Tensor[] plainSum) {
        int rows = chunk.rows(), keys = params.size();
        double[][] squaredNorms = new double[rows][keys];
        double[] dots = what.dotWith() == null ? null : new double[rows];
        double[][] sumOfSquares = what.sumOfSquares() ? zeros(params) : null;
        double[][] ggn = what.ggnLoss() == null ? null : zeros(params);
        double[][] dotWith = what.dotWith() == null ? null : doubles(what.dotWith());
        Tensor[] gradient = plainSum;
        double[][] clippedSum = what.clipped() ? zeros(params) : null;
        for (int n = 0; n < rows; n++) {
            if (chunk.skipped(n)) continue;
            Tensor yn = chunk.labels() == null ? null : row(chunk.labels(), n);
            Tensor[] g = BatchGradient.weightGradients(model, loss, params, row(chunk.x(), n), row(chunk.s(), n), yn);
            double[][] gn = doubles(g);
            double total = 0;
            for (int k = 0; k < keys; k++) {
                for (double v : gn[k]) squaredNorms[n][k] += v * v;
                total += squaredNorms[n][k];
                if (dots != null) for (int i = 0; i < gn[k].length; i++) dots[n] += gn[k][i] * dotWith[k][i];
                if (sumOfSquares != null) for (int i = 0; i < gn[k].length; i++) sumOfSquares[k][i] += gn[k][i] * gn[k][i];
            }
            if (clippedSum != null) {
                double norm = Math.sqrt(total), c = norm == 0 ? 1 : Math.min(1, what.clip() / norm);
                for (int k = 0; k < keys; k++) for (int i = 0; i < gn[k].length; i++) clippedSum[k][i] += c * gn[k][i];
            }
            if (ggn != null) addGgnDiagonal(model, loss, params, row(chunk.x(), n), yn, row(chunk.s(), n), ggn);
        }
        if (clippedSum != null) gradient = cast(tensors(clippedSum, params), params);
        return StatisticsResults.of(gradient, squaredNorms, dots, tensors(sumOfSquares, params), tensors(ggn, params), chunk, what, Path.PER_ROW);
    }

    /**
     * Adds {@code s_n diag(J^T H J)} of one row: J row by row from one backward pass per model output
     * (cotangent e_k), H the Hessian of the row's loss with respect to the model's outputs.
     */
    private static void addGgnDiagonal(Cell model, Cell loss, List<Parameter> params, Tensor xn, Tensor yn, Tensor sn, double[][] ggn) {
        Tensor out = model.call(xn);
        int outputs = out.size();
        double[][][] jacobian = new double[outputs][][];
        for (int k = 0; k < outputs; k++) {
            int unit = k;
            Tensor e = Tensor.fromFunction(out.dtype(), out.shape(), i -> i == unit ? 1 : 0);
            jacobian[k] = doubles(BatchGradient.weightGradients(model, null, params, xn, e, null));
        }
        Tensor h = (Tensor) Functional.hessian(in -> sum(mul(loss.<Tensor>call(in[0], yn), reshape(sn, sn.size()))), 0).apply(out);
        double[] hessian = h.toDoubleArray();
        for (int k = 0; k < outputs; k++) {
            for (int l = 0; l < outputs; l++) {
                double hkl = hessian[k * outputs + l];
                if (hkl == 0) continue;
                for (int p = 0; p < ggn.length; p++) {
                    for (int i = 0; i < ggn[p].length; i++) ggn[p][i] += hkl * jacobian[k][p][i] * jacobian[l][p][i];
                }
            }
        }
    }

    /** Row n of t, keeping the row axis (shape [1, ...]). */
    static Tensor row(Tensor t, int n) {
        int[] begin = new int[t.rank()], size = t.shape().dims().clone();
        begin[0] = n;
        size[0] = 1;
        return slice(t, begin, size);
    }

    private static double[][] zeros(List<Parameter> params) {
        double[][] r = new double[params.size()][];
        for (int k = 0; k < r.length; k++) r[k] = new double[params.get(k).size()];
        return r;
    }

    private static double[][] doubles(Tensor[] ts) {
        double[][] r = new double[ts.length][];
        for (int k = 0; k < ts.length; k++) r[k] = ts[k].toDoubleArray();
        return r;
    }

    private static Tensor[] tensors(double[][] values, List<Parameter> params) {
        if (values == null) return null;
        Tensor[] r = new Tensor[values.length];
        for (int k = 0; k < r.length; k++) r[k] = Tensor.of(values[k], params.get(k).shape().dims());
        return r;
    }

    private static Tensor[] cast(Tensor[] ts, List<Parameter> params) {
        Tensor[] r = new Tensor[ts.length];
        for (int k = 0; k < r.length; k++) r[k] = ts[k].astype(params.get(k).dtype());
        return r;
    }
}
