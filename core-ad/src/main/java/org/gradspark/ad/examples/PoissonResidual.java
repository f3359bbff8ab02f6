package org.gradspark.ad.examples;

import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;

/**
 * The 2-D Poisson PINN of {@link PoissonPinnLoss} in residual form, for least-squares solvers: rows
 * {@code (x, y)} [N, 2] to the residual {@code r = Δu + f} [N, 1] of a float64 {@link PoissonSolution}.
 * With {@code --loss mse} and labels of zeros the job's objective is {@code mean(r²)}, the PINN loss,
 * and its Gauss-Newton matrix {@code (2/N) J^T J} (J: the residuals by the weights) is the energy
 * natural gradient's (Müller and Zeinhofer, 2023), which {@code fit --optimizer gauss-newton} uses.
 * float64 because the second-order solvers reach errors (1e-6 and below) under float32's resolution.
 */
public class PoissonResidual extends Cell {
    private static final long serialVersionUID = 1L;
    private final PoissonPinnLoss pinn;

    /** The 2-64-64-1 network (4417 weights; the job's {@code --model-class} creates it so). */
    public PoissonResidual() {
        this(64);
    }

    /** The residual of a 2-{@code width}-{@code width}-1 trial solution ({@code width² + 5 width + 1} weights). */
    public PoissonResidual(int width) {
        pinn = new PoissonPinnLoss(DType.FLOAT64, width);
    }

    @Override public int inputCount() { return 1; }

    /** The trial solution u at the rows, [N, 1] (to compare with {@code sin(πx) sin(πy)}). */
    public Tensor solution(Tensor points) {
        return pinn.solution().call(points);
    }

    @Override public Tensor construct(Tensor... in) {
        return pinn.residual(in[0]);
    }
}
