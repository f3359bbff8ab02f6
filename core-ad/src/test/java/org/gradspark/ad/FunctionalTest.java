package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** vjp, jvp, jacrev, jacfwd against closed forms for f(x) = A tanh(x) (J = A diag(1 - tanh^2 x)). */
class FunctionalTest {
    static final Tensor A = Tensor.uniform(11, -1, 1, DType.FLOAT64, 2, 3);
    static final Tensor X = Tensor.uniform(12, -1, 1, DType.FLOAT64, 3);
    static final Fn F = x -> reshape(matMul(A, reshape(tanh(x[0]), 3, 1)), 2);

    /** The exact Jacobian, [2, 3]. */
    static Tensor jacobian() {
        return mul(A, rsub(1, square(tanh(X))));
    }

    private static void close(Tensor expected, Tensor actual) {
        assertTrue(actual.allClose(expected, 1e-12, 1e-13), "expected " + expected + " got " + actual);
    }

    @Test
    void jacrevAndJacfwdGiveTheJacobian() {
        close(jacobian(), Functional.jacrev(F, 0).apply(X).asTensor());
        close(jacobian(), Functional.jacfwd(F, 0).apply(X).asTensor());
    }

    @Test
    void vjpIsTheTransposedJacobianTimesTheCotangent() {
        Tensor u = Tensor.of(new double[] {0.3, -1.2});
        Functional.Vjp v = Functional.vjp(F, X);
        close(F.apply(X).asTensor(), v.output().asTensor());
        Tensor expected = reshape(matMul(jacobian(), reshape(u, 2, 1), true, false), 3);
        close(expected, v.pullback(u).tensor(0));
        // The pullback can be applied again with another cotangent.
        close(reshape(matMul(jacobian(), reshape(mul(u, 2.0), 2, 1), true, false), 3), v.pullback(mul(u, 2.0)).tensor(0));
    }

    @Test
    void jvpIsTheJacobianTimesTheTangent() {
        Tensor t = Tensor.of(new double[] {0.5, 0.1, -0.7});
        TensorTuple r = Functional.jvp(F, new Tensor[] {X}, new Tensor[] {t});
        close(F.apply(X).asTensor(), r.tensor(0));
        close(reshape(matMul(jacobian(), reshape(t, 3, 1)), 2), r.tensor(1));
    }

    @Test
    void jvpOfATwoInputFunction() {
        // f(x, y) = x * sin(y): df = sin(y) dx + x cos(y) dy
        Tensor x = Tensor.of(new double[] {0.2, 1.5}), y = Tensor.of(new double[] {-0.4, 0.9});
        Tensor dx = Tensor.of(new double[] {1, 2}), dy = Tensor.of(new double[] {-1, 0.5});
        TensorTuple r = Functional.jvp(a -> mul(a[0], sin(a[1])), new Tensor[] {x, y}, new Tensor[] {dx, dy});
        close(add(mul(sin(y), dx), mul(mul(x, cos(y)), dy)), r.tensor(1));
    }

    @Test
    void jacobiansNestIntoHessiansOfClosedForm() {
        // f(x) = sum(x^3)/3 + x0 x1: H = diag(2x) + [[0,1],[1,0]] (for the first two coordinates).
        Fn f = a -> add(div(sum(pow(a[0], 3.0)), 3.0), mul(slice(a[0], new int[] {0}, new int[] {1}), slice(a[0], new int[] {1}, new int[] {1})));
        Tensor x = Tensor.of(new double[] {0.5, -1.5, 2.0});
        Tensor h = Functional.hessian(f, 0).apply(x).asTensor();
        assertEquals(Shape.of(1, 3, 3), h.shape());
        double[][] expected = {{1.0, 1, 0}, {1, -3.0, 0}, {0, 0, 4.0}};
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) assertEquals(expected[i][j], h.get(0, i, j), 1e-12);
    }

    @Test
    void jvpBatchIsOneJvpPerDirection() {
        Tensor dirs = Tensor.uniform(14, -1, 1, DType.FLOAT64, 4, 3);
        TensorTuple r = Functional.jvpBatch(F, new Tensor[] {X}, new Tensor[] {dirs});
        close(F.apply(X).asTensor(), r.tensor(0));
        assertEquals(Shape.of(4, 2), r.tensor(1).shape());
        for (int k = 0; k < 4; k++) {
            Tensor t = reshape(slice(dirs, new int[] {k, 0}, new int[] {1, 3}), 3);
            close(Functional.jvp(F, new Tensor[] {X}, new Tensor[] {t}).tensor(1), reshape(slice(r.tensor(1), new int[] {k, 0}, new int[] {1, 2}), 2));
        }
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Functional.jvpBatch(F, new Tensor[] {X}, new Tensor[] {X}));
        assertTrue(e.getMessage().contains("[k] ++"), e.getMessage());
    }

    @Test
    void hvpIsTheHessianTimesTheVector() {
        // f(x, y) = sum(x^2 y) + sum(sin x): H v by forward over reverse, against the Hessian's blocks.
        Fn f = a -> add(sum(mul(square(a[0]), a[1])), sum(sin(a[0])));
        Tensor x = Tensor.of(new double[] {0.4, -1.2, 2.0}), y = Tensor.of(new double[] {1.5, 0.3, -0.8});
        Tensor vx = Tensor.of(new double[] {1, -2, 0.5}), vy = Tensor.of(new double[] {0.3, 0.1, -1});
        TensorTuple hv = Functional.hvp(f, new Tensor[] {x, y}, new Tensor[] {vx, vy});
        TensorTuple h = Functional.hessian(f, new int[] {0, 1}, false).apply(x, y).asTuple();
        for (int i = 0; i < 2; i++) {
            Tensor a = h.get(i).asTuple().tensor(0), b = h.get(i).asTuple().tensor(1);
            close(add(matMul(a, vx), matMul(b, vy)), hv.tensor(i));
        }
    }

    @Test
    void valueAndGradReturnsBoth() {
        Fn f = a -> sum(square(a[0]));
        TensorTuple vg = Functional.valueAndGrad(f, new int[] {0}, null, false).apply(X).asTuple();
        close(sum(square(X)), vg.tensor(0));
        close(mul(X, 2.0), vg.tensor(1));
        assertTrue(!vg.tensor(0).isTracked());
    }

    @Test
    void gradOfALossThroughSoftmaxCrossEntropyIsSoftmaxMinusLabels() {
        Tensor logits = Tensor.uniform(13, -2, 2, DType.FLOAT64, 4, 5);
        Tensor labels = Tensor.fromFunction(DType.FLOAT64, Shape.of(4, 5), i -> i % 5 == (i / 5) % 5 ? 1 : 0);
        Fn loss = a -> sum(new org.gradspark.ad.nn.SoftmaxCrossEntropy().<Tensor>call(a[0], labels));
        close(sub(softmax(logits, -1), labels), Functional.grad(loss).apply(logits).asTensor());
    }
}
