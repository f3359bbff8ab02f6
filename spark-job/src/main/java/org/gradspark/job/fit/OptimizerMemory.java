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
 *   <li>L-BFGS: Breeze's m (s, y) pairs, 2·m·P·8, and its state, 16·P·8: the current and the previous state's x,
 *       gradient and adjusted gradient (6), the direction and the two-loop recursion's temporary (2), the new pair
 *       before the oldest is dropped (2), the line search's point x + αd and its temporary (2), calculate's copy of x
 *       and the gradient it returns (2), and CachedDiffFunction's last x and gradient (2);</li>
 *   <li>Adam: the moments m and v and the step, 3·P·8; SGD: the step, P·8; DP-SGD: its noise too, P·8;</li>
 *   <li>Gauss-Newton and Newton-CG: conjugate gradients' p, A·p, r, d and the trial point, 5·P·8, and each curvature
 *       product's vector as weights, broadcast with its blocks, 3·P·i; {@code --solve dense}: the n partitions' P×P
 *       float64 matrices collected, their sum, its symmetrised copy, the damped copy and the Cholesky factor's,
 *       (n + 4)·P²·8;</li>
 *   <li>with {@code --checkpoint-every} (10 by default), the state a checkpoint copies before writing it: x and, by
 *       optimiser, L-BFGS's gradient and every pair ((2·m + 2)·P·8), Adam's and SGD's moments (3·P·8), the
 *       second-order gradient (2·P·8). A 2M-parameter L-BFGS fit ran out of memory in a 1 GiB driver at its first
 *       checkpoint when these copies were not counted; at 2 GiB it kept 1181 MiB live, against 1240 MiB counted.</li>
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
        int copied;
        switch (s.optimizer()) {
            case LBFGS -> {
                t.add(new HeapEstimate.Term("L-BFGS's " + s.lbfgsMemory() + " (s, y) pairs and its state", (2.0 * s.lbfgsMemory() + 16) * v));
                copied = 2 * s.lbfgsMemory() + 2;
            }
            case ADAM, SGD -> {
                t.add(new HeapEstimate.Term(s.optimizer() == FitSettings.Optimizer.ADAM ? "Adam's moments and step" : s.dp() != null ? "DP-SGD's step and noise"
                        : "SGD's step", (s.optimizer() == FitSettings.Optimizer.ADAM ? 3 : s.dp() != null ? 2 : 1) * v));
                copied = 3;
            }
            default -> {
                t.add(new HeapEstimate.Term("conjugate gradients' vectors", 5 * v));
                t.add(new HeapEstimate.Term("the curvature product's vector and its blocks", 3 * p * itemBytes));
                if (s.secondOrder().solve() == FitSettings.Solve.DENSE) {
                    t.add(new HeapEstimate.Term("the dense Gauss-Newton matrices (" + partitions + " partitions' and 4 of the solve)", (partitions + 4.0) * p * p * 8));
                }
                copied = 2;
            }
        }
        if (s.checkpointEvery() > 0) t.add(new HeapEstimate.Term("a checkpoint's copy of the state", copied * v));
        return t;
    }
}
