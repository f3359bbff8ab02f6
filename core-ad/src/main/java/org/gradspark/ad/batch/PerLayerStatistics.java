package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.matMul;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.reshape;
import static org.gradspark.ad.Ops.slice;
import static org.gradspark.ad.Ops.softmax;
import static org.gradspark.ad.Ops.sqrt;
import static org.gradspark.ad.Ops.square;
import static org.gradspark.ad.Ops.sub;
import static org.gradspark.ad.Ops.sum;
import static org.gradspark.ad.Ops.where;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.MatMulFlags;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Primitives;
import org.gradspark.ad.RecordedForward;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.batch.GradientStatistics.CurvatureLoss;
import org.gradspark.ad.batch.GradientStatistics.Path;
import org.gradspark.ad.batch.GradientStatistics.Request;
import org.gradspark.ad.batch.GradientStatistics.Result;
import org.gradspark.ad.batch.GradientStatistics.StatisticsChunk;

/**
 * The fast path of {@link GradientStatistics}: every parameter a dense layer's weight or bias, so that
 * example n's gradient is {@code a_n (x) delta_n} (weight) or {@code delta_n} (bias), a_n the layer's
 * input row and delta_n its output cotangent row, both read from one recorded forward and one backward
 * pass. Every statistic is then a product over those [rows, width] arrays (BackPACK's BatchL2Grad,
 * SumGradSquared and DiagGGN rules), computed in float64; no array of rows x parameters is built.
 */
final class PerLayerStatistics {
    private PerLayerStatistics() {}

    /**
     * How one parameter's per-example gradient follows from the recorded op that reads it.
     *
     * @param input  the weight's left operand a ([rows, in]), or null for a bias
     * @param result the op's output, whose cotangent is delta ([rows, out])
     */
    record LayerRule(Tensor input, Tensor result) {
        boolean weight() { return input != null; }
    }

    /** Records the outputs, with a loss the pair (loss per row, the model's outputs), on the masked rows. */
    static RecordedForward record(Cell model, Cell loss, List<Parameter> params, Tensor x, Tensor labels) {
        Tensor[] inputs = labels == null ? new Tensor[] {x} : new Tensor[] {x, labels};
        return RecordedForward.of(in -> {
            Tensor out = model.call(in[0]);
            return loss == null ? out : TensorTuple.of(loss.<Tensor>call(out, in[1]), out);
        }, inputs, 0, params);
    }

    /** One rule per parameter, or null when a parameter or an op falls outside them (the per-row path then runs). */
    static LayerRule[] rules(RecordedForward tape, List<Parameter> params, Request what, int rows) {
        if (!tape.keepsRowsApart()) return null;
        if (what.ggnLoss() != null && tape.outputs().get(1).rank() != 2) return null;
        LayerRule[] rules = new LayerRule[params.size()];
        for (int k = 0; k < rules.length; k++) {
            List<RecordedForward.Use> uses = tape.uses(k);
            if (uses.size() != 1) return null;
            rules[k] = rule(uses.get(0), params.get(k), rows);
            if (rules[k] == null) return null;
        }
        return rules;
    }

    private static LayerRule rule(RecordedForward.Use u, Parameter p, int rows) {
        if (u.primitive() == Primitives.MATMUL && u.position() == 1 && u.attrs().equals(new MatMulFlags(false, false))
                && p.rank() == 2 && u.fromRows().get(0) && u.operands().get(0).rank() == 2 && u.operands().get(0).shape().dim(0) == rows) {
            return new LayerRule(u.operands().get(0), u.result());
        }
        if (u.primitive() == Primitives.ADD && p.rank() == 1) {
            int other = 1 - u.position();
            Tensor o = u.operands().get(other);
            if (u.fromRows().get(other) && o.rank() == 2 && o.shape().dim(0) == rows && o.shape().equals(u.result().shape())) {
                return new LayerRule(null, u.result());
            }
        }
        return null;
    }

    /**
     * The products run in the model's dtype (float32 models keep sgemm, and no float64 copy of a [rows, width]
     * array is made) and are returned in float64; the per-row squared norms are float64 sums over the parameters
     * of row sums taken in the model's dtype. With clipping, the backward pass forms only the layers' output
     * cotangents: the plain weight gradient {@code a^T delta} is then replaced by {@code a^T (c * delta)}, not
     * added to. Each layer input's square and each cotangent's square and row sums are made once and shared by
     * the norms, the sum of squares and the clipped sum (a dense layer's weight and bias share one cotangent).
     */
    static Result compute(RecordedForward tape, LayerRule[] rules, List<Parameter> params, StatisticsChunk chunk, Request what) {
        int rows = chunk.rows(), keys = params.size();
        Map<Tensor, Tensor> observed = observing(rules);
        Tensor[] gradient = null;
        if (what.clipped()) tape.cotangents(tape.outputs().get(0), chunk.s(), observed);
        else gradient = tape.pullback(tape.outputs().get(0), chunk.s(), observed);
        Tensor[] a = new Tensor[keys];
        Delta[] delta = new Delta[keys];
        Map<Tensor, Delta> shared = new IdentityHashMap<>();
        double[][] squaredNorms = new double[rows][keys];
        Tensor dots = what.dotWith() == null ? null : Tensor.zeros(DType.FLOAT64, rows);
        Tensor[] sumOfSquares = what.sumOfSquares() ? new Tensor[keys] : null;
        boolean needNorms = what.norms() || what.normsPerKey() || what.clipped(), needSquares = needNorms || what.sumOfSquares();
        for (int k = 0; k < keys; k++) {
            a[k] = rules[k].weight() ? kept(rules[k].input(), chunk) : null;
            delta[k] = shared.computeIfAbsent(rawCotangent(observed, rules[k]), d -> Delta.of(d, chunk, needSquares));
            Tensor a2 = a[k] != null && needSquares ? square(a[k]) : null;
            if (needNorms) {
                double[] inputSquares = a2 == null ? null : rowSums(a2), deltaSquares = delta[k].rowSquares();
                for (int n = 0; n < rows; n++) squaredNorms[n][k] = inputSquares == null ? deltaSquares[n] : inputSquares[n] * deltaSquares[n];
            }
            if (dots != null) {
                Tensor vk = what.dotWith()[k];
                Tensor projected = a[k] == null ? reshape(vk.astype(DType.FLOAT64), 1, vk.size()) : matMul(a[k], vk.astype(a[k].dtype())).astype(DType.FLOAT64);
                dots = Ops.add(dots, sum(mul(projected, delta[k].value().astype(DType.FLOAT64)), 1, false));
            }
            if (sumOfSquares != null) {
                Tensor d2 = delta[k].squared();
                sumOfSquares[k] = (a2 == null ? sum(d2, 0, false) : matMul(a2, d2, true, false)).astype(DType.FLOAT64);
            }
        }
        if (what.clipped()) gradient = clippedSum(a, delta, squaredNorms, params, what.clip());
        Tensor[] ggn = what.ggnLoss() == null ? null : ggnDiagonal(tape, rules, a, chunk, what.ggnLoss());
        return StatisticsResults.of(gradient, squaredNorms, dots == null ? null : dots.toDoubleArray(), sumOfSquares, ggn, chunk, what, Path.PER_LAYER);
    }

    /** A layer output's cotangent delta (0 on skipped rows) and, when asked, its square and its rows' sums of squares (float64). */
    private record Delta(Tensor value, Tensor squared, double[] rowSquares) {
        static Delta of(Tensor raw, StatisticsChunk chunk, boolean withSquares) {
            Tensor d = kept(raw, chunk);
            if (!withSquares) return new Delta(d, null, null);
            Tensor d2 = square(d);
            return new Delta(d, d2, rowSums(d2));
        }
    }

    /**
     * Each row's sum of a [rows, width] array (float64 values): a product with a column of ones, so BLAS's
     * gemv runs it (the backend's last-axis sum is a scalar loop per row, slower by a few times at these widths).
     */
    private static double[] rowSums(Tensor t) {
        Tensor ones = Backends.current().full(1, t.dtype(), Shape.of(t.shape().dim(1), 1));
        return matMul(t, ones).astype(DType.FLOAT64).toDoubleArray();
    }

    /** {@code sum_n c_n g_n} with {@code c_n = min(1, C / |g_n|)} (1 for a zero gradient): {@code a^T (c * delta)}, {@code colsum(c * delta)}. */
    private static Tensor[] clippedSum(Tensor[] a, Delta[] delta, double[][] squaredNorms, List<Parameter> params, double clip) {
        int rows = squaredNorms.length;
        double[] c = new double[rows];
        for (int n = 0; n < rows; n++) {
            double total = 0;
            for (double v : squaredNorms[n]) total += v;
            double norm = Math.sqrt(total);
            c[n] = norm == 0 ? 1 : Math.min(1, clip / norm);
        }
        Tensor factor = Tensor.of(c, rows, 1);
        Map<Delta, Tensor> scaled = new IdentityHashMap<>();
        Tensor[] g = new Tensor[a.length];
        for (int k = 0; k < a.length; k++) {
            Tensor cd = scaled.computeIfAbsent(delta[k], d -> mul(d.value(), factor.astype(d.value().dtype())));
            g[k] = (a[k] == null ? sum(cd, 0, false) : matMul(a[k], cd, true, false)).astype(params.get(k).dtype());
        }
        return g;
    }

    /**
     * {@code sum_n w_n diag(J_n^T H_n J_n)} with H_n = F_n F_n^T: for each column k of the factor F,
     * one backward pass from the model's outputs gives delta_k, and the diagonal gains
     * {@code (a^2)^T (w * delta_k^2)} (weight) or {@code colsum(w * delta_k^2)} (bias). Per-example mse
     * (the mean over K outputs of squared errors) has H = (2/K) I, F = sqrt(2/K) I, w_n = s_n; softmax
     * cross-entropy has H = (sum_c y_c)(diag p - p p^T), F = diag(sqrt p) - p sqrt(p)^T (BackPACK's
     * factor), w_n = s_n sum_c y_nc.
     */
    private static Tensor[] ggnDiagonal(RecordedForward tape, LayerRule[] rules, Tensor[] a, StatisticsChunk chunk, CurvatureLoss lossKind) {
        Tensor logits = tape.outputs().get(1);
        int rows = chunk.rows(), outputs = logits.shape().dim(1);
        Tensor w = reshape(chunk.s().astype(DType.FLOAT64), rows, 1);
        Tensor p = null;
        if (lossKind == CurvatureLoss.SOFTMAX_CROSS_ENTROPY) {
            p = softmax(Ops.stopGradient(logits).astype(DType.FLOAT64), -1);
            w = mul(w, sum(chunk.labels().astype(DType.FLOAT64), -1, true));
        }
        Tensor[] ggn = new Tensor[rules.length];
        for (int col = 0; col < outputs; col++) {
            int k = col;
            Tensor unit = Tensor.fromFunction(DType.FLOAT64, Shape.of(1, outputs), i -> i == k ? 1 : 0);
            Tensor factorColumn = p == null ? mul(unit, Math.sqrt(2.0 / outputs))
                    : mul(sqrt(slice(p, new int[] {0, k}, new int[] {rows, 1})), sub(unit, p));
            Map<Tensor, Tensor> observed = observing(rules);
            tape.cotangents(logits, Ops.broadcastTo(factorColumn, logits.shape()).astype(logits.dtype()), observed);
            for (int r = 0; r < rules.length; r++) {
                Tensor d = cotangent(observed, rules[r], chunk);
                Tensor weighted = mul(square(d), w.astype(d.dtype()));
                Tensor term = (a[r] == null ? sum(weighted, 0, false) : matMul(square(a[r]), weighted, true, false)).astype(DType.FLOAT64);
                ggn[r] = ggn[r] == null ? term : Ops.add(ggn[r], term);
            }
        }
        return ggn;
    }

    private static Map<Tensor, Tensor> observing(LayerRule[] rules) {
        Map<Tensor, Tensor> m = new IdentityHashMap<>();
        for (LayerRule r : rules) m.put(r.result(), null);
        return m;
    }

    /** The rule's output cotangent (zeros where none arrived), 0 on skipped rows. */
    private static Tensor cotangent(Map<Tensor, Tensor> observed, LayerRule rule, StatisticsChunk chunk) {
        return kept(rawCotangent(observed, rule), chunk);
    }

    /** The rule's output cotangent as the backward pass left it (zeros where none arrived). */
    private static Tensor rawCotangent(Map<Tensor, Tensor> observed, LayerRule rule) {
        Tensor d = observed.get(rule.result());
        return d != null ? d : Tensor.zeros(rule.result().dtype(), rule.result().shape().dims());
    }

    /** t with its skipped rows set to 0 (where, not a product, so a NaN there is dropped too). */
    private static Tensor kept(Tensor t, StatisticsChunk chunk) {
        if (chunk.skip() == null) return t;
        return where(GradientStatistics.keepMask(chunk.skip(), t.shape(), t.dtype()), t, 0.0);
    }
}
