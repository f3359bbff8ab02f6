package org.gradspark.bench;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.mean;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sin;
import static org.gradspark.ad.Ops.square;
import static org.gradspark.ad.Ops.sub;
import static org.gradspark.ad.Ops.sum;

import java.util.Locale;
import java.util.SplittableRandom;
import org.gradspark.ad.DType;
import org.gradspark.ad.Fn;
import org.gradspark.ad.Functional;
import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;

/**
 * A high-dimensional Poisson problem solved by a PINN with a randomised Laplacian (issue 28, item 4):
 * {@code -Δu = f} on the unit ball of R^d with {@code u = g} on its sphere, where the solution is
 * {@code u*(x) = Σ_i sin(π x_i / 2)}, so {@code f = (π²/4) Σ_i sin(π x_i / 2)} and {@code g = u*}. The
 * network is a tanh MLP d-64-64-1; each Adam step draws fresh interior points (uniform in the ball) and
 * boundary points (uniform on the sphere) and minimises {@code mean((Δu + f)²) + mean((u − g)²)}, with
 * {@code Δu} from {@link Operators#laplacian(Fn, Tensor, LaplacianEstimator, long, long)}: K random
 * directions per point instead of d (step s's interior point i is row {@code s·points + i}, so every
 * step has fresh directions and the run is reproducible). At the end it prints the relative L2 error
 * {@code ||u − u*|| / ||u*||} on held-out points of the ball, and the time per step; {@code --compare-exact
 * N} also times N steps with the exact Laplacian (d directions) at the same d, after one untimed step.
 *
 * Run by {@code bench/run-randomised-laplacian} (at d = 100 and d = 1000, into randomised-laplacian.md), or alone:
 * <pre>
 * java @bench/target/bench-java.args org.gradspark.bench.HighDimPoisson --d 1000 --estimator stde:16 --steps 1500 --compare-exact 5
 * </pre>
 */
public final class HighDimPoisson {
    private HighDimPoisson() {}

    static final int WIDTH = 64;

    /** The run's settings, from the command line. */
    record Settings(int d, LaplacianEstimator estimator, int steps, int points, double learningRate, long seed, int compareExact) {
        static Settings parse(String[] args) {
            int d = 100, steps = 600, points = 256, compare = 0;
            double lr = 2e-3;
            long seed = 1;
            LaplacianEstimator e = LaplacianEstimator.parse("stde:16");
            for (int i = 0; i < args.length; i += 2) {
                String v = args[i + 1];
                switch (args[i]) {
                    case "--d" -> d = Integer.parseInt(v);
                    case "--estimator" -> e = LaplacianEstimator.parse(v);
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--points" -> points = Integer.parseInt(v);
                    case "--learning-rate" -> lr = Double.parseDouble(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--compare-exact" -> compare = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            return new Settings(d, e, steps, points, lr, seed, compare);
        }
    }

    public static void main(String[] args) {
        Settings s = Settings.parse(args);
        Tensor[] weights = initialWeights(s.d(), s.seed());
        Adam adam = new Adam(weights, s.learningRate());
        long t0 = System.nanoTime();
        double loss = Double.NaN;
        for (int step = 0; step < s.steps(); step++) {
            loss = adam.step(step(weights, s.estimator(), s, step));
            weights = adam.weights();
        }
        double perStep = (System.nanoTime() - t0) / 1e9 / Math.max(1, s.steps());
        System.out.printf(Locale.ROOT, "d=%d %s: %d Adam steps of %d interior + %d boundary points, %.4f s per step, last loss %.3e%n",
                s.d(), s.estimator().spelling(), s.steps(), s.points(), s.points(), perStep, loss);
        double error = relativeError(weights, s.d());
        System.out.printf(Locale.ROOT, "relative L2 error on 2048 held-out points of the ball: %.3e%n", error);
        double exact = Double.NaN;
        if (s.compareExact() > 0) {
            Tensor[] w = weights;
            step(w, LaplacianEstimator.EXACT, s, 0);   // its first step warms the JIT: not timed
            long t1 = System.nanoTime();
            for (int step = 0; step < s.compareExact(); step++) step(w, LaplacianEstimator.EXACT, s, step);
            exact = (System.nanoTime() - t1) / 1e9 / s.compareExact();
            System.out.printf(Locale.ROOT, "exact Laplacian at d=%d: %.4f s per step (%d steps), %.1fx the %s step%n",
                    s.d(), exact, s.compareExact(), exact / perStep, s.estimator().spelling());
        }
        // For bench/run-randomised-laplacian's report.
        System.out.printf(Locale.ROOT, "{\"system\": \"poisson\", \"d\": %d, \"estimator\": \"%s\", \"steps\": %d, \"points\": %d, \"per_step_s\": %.5f, "
                + "\"exact_per_step_s\": %s, \"exact_steps\": %d, \"last_loss\": %.4g, \"rel_l2\": %.4g}%n", s.d(), s.estimator().spelling(), s.steps(), s.points(),
                perStep, Double.isNaN(exact) ? "null" : String.format(Locale.ROOT, "%.5f", exact), s.compareExact(), loss, error);
    }

    /** The loss and its gradients w.r.t. the weights at step {@code step}: (loss, (dw0, db0, ...)). */
    static TensorTuple step(Tensor[] weights, LaplacianEstimator estimator, Settings s, int step) {
        SplittableRandom r = new SplittableRandom(s.seed() * 1_000_003L + step);
        Tensor interior = inBall(r, s.points(), s.d()), boundary = onSphere(r, s.points(), s.d());
        int n = weights.length;
        Fn loss = a -> {
            Tensor[] ws = java.util.Arrays.copyOf(a, n);
            Fn u = x -> LaplacianBench.mlp(x[0], ws);
            Tensor lap = Operators.laplacian(u, a[n], estimator, s.seed(), (long) step * s.points());
            Tensor residual = add(lap, mul(solution(a[n]), Math.PI * Math.PI / 4));
            return add(mean(square(residual)), mean(square(sub(LaplacianBench.mlp(a[n + 1], ws), solution(a[n + 1])))));
        };
        Tensor[] args = java.util.Arrays.copyOf(weights, n + 2);
        args[n] = interior;
        args[n + 1] = boundary;
        int[] positions = java.util.stream.IntStream.range(0, n).toArray();
        return Functional.valueAndGrad(loss, positions, null, false).apply(args).asTuple();
    }

    /** {@code u*(x) = Σ_i sin(π x_i / 2)}, [N, 1]. */
    static Tensor solution(Tensor x) {
        return sum(sin(mul(x, Math.PI / 2)), 1, true);
    }

    /** Glorot-uniform weights d-64-64-1, zero biases, float64. */
    static Tensor[] initialWeights(int d, long seed) {
        int[] widths = {d, WIDTH, WIDTH, 1};
        Tensor[] ws = new Tensor[2 * (widths.length - 1)];
        for (int k = 0; k + 1 < widths.length; k++) {
            double bound = Math.sqrt(6.0 / (widths[k] + widths[k + 1]));
            ws[2 * k] = Tensor.uniform(seed + 17 * k, -bound, bound, DType.FLOAT64, widths[k], widths[k + 1]);
            ws[2 * k + 1] = Tensor.zeros(DType.FLOAT64, widths[k + 1]);
        }
        return ws;
    }

    /** Points uniform in the unit ball: a Gaussian direction, radius U^(1/d). */
    static Tensor inBall(SplittableRandom r, int n, int d) {
        double[] v = onSphereValues(r, n, d);
        for (int i = 0; i < n; i++) {
            double radius = Math.pow(r.nextDouble(), 1.0 / d);
            for (int j = 0; j < d; j++) v[i * d + j] *= radius;
        }
        return Tensor.wrap(v, Shape.of(n, d));
    }

    static Tensor onSphere(SplittableRandom r, int n, int d) {
        return Tensor.wrap(onSphereValues(r, n, d), Shape.of(n, d));
    }

    private static double[] onSphereValues(SplittableRandom r, int n, int d) {
        double[] v = new double[n * d];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < d; j++) {
                double g = Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
                v[i * d + j] = g;
                norm += g * g;
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < d; j++) v[i * d + j] /= norm;
        }
        return v;
    }

    /** {@code ||u − u*|| / ||u*||} on 2048 points uniform in the ball, drawn apart from the training points. */
    static double relativeError(Tensor[] weights, int d) {
        Tensor x = inBall(new SplittableRandom(-7), 2048, d);
        double[] u = LaplacianBench.mlp(x, weights).toDoubleArray(), exact = solution(x).toDoubleArray();
        double num = 0, den = 0;
        for (int i = 0; i < u.length; i++) {
            num += (u[i] - exact[i]) * (u[i] - exact[i]);
            den += exact[i] * exact[i];
        }
        return Math.sqrt(num / den);
    }

    /** Adam (Kingma & Ba) on float64 weights: β1 = 0.9, β2 = 0.999, ε = 1e-8. */
    static final class Adam {
        private final double[][] w, m, v;
        private final Shape[] shapes;
        private final double lr;
        private int t;

        Adam(Tensor[] weights, double lr) {
            this.lr = lr;
            w = new double[weights.length][];
            m = new double[weights.length][];
            v = new double[weights.length][];
            shapes = new Shape[weights.length];
            for (int i = 0; i < weights.length; i++) {
                w[i] = weights[i].toDoubleArray();
                m[i] = new double[w[i].length];
                v[i] = new double[w[i].length];
                shapes[i] = weights[i].shape();
            }
        }

        /** One update from (loss, gradients); returns the loss. */
        double step(TensorTuple lossAndGradients) {
            t++;
            TensorTuple g = lossAndGradients.get(1).asTuple();
            double c1 = 1 - Math.pow(0.9, t), c2 = 1 - Math.pow(0.999, t);
            for (int i = 0; i < w.length; i++) {
                double[] gi = g.tensor(i).toDoubleArray();
                for (int j = 0; j < gi.length; j++) {
                    m[i][j] = 0.9 * m[i][j] + 0.1 * gi[j];
                    v[i][j] = 0.999 * v[i][j] + 0.001 * gi[j] * gi[j];
                    w[i][j] -= lr * (m[i][j] / c1) / (Math.sqrt(v[i][j] / c2) + 1e-8);
                }
            }
            return lossAndGradients.tensor(0).getDouble(0);
        }

        Tensor[] weights() {
            Tensor[] r = new Tensor[w.length];
            for (int i = 0; i < w.length; i++) r[i] = Tensor.of(w[i], shapes[i].dims());
            return r;
        }
    }
}
