package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** gradcheck and gradgradcheck catch wrong rules: a wrong first derivative, and a rule that is not differentiable. */
class GradCheckTest {
    static final Tensor X = Tensor.uniform(21, -2, 2, DType.FLOAT64, 2, 3);

    @Test
    void aWrongFirstDerivativeIsCaught() {
        Primitive badSin = Primitive.define("badSin", 1, (in, a) -> sin(in[0]),
                (g, in, y, a, n) -> new Tensor[] {mul(g, sin(in[0]))});   // should be cos
        var e = assertThrows(GradCheck.Mismatch.class, () -> GradCheck.gradcheck(x -> badSin.call(null, x[0]), X));
        assertTrue(e.getMessage().contains("analytic"));
    }

    @Test
    void aRuleThatCutsTheGraphPassesFirstOrderButFailsSecondOrder() {
        Primitive frozenSin = Primitive.define("frozenSin", 1, (in, a) -> sin(in[0]),
                (g, in, y, a, n) -> new Tensor[] {mul(g, stopGradient(cos(in[0])))});
        Fn f = x -> frozenSin.call(null, x[0]);
        assertDoesNotThrow(() -> GradCheck.gradcheck(f, X));
        assertThrows(GradCheck.Mismatch.class, () -> GradCheck.gradgradcheck(f, X));
    }

    @Test
    void compositesPassBothChecks() {
        Tensor labels = Tensor.fromFunction(DType.FLOAT64, Shape.of(2, 3), i -> i % 3 == 1 ? 1 : 0);
        Fn[] fns = {
                x -> softmax(x[0], -1),
                x -> logSoftmax(x[0], 0),
                x -> mean(square(sub(x[0], 0.5)), 1, true),
                x -> reciprocal(add(square(x[0]), 1.0)),
                x -> transpose(x[0]),
                x -> new org.gradspark.ad.nn.SoftmaxCrossEntropy().call(x[0], labels),
        };
        for (Fn f : fns) {
            GradCheck.gradcheck(f, X);
            GradCheck.gradgradcheck(f, X);
        }
    }
}
