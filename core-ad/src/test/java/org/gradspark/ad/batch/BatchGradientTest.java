package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.ad.Functional;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;

/** The job's derivatives on one chunk, against closed forms and the functional transforms. */
class BatchGradientTest {
    static final Tensor X = Tensor.uniform(1, -1, 1, DType.FLOAT64, 5, 2);

    @Test
    void weightGradientsOfASinLayerMatchTheClosedForm() {
        // out = sin(x W + b), objective sum(out * s): dW = x^T (s cos z), db = sum_rows(s cos z).
        Dense d = new Dense(2, 3, DType.FLOAT64, 4);
        Sequential net = new Sequential(d, Activation.sin());
        Tensor s = Tensor.uniform(2, -1, 1, DType.FLOAT64, 5, 3);
        Tensor[] g = BatchGradient.weightGradients(net, null, net.trainableParams(), X, s, null);
        Tensor sc = mul(s, cos(add(matMul(X, d.weight()), d.bias())));
        assertTrue(g[0].allClose(matMul(X, sc, true, false), 1e-14, 1e-14));
        assertTrue(g[1].allClose(sum(sc, 0, false), 1e-14, 1e-14));
    }

    @Test
    void weightGradientsAndOutputsFromOneForwardPassEqualTheSeparateCalls() {
        Dense d = new Dense(2, 3, DType.FLOAT64, 4);
        Sequential net = new Sequential(d, Activation.tanh());
        Tensor s = Tensor.uniform(2, -1, 1, DType.FLOAT64, 5, 3);
        BatchGradient.WithOutputs both = BatchGradient.weightGradientsAndOutputs(net, null, net.trainableParams(), X, s, null);
        Tensor[] g = BatchGradient.weightGradients(net, null, net.trainableParams(), X, s, null);
        assertTrue(both.gradients()[0].allClose(g[0], 0, 0) && both.gradients()[1].allClose(g[1], 0, 0), "the same gradients, bit for bit");
        assertTrue(both.outputs().allClose(BatchGradient.outputs(net, null, X, null), 0, 0), "the same outputs");
    }

    /**
     * What the job asks of a chunk: a row left out (a NaN row with --on-nan skip) contributes
     * nothing, so the chunk equals the chunk of its kept rows; its output and input derivative are 0.
     */
    @Test
    void aChunkWithARowLeftOutEqualsTheChunkOfItsKeptRows() {
        Dense d = new Dense(2, 3, DType.FLOAT64, 4);
        Sequential net = new Sequential(d, Activation.tanh(), new Dense(3, 2, DType.FLOAT64, 5));
        Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT64, 6, 2), s = Tensor.uniform(8, -1, 1, DType.FLOAT64, 6, 2);
        double[] xs = x.toDoubleArray();
        xs[2 * 2 + 1] = Double.NaN;
        Tensor withNan = Tensor.of(xs, 6, 2);
        boolean[] skip = {false, false, true, false, false, false};
        BatchGradient.Request what = new BatchGradient.Request(true, null, 1, 0.25);
        BatchGradient.ChunkResult r = BatchGradient.chunk(net, null, net.trainableParams(), withNan, s, null, skip, null, what);
        Tensor keptX = concat(0, rows(x, 0, 2), rows(x, 3, 6)), keptS = concat(0, rows(s, 0, 2), rows(s, 3, 6));
        BatchGradient.ChunkResult kept = BatchGradient.chunk(net, null, net.trainableParams(), keptX, keptS, null, null,
                org.gradspark.ad.Shape.of(5, 2), what);
        assertEquals(1, r.skipped());
        for (int k = 0; k < 4; k++) assertTrue(r.weightGradients()[k].allClose(kept.weightGradients()[k], 1e-14, 1e-15), "parameter " + k);
        assertTrue(rows(r.outputs(), 2, 3).allClose(Tensor.zeros(DType.FLOAT64, 1, 2), 0, 0));
        assertTrue(rows(r.inputDerivative(), 2, 3).allClose(Tensor.zeros(DType.FLOAT64, 1, 2), 0, 0));
        assertTrue(concat(0, rows(r.inputDerivative(), 0, 2), rows(r.inputDerivative(), 3, 6)).allClose(kept.inputDerivative(), 1e-14, 1e-15));
        // Scaled: the same chunk at scale 1 is 4 times as large.
        BatchGradient.ChunkResult unscaled = BatchGradient.chunk(net, null, net.trainableParams(), keptX, keptS, null, null, null,
                new BatchGradient.Request(true, null, 0, 1.0));
        assertTrue(mul(kept.weightGradients()[0], 4.0).allClose(unscaled.weightGradients()[0], 1e-14, 1e-15));
        assertEquals(null, unscaled.inputDerivative());
    }

    /** Rows [from, to) of a matrix. */
    private static Tensor rows(Tensor t, int from, int to) {
        return slice(t, new int[] {from, 0}, new int[] {to - from, t.shape().dim(1)});
    }

    @Test
    void inputDerivativesOfOrderOneTwoThreeAreMindSporeNesting() {
        // One input, one output: out = sin(x w), s = 1. g1 = w cos(xw), g2 = -w^2 sin(xw), g3 = -w^3 cos(xw).
        Dense d = new Dense(Tensor.of(new double[][] {{1.5}}), Tensor.of(new double[] {0.0}));
        Sequential net = new Sequential(d, Activation.sin());
        Tensor x = Tensor.of(new double[] {0.1, -0.7, 2.0}, 3, 1), ones = Tensor.full(1, DType.FLOAT64, x.shape());
        Tensor z = mul(x, 1.5);
        assertTrue(BatchGradient.inputDerivative(net, null, 1, x, ones, null).allClose(mul(cos(z), 1.5), 1e-14, 1e-14));
        assertTrue(BatchGradient.inputDerivative(net, null, 2, x, ones, null).allClose(mul(sin(z), -2.25), 1e-14, 1e-14));
        assertTrue(BatchGradient.inputDerivative(net, null, 3, x, ones, null).allClose(mul(cos(z), -3.375), 1e-13, 1e-13));
    }

    @Test
    void hessianVectorProductMatchesTheFullHessian() {
        Dense d = new Dense(2, 1, DType.FLOAT64, 9);
        Sequential net = new Sequential(d, Activation.tanh());
        Tensor s = Tensor.uniform(3, -1, 1, DType.FLOAT64, 5, 1);
        List<Parameter> ps = net.trainableParams();
        Tensor[] v = {Tensor.of(new double[][] {{0.3}, {-0.8}}), Tensor.of(new double[] {0.5})};
        Tensor[] hv = BatchGradient.hessianVectorProduct(net, null, ps, v, X, s, null);
        // The same objective over a flat [w0, w1, b] vector, and its full Hessian.
        Tensor w = Tensor.of(new double[] {d.weight().get(0, 0), d.weight().get(1, 0), d.bias().get(0)});
        Tensor h = Functional.hessian(a -> sum(mul(tanh(add(matMul(X, reshape(slice(a[0], new int[] {0}, new int[] {2}), 2, 1)),
                slice(a[0], new int[] {2}, new int[] {1}))), s)), 0).apply(w).asTensor();
        Tensor hvFlat = reshape(matMul(h, reshape(Tensor.of(new double[] {0.3, -0.8, 0.5}), 3, 1)), 3);
        assertEquals(hvFlat.get(0), hv[0].get(0, 0), 1e-12);
        assertEquals(hvFlat.get(1), hv[0].get(1, 0), 1e-12);
        assertEquals(hvFlat.get(2), hv[1].get(0), 1e-12);
    }

    @Test
    void chunksAddUp() {
        Sequential net = new Sequential(new Dense(2, 4, DType.FLOAT64, 1), Activation.tanh(), new Dense(4, 2, DType.FLOAT64, 2));
        Tensor s = Tensor.uniform(5, -1, 1, DType.FLOAT64, 5, 2);
        Tensor[] whole = BatchGradient.weightGradients(net, null, net.trainableParams(), X, s, null);
        Tensor[] a = BatchGradient.weightGradients(net, null, net.trainableParams(), slice(X, new int[] {0, 0}, new int[] {2, 2}), slice(s, new int[] {0, 0}, new int[] {2, 2}), null);
        Tensor[] b = BatchGradient.weightGradients(net, null, net.trainableParams(), slice(X, new int[] {2, 0}, new int[] {3, 2}), slice(s, new int[] {2, 0}, new int[] {3, 2}), null);
        for (int i = 0; i < whole.length; i++) assertTrue(whole[i].allClose(add(a[i], b[i]), 1e-13, 1e-14));
    }
}
