package org.gradspark.ad.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.ad.Functional;
import org.gradspark.ad.GradOperation;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.ParameterTuple;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;
import org.junit.jupiter.api.Test;

/**
 * The PINN example: its residual is {@code trace(Hessian of u) + f} at every point (the Hessian by
 * Functional.hessian on each point alone), u vanishes on the boundary, and every weight gets a gradient
 * (reverse over the forward-Laplacian sweep, whose gradcheck is OperatorsTest's).
 */
class PoissonPinnTest {
    private final Tensor points = Tensor.uniform(3, -1, 1, DType.FLOAT32, 6, 2);

    @Test
    void theResidualIsTheTraceOfTheHessianPlusTheSource() {
        PoissonPinnLoss loss = new PoissonPinnLoss();
        PoissonSolution u = new PoissonSolution();   // same seeds: the same u as the loss's
        Tensor r = loss.residual(points);
        assertEquals(Shape.of(6, 1), r.shape());
        Tensor f = PoissonPinnLoss.source(points);
        for (int n = 0; n < 6; n++) {
            Tensor p = Ops.slice(points, new int[] {n, 0}, new int[] {1, 2});
            Tensor h = Functional.hessian(in -> Ops.sum(u.call(in[0])), 0).apply(p).asTensor();   // [1, 2, 1, 2]
            double trace = h.getDouble(0) + h.getDouble(3);
            double expected = trace + f.getDouble(n);
            assertEquals(expected, r.getDouble(n), 2e-4 * Math.max(1, Math.abs(expected)), "point " + n);
            assertEquals(Math.pow(r.getDouble(n), 2), loss.<Tensor>call(points).getDouble(n), 1e-3 * Math.max(1, r.getDouble(n) * r.getDouble(n)));
        }
        Tensor edge = Tensor.wrap(new float[] {1, 0.3f, -0.2f, -1, -1, -1}, Shape.of(3, 2));
        for (int n = 0; n < 3; n++) assertEquals(0, u.<Tensor>call(edge).getDouble(n), 0, "u on the boundary");
    }

    @Test
    void everyWeightGetsAGradientOfItsShape() {
        PoissonPinnLoss loss = new PoissonPinnLoss();
        List<Parameter> params = loss.trainableParams();
        assertEquals(6, params.size());
        TensorTuple g = new GradOperation(false, true, false).apply(new org.gradspark.ad.Cell() {
            @Override public Tensor construct(Tensor... in) { return Ops.mean(loss.call(in[0])); }
        }, new ParameterTuple(params)).call(points);
        for (int k = 0; k < params.size(); k++) {
            Tensor gk = g.leaves().get(k);
            assertEquals(params.get(k).shape(), gk.shape());
            assertTrue(gk.firstNonFinite() < 0 && Ops.sum(Ops.square(gk)).getDouble(0) > 0, "parameter " + k);
        }
    }
}
