package org.gradspark.job.fit;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.gradspark.job.io.BadInputException;

/**
 * How {@code fit} optimises: the optimiser and its hyper-parameters, L2 regularisation, the row
 * sample per step, checkpoints. Checked on construction; a bad value is a {@link BadInputException}
 * naming the option.
 *
 * @param iterations        optimiser iterations in all (a resumed run counts the ones before)
 * @param lbfgsMemory       L-BFGS: the (s, y) pairs kept
 * @param tolerance         L-BFGS: Breeze's convergence tolerance (relative change of the value, gradient norm)
 * @param learningRate      Adam and SGD: the step size
 * @param minibatchFraction Adam and SGD: the share of rows each step uses (1: full batch)
 * @param seed              the minibatch sample's seed
 * @param l2                λ of the penalty λ/2·‖w‖² over every parameter, added on the driver in float64
 * @param checkpointEvery   iterations between checkpoints; 0: none
 * @param dp                Adam and SGD: DP-SGD's clipping, noise and δ; null: plain steps
 * @param secondOrder       Gauss-Newton and Newton-CG: the inner conjugate-gradient solve and the damping
 */
public record FitSettings(Optimizer optimizer, int iterations, int lbfgsMemory, double tolerance, double learningRate, double beta1,
                          double beta2, double epsilon, double minibatchFraction, long seed, double l2, int checkpointEvery, DpSgd dp,
                          SecondOrder secondOrder) {

    public enum Optimizer {
        LBFGS, ADAM, SGD, GAUSS_NEWTON, NEWTON_CG;

        public String cli() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

        /** Whether it solves a damped curvature system by conjugate gradients each iteration ({@link SecondOrderOptimizer}). */
        public boolean secondOrder() { return this == GAUSS_NEWTON || this == NEWTON_CG; }

        /** @throws BadInputException naming --optimizer and the choices */
        public static Optimizer parse(String option, String value) {
            for (Optimizer o : values()) if (o.cli().equalsIgnoreCase(value)) return o;
            throw new BadInputException(option + ": unknown optimiser '" + value + "', expected lbfgs, adam, sgd, gauss-newton or newton-cg");
        }
    }

    /**
     * The second-order optimisers' settings.
     *
     * @param cgIterations conjugate-gradient iterations (curvature products) at most per outer iteration
     * @param cgTolerance  CG stops when its residual is below this fraction of the gradient's norm
     * @param damping      the starting Levenberg-Marquardt λ of {@code (C + λI) p = -g}
     * @param solve        how that system is solved: by conjugate gradients on curvature products, or densely
     */
    public record SecondOrder(int cgIterations, double cgTolerance, double damping, Solve solve) {
        /** 50 products per iteration, a residual of 1e-4 of the gradient, λ = 1e-3 to start, solved by CG. */
        public static final SecondOrder DEFAULTS = new SecondOrder(50, 1e-4, 1e-3, Solve.CG);

        /** Solved by conjugate gradients. */
        public SecondOrder(int cgIterations, double cgTolerance, double damping) {
            this(cgIterations, cgTolerance, damping, Solve.CG);
        }

        public SecondOrder {
            java.util.Objects.requireNonNull(solve, "solve");
            if (cgIterations < 1 || cgIterations > 100_000) throw new BadInputException("--cg-iterations: expected 1..100000, got " + cgIterations);
            if (!(cgTolerance > 0 && cgTolerance < 1)) throw new BadInputException("--cg-tolerance: expected 0 < tolerance < 1, got " + cgTolerance);
            if (!(damping > 0) || Double.isInfinite(damping)) throw new BadInputException("--damping: expected a finite value > 0, got " + damping);
        }
    }

    /**
     * How a second-order iteration solves its damped system ({@code --solve}): {@code cg}, truncated
     * conjugate gradients, one distributed curvature product per CG iteration (any size, any loss);
     * {@code dense}, Gauss-Newton only, the P × P matrix assembled in one distributed pass and factored
     * by Cholesky on the driver (small models: at most {@link #DENSE_MAX_WEIGHTS} weights, {@code --loss mse}).
     */
    public enum Solve {
        CG, DENSE;

        /** At most this many weights for {@code --solve dense}: its matrix is then at most 32 MiB of float64 per partition. */
        public static final int DENSE_MAX_WEIGHTS = 2048;

        public String cli() { return name().toLowerCase(java.util.Locale.ROOT); }

        public static Solve parse(String option, String value) {
            for (Solve s : values()) if (s.cli().equals(value)) return s;
            throw new BadInputException(option + ": unknown solve '" + value + "', expected cg or dense");
        }
    }

    /** Plain (not DP-SGD) settings, with the second-order ones at their defaults. */
    public FitSettings(Optimizer optimizer, int iterations, int lbfgsMemory, double tolerance, double learningRate, double beta1, double beta2,
                       double epsilon, double minibatchFraction, long seed, double l2, int checkpointEvery) {
        this(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, minibatchFraction, seed, l2, checkpointEvery, null,
                SecondOrder.DEFAULTS);
    }

    public FitSettings {
        if (iterations < 0) throw new BadInputException("--iterations: expected >= 0, got " + iterations);
        if (lbfgsMemory < 1 || lbfgsMemory > 1000) throw new BadInputException("--lbfgs-memory: expected 1..1000, got " + lbfgsMemory);
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) throw new BadInputException("--tolerance: expected a finite value >= 0, got " + tolerance);
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) throw new BadInputException("--learning-rate: expected a finite value > 0, got " + learningRate);
        if (!(beta1 >= 0 && beta1 < 1)) throw new BadInputException("--beta1: expected 0 <= beta1 < 1, got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new BadInputException("--beta2: expected 0 <= beta2 < 1, got " + beta2);
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) throw new BadInputException("--epsilon: expected a finite value > 0, got " + epsilon);
        if (!(minibatchFraction > 0 && minibatchFraction <= 1)) {
            throw new BadInputException("--minibatch-fraction: expected 0 < fraction <= 1, got " + minibatchFraction);
        }
        if (dp != null && (optimizer == Optimizer.LBFGS || optimizer.secondOrder())) {
            throw new BadInputException("--dp-clip with --optimizer " + optimizer.cli() + ": DP-SGD takes one noisy step per sampled minibatch (--optimizer sgd or adam); "
                    + "its line search evaluates the full batch several times per iteration, which the accountant cannot count");
        }
        if (dp != null && minibatchFraction == 1) {
            throw new BadInputException("--dp-clip with --minibatch-fraction 1: DP-SGD's accounting here is for Poisson-sampled steps "
                    + "(each row kept with probability q < 1, the privacy amplified by it); give --minibatch-fraction q, e.g. 0.01");
        }
        if ((optimizer == Optimizer.LBFGS || optimizer.secondOrder()) && minibatchFraction != 1) {
            throw new BadInputException("--minibatch-fraction " + minibatchFraction + ": " + (optimizer == Optimizer.LBFGS ? "L-BFGS" : optimizer.cli())
                    + " needs the full batch (its line search compares values); use --optimizer adam or sgd");
        }
        java.util.Objects.requireNonNull(secondOrder, "secondOrder");
        if (!(l2 >= 0) || Double.isInfinite(l2)) throw new BadInputException("--l2: expected a finite value >= 0, got " + l2);
        if (checkpointEvery < 0) throw new BadInputException("--checkpoint-every: expected >= 0 (0: no checkpoints), got " + checkpointEvery);
    }

    /** Breeze's LBFGS with MLlib's choices otherwise (memory 10, tolerance 1e-9 is Breeze's default). */
    public static FitSettings lbfgs(int iterations) {
        return new FitSettings(Optimizer.LBFGS, iterations, 10, 1e-9, 1e-3, 0.9, 0.999, 1e-8, 1, 42, 0, 0);
    }

    public static FitSettings adam(int iterations, double learningRate) {
        return new FitSettings(Optimizer.ADAM, iterations, 10, 1e-9, learningRate, 0.9, 0.999, 1e-8, 1, 42, 0, 0);
    }

    public FitSettings withCheckpointEvery(int every) {
        return new FitSettings(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, minibatchFraction, seed, l2, every, dp, secondOrder);
    }

    public FitSettings withIterations(int k) {
        return new FitSettings(optimizer, k, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, minibatchFraction, seed, l2, checkpointEvery, dp, secondOrder);
    }

    public FitSettings withMinibatch(double fraction, long sampleSeed) {
        return new FitSettings(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, fraction, sampleSeed, l2, checkpointEvery, dp, secondOrder);
    }

    public FitSettings withL2(double lambda) {
        return new FitSettings(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, minibatchFraction, seed, lambda, checkpointEvery, dp, secondOrder);
    }

    /** These settings as DP-SGD ({@code dp} null: plain steps). */
    public FitSettings withDp(DpSgd dp) {
        return new FitSettings(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, minibatchFraction, seed, l2, checkpointEvery, dp,
                secondOrder);
    }

    public FitSettings withSecondOrder(SecondOrder so) {
        return new FitSettings(optimizer, iterations, lbfgsMemory, tolerance, learningRate, beta1, beta2, epsilon, minibatchFraction, seed, l2, checkpointEvery, dp, so);
    }

    /** Gauss-Newton with the defaults ({@link SecondOrder#DEFAULTS}, tolerance 1e-9 on the gradient's norm). */
    public static FitSettings gaussNewton(int iterations) {
        return new FitSettings(Optimizer.GAUSS_NEWTON, iterations, 10, 1e-9, 1e-3, 0.9, 0.999, 1e-8, 1, 42, 0, 0);
    }

    /**
     * What to do when the objective or the weights overflow once the optimiser has moved them, in this
     * optimiser's terms: L-BFGS has no step size to lower (its line search chooses the steps).
     */
    public String overflowAdvice() {
        if (optimizer == Optimizer.LBFGS || optimizer.secondOrder()) {
            return "scale the rows and labels to values of order 1, add --l2 to keep the weights small, or use --dtype float64";
        }
        return "lower --learning-rate (now " + learningRate + "), or scale the rows and labels to values of order 1";
    }

    /**
     * The settings a resumed run must share with the run that wrote the checkpoint, by option (those
     * that change the trajectory: not --iterations, not --checkpoint-every).
     */
    public Map<String, Object> trajectory() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("--optimizer", optimizer.cli());
        m.put("--l2", l2);
        if (optimizer == Optimizer.LBFGS) {
            m.put("--lbfgs-memory", lbfgsMemory);
            m.put("--tolerance", tolerance);
        } else if (optimizer.secondOrder()) {
            m.put("--tolerance", tolerance);
            m.put("--cg-iterations", secondOrder.cgIterations());
            m.put("--cg-tolerance", secondOrder.cgTolerance());
            m.put("--damping", secondOrder.damping());
            // Only when dense: a checkpoint written before --solve existed was a CG run's, and resumes as one.
            if (secondOrder.solve() == Solve.DENSE) m.put("--solve", secondOrder.solve().cli());
        } else {
            m.put("--learning-rate", learningRate);
            m.put("--minibatch-fraction", minibatchFraction);
            m.put("--seed", seed);
            if (optimizer == Optimizer.ADAM) {
                m.put("--beta1", beta1);
                m.put("--beta2", beta2);
                m.put("--epsilon", epsilon);
            }
            if (dp != null) {
                // δ changes no step, but the ε recorded in the history so far is at it.
                m.put("--dp-clip", dp.clip());
                m.put("--dp-noise-multiplier", dp.noiseMultiplier());
                m.put("--dp-delta", dp.delta());
            }
        }
        return m;
    }
}
