package org.gradspark.job.fit;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One line of {@code history.json}. L-BFGS, Gauss-Newton and Newton-CG: iteration 0 is the starting
 * point, iteration k the point the k-th line search accepted, {@code loss} the objective there. Adam
 * and SGD: iteration k is the k-th step, {@code loss} the objective (over the step's sample) at the
 * weights it started from; with DP-SGD ({@link DpSgd}) that objective is Σ o_n / (q·N) over the sample
 * and the gradient the noisy one.
 *
 * @param gradNorm    the Euclidean norm of the gradient that goes with {@code loss} (L2 term included)
 * @param step        ‖x_k − x_{k−1}‖, the length of the move this iteration made (0 for iteration 0)
 * @param evaluations objective evaluations this iteration made (L-BFGS, Gauss-Newton: its line search's)
 * @param rows        rows the loss is over
 * @param seconds     the iteration's wall time; {@code elapsed} the run's so far (a resumed run's includes the time before)
 * @param epsilon     DP-SGD: the ε spent after this step ({@link RdpAccountant}, infinite with σ = 0); NaN: not DP-SGD
 * @param solve       the second-order optimisers' inner solve (null for the others)
 */
public record IterationRecord(int iteration, double loss, double gradNorm, double step, int evaluations, long rows, double seconds, double elapsed,
                              double epsilon, Solve solve) {

    /**
     * A second-order iteration's solve of {@code (C + λI) p = -g}: the conjugate-gradient iterations, the
     * curvature products they made (one each), and the damping λ they used (iteration 0: the starting λ,
     * no CG).
     */
    public record Solve(int cgIterations, int products, double lambda) {}

    /** A first-order or L-BFGS iteration of plain (not DP-SGD) steps. */
    public IterationRecord(int iteration, double loss, double gradNorm, double step, int evaluations, long rows, double seconds, double elapsed) {
        this(iteration, loss, gradNorm, step, evaluations, rows, seconds, elapsed, Double.NaN, null);
    }

    /** A DP-SGD step, with the ε spent after it. */
    public IterationRecord(int iteration, double loss, double gradNorm, double step, int evaluations, long rows, double seconds, double elapsed,
                           double epsilon) {
        this(iteration, loss, gradNorm, step, evaluations, rows, seconds, elapsed, epsilon, null);
    }

    /** A second-order iteration, with its solve. */
    public IterationRecord(int iteration, double loss, double gradNorm, double step, int evaluations, long rows, double seconds, double elapsed,
                           Solve solve) {
        this(iteration, loss, gradNorm, step, evaluations, rows, seconds, elapsed, Double.NaN, solve);
    }

    /** Whether this is a DP-SGD step (its ε recorded). */
    public boolean dp() {
        return !Double.isNaN(epsilon);
    }

    /** A DP-SGD step's {@code epsilon} in JSON: the number, or null where it is infinite (σ = 0: no privacy). */
    public Object epsilonJson() {
        return Double.isInfinite(epsilon) ? null : epsilon;
    }

    public Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("iteration", iteration);
        m.put("loss", loss);
        m.put("grad_norm", gradNorm);
        m.put("step", step);
        m.put("evaluations", evaluations);
        m.put("rows", rows);
        m.put("seconds", seconds);
        m.put("elapsed_s", elapsed);
        if (dp()) m.put("epsilon", epsilonJson());
        if (solve != null) {
            m.put("cg_iterations", solve.cgIterations());
            m.put("products", solve.products());
            m.put("lambda", solve.lambda());
        }
        return m;
    }
}
