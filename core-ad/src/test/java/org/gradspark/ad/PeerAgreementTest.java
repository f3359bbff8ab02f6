package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Cases where MindSpore, JAX and PyTorch agree (issue 16), ported from their public test suites.
 * The search tool was not available when these were written: each port is from our knowledge of the
 * named peer test, with the peer's numbers where it states them and closed forms otherwise.
 */
class PeerAgreementTest {

    private static void close(Tensor expected, Value actual) {
        Tensor a = actual.asTensor();
        assertTrue(a.allClose(expected, 1e-12, 1e-12), "expected " + expected + " got " + a);
    }

    private static Tensor d(double... v) {
        return Tensor.of(v);
    }

    // ------------------------------------------------------------ item 1: argnums order

    /** f(x, y, z) = sin(x) * y^2 + z^3 (elementwise, summed). */
    static final Fn F3 = a -> sum(add(mul(sin(a[0]), square(a[1])), pow(a[2], 3.0)));
    static final Tensor X = d(0.3, -1.1), Y = d(2.0, 0.5), Z = d(-0.7, 1.3);

    /** jax tests/api_test.py APITest.test_grad_argnums: grad(f, argnums=(2, 0)) is (df/dz, df/dx). */
    @Test
    void gradPositionsComeBackInTheOrderAsked() {
        Tensor dx = mul(cos(X), square(Y)), dy = mul(mul(sin(X), Y), 2.0), dz = mul(square(Z), 3.0);
        TensorTuple g = Functional.grad(F3, 2, 0).apply(X, Y, Z).asTuple();
        assertEquals(2, g.size());
        close(dz, g.get(0));
        close(dx, g.get(1));
        TensorTuple g3 = Functional.grad(F3, 1, 2, 0).apply(X, Y, Z).asTuple();
        close(dy, g3.get(0));
        close(dz, g3.get(1));
        close(dx, g3.get(2));
    }

    /** jax APITest.test_value_and_grad_argnums: the same order through valueAndGrad. */
    @Test
    void valueAndGradPositionsComeBackInTheOrderAsked() {
        TensorTuple vg = Functional.valueAndGrad(F3, new int[] {2, 0}, null, false).apply(X, Y, Z).asTuple();
        close(F3.apply(X, Y, Z).asTensor(), vg.get(0));
        close(mul(square(Z), 3.0), vg.get(1).asTuple().get(0));
        close(mul(cos(X), square(Y)), vg.get(1).asTuple().get(1));
    }

    /** JAX accepts a repeated argnum and returns the same gradient at each place asked. */
    @Test
    void aRepeatedPositionGivesItsGradientTwice() {
        TensorTuple g = Functional.grad(F3, 0, 0).apply(X, Y, Z).asTuple();
        assertEquals(2, g.size());
        close(mul(cos(X), square(Y)), g.get(0));
        close(mul(cos(X), square(Y)), g.get(1));
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.grad(F3, 3).apply(X, Y, Z));
        assertTrue(e.getMessage().contains("position 3"), e.getMessage());
    }

    // ------------------------------------------------------------ item 5: pow at zero

    /** The k-th derivative of x -> x^n (n a constant exponent), by nesting Functional.grad. */
    private static Tensor nthDerivativeOfPower(double n, int k, Tensor x) {
        Fn f = a -> pow(a[0], n);
        for (int i = 0; i < k; i++) f = Functional.grad(f);
        return f.apply(x).asTensor();
    }

    private static double fallingFactorialPower(double n, int k, double x) {
        double c = 1;
        for (int i = 0; i < k; i++) c *= n - i;
        return c == 0 ? 0 : c * Math.pow(x, n - k);
    }

    /**
     * jax tests/lax_autodiff_test.py testPowIntPowerAtZero (d(x^0)/dx at 0 is 0, not 0 * 0^-1), and
     * the orders above it for x^0..x^3 at 0 (JAX's integer_pow and PyTorch agree: finite, the
     * falling-factorial values), with negative bases and integer exponents beside it.
     */
    @Test
    void integerPowersHaveFiniteDerivativesAtZeroToEveryOrder() {
        Tensor zero = d(0.0);
        for (int n = 0; n <= 3; n++) {
            for (int k = 1; k <= 4; k++) {
                double expected = fallingFactorialPower(n, k, 0.0);
                assertEquals(expected, nthDerivativeOfPower(n, k, zero).item(), 0.0, "d^" + k + "/dx^" + k + " x^" + n + " at 0");
            }
        }
        Tensor neg = d(-2.0, -0.5);
        for (int n = 1; n <= 3; n++) {
            for (int k = 1; k <= 3; k++) {
                Tensor g = nthDerivativeOfPower(n, k, neg);
                for (int i = 0; i < 2; i++) {
                    assertEquals(fallingFactorialPower(n, k, neg.getDouble(i)), g.getDouble(i), 1e-12, "d^" + k + " x^" + n + " at " + neg.getDouble(i));
                }
            }
        }
    }

    /** pytorch test/test_autograd.py test_pow_zero_tensor_gradient: zeros to a tensor of zero exponents. */
    @Test
    void zeroToTheZeroHasZeroGradientInBothArguments() {
        Tensor x = Tensor.zeros(DType.FLOAT64, 10), e = Tensor.zeros(DType.FLOAT64, 10);
        TensorTuple g = Functional.grad(a -> sum(pow(a[0], a[1])), 0, 1).apply(x, e).asTuple();
        close(Tensor.zeros(DType.FLOAT64, 10), g.get(0));
        close(Tensor.zeros(DType.FLOAT64, 10), g.get(1));
        // 0^2: d/db = 0^2 log 0 is 0 in JAX (log of the zero base replaced) and PyTorch (masked).
        Tensor db = Functional.grad(a -> sum(pow(a[0], a[1])), 1).apply(d(0.0), d(2.0)).asTensor();
        assertEquals(0.0, db.item(), 0.0);
    }

    // ------------------------------------------------------------ item 6: dtypes of tangents and cotangents

    private static void oneLineNaming(RuntimeException e, String... words) {
        String m = e.getMessage();
        assertTrue(!m.contains("\n"), "one line: " + m);
        for (String w : words) assertTrue(m.contains(w), "'" + w + "' missing from: " + m);
    }

    /**
     * jax APITest.test_jvp_mismatched_arguments ("primal and tangent arguments to jax.jvp do not
     * match"): a float32 tangent for a float64 primal is refused, not computed in float32.
     */
    @Test
    void aTangentOfAnotherDtypeThanItsPrimalIsRefused() {
        Tensor x64 = d(0.5, 1.5), t32 = Tensor.of(new float[] {1f, 1f});
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.jvp(a -> sin(a[0]), new Tensor[] {x64}, new Tensor[] {t32}));
        oneLineNaming(e, "jvp", "tangent 0", "float32", "float64");
    }

    /** The same for vjp's cotangents and GradOperation's sens (jax test_vjp_mismatched_arguments). */
    @Test
    void aCotangentOrSensOfAnotherDtypeThanItsOutputIsRefused() {
        Tensor x64 = d(0.5, 1.5), c32 = Tensor.of(new float[] {1f, 1f});
        var v = assertThrows(IllegalArgumentException.class, () -> Functional.vjp(a -> sin(a[0]), x64).pullback(c32));
        oneLineNaming(v, "vjp", "cotangent", "float32", "float64");
        Cell net = new Cell() {
            @Override public Tensor construct(Tensor... in) { return sin(in[0]); }
        };
        var s = assertThrows(IllegalArgumentException.class, () -> new GradOperation(false, false, true).apply(net).call(x64, c32));
        oneLineNaming(s, "sens", "float32", "float64");
    }

    // ------------------------------------------------------------ item 2: an input or a parameter as an output

    /** Returns (x * w, w, x): the parameter and the input are outputs themselves. */
    static final class OutputsItsWeight extends Cell {
        final Parameter w = new Parameter(Tensor.of(new float[] {2f, 5f}), "w");
        final boolean alsoInput;

        OutputsItsWeight(boolean alsoInput) { this.alsoInput = alsoInput; }

        @Override public int inputCount() { return 1; }

        @Override public Value construct(Tensor... in) {
            Tensor out = mul(in[0], w);
            return alsoInput ? TensorTuple.of(out, w, in[0]) : TensorTuple.of(out, w);
        }
    }

    /**
     * mindspore tests/st/gradient/test_grad_pynative.py, the case whose output contains an input and
     * a parameter: d(sum of outputs)/dw = x + 1 ([4, 7] for x = [3, 6]), d/dx = w + 1 when x is an output.
     */
    @Test
    void aParameterOrInputThatIsAlsoAnOutputKeepsThatOutputsShare() {
        Tensor x = Tensor.of(new float[] {3f, 6f});
        OutputsItsWeight net = new OutputsItsWeight(false);
        ParameterTuple w = new ParameterTuple(net.trainableParams());
        TensorTuple dw = new GradOperation(false, true, false).apply(net, w).call(x);
        close(Tensor.of(new float[] {4f, 7f}), dw.get(0));
        TensorTuple dw2 = Functional.grad(net, new int[0], w, false).apply(x).asTuple();
        close(Tensor.of(new float[] {4f, 7f}), dw2.get(0));

        OutputsItsWeight both = new OutputsItsWeight(true);
        TensorTuple all = new GradOperation(true, true, false).apply(both, new ParameterTuple(both.trainableParams())).call(x);
        close(Tensor.of(new float[] {3f, 6f}), all.get(0).asTuple().get(0));   // w + 1
        close(Tensor.of(new float[] {4f, 7f}), all.get(1).asTuple().get(0));   // x + 1
        // With sens: d/dw = s0 x + s1, d/dx = s0 w + s2.
        Tensor s0 = Tensor.of(new float[] {1f, 2f}), s1 = Tensor.of(new float[] {10f, 20f}), s2 = Tensor.of(new float[] {-1f, 1f});
        TensorTuple withSens = new GradOperation(true, true, true).apply(both, new ParameterTuple(both.trainableParams())).call(x, s0, s1, s2);
        close(Tensor.of(new float[] {1f, 11f}), withSens.get(0).asTuple().get(0));
        close(Tensor.of(new float[] {13f, 32f}), withSens.get(1).asTuple().get(0));
    }

    // ------------------------------------------------------------ items 3 and 4: aux

    /**
     * jax APITest.test_grad_and_aux_nested: aux is excluded from this gradient only, so an enclosing
     * gradient differentiates it: d/dx of aux[0] = x^3 is 3x^2 = 48 at 4; of aux[0] sin x, 3x^2 sin x + x^3 cos x.
     */
    @Test
    void auxIsDifferentiableByAnEnclosingGradient() {
        Fn inner = a -> TensorTuple.of(pow(a[0], 3.0), TensorTuple.of(pow(a[0], 3.0)));
        Fn f = a -> Functional.grad(inner, new int[] {0}, null, true).apply(a).asTuple().get(1).asTuple().tensor(0);
        Tensor four = d(4.0);
        assertEquals(48.0, Functional.grad(f).apply(four).asTensor().item(), 1e-12);

        Fn f2 = a -> mul(Functional.grad(inner, new int[] {0}, null, true).apply(a).asTuple().get(1).asTuple().tensor(0), sin(a[0]));
        double x = 4.0, expected = 3 * x * x * Math.sin(x) + x * x * x * Math.cos(x);
        assertEquals(expected, Functional.grad(f2).apply(four).asTensor().item(), 1e-12);
        // And through valueAndGrad's value: (out, aux) both carry the enclosing graph.
        Fn f3 = a -> Functional.valueAndGrad(inner, new int[] {0}, null, true).apply(a).asTuple().get(0).asTuple().get(1).asTuple().tensor(0);
        assertEquals(48.0, Functional.grad(f3).apply(four).asTensor().item(), 1e-12);
        // At top level aux comes back as a constant.
        TensorTuple r = Functional.grad(inner, new int[] {0}, null, true).apply(four).asTuple();
        assertTrue(!r.get(1).asTuple().tensor(0).isTracked());
    }

    /** mindspore tests/st/gradient/test_grad_pynative.py test_grad_weights_has_aux: (res, x, w) with two aux outputs. */
    static final class ParamNet extends Cell {
        final Parameter w = new Parameter(Tensor.of(new float[] {2f, 2f}), "w");
        final Parameter z = new Parameter(Tensor.of(new float[] {3f, 3f}), "z");

        @Override public Value construct(Tensor... in) {
            Tensor res = mul(mul(in[0], w), z);
            return TensorTuple.of(res, in[0], w);
        }
    }

    @Test
    void hasAuxTakesEveryOutputAfterTheFirstAsMindSporeDoes() {
        Tensor x = Tensor.of(new float[] {1f, 2f});
        ParamNet net = new ParamNet();
        ParameterTuple weights = new ParameterTuple(net.trainableParams());
        TensorTuple r = Functional.grad(net, new int[] {0}, weights, true).apply(x).asTuple();
        TensorTuple grads = r.get(0).asTuple(), aux = r.get(1).asTuple();
        close(Tensor.of(new float[] {6f, 6f}), grads.get(0));
        close(Tensor.of(new float[] {3f, 6f}), grads.get(1).asTuple().get(0));   // aux's w adds nothing
        close(Tensor.of(new float[] {2f, 4f}), grads.get(1).asTuple().get(1));
        assertEquals(2, aux.size());
        close(Tensor.of(new float[] {1f, 2f}), aux.get(0));
        close(Tensor.of(new float[] {2f, 2f}), aux.get(1));
        // valueAndGrad's value is the whole output, as MindSpore's value_and_grad returns it.
        TensorTuple vg = Functional.valueAndGrad(net, new int[] {0}, weights, true).apply(x).asTuple();
        assertEquals(3, vg.get(0).asTuple().size());
        close(Tensor.of(new float[] {6f, 12f}), vg.get(0).asTuple().get(0));
        var e = assertThrows(IllegalArgumentException.class, () -> Functional.grad(a -> sin(a[0]), new int[] {0}, null, true).apply(x));
        assertTrue(e.getMessage().contains("hasAux"), e.getMessage());
    }

    // ------------------------------------------------------------ item 7: tuple outputs and several positions in jacobians

    /** f(x, y) = (x * y, sin(x) + y^2): Jacobians diagonal. */
    static final Fn TWO_OUT = a -> TensorTuple.of(mul(a[0], a[1]), add(sin(a[0]), square(a[1])));
    static final Tensor JX = d(0.4, -1.2, 2.0), JY = d(1.5, 0.3, -0.8);

    private static Tensor diag(Tensor v) {
        int n = v.size();
        return Tensor.fromFunction(v.dtype(), Shape.of(n, n), i -> i / n == i % n ? v.getDouble(i / n) : 0.0);
    }

    /**
     * mindspore tests/st/gradient/test_jacrev_pynative.py and test_jacfwd_pynative.py (multiple
     * outputs, multiple positions) and JAX's jacrev/jacfwd with tuple argnums: one Jacobian per
     * output, each a tuple over the positions asked, in that order.
     */
    @Test
    void jacobiansOfATupleOutputWithSeveralPositions() {
        Tensor d0x = diag(JY), d0y = diag(JX), d1x = diag(cos(JX)), d1y = diag(mul(JY, 2.0));
        for (boolean forward : new boolean[] {false, true}) {
            Fn jac = forward ? Functional.jacfwd(TWO_OUT, new int[] {1, 0}, false) : Functional.jacrev(TWO_OUT, new int[] {1, 0}, false);
            TensorTuple j = jac.apply(JX, JY).asTuple();
            assertEquals(2, j.size());
            close(d0y, j.get(0).asTuple().get(0));
            close(d0x, j.get(0).asTuple().get(1));
            close(d1y, j.get(1).asTuple().get(0));
            close(d1x, j.get(1).asTuple().get(1));
            // One position: one Jacobian per output.
            TensorTuple one = (forward ? Functional.jacfwd(TWO_OUT, 0) : Functional.jacrev(TWO_OUT, 0)).apply(JX, JY).asTuple();
            close(d0x, one.get(0));
            close(d1x, one.get(1));
        }
    }

    /** JAX's hessian with argnums=(0, 1): the blocks ((H_xx, H_xy), (H_yx, H_yy)) of f(x, y) = sum(x^2 y). */
    @Test
    void hessianBlocksForSeveralPositions() {
        Fn f = a -> sum(mul(square(a[0]), a[1]));
        TensorTuple h = Functional.hessian(f, new int[] {0, 1}, false).apply(JX, JY).asTuple();
        close(diag(mul(JY, 2.0)), h.get(0).asTuple().get(0));
        close(diag(mul(JX, 2.0)), h.get(0).asTuple().get(1));
        close(diag(mul(JX, 2.0)), h.get(1).asTuple().get(0));
        close(Tensor.zeros(DType.FLOAT64, 3, 3), h.get(1).asTuple().get(1));
    }

    // ------------------------------------------------------------ item 4: hasAux on every transform

    /** f(x) = (x^2, aux): JAX's jacrev/jacfwd/hessian/vjp/jvp(has_aux=True), MindSpore's jacrev/jacfwd/vjp/jvp(has_aux=True). */
    static final Fn WITH_AUX = a -> TensorTuple.of(square(a[0]), cos(a[0]));

    @Test
    void everyTransformTakesHasAux() {
        Tensor aux = cos(JX);
        TensorTuple jr = Functional.jacrev(WITH_AUX, new int[] {0}, true).apply(JX).asTuple();
        close(diag(mul(JX, 2.0)), jr.get(0));
        close(aux, jr.get(1));
        TensorTuple jf = Functional.jacfwd(WITH_AUX, new int[] {0}, true).apply(JX).asTuple();
        close(diag(mul(JX, 2.0)), jf.get(0));
        close(aux, jf.get(1));
        Fn scalarWithAux = a -> TensorTuple.of(sum(pow(a[0], 3.0)), cos(a[0]));
        TensorTuple h = Functional.hessian(scalarWithAux, new int[] {0}, true).apply(JX).asTuple();
        close(diag(mul(JX, 6.0)), h.get(0));
        close(aux, h.get(1));

        Functional.Vjp v = Functional.vjp(WITH_AUX, new Tensor[] {JX}, true);
        close(square(JX), v.output());
        close(aux, v.aux());
        close(mul(mul(JX, 2.0), JY), v.pullback(JY).get(0));

        TensorTuple jv = Functional.jvp(WITH_AUX, new Tensor[] {JX}, new Tensor[] {JY}, true);
        assertEquals(3, jv.size());
        close(square(JX), jv.get(0));
        close(mul(mul(JX, 2.0), JY), jv.get(1));
        close(aux, jv.get(2));
    }

    // ------------------------------------------------------------ item 8: linearize, tuple sens, matrix @ vector, captured parameters

    /** jax APITest.test_linearize: linearize(f, x) gives f(x) and the same J t as jvp, for several t. */
    @Test
    void linearizeAgreesWithJvp() {
        Fn f = a -> sin(cos(a[0]));
        Tensor x = d(3.0, -0.5);
        Functional.Linearized lin = Functional.linearize(f, x);
        close(f.apply(x).asTensor(), lin.output());
        for (Tensor t : new Tensor[] {d(1.0, 0.0), d(2.0, -3.0)}) {
            close(Functional.jvp(f, new Tensor[] {x}, new Tensor[] {t}).tensor(1), lin.apply(t));
            close(mul(mul(cos(cos(x)), neg(sin(x))), t), lin.apply(t));
        }
        TensorTuple two = Functional.linearize(TWO_OUT, JX, JY).apply(JY, JX).asTuple();
        close(add(mul(JY, JY), mul(JX, JX)), two.get(0));
    }

    /**
     * mindspore GradOperation(sens_param=True) on a tuple output takes the sens as one tuple
     * argument, {@code grad(net)(x, y, (s1, s2))}; the trailing tensors form stays.
     */
    @Test
    void aTupleSensForATupleOutputIsOneArgument() {
        Cell net = new Cell() {
            @Override public Value construct(Tensor... in) { return TensorTuple.of(mul(in[0], in[1]), sin(in[0])); }
        };
        Tensor s1 = d(1.0, 2.0, 3.0), s2 = d(-1.0, 0.5, 2.0);
        Cell g = new GradOperation(false, false, true).apply(net);
        Tensor expected = add(mul(s1, JY), mul(s2, cos(JX)));
        close(expected, g.call(JX, JY, TensorTuple.of(s1, s2)));
        Functional.Vjp v = Functional.vjp(TWO_OUT, JX, JY);
        close(v.pullback(s1, s2).tensor(0), v.pullback(TensorTuple.of(s1, s2)).get(0));
        var e = assertThrows(IllegalArgumentException.class, () -> net.call(JX, TensorTuple.of(s1, s2)));
        assertTrue(e.getMessage().contains("tuple"), e.getMessage());
    }

    /** NumPy's matmul with a 1-D operand (numpy test_multiarray TestMatmul vector cases): [m,k]@[k] -> [m], [k]@[k,n] -> [n], [k]@[k] -> (). */
    @Test
    void matMulOfAMatrixAndAVector() {
        Tensor a = Tensor.of(new double[][] {{1, 2, 3}, {4, 5, 6}}), v3 = d(1, 0, -1), v2 = d(2, -1);
        close(d(-2, -2), matMul(a, v3));
        close(d(-2, -1, 0), matMul(v2, a));
        assertEquals(Shape.SCALAR, matMul(v3, v3).shape());
        assertEquals(2.0, matMul(v3, v3).item(), 0.0);
        Tensor batch = Tensor.uniform(5, -1, 1, DType.FLOAT64, 4, 2, 3);
        assertEquals(Shape.of(4, 2), matMul(batch, v3).shape());
        // Differentiable: d/dv sum(A v) = A^T 1, d/dA = 1 v^T.
        TensorTuple g = Functional.grad(x -> sum(matMul(x[0], x[1])), 0, 1).apply(a, v3).asTuple();
        close(Tensor.of(new double[][] {{1, 0, -1}, {1, 0, -1}}), g.get(0));
        close(d(5, 7, 9), g.get(1));
    }

    /** PyTorch's nn.Module and MindSpore's Cell find parameters however they are held; here, captured by a lambda or an anonymous cell. */
    static final class HoldsALambda extends Cell {
        final Fn scale;

        HoldsALambda(Parameter w) { this.scale = a -> mul(a[0], w); }

        @Override public Value construct(Tensor... in) { return scale.apply(in); }
    }

    @Test
    void parametersCapturedByALambdaOrAnAnonymousCellAreFound() {
        Parameter w = new Parameter(d(2.0, 3.0), "w");
        Cell anonymous = new Cell() {
            @Override public Value construct(Tensor... in) { return mul(in[0], w); }
        };
        Cell holder = new HoldsALambda(w);
        for (Cell net : new Cell[] {anonymous, holder}) {
            assertEquals(java.util.List.of(w), net.trainableParams(), net.describe());
            TensorTuple dw = new GradOperation(false, true, false).apply(net, new ParameterTuple(net.trainableParams())).call(d(0.4, -1.2));
            close(d(0.4, -1.2), dw.get(0));
        }
        // A bare Fn has no parameter list: its captured parameter, passed as weights, is differentiated.
        TensorTuple dw = Functional.grad(a -> sum(mul(a[0], w)), new int[0], ParameterTuple.of(w), false).apply(d(0.4, -1.2)).asTuple();
        close(d(0.4, -1.2), dw.get(0));
    }
}
