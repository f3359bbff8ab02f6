package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;

/** Derivatives of order two and three, by nesting and by the functional transforms. */
class HigherOrderTest {

    static final class SinNet extends Cell {
        @Override public Tensor construct(Tensor... in) { return sin(in[0]); }
    }

    @Test
    void thirdDerivativeOfSinIsMinusCos() {
        Cell third = new GradOperation().apply(new GradOperation().apply(new GradOperation().apply(new SinNet())));
        Tensor x = Tensor.of(new double[] {-2.0, -0.3, 0.0, 0.7, 1.9, 3.1415926});
        Tensor d3 = third.call(x);
        Tensor expected = neg(cos(x));
        assertTrue(d3.allClose(expected, 1e-14, 1e-14), d3 + " vs " + expected);
    }

    @Test
    void fourthDerivativeOfSinIsSin() {
        Cell fourth = new SinNet();
        for (int k = 0; k < 4; k++) fourth = new GradOperation().apply(fourth);
        Tensor x = Tensor.of(new double[] {0.3, 1.2});
        assertTrue(fourth.<Tensor>call(x).allClose(sin(x), 1e-14, 1e-14));
    }

    /** Forward over forward over reverse, reverse over forward, and forward mode against the double-VJP path. */
    @Test
    void forwardAndReverseModesNestInEveryOrder() {
        Tensor x = Tensor.of(new double[] {-1.2, 0.3, 2.2});
        Tensor ones = Tensor.full(1, DType.FLOAT64, x.shape());
        Fn sinSum = a -> sum(sin(a[0]));
        // jacfwd(jacfwd(grad)): the third derivative, diagonal: -cos x at (i, i, i).
        Tensor d3 = Functional.jacfwd(Functional.jacfwd(Functional.grad(sinSum), 0), 0).apply(x).asTensor();
        for (int i = 0; i < 3; i++) assertEquals(-Math.cos(x.getDouble(i)), d3.get(i, i, i), 1e-14);
        // grad of a jvp (reverse over forward): d/dx sum(cos(x) * t) = -sin(x) t.
        Fn jvpOfSin = a -> sum(Functional.jvp(b -> sin(b[0]), new Tensor[] {a[0]}, new Tensor[] {ones}).tensor(1));
        assertTrue(Functional.grad(jvpOfSin).apply(x).asTensor().allClose(neg(sin(x)), 1e-14, 1e-14));
        // jvp of a jvp (forward over forward): the second derivative along t, t.
        Fn inner = a -> Functional.jvp(b -> tanh(b[0]), new Tensor[] {a[0]}, new Tensor[] {ones}).tensor(1);
        Tensor d2 = Functional.jvp(inner, new Tensor[] {x}, new Tensor[] {ones}).tensor(1);
        Tensor t = tanh(x);
        assertTrue(d2.allClose(mul(mul(t, -2.0), rsub(1, square(t))), 1e-13, 1e-13));
        // The JVP rules and the double-VJP construction (linearize) agree on an MLP.
        Cell net = new Sequential(new Dense(3, 5, DType.FLOAT64, 1), Activation.sigmoid(), new Dense(5, 2, DType.FLOAT64, 2));
        Tensor rows = Tensor.uniform(3, -1, 1, DType.FLOAT64, 4, 3), dir = Tensor.uniform(4, -1, 1, DType.FLOAT64, 4, 3);
        Tensor byRules = Functional.jvp(net, new Tensor[] {rows}, new Tensor[] {dir}).tensor(1);
        Tensor byDoubleVjp = Functional.linearize(net, rows).apply(dir).asTensor();
        assertTrue(byRules.allClose(byDoubleVjp, 1e-13, 1e-14), byRules + " vs " + byDoubleVjp);
    }

    @Test
    void secondDerivativeOfTanhMatchesItsClosedForm() {
        Tensor x = Tensor.of(new double[] {-1.5, -0.2, 0.4, 2.0});
        Tensor d2 = new GradOperation().apply(new GradOperation().apply(Activation.tanh())).call(x);
        Tensor t = tanh(x);
        Tensor expected = mul(mul(t, -2.0), rsub(1, square(t)));   // -2 tanh (1 - tanh^2)
        assertTrue(d2.allClose(expected, 1e-13, 1e-13));
    }

    /** A small MLP's scalar loss as a function of a flat weight vector. */
    static Fn mlpLossOfFlatWeights(Tensor x, Tensor labels) {
        return w -> {
            Tensor w0 = reshape(slice(w[0], new int[] {0}, new int[] {6}), 2, 3);
            Tensor b0 = slice(w[0], new int[] {6}, new int[] {3});
            Tensor w1 = reshape(slice(w[0], new int[] {9}, new int[] {3}), 3, 1);
            Tensor b1 = slice(w[0], new int[] {12}, new int[] {1});
            Tensor h = tanh(add(matMul(x, w0), b0));
            Tensor out = add(matMul(h, w1), b1);
            return mean(square(sub(out, labels)));
        };
    }

    @Test
    void hessianOfAnMlpLossAgreesThreeWays() {
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT64, 5, 2);
        Tensor labels = Tensor.uniform(4, -1, 1, DType.FLOAT64, 5, 1);
        Tensor w = Tensor.uniform(5, -1, 1, DType.FLOAT64, 13);
        Fn loss = mlpLossOfFlatWeights(x, labels);

        Tensor h1 = Functional.hessian(loss, 0).apply(w).asTensor();
        Tensor h2 = Functional.jacfwd(Functional.jacrev(loss, 0), 0).apply(w).asTensor();
        Tensor h3 = Functional.jacrev(Functional.jacrev(loss, 0), 0).apply(w).asTensor();
        assertEquals(Shape.of(13, 13), h1.shape());
        assertTrue(h1.allClose(h2, 1e-12, 1e-12));
        assertTrue(h1.allClose(h3, 1e-10, 1e-12));

        // Finite differences of the gradient, column by column.
        Fn gradient = Functional.grad(loss);
        double eps = 1e-5;
        double[] wv = w.toDoubleArray();
        for (int j = 0; j < 13; j++) {
            double[] p = wv.clone(), m = wv.clone();
            p[j] += eps;
            m[j] -= eps;
            Tensor gp = gradient.apply(Tensor.of(p)).asTensor(), gm = gradient.apply(Tensor.of(m)).asTensor();
            for (int i = 0; i < 13; i++) {
                double fd = (gp.getDouble(i) - gm.getDouble(i)) / (2 * eps);
                assertEquals(fd, h1.get(i, j), 1e-7 + 1e-6 * Math.abs(fd), "H[" + i + "," + j + "]");
            }
        }
        // And it is symmetric.
        assertTrue(h1.allClose(transpose(h1), 1e-12, 1e-12));
    }

    @Test
    void hessianVectorProductOfANetworkByNestedGradOperationWithSens() {
        // H v for a Dense-tanh-Dense network's summed output w.r.t. its input, by
        // GradOperation(sens) over GradOperation: d/dx <grad_x f, v> = H v.
        Cell net = new Sequential(new Dense(3, 4, DType.FLOAT64, 1), Activation.tanh(), new Dense(4, 1, DType.FLOAT64, 2));
        Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT64, 1, 3);
        Tensor v = Tensor.uniform(8, -1, 1, DType.FLOAT64, 1, 3);
        Cell g = new GradOperation().apply(net);
        Cell hvp = new GradOperation(false, false, true).apply(g);
        Tensor hv = hvp.call(x, v);
        Fn f = a -> sum(net.<Tensor>call(a[0]));
        Tensor h = Functional.hessian(f, 0).apply(x).asTensor();
        Tensor expected = reshape(matMul(reshape(h, 3, 3), reshape(v, 3, 1)), 1, 3);
        assertTrue(hv.allClose(expected, 1e-12, 1e-12), hv + " vs " + expected);
    }

    @Test
    void mixedSecondDerivativeWithRespectToInputAndWeights() {
        // The molecular-dynamics case: a loss on the input derivative, differentiated w.r.t. the weights.
        Dense layer = new Dense(Tensor.of(new double[][] {{0.5}, {-0.3}}), Tensor.of(new double[] {0.1}));
        Cell net = new Sequential(layer, Activation.sin());
        Cell dOutDx = new GradOperation().apply(net);
        ParameterTuple params = new ParameterTuple(net.trainableParams());
        Cell dWeights = new GradOperation(false, true, false).apply(dOutDx, params);
        Tensor x = Tensor.of(new double[][] {{0.7, -1.1}});
        TensorTuple g = dWeights.call(x);
        // d/dx sin(x.w + b) = cos(z) w; summed over the two inputs: cos(z)(w0 + w1).
        // d/dw_k [cos(z)(w0+w1)] = -sin(z) x_k (w0+w1) + cos(z); d/db = -sin(z)(w0+w1).
        double z = 0.7 * 0.5 + -1.1 * -0.3 + 0.1, s = 0.5 - 0.3;
        Tensor dw = g.tensor(0), db = g.tensor(1);
        assertEquals(-Math.sin(z) * 0.7 * s + Math.cos(z), dw.get(0, 0), 1e-14);
        assertEquals(-Math.sin(z) * -1.1 * s + Math.cos(z), dw.get(1, 0), 1e-14);
        assertEquals(-Math.sin(z) * s, db.get(0), 1e-14);
    }
}
