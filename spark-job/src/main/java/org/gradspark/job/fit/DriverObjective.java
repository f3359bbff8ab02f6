package org.gradspark.job.fit;

import java.util.Arrays;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.io.BadInputException;

/**
 * The objective as the optimisers see it, on the driver in float64: the flat position to the
 * model's weights, the L2 term λ/2·‖x‖² added to the value and λ·x to the gradient, every real
 * evaluation counted. The last full-batch point is cached (L-BFGS's line search asks for its
 * starting point again), and a resumed run primes the cache with the checkpoint's point, so that it
 * counts the same evaluations as a run that was never stopped.
 */
final class DriverObjective {
    /** One evaluation: value and gradient in float64, L2 included. */
    record Eval(double value, double[] grad, long rows, double seconds) {}

    private final FitObjective objective;
    private final ParamLayout layout;
    private final double l2;
    private final String overflowAdvice;
    private long evaluations;
    private long products;
    private long lastRows = -1;
    private double[] cachedX;
    private Eval cached;

    /** @param overflowAdvice what the user can do when the objective overflows past the starting point ({@link FitSettings#overflowAdvice}) */
    DriverObjective(FitObjective objective, ParamLayout layout, double l2, String overflowAdvice) {
        this.objective = objective;
        this.layout = layout;
        this.l2 = l2;
        this.overflowAdvice = overflowAdvice;
    }

    ParamLayout layout() { return layout; }

    /** The rows the last value was over. */
    long lastRows() { return lastRows; }

    /** Real evaluations so far (cache hits not counted). */
    long evaluations() { return evaluations; }

    Eval at(double[] x, RowSample sample) {
        if (sample == null && cachedX != null && Arrays.equals(cachedX, x)) {
            lastRows = cached.rows();
            return copy(cached);
        }
        Evaluator.Value v = objective.evaluate(layout.weights(x), sample);
        evaluations++;
        Eval e = withL2(x, v.objective(), layout.flatten(v.gradient()), v.rowsUsed(), v.seconds());
        lastRows = v.rowsUsed();
        if (sample == null) {
            cachedX = x.clone();
            cached = copy(e);
        }
        return e;
    }

    /**
     * DP-SGD's step at x over {@code sample}'s rows ({@link DpSgd}): the gradient (clipped sum + step's
     * noise) / (q·N), the value Σ o_n / (q·N) over the sample (the same unbiased estimate of the mean,
     * never undefined: an empty sample is 0 plus noise), L2 added as {@link #at} adds it. Never cached:
     * each step's noise is its own.
     */
    Eval privately(double[] x, RowSample sample, DpSgd dp) {
        ClippedObjective c = (ClippedObjective) objective;
        Evaluator.Value v = c.clippedSum(layout.weights(x), sample, dp.clip());
        evaluations++;
        double[] g = layout.flatten(v.gradient());
        double[] noise = dp.noise(sample.seed(), sample.step(), g.length);
        double expectedRows = sample.fraction() * c.rows();
        for (int i = 0; i < g.length; i++) g[i] = (g[i] + noise[i]) / expectedRows;
        lastRows = v.rowsUsed();
        return withL2(x, v.objective() / expectedRows, g, v.rowsUsed(), v.seconds());
    }

    /** The L2 term added to an evaluation's value and gradient, and the value refused unless finite. */
    private Eval withL2(double[] x, double value, double[] g, long rows, double seconds) {
        if (l2 > 0) {
            double sq = 0;
            for (int i = 0; i < x.length; i++) {
                sq += x[i] * x[i];
                g[i] += l2 * x[i];
            }
            value += 0.5 * l2 * sq;
        }
        if (!Double.isFinite(value)) {
            // A fresh run's first evaluation is at the starting weights: no optimiser step is to blame yet.
            boolean atStart = evaluations == 1 && cachedX == null;
            throw new BadInputException("the objective is " + value + (atStart
                    ? " at the starting weights (--weights, or the seeded ones): check the rows, labels and weights (values of order 1 suit float32), "
                            + "or use --dtype float64"
                    : " at evaluation " + evaluations + ", where the optimiser moved the weights: " + overflowAdvice));
        }
        return new Eval(value, g, rows, seconds);
    }

    /** Curvature products so far. */
    long products() { return products; }

    /**
     * {@code (C + l2·I) v} at x: C the objective's {@code kind} curvature matrix (one distributed
     * product), {@code l2·I} the L2 term's Hessian, added here as its value and gradient are.
     */
    double[] curvature(double[] x, double[] v, org.gradspark.ad.batch.BatchGradient.Curvature kind) {
        double[] cv = layout.flatten(objective.curvatureProduct(layout.weights(x), layout.weights(v), kind));
        products++;
        for (int i = 0; i < cv.length; i++) {
            if (l2 > 0) cv[i] += l2 * v[i];
            if (!Double.isFinite(cv[i])) {
                throw new BadInputException("the " + (kind == org.gradspark.ad.batch.BatchGradient.Curvature.HESSIAN ? "Hessian" : "Gauss-Newton")
                        + "-vector product is " + cv[i] + " at parameter " + i + " (product " + products + "): " + overflowAdvice);
            }
        }
        return cv;
    }

    /** A dense Gauss-Newton system at x: the evaluation (L2 included) and {@code G + l2·I}, row-major P × P. */
    record DenseSystem(Eval eval, double[] matrix) {}

    /**
     * {@code --solve dense}'s pass at x ({@link FitObjective#gaussNewtonSystem}): one evaluation (counted, and
     * cached as {@link #at} caches one) and the Gauss-Newton matrix with the L2 term's Hessian on its diagonal.
     */
    DenseSystem denseSystem(double[] x) {
        FitObjective.GaussNewtonSystem g = objective.gaussNewtonSystem(layout.weights(x));
        evaluations++;
        Evaluator.Value v = g.value();
        Eval e = withL2(x, v.objective(), layout.flatten(v.gradient()), v.rowsUsed(), v.seconds());
        lastRows = v.rowsUsed();
        cachedX = x.clone();
        cached = copy(e);
        double[] m = g.matrix();
        int n = x.length;
        if ((long) n * n != m.length) throw new IllegalStateException("a Gauss-Newton matrix of " + m.length + " values for " + n + " weights");
        for (int i = 0; i < m.length; i++) {
            if (!Double.isFinite(m[i])) {
                throw new BadInputException("the Gauss-Newton matrix is " + m[i] + " at (" + i / n + ", " + i % n + ") (evaluation " + evaluations + "): "
                        + overflowAdvice);
            }
        }
        if (l2 > 0) for (int i = 0; i < n; i++) m[i * n + i] += l2;
        return new DenseSystem(e, m);
    }

    /** The checkpoint's point, as if it had just been evaluated here. */
    void prime(double[] x, double value, double[] grad, long rows) {
        cachedX = x.clone();
        cached = new Eval(value, grad.clone(), rows, 0);
    }

    private static Eval copy(Eval e) {
        return new Eval(e.value(), e.grad().clone(), e.rows(), e.seconds());
    }

    static double norm(double[] v) {
        double s = 0;
        for (double d : v) s += d * d;
        return Math.sqrt(s);
    }

    static double distance(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            s += d * d;
        }
        return Math.sqrt(s);
    }
}
