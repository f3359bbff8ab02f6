package org.gradspark.job.fit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.io.BadInputException;

/**
 * Gauss-Newton ({@code --optimizer gauss-newton}: C = the Gauss-Newton matrix {@code J^T H_loss J}) and
 * Newton-CG ({@code newton-cg}: C = the exact Hessian), matrix-free: each outer iteration solves the
 * damped system {@code (C + l2·I + λI) p = -g} by truncated conjugate gradients, one distributed
 * curvature product per CG iteration (at most {@code --cg-iterations}; it stops when the residual is
 * below {@code --cg-tolerance}·‖g‖, or at a direction of non-positive curvature, where Newton-CG takes
 * the steepest-descent direction if it is the first), then a backtracking line search on the full-batch
 * objective (Armijo's condition {@code f(x + t p) <= f(x) + 1e-4 t g·p}, t halved up to 30 times).
 *
 * <p>With {@code --solve dense} (Gauss-Newton, {@code --loss mse}, small models) the iteration instead asks the
 * objective for the whole matrix G with the gradient, in one distributed pass, and solves the damped system
 * by a Cholesky factorisation on the driver: the exact damped Gauss-Newton (energy natural gradient) step,
 * where CG truncated at {@code --cg-iterations} products stalls on G's condition number. The P-space
 * matrix (P × P, summed over partitions like a gradient) rather than the row-space one ({@code J J^T}, N × N,
 * the rows' Jacobians gathered): its size does not grow with the rows, which a distributed job has many of.
 *
 * <p>The damping λ follows Levenberg-Marquardt's rule as Martens (2010, Hessian-free optimisation, §4.1)
 * states it: with {@code ρ} the objective's decrease at the full step over the decrease the undamped
 * quadratic model predicts, λ × 3/2 when ρ < 1/4 and λ × 2/3 when ρ > 3/4. Chosen over a trust region
 * because the CG solve then needs no boundary test (the damped system is positive definite for
 * Gauss-Newton), the line search already guards the step, and λ is one number to record and resume.
 *
 * <p>Iteration 0 is the starting point; the run stops at {@code --iterations}, when the gradient's
 * norm is at most {@code --tolerance}, or when the line search finds no decrease (the objective is
 * then as low as its rounding lets a step show). The state after an iteration (position, value,
 * gradient, rows, the next λ) is all the next one needs, so a checkpoint of it resumes bit for bit.
 */
public final class SecondOrderOptimizer implements Optimizer {
    static final double GROW = 1.5, SHRINK = 2.0 / 3, POOR_FIT = 0.25, GOOD_FIT = 0.75;
    private static final double ARMIJO = 1e-4;
    private static final int HALVINGS = 30;

    private final DriverObjective objective;
    private final FitSettings s;
    private final BatchGradient.Curvature kind;
    private final double elapsedBefore;
    private final long startNanos = System.nanoTime();
    private double[] x, grad;
    private double value, lambda;
    private long rows;
    private int k;
    private String stopReason;

    private SecondOrderOptimizer(DriverObjective objective, FitSettings s, double[] x, int k, double elapsedBefore) {
        this.objective = objective;
        this.s = s;
        this.kind = s.optimizer() == FitSettings.Optimizer.GAUSS_NEWTON ? BatchGradient.Curvature.GAUSS_NEWTON : BatchGradient.Curvature.HESSIAN;
        this.x = x.clone();
        this.k = k;
        this.elapsedBefore = elapsedBefore;
        this.lambda = s.secondOrder().damping();
        requireDenseSize(s, x.length);
    }

    /** {@code --solve dense} takes at most {@link FitSettings.Solve#DENSE_MAX_WEIGHTS} weights (FitJob asks before it writes anything). */
    public static void requireDenseSize(FitSettings s, long weights) {
        if (s.optimizer().secondOrder() && s.secondOrder().solve() == FitSettings.Solve.DENSE && weights > FitSettings.Solve.DENSE_MAX_WEIGHTS) {
            throw new BadInputException("--solve dense: the model has " + weights + " weights, above the " + FitSettings.Solve.DENSE_MAX_WEIGHTS
                    + " whose " + FitSettings.Solve.DENSE_MAX_WEIGHTS + "^2 Gauss-Newton matrix a partition sends (32 MiB of float64); use --solve cg");
        }
    }

    /** A fresh run from {@code x0} (its first record, iteration 0, evaluates x0). */
    static SecondOrderOptimizer start(DriverObjective objective, FitSettings s, double[] x0) {
        return new SecondOrderOptimizer(objective, s, x0, -1, 0);
    }

    /** The run a checkpoint stopped ({@link #requireState} has checked it), continued. */
    static SecondOrderOptimizer resume(DriverObjective objective, FitSettings s, Checkpoint.OptimizerState st, double elapsedBefore) {
        SecondOrderOptimizer o = new SecondOrderOptimizer(objective, s, st.x(), st.iteration(), elapsedBefore);
        Map<String, double[]> a = st.arrays();
        o.grad = a.get("grad").clone();
        o.value = a.get("value")[0];
        o.rows = (long) a.get("rows")[0];
        o.lambda = a.get("lambda")[0];
        objective.prime(o.x, o.value, o.grad, o.rows);
        if (DriverObjective.norm(o.grad) <= s.tolerance()) o.stopReason = "gradient norm at most --tolerance";
        return o;
    }

    @Override
    public IterationRecord next() {
        if (stopReason != null) return null;
        long t0 = System.nanoTime(), evals = objective.evaluations();
        if (k < 0) {
            DriverObjective.Eval e = objective.at(x, null);
            accept(x, e);
            k = 0;
            return record(0, 0, evals, 0, 0, t0);
        }
        if (k >= s.iterations()) {
            stopReason = "max iterations reached";
            return null;
        }
        long products = objective.products();
        Direction d = direction();
        Solution p = d.solution();
        double used = lambda;   // after a dense solve that had to raise it
        double gp = dot(d.gradient(), p.p());
        if (!(gp < 0)) {
            stopReason = "no descent direction (g·p = " + gp + ")";
            return null;
        }
        double predicted = -(gp + 0.5 * p.curvature());
        double t = 1, atFullStep = Double.NaN;
        for (int h = 0; h <= HALVINGS; h++, t *= 0.5) {
            double[] trial = new double[x.length];
            for (int i = 0; i < x.length; i++) trial[i] = x[i] + t * p.p()[i];
            DriverObjective.Eval e = objective.at(trial, null);
            if (h == 0) atFullStep = e.value();
            if (e.value() <= value + ARMIJO * t * gp) {
                adapt(predicted > 0 ? (value - atFullStep) / predicted : 0);
                double moved = t * Math.sqrt(dot(p.p(), p.p()));
                accept(trial, e);
                k++;
                return record(k, p.iterations(), evals, (int) (objective.products() - products), moved, t0, used);
            }
        }
        stopReason = "line search found no decrease";
        return null;
    }

    /** A step's direction and the gradient it was solved for. */
    private record Direction(double[] gradient, Solution solution) {}

    /** By CG at the accepted point's gradient, or with {@code --solve dense} from one pass that gives the matrix and the gradient at x. */
    private Direction direction() {
        if (s.secondOrder().solve() != FitSettings.Solve.DENSE) return new Direction(grad, solve());
        DriverObjective.DenseSystem system = objective.denseSystem(x);
        double[] g = system.eval().grad();
        return new Direction(g, solveDense(system.matrix(), g));
    }

    /** Levenberg-Marquardt: more damping where the quadratic model predicted the decrease badly, less where well. */
    private void adapt(double rho) {
        if (rho < POOR_FIT) lambda *= GROW;
        else if (rho > GOOD_FIT) lambda *= SHRINK;
    }

    private void accept(double[] at, DriverObjective.Eval e) {
        x = at;
        value = e.value();
        grad = e.grad();
        rows = e.rows();
        if (DriverObjective.norm(grad) <= s.tolerance()) stopReason = "gradient norm at most --tolerance";
    }

    private IterationRecord record(int iteration, int cg, long evalsBefore, int products, double moved, long t0) {
        return record(iteration, cg, evalsBefore, products, moved, t0, lambda);
    }

    private IterationRecord record(int iteration, int cg, long evalsBefore, int products, double moved, long t0, double lambdaUsed) {
        long now = System.nanoTime();
        return new IterationRecord(iteration, value, DriverObjective.norm(grad), moved, (int) (objective.evaluations() - evalsBefore), rows,
                (now - t0) / 1e9, elapsedBefore + (now - startNanos) / 1e9, new IterationRecord.Solve(cg, products, lambdaUsed));
    }

    /** The CG solution p, its CG iterations, and {@code p·(C + l2 I)p} (the undamped model's curvature along p). */
    private record Solution(double[] p, int iterations, double curvature) {}

    /** Truncated CG on {@code (C + l2 I + λI) p = -g} from p = 0, keeping {@code M p} (M the damped matrix) as it goes. */
    private Solution solve() {
        int n = x.length;
        double[] p = new double[n], mp = new double[n], r = new double[n], d = new double[n];
        for (int i = 0; i < n; i++) r[i] = d[i] = -grad[i];
        double rr = dot(r, r), target = s.secondOrder().cgTolerance() * Math.sqrt(rr);
        int it = 0;
        while (it < s.secondOrder().cgIterations()) {
            double[] md = objective.curvature(x, d, kind);
            for (int i = 0; i < n; i++) md[i] += lambda * d[i];
            it++;
            double dmd = dot(d, md);
            if (!(dmd > 0)) {
                // Non-positive curvature (Newton-CG's indefinite Hessian): the last p, or the steepest descent at the first step.
                if (it == 1) {
                    System.arraycopy(d, 0, p, 0, n);
                    System.arraycopy(md, 0, mp, 0, n);
                }
                break;
            }
            double alpha = rr / dmd;
            for (int i = 0; i < n; i++) {
                p[i] += alpha * d[i];
                mp[i] += alpha * md[i];
                r[i] -= alpha * md[i];
            }
            double next = dot(r, r);
            if (Math.sqrt(next) <= target) break;
            double beta = next / rr;
            for (int i = 0; i < n; i++) d[i] = r[i] + beta * d[i];
            rr = next;
        }
        return new Solution(p, it, dot(p, mp) - lambda * dot(p, p));
    }

    /**
     * {@code (G + l2 I + λI) p = -g} for the dense Gauss-Newton matrix {@code gl2} ({@code G + l2 I}, row-major,
     * symmetrised here: its sums of outer products round each half differently) by commons-math's Cholesky
     * factorisation. A λ so small that the damped matrix does not factor (a pivot below 1e-13 of the largest
     * diagonal entry: G is singular to rounding there) is multiplied by 10 until it does; the λ used is recorded.
     */
    private Solution solveDense(double[] gl2, double[] g) {
        int n = g.length;
        double[][] a = new double[n][n];
        double largest = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) a[i][j] = 0.5 * (gl2[i * n + j] + gl2[j * n + i]);
            largest = Math.max(largest, a[i][i]);
        }
        double[] minusG = new double[n];
        for (int i = 0; i < n; i++) minusG[i] = -g[i];
        for (int raised = 0; ; raised++) {
            double[][] damped = new double[n][];
            for (int i = 0; i < n; i++) {
                damped[i] = a[i].clone();
                damped[i][i] += lambda;
            }
            try {
                org.apache.commons.math3.linear.DecompositionSolver chol = new org.apache.commons.math3.linear.CholeskyDecomposition(
                        new org.apache.commons.math3.linear.Array2DRowRealMatrix(damped, false), 0, 1e-13 * (largest + lambda)).getSolver();
                double[] p = chol.solve(new org.apache.commons.math3.linear.ArrayRealVector(minusG, false)).toArray();
                double[] ap = new double[n];
                for (int i = 0; i < n; i++) ap[i] = dot(a[i], p);
                return new Solution(p, 0, dot(p, ap));
            } catch (org.apache.commons.math3.linear.NonPositiveDefiniteMatrixException e) {
                if (raised >= 40 || !(lambda * 10 < Double.MAX_VALUE)) {
                    throw new BadInputException("--solve dense: the damped Gauss-Newton matrix does not factor even at lambda " + lambda
                            + " (a NaN-free but degenerate model?); use --solve cg");
                }
                lambda *= 10;
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) sum += a[i] * b[i];
        return sum;
    }

    @Override
    public double[] position() {
        return x.clone();
    }

    @Override
    public Checkpoint.OptimizerState state() {
        if (k < 0) return null;
        Map<String, double[]> a = new LinkedHashMap<>();
        a.put("grad", grad.clone());
        a.put("value", new double[] {value});
        a.put("rows", new double[] {rows});
        a.put("lambda", new double[] {lambda});
        return new Checkpoint.OptimizerState(s.optimizer().cli(), k, x.clone(), a);
    }

    @Override
    public String stopReason() {
        return stopReason;
    }

    /**
     * Refuses a state that {@link #state} would not have written after this history: exactly its arrays;
     * {@code value}, {@code grad}'s norm and {@code rows} the last iteration's, bit for bit; {@code lambda}
     * the λ the last iteration used, adapted by Levenberg-Marquardt's rule (× 1, 3/2 or 2/3, exactly).
     *
     * @param where how messages name optimizer.npz
     */
    static void requireState(Checkpoint.OptimizerState st, List<IterationRecord> history, String where) {
        Map<String, Integer> lengths = new LinkedHashMap<>();
        lengths.put("grad", st.x().length);
        for (String scalar : List.of("value", "rows", "lambda")) lengths.put(scalar, 1);
        st.requireArrays(lengths, where);
        Map<String, double[]> a = st.arrays();
        IterationRecord last = history.get(history.size() - 1);
        if (a.get("value")[0] != last.loss() || DriverObjective.norm(a.get("grad")) != last.gradNorm() || a.get("rows")[0] != last.rows()) {
            throw new BadInputException(where + ": 'value', 'grad' or 'rows' differ from state.json's last iteration (loss " + last.loss() + ", gradient norm "
                    + last.gradNorm() + ", rows " + last.rows() + ")");
        }
        double lambda = a.get("lambda")[0], used = last.solve().lambda();
        if (!(lambda > 0) || (lambda != used && lambda != used * GROW && lambda != used * SHRINK)) {
            throw new BadInputException(where + ": 'lambda' is " + lambda + ", but the last iteration used " + used
                    + ", which Levenberg-Marquardt's rule leaves, multiplies by 1.5 or by 2/3");
        }
    }
}
