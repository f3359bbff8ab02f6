package org.gradspark.job.fit;

import java.util.LinkedHashMap;
import java.util.Map;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.io.BadInputException;

/**
 * Adam (Kingma and Ba, Algorithm 1, as PyTorch's {@code torch.optim.Adam} without weight decay) and
 * plain gradient descent, in float64 on the driver. Step k (1-based) evaluates the objective at the
 * current weights, over all rows or over the k-th {@link RowSample} of {@code
 * --minibatch-fraction} of them (a function of the seed and k only), then moves:
 * <pre>
 *   Adam: m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²,  x −= lr · (m / (1−β1^k)) / (√(v / (1−β2^k)) + ε)
 *   SGD:  x −= lr · g
 * </pre>
 * With DP-SGD ({@link FitSettings#dp}) g is the step's noisy clipped mean ({@link DpSgd}), and each
 * record carries the ε spent so far.
 * Its whole state is x, m, v and k (the sample's seed is a setting), so a checkpoint restores it exactly.
 */
final class AdamOptimizer implements Optimizer {
    private final DriverObjective objective;
    private final FitSettings s;
    private final boolean adam;
    private final double[] x, m, v;
    private int k;
    private String stopReason;
    private final double elapsedBefore;
    private final RdpAccountant accountant;   // DP-SGD's; null for plain steps
    private final long startNanos = System.nanoTime();

    private AdamOptimizer(DriverObjective objective, FitSettings s, double[] x, double[] m, double[] v, int k, double elapsedBefore) {
        this.objective = objective;
        this.s = s;
        this.adam = s.optimizer() == FitSettings.Optimizer.ADAM;
        this.x = x.clone();
        this.m = m;
        this.v = v;
        this.k = k;
        this.elapsedBefore = elapsedBefore;
        this.accountant = s.dp() == null ? null : s.dp().accountant(s.minibatchFraction());
    }

    static AdamOptimizer start(DriverObjective objective, FitSettings s, double[] x0) {
        return new AdamOptimizer(objective, s, x0, new double[x0.length], new double[x0.length], 0, 0);
    }

    static AdamOptimizer resume(DriverObjective objective, FitSettings s, Checkpoint.OptimizerState st, double elapsedBefore) {
        Map<String, double[]> a = st.arrays();
        boolean adam = s.optimizer() == FitSettings.Optimizer.ADAM;
        return new AdamOptimizer(objective, s, st.x(), adam ? a.get("m").clone() : new double[st.x().length],
                adam ? a.get("v").clone() : new double[st.x().length], st.iteration(), elapsedBefore);
    }

    /**
     * Refuses a state that {@link #state} would not have written: Adam's moments m and v (v never
     * negative) of the position's length, SGD's nothing beside x.
     *
     * @param where how messages name optimizer.npz
     */
    static void requireState(Checkpoint.OptimizerState st, boolean adam, String where) {
        int n = st.x().length;
        Map<String, Integer> lengths = new LinkedHashMap<>();
        if (adam) {
            lengths.put("m", n);
            lengths.put("v", n);
        }
        st.requireArrays(lengths, where);
        if (adam) {
            double[] v = st.arrays().get("v");
            for (int i = 0; i < n; i++) {
                if (v[i] < 0) throw new BadInputException(where + ": 'v'[" + i + "] is " + v[i] + ", a second moment is never negative");
            }
        }
    }

    @Override
    public IterationRecord next() {
        if (k >= s.iterations()) {
            if (stopReason == null) stopReason = "max iterations reached";
            return null;
        }
        long t0 = System.nanoTime();
        long evals = objective.evaluations();
        int step = k + 1;
        RowSample sample = s.minibatchFraction() < 1 ? new RowSample(s.minibatchFraction(), s.seed(), step) : null;
        DriverObjective.Eval e = s.dp() == null ? objective.at(x, sample) : objective.privately(x, sample, s.dp());
        double[] g = e.grad();
        double moved = 0;
        if (adam) {
            double c1 = 1 - Math.pow(s.beta1(), step), c2 = 1 - Math.pow(s.beta2(), step);
            for (int i = 0; i < x.length; i++) {
                m[i] = s.beta1() * m[i] + (1 - s.beta1()) * g[i];
                v[i] = s.beta2() * v[i] + (1 - s.beta2()) * g[i] * g[i];
                double d = s.learningRate() * (m[i] / c1) / (Math.sqrt(v[i] / c2) + s.epsilon());
                x[i] -= d;
                moved += d * d;
            }
        } else {
            for (int i = 0; i < x.length; i++) {
                double d = s.learningRate() * g[i];
                x[i] -= d;
                moved += d * d;
            }
        }
        requireFinite(step, g);
        k = step;
        long now = System.nanoTime();
        return new IterationRecord(step, e.value(), DriverObjective.norm(g), Math.sqrt(moved), (int) (objective.evaluations() - evals), e.rows(),
                (now - t0) / 1e9, elapsedBefore + (now - startNanos) / 1e9,
                accountant == null ? Double.NaN : accountant.epsilon(step, s.dp().delta()).epsilon());
    }

    /** The step left x, m and v finite, and x within the model's dtype: else it is refused before any checkpoint or result could hold it. */
    private void requireFinite(int step, double[] g) {
        String where = "fit --optimizer " + s.optimizer().cli() + ", step " + step;
        for (int i = 0; i < x.length; i++) {
            if (!Double.isFinite(x[i]) || !Double.isFinite(m[i]) || !Double.isFinite(v[i])) {
                throw new BadInputException(where + ": parameter " + i + " overflowed (gradient " + g[i] + ", weight " + x[i] + "): " + s.overflowAdvice());
            }
        }
        try {
            objective.layout().finiteWeights(x, where + ": the step overflowed the weights");
        } catch (BadInputException e) {
            throw new BadInputException(e.getMessage() + ": " + s.overflowAdvice(), e);
        }
    }

    @Override
    public double[] position() {
        return x.clone();
    }

    @Override
    public Checkpoint.OptimizerState state() {
        Map<String, double[]> a = new LinkedHashMap<>();
        if (adam) {
            a.put("m", m.clone());
            a.put("v", v.clone());
        }
        return new Checkpoint.OptimizerState(s.optimizer().cli(), k, x.clone(), a);
    }

    @Override
    public String stopReason() {
        return stopReason;
    }
}
