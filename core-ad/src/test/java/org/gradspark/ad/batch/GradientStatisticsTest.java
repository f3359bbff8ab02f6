package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Functional;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;
import org.gradspark.ad.batch.GradientStatistics.CurvatureLoss;
import org.gradspark.ad.batch.GradientStatistics.Path;
import org.gradspark.ad.batch.GradientStatistics.Request;
import org.gradspark.ad.batch.GradientStatistics.Result;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.PerExampleMSELoss;
import org.gradspark.ad.nn.Sequential;
import org.gradspark.ad.nn.SoftmaxCrossEntropy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * Per-example gradient statistics against the per-example gradients themselves, each computed on its
 * row alone with {@link BatchGradient#weightGradients} (float64, to 1e-12), and the GGN diagonal
 * against an explicit {@code J^T H J} built from {@link Functional#jacrev} and {@link Functional#hessian} per row.
 */
class GradientStatisticsTest {
    static final int ROWS = 7, IN = 3, HIDDEN = 4, OUT = 3;
    static final double TOL = 1e-12;

    enum LossKind { NONE, MSE, SOFTMAX_CROSS_ENTROPY }

    @ParameterizedTest
    @EnumSource(Activation.Kind.class)
    void everyStatisticOfAnMlpMatchesThePerRowGradientsWithEveryLoss(Activation.Kind activation) {
        for (LossKind lossKind : LossKind.values()) {
            Sequential net = mlp(activation);
            Cell loss = loss(lossKind);
            Tensor x = Tensor.uniform(11, -1, 1, DType.FLOAT64, ROWS, IN), labels = labels(lossKind);
            double[] sv = Tensor.uniform(12, -2, 2, DType.FLOAT64, lossKind == LossKind.NONE ? ROWS * OUT : ROWS).toDoubleArray();
            int width = sv.length / ROWS;
            Arrays.fill(sv, 2 * width, 3 * width, 0.0);   // row 2: a zero gradient, clipped with factor 1
            Tensor s = Tensor.of(sv, lossKind == LossKind.NONE ? new int[] {ROWS, OUT} : new int[] {ROWS});
            List<Parameter> params = net.trainableParams();
            double[][][] g = perRowGradients(net, loss, params, x, s, labels, null);
            double[] norms = norms(g);
            double clip = median(norms);
            Tensor[] v = randomLike(params, 13);
            Result r = GradientStatistics.compute(net, loss, params, x, s, labels, null, new Request(true, true, v, true, clip, null));
            String where = activation + "/" + lossKind;
            assertEquals(Path.PER_LAYER, r.path(), where + ": an MLP takes the per-layer rules");
            assertEquals(0.0, norms[2], where);
            assertTrue(Arrays.stream(norms).anyMatch(n -> n > clip) && Arrays.stream(norms).anyMatch(n -> n > 0 && n < clip), where + ": rows on both sides of C");
            assertStatistics(where, g, v, clip, r, params);
            Result plain = GradientStatistics.compute(net, loss, params, x, s, labels, null, new Request(false, false, null, false, 0, null));
            Tensor[] expected = BatchGradient.weightGradients(net, loss, params, x, s, labels);
            for (int k = 0; k < params.size(); k++) assertClose(where + " plain sum " + k, expected[k].toDoubleArray(), plain.gradient()[k].toDoubleArray());
            assertEquals(null, plain.norms());
            double objective = sum(mul(BatchGradient.outputs(net, loss, x, labels), s)).item();
            assertEquals(objective, r.objective(), 1e-12 * Math.max(1, Math.abs(objective)), where + " objective");
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.Kind.class)
    void theGgnDiagonalIsJTransposeHJSummedOverRowsOnBothPaths(Activation.Kind activation) {
        for (LossKind lossKind : List.of(LossKind.MSE, LossKind.SOFTMAX_CROSS_ENTROPY)) {
            Sequential net = mlp(activation);
            Cell loss = loss(lossKind);
            Tensor x = Tensor.uniform(21, -1, 1, DType.FLOAT64, ROWS, IN), labels = labels(lossKind), s = Tensor.uniform(22, -1, 2, DType.FLOAT64, ROWS);
            CurvatureLoss c = lossKind == LossKind.MSE ? CurvatureLoss.MSE : CurvatureLoss.SOFTMAX_CROSS_ENTROPY;
            double[][] expected = explicitGgnDiagonal(net, loss, x, s, labels);
            Request ggn = new Request(false, false, null, false, 0, c);
            Result fast = GradientStatistics.compute(net, loss, net.trainableParams(), x, s, labels, null, ggn);
            assertEquals(Path.PER_LAYER, fast.path());
            ScaledWeightMlp generic = new ScaledWeightMlp(net);
            Result slow = GradientStatistics.compute(generic, loss, generic.trainableParams(), x, s, labels, null, ggn);
            assertEquals(Path.PER_ROW, slow.path(), "a weight read through a mul is outside the per-layer rules");
            for (int k = 0; k < expected.length; k++) {
                assertClose(activation + "/" + lossKind + " fast ggn " + k, expected[k], fast.ggnDiagonal()[k].toDoubleArray());
                assertClose(activation + "/" + lossKind + " per-row ggn " + k, expected[k], slow.ggnDiagonal()[k].toDoubleArray());
            }
        }
    }

    /** The generic path on a user Cell with mul, div, pow, exp and sin, its weight read twice. */
    @Test
    void theGenericPathOnAUserCellMatchesThePerRowGradients() {
        Cell cell = new PowerCell();
        List<Parameter> params = cell.trainableParams();
        Tensor x = Tensor.uniform(31, 0.5, 1.5, DType.FLOAT64, ROWS, 2), s = Tensor.uniform(32, -1, 1, DType.FLOAT64, ROWS, 2);
        double[][][] g = perRowGradients(cell, null, params, x, s, null, null);
        double clip = median(norms(g));
        Tensor[] v = randomLike(params, 33);
        Result r = GradientStatistics.compute(cell, null, params, x, s, null, null, new Request(true, true, v, true, clip, null));
        assertEquals(Path.PER_ROW, r.path());
        assertStatistics("user cell", g, v, clip, r, params);
        Result plain = GradientStatistics.compute(cell, null, params, x, s, null, null, new Request(false, false, null, false, 0, null));
        Tensor[] expected = BatchGradient.weightGradients(cell, null, params, x, s, null);
        for (int k = 0; k < params.size(); k++) assertClose("user cell plain sum " + k, expected[k].toDoubleArray(), plain.gradient()[k].toDoubleArray());
    }

    /** A skipped row (NaN features) adds nothing: norm and dot 0, and every sum is that of the kept rows, on both paths. */
    @Test
    void aSkippedRowContributesNothingOnBothPaths() {
        Sequential net = mlp(Activation.Kind.TANH);
        Cell loss = new SoftmaxCrossEntropy();
        double[] xs = Tensor.uniform(41, -1, 1, DType.FLOAT64, ROWS, IN).toDoubleArray();
        xs[3 * IN + 1] = Double.NaN;
        Tensor x = Tensor.of(xs, ROWS, IN), labels = labels(LossKind.SOFTMAX_CROSS_ENTROPY), s = Tensor.uniform(42, -1, 1, DType.FLOAT64, ROWS);
        boolean[] skip = new boolean[ROWS];
        skip[3] = true;
        for (Cell model : List.<Cell>of(net, new ScaledWeightMlp(net))) {
            List<Parameter> params = model.trainableParams();
            double[][][] g = perRowGradients(model, loss, params, x, s, labels, skip);
            double clip = median(norms(g));
            Tensor[] v = randomLike(params, 43);
            Request all = new Request(true, true, v, true, clip, CurvatureLoss.SOFTMAX_CROSS_ENTROPY);
            Result r = GradientStatistics.compute(model, loss, params, x, s, labels, skip, all);
            assertStatistics("skip " + r.path(), g, v, clip, r, params);
            assertEquals(0.0, r.norms().getDouble(3));
            assertEquals(0.0, r.outputs().getDouble(3));
            Tensor keptX = concat(0, PerRowStatistics.row(x, 0), PerRowStatistics.row(x, 1), PerRowStatistics.row(x, 2),
                    slice(x, new int[] {4, 0}, new int[] {ROWS - 4, IN}));
            Tensor keptY = concat(0, slice(labels, new int[] {0, 0}, new int[] {3, OUT}), slice(labels, new int[] {4, 0}, new int[] {ROWS - 4, OUT}));
            Tensor keptS = concat(0, slice(s, new int[] {0}, new int[] {3}), slice(s, new int[] {4}, new int[] {ROWS - 4}));
            Result kept = GradientStatistics.compute(model, loss, params, keptX, keptS, keptY, null, all);
            for (int k = 0; k < params.size(); k++) {
                assertClose("skip ggn " + k, kept.ggnDiagonal()[k].toDoubleArray(), r.ggnDiagonal()[k].toDoubleArray());
                assertClose("skip clipped " + k, kept.gradient()[k].toDoubleArray(), r.gradient()[k].toDoubleArray());
            }
            assertEquals(kept.objective(), r.objective(), 1e-12);
        }
    }

    /**
     * Centring over the batch (a mean over rows) or a product with the rows' Gram matrix {@code x x^T}
     * mixes rows: the per-layer rules do not hold, and the per-row path runs (the model on each row alone).
     */
    @Test
    void aModelThatMixesRowsTakesThePerRowPath() {
        Tensor x = Tensor.uniform(51, -1, 1, DType.FLOAT64, ROWS, IN);
        for (boolean byMatMul : new boolean[] {false, true}) {
            Dense d = new Dense(IN, OUT, DType.FLOAT64, 3);
            Cell centred = new Cell() {
                private static final long serialVersionUID = 1L;
                final Dense layer = d;

                @Override public Tensor construct(Tensor... in) {
                    Tensor z = layer.call(in[0]);
                    return sub(z, byMatMul ? mul(matMul(matMul(in[0], in[0], false, true), z), 0.1) : mean(z, 0, true));
                }
            };
            Result r = GradientStatistics.compute(centred, null, centred.trainableParams(), x, null, null, null, new Request(true, false, null, false, 0, null));
            assertEquals(Path.PER_ROW, r.path(), byMatMul ? "Gram matrix of the rows" : "mean over rows");
        }
        Sequential net = mlp(Activation.Kind.RELU);
        Result r = GradientStatistics.compute(net, null, net.trainableParams(), x, null, null, null, new Request(true, false, null, false, 0, null));
        assertEquals(Path.PER_LAYER, r.path());
    }

    /** A float32 MLP keeps the per-layer path; its statistics are float64 and agree with the float64 model's to float32 precision. */
    @Test
    void aFloat32ModelGivesFloat64StatisticsOfItsOwnPrecision() {
        Sequential net64 = mlp(Activation.Kind.SIGMOID);
        Dense a = (Dense) net64.layers().get(0), b = (Dense) net64.layers().get(2);
        Sequential net32 = new Sequential(new Dense(a.weight().value().astype(DType.FLOAT32), a.bias().value().astype(DType.FLOAT32)),
                Activation.sigmoid(), new Dense(b.weight().value().astype(DType.FLOAT32), b.bias().value().astype(DType.FLOAT32)));
        Tensor x = Tensor.uniform(91, -1, 1, DType.FLOAT64, ROWS, IN), y = labels(LossKind.SOFTMAX_CROSS_ENTROPY);
        Request all = new Request(true, true, randomLike(net64.trainableParams(), 92), true, 0.05, CurvatureLoss.SOFTMAX_CROSS_ENTROPY);
        Cell loss = new SoftmaxCrossEntropy();
        Result r64 = GradientStatistics.compute(net64, loss, net64.trainableParams(), x, null, y, null, all);
        Result r32 = GradientStatistics.compute(net32, loss, net32.trainableParams(), x.astype(DType.FLOAT32), null, y.astype(DType.FLOAT32), null, all);
        assertEquals(Path.PER_LAYER, r32.path());
        assertEquals(DType.FLOAT64, r32.norms().dtype());
        assertEquals(DType.FLOAT32, r32.gradient()[0].dtype());
        assertTrue(r32.norms().allClose(r64.norms(), 1e-5, 1e-6) && r32.dots().allClose(r64.dots(), 1e-5, 1e-6));
        for (int k = 0; k < 4; k++) {
            assertTrue(r32.sumOfSquares()[k].allClose(r64.sumOfSquares()[k], 1e-5, 1e-7), "sum of squares " + k);
            assertTrue(r32.ggnDiagonal()[k].allClose(r64.ggnDiagonal()[k], 1e-5, 1e-7), "ggn " + k);
            assertTrue(r32.gradient()[k].astype(DType.FLOAT64).allClose(r64.gradient()[k], 1e-5, 1e-6), "clipped sum " + k);
        }
    }

    @Test
    void anEmptyChunkHasNoRowsAndZeroSums() {
        Sequential net = mlp(Activation.Kind.TANH);
        Tensor x = Tensor.zeros(DType.FLOAT64, 0, IN);
        Result r = GradientStatistics.compute(net, null, net.trainableParams(), x, null, null, null,
                new Request(true, true, randomLike(net.trainableParams(), 93), true, 1.0, null));
        assertArrayEquals(new int[] {0}, r.norms().shape().dims());
        assertArrayEquals(new int[] {0, 4}, r.normsPerKey().shape().dims());
        for (Tensor t : r.sumOfSquares()) assertEquals(0.0, Arrays.stream(t.toDoubleArray()).map(Math::abs).sum());
        for (Tensor t : r.gradient()) assertEquals(0.0, Arrays.stream(t.toDoubleArray()).map(Math::abs).sum());
        assertEquals(0.0, r.objective());
    }

    @Test
    void aVectorOfTheWrongShapeOrAMismatchedGgnLossIsRefusedNamingIt() {
        Sequential net = mlp(Activation.Kind.TANH);
        List<Parameter> params = net.trainableParams();
        Tensor[] v = randomLike(params, 61);
        v[1] = Tensor.zeros(DType.FLOAT64, HIDDEN + 1);
        Tensor x = Tensor.uniform(62, -1, 1, DType.FLOAT64, ROWS, IN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GradientStatistics.compute(net, null, params, x, null, null, null, new Request(false, false, v, false, 0, null)));
        assertTrue(e.getMessage().contains("parameter 1 'bias'") && e.getMessage().contains("[5]") && e.getMessage().contains("[4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GradientStatistics.compute(net, new PerExampleMSELoss(), params, x, null,
                labels(LossKind.MSE), null, new Request(false, false, null, false, 0, CurvatureLoss.SOFTMAX_CROSS_ENTROPY)));
        assertTrue(e.getMessage().contains("SOFTMAX_CROSS_ENTROPY") && e.getMessage().contains("PerExampleMSELoss"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Request(true, false, null, false, Double.NaN, null));
    }

    // ------------------------------------------------------------ references

    /** Every statistic of r against the per-example gradients g[row][param][i]. */
    private static void assertStatistics(String where, double[][][] g, Tensor[] v, double clip, Result r, List<Parameter> params) {
        int rows = g.length, keys = params.size();
        double[] norms = norms(g), dots = new double[rows], perKey = new double[rows * keys];
        double[][] sumSq = new double[keys][], clipped = new double[keys][];
        for (int k = 0; k < keys; k++) {
            sumSq[k] = new double[params.get(k).size()];
            clipped[k] = new double[params.get(k).size()];
        }
        for (int n = 0; n < rows; n++) {
            double c = norms[n] == 0 ? 1 : Math.min(1, clip / norms[n]);
            for (int k = 0; k < keys; k++) {
                double[] vk = v[k].toDoubleArray();
                double sq = 0;
                for (int i = 0; i < vk.length; i++) {
                    dots[n] += g[n][k][i] * vk[i];
                    sq += g[n][k][i] * g[n][k][i];
                    sumSq[k][i] += g[n][k][i] * g[n][k][i];
                    clipped[k][i] += c * g[n][k][i];
                }
                perKey[n * keys + k] = Math.sqrt(sq);
            }
        }
        assertClose(where + " norms", norms, r.norms().toDoubleArray());
        assertArrayEquals(new int[] {rows, keys}, r.normsPerKey().shape().dims());
        assertClose(where + " norms per key", perKey, r.normsPerKey().toDoubleArray());
        assertClose(where + " dots", dots, r.dots().toDoubleArray());
        for (int k = 0; k < keys; k++) {
            assertEquals(params.get(k).shape(), r.sumOfSquares()[k].shape());
            assertEquals(DType.FLOAT64, r.sumOfSquares()[k].dtype());
            assertClose(where + " sum of squares " + k, sumSq[k], r.sumOfSquares()[k].toDoubleArray());
            assertClose(where + " clipped sum " + k, clipped[k], r.gradient()[k].toDoubleArray());
        }
    }

    /** g[n][k] = d o_n / d param_k from row n alone (0 for a skipped row). */
    private static double[][][] perRowGradients(Cell model, Cell loss, List<Parameter> params, Tensor x, Tensor s, Tensor labels, boolean[] skip) {
        int rows = x.shape().dim(0);
        double[][][] g = new double[rows][params.size()][];
        for (int n = 0; n < rows; n++) {
            Tensor[] gn = BatchGradient.weightGradients(model, loss, params, PerRowStatistics.row(x, n), PerRowStatistics.row(s, n),
                    labels == null ? null : PerRowStatistics.row(labels, n));
            for (int k = 0; k < gn.length; k++) g[n][k] = skip != null && skip[n] ? new double[params.get(k).size()] : gn[k].toDoubleArray();
        }
        return g;
    }

    /**
     * sum_n s_n diag(J_n^T H_n J_n): J_n by jacrev of the MLP written as a function of its weights,
     * H_n by the Hessian of row n's loss with respect to the MLP's outputs.
     */
    private static double[][] explicitGgnDiagonal(Sequential net, Cell loss, Tensor x, Tensor s, Tensor labels) {
        Dense d0 = (Dense) net.layers().get(0), d1 = (Dense) net.layers().get(2);
        Cell act = net.layers().get(1);
        Tensor[] w = {d0.weight().value(), d0.bias().value(), d1.weight().value(), d1.bias().value()};
        double[][] ggn = new double[4][];
        for (int k = 0; k < 4; k++) ggn[k] = new double[w[k].size()];
        for (int n = 0; n < x.shape().dim(0); n++) {
            Tensor xn = PerRowStatistics.row(x, n), yn = PerRowStatistics.row(labels, n);
            double sn = s.getDouble(n);
            TensorTuple jac = (TensorTuple) Functional.jacrev(in -> add(matMul(act.<Tensor>call(add(matMul(xn, in[0]), in[1])), in[2]), in[3]),
                    new int[] {0, 1, 2, 3}, false).apply(w);
            Tensor logits = net.call(xn);
            double[] h = ((Tensor) Functional.hessian(in -> sum(loss.<Tensor>call(in[0], yn)), 0).apply(logits)).toDoubleArray();
            for (int k = 0; k < 4; k++) {
                double[] j = ((Tensor) jac.get(k)).toDoubleArray();   // [1, OUT] ++ shape of w_k
                int size = w[k].size();
                for (int a = 0; a < OUT; a++) {
                    for (int b = 0; b < OUT; b++) {
                        for (int i = 0; i < size; i++) ggn[k][i] += sn * h[a * OUT + b] * j[a * size + i] * j[b * size + i];
                    }
                }
            }
        }
        return ggn;
    }

    // ------------------------------------------------------------ models and data

    static Sequential mlp(Activation.Kind activation) {
        return new Sequential(new Dense(IN, HIDDEN, DType.FLOAT64, 1), new Activation(activation), new Dense(HIDDEN, OUT, DType.FLOAT64, 2));
    }

    /** The same MLP with every weight read through {@code mul(W, 1)}: outside the per-layer rules, the same function. */
    static final class ScaledWeightMlp extends Cell {
        private static final long serialVersionUID = 1L;
        final Sequential net;

        ScaledWeightMlp(Sequential net) {
            this.net = net;
        }

        @Override public Tensor construct(Tensor... in) {
            Dense d0 = (Dense) net.layers().get(0), d1 = (Dense) net.layers().get(2);
            Tensor h = net.layers().get(1).call(add(matMul(in[0], mul(d0.weight(), 1.0)), d0.bias()));
            return add(matMul(h, mul(d1.weight(), 1.0)), d1.bias());
        }
    }

    /** out = sin(x W) * exp(b) / (1 + (x W)^2) + x^W00: mul, div, pow, exp and sin, W read three times. */
    static final class PowerCell extends Cell {
        private static final long serialVersionUID = 1L;
        final Parameter w = new Parameter(Tensor.uniform(71, -1, 1, DType.FLOAT64, 2, 2), "w");
        final Parameter b = new Parameter(Tensor.uniform(72, -1, 1, DType.FLOAT64, 2), "b");

        @Override public Tensor construct(Tensor... in) {
            Tensor z = matMul(in[0], w);
            Tensor core = div(mul(sin(z), exp(b)), add(pow(z, 2.0), 1.0));
            return add(core, pow(in[0], reshape(slice(w, new int[] {0, 0}, new int[] {1, 1}), 1)));
        }
    }

    static Cell loss(LossKind kind) {
        return switch (kind) {
            case NONE -> null;
            case MSE -> new PerExampleMSELoss();
            case SOFTMAX_CROSS_ENTROPY -> new SoftmaxCrossEntropy();
        };
    }

    /** Targets for mse, and positive label weights (not summing to 1) for cross-entropy, so its Hessian's (sum y) factor counts. */
    static Tensor labels(LossKind kind) {
        return switch (kind) {
            case NONE -> null;
            case MSE -> Tensor.uniform(81, -1, 1, DType.FLOAT64, ROWS, OUT);
            case SOFTMAX_CROSS_ENTROPY -> Tensor.uniform(82, 0, 1, DType.FLOAT64, ROWS, OUT);
        };
    }

    static Tensor[] randomLike(List<Parameter> params, long seed) {
        Tensor[] v = new Tensor[params.size()];
        for (int k = 0; k < v.length; k++) v[k] = Tensor.uniform(seed + k, -1, 1, DType.FLOAT64, params.get(k).shape().dims());
        return v;
    }

    static double[] norms(double[][][] g) {
        double[] n = new double[g.length];
        for (int r = 0; r < g.length; r++) {
            for (double[] part : g[r]) for (double v : part) n[r] += v * v;
            n[r] = Math.sqrt(n[r]);
        }
        return n;
    }

    /** The median of the non-zero norms: some rows above it and some below. */
    static double median(double[] norms) {
        double[] nz = Arrays.stream(norms).filter(v -> v > 0).sorted().toArray();
        return nz.length % 2 == 1 ? nz[nz.length / 2] : (nz[nz.length / 2 - 1] + nz[nz.length / 2]) / 2;
    }

    static void assertClose(String what, double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double tol = TOL * Math.max(1, Math.abs(expected[i]));
            assertEquals(expected[i], actual[i], tol, what + " [" + i + "]");
        }
    }
}
