package org.gradspark.ad;

import static org.gradspark.ad.Ops.log;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sqrt;
import static org.gradspark.ad.Ops.sum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Functional.detectAnomaly names the first primitive that turns finite values into a NaN or an infinity. */
class DetectAnomalyTest {
    @Test
    void aForwardOpIsNamed() {
        Tensor x = Tensor.of(new double[] {1.0, 0.0}, 2);
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> Functional.detectAnomaly(() -> sum(log(x))));
        assertEquals("log", e.op());
        assertTrue(e.getMessage().contains("-Infinity at (1,)"), e.getMessage());
        // Without the watch, the same computation just gives -inf.
        assertEquals(Double.NEGATIVE_INFINITY, sum(log(x)).getDouble(0));
    }

    @Test
    void anOpOfADerivativeRuleIsNamed() {
        // sqrt is finite at 0, its derivative 1 / (2 sqrt x) is not: the backward pass produces the infinity.
        Tensor x = Tensor.of(new double[] {4.0, 0.0}, 2);
        Fn f = in -> sum(sqrt(in[0]));
        assertTrue(Double.isFinite(f.apply(x).asTensor().getDouble(0)));
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> Functional.detectAnomaly(() -> Functional.grad(f).apply(x)));
        assertTrue(e.getMessage().contains("Infinity"), e.getMessage());
    }

    @Test
    void aNaNThatCameInIsNotBlamedOnAnOp() {
        Tensor x = Tensor.of(new double[] {1.0, Double.NaN}, 2);
        Tensor y = Functional.detectAnomaly(() -> sum(mul(x, 2.0)));
        assertTrue(Double.isNaN(y.getDouble(0)));
    }

    @Test
    void finiteWorkPassesUnchanged() {
        Tensor x = Tensor.of(new double[] {1.0, 2.0}, 2);
        Fn f = in -> sum(log(in[0]));
        Tensor watched = Functional.detectAnomaly(() -> Functional.grad(f).apply(x).asTensor());
        assertTrue(watched.allClose(Functional.grad(f).apply(x).asTensor(), 0, 0));
    }
}
