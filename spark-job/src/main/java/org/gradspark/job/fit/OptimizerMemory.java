package org.gradspark.job.fit;

import java.util.ArrayList;
import java.util.List;
import org.gradspark.job.exec.HeapEstimate;

/**
 * What a fit holds on the driver beyond one evaluation's {@link HeapEstimate} (P weights of i bytes, all vectors
 * float64 as the optimisers keep them):
 * <ul>
 *   <li>every optimiser: the position x, the evaluation's flattened gradient, and {@link DriverObjective}'s cached x
 *       and gradient, 4·P·8; the weights of each evaluation built from x beside the initial ones, P·i;</li>
 *   <li>L-BFGS: Breeze's m (s, y) pairs, 2·m·P·8, and its state's gradient, adjusted gradient, direction and line
 *       search point and gradient, 5·P·8;</li>
 *   <li>Adam: the moments m and v and the step, 3·P·8; SGD: the step, P·8; DP-SGD: its noise too, P·8;</li>
 *   <li>Gauss-Newton and Newton-CG: conjugate gradients' p, A·p, r, d and the trial point, 5·P·8, and each curvature
 *       product's vector as weights, broadcast with its blocks, 3·P·i; {@code --solve dense}: the n partitions' P×P
 *       float64 matrices collected, their sum, its symmetrised copy, the damped copy and the Cholesky factor's,
 *       (n + 4)·P²·8.</li>
 * </ul>
 */
public final class OptimizerMemory {
    private OptimizerMemory() {}

    /** The terms of {@code s}'s optimiser for {@code weights} values of {@code itemBytes} over {@code partitions} partitions. */
    public static List<HeapEstimate.Term> terms(FitSettings s, int partitions, long weights, int itemBytes) {
        double p = weights, v = p * 8;
        List<HeapEstimate.Term> t = new ArrayList<>();
        t.add(new HeapEstimate.Term("the fit's x, gradient, cached x and gradient", 4 * v));
        t.add(new HeapEstimate.Term("the weights evaluated", p * itemBytes));
        switch (s.optimizer()) {
            case LBFGS -> t.add(new HeapEstimate.Term("L-BFGS's " + s.lbfgsMemory() + " (s, y) pairs and its state", (2.0 * s.lbfgsMemory() + 5) * v));
            case ADAM -> t.add(new HeapEstimate.Term("Adam's moments and step", 3 * v));
            case SGD -> t.add(new HeapEstimate.Term(s.dp() != null ? "DP-SGD's step and noise" : "SGD's step", (s.dp() != null ? 2 : 1) * v));
            case GAUSS_NEWTON, NEWTON_CG -> {
                t.add(new HeapEstimate.Term("conjugate gradients' vectors", 5 * v));
                t.add(new HeapEstimate.Term("the curvature product's vector and its blocks", 3 * p * itemBytes));
                if (s.secondOrder().solve() == FitSettings.Solve.DENSE) {
                    t.add(new HeapEstimate.Term("the dense Gauss-Newton matrices (" + partitions + " partitions' and 4 of the solve)", (partitions + 4.0) * p * p * 8));
                }
            }
        }
        return t;
    }
}
