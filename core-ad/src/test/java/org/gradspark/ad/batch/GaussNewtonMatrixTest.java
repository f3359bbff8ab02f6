package org.gradspark.ad.batch;

import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Functional;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.ParameterTuple;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.examples.PoissonResidual;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.PerExampleMSELoss;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;

/**
 * The dense Gauss-Newton matrix against an explicit {@code J^T H J}: J column by column from forward-mode
 * products of the whole chunk along each unit weight direction ({@link Functional#jvp} over the weights:
 * jacfwd in weight space), H the Hessian of the chunk's weighted loss in its outputs ({@link Functional#hessian}).
 */
class GaussNewtonMatrixTest {

    @Test
    void anMlpWithMseEqualsJTransposeHJ() {
        Cell net = new Sequential(new Dense(3, 4, DType.FLOAT64, 1), Activation.tanh(), new Dense(4, 2, DType.FLOAT64, 2));
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT64, 6, 3), y = Tensor.uniform(4, -1, 1, DType.FLOAT64, 6, 2);
        Tensor s = Tensor.uniform(5, 0, 2, DType.FLOAT64, 6);
        agree(net, x, y, s, null, 0.25);
    }

    @Test
    void aRowLeftOutAddsNothing() {
        Cell net = new Sequential(new Dense(2, 3, DType.FLOAT64, 7), Activation.tanh(), new Dense(3, 1, DType.FLOAT64, 8));
        Tensor x = Tensor.uniform(9, -1, 1, DType.FLOAT64, 5, 2), y = Tensor.zeros(DType.FLOAT64, 5, 1);
        boolean[] skip = {false, true, false, false, true};
        agree(net, x, y, null, skip, 1.0);
    }

    @Test
    void thePoissonResidualCellEqualsTwoOverNJTransposeJ() {
        Cell residual = new PoissonResidual(3);
        Tensor x = Tensor.uniform(41, -1, 1, DType.FLOAT64, 5, 2), y = Tensor.zeros(DType.FLOAT64, 5, 1);
        agree(residual, x, y, null, null, 1.0 / 5);
    }

    /** Ours against J^T H J, entry by entry, relative to the largest entry: 1e-10. */
    private static void agree(Cell net, Tensor x, Tensor y, Tensor s, boolean[] skip, double scale) {
        List<Parameter> params = net.trainableParams();
        int p = GaussNewtonMatrix.size(params), rows = x.shape().dim(0);
        double[] ours = new double[p * p];
        GaussNewtonMatrix.accumulate(ours, net, params, x, s, skip, scale);

        Tensor z = net.call(x);
        int outputs = z.size();
        double[][] jacobian = new double[p][];   // column k: d z / d w_k, all rows' outputs
        for (int k = 0; k < p; k++) jacobian[k] = Functional.jvp(in -> net.call(in[0]), new Tensor[] {x}, new ParameterTuple(params), unit(params, k))
                .tensor(1).toDoubleArray();
        double[] weights = new double[rows];
        for (int n = 0; n < rows; n++) weights[n] = (skip != null && skip[n] ? 0 : 1) * (s == null ? 1 : s.getDouble(n)) * scale;
        Tensor w = Tensor.of(weights, rows);
        Tensor h = Functional.hessian(in -> sum(mul(new PerExampleMSELoss().call(in[0], y), w)), 0).apply(z).asTensor();
        double[] hz = h.toDoubleArray();
        double largest = 0;
        double[] explicit = new double[p * p];
        for (int a = 0; a < p; a++) {
            for (int b = 0; b < p; b++) {
                double e = 0;
                for (int i = 0; i < outputs; i++) for (int j = 0; j < outputs; j++) e += jacobian[a][i] * hz[i * outputs + j] * jacobian[b][j];
                explicit[a * p + b] = e;
                largest = Math.max(largest, Math.abs(e));
            }
        }
        assertTrue(largest > 0, "a non-zero matrix");
        for (int i = 0; i < p * p; i++) assertEquals(explicit[i], ours[i], 1e-10 * largest, "entry (" + i / p + ", " + i % p + ") of " + p + " x " + p);
    }

    /** The unit direction of flat weight k, one tensor per parameter. */
    private static Tensor[] unit(List<Parameter> params, int k) {
        Tensor[] t = new Tensor[params.size()];
        int at = 0;
        for (int i = 0; i < t.length; i++) {
            int size = params.get(i).size(), offset = k - at;
            t[i] = Tensor.fromFunction(DType.FLOAT64, params.get(i).shape(), j -> j == offset ? 1 : 0);
            at += size;
        }
        return t;
    }

    @Test
    void aMatrixOfTheWrongSizeIsRefused() {
        Cell net = new Sequential(new Dense(2, 1, DType.FLOAT64, 1));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> GaussNewtonMatrix.accumulate(new double[4], net, net.trainableParams(), Tensor.zeros(DType.FLOAT64, 1, 2), null, null, 1));
        assertTrue(e.getMessage().contains("3 weights need 9 values"), e.getMessage());
        assertEquals(3, GaussNewtonMatrix.size(net.trainableParams()));
    }
}
