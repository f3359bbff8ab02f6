package org.gradspark.job.exec;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.batch.BatchGradient;

/**
 * One kind of per-example output of a grad job ({@code --derivative}, with {@code --wrt inputs|all}):
 * all that the job knows of a kind is here, so a new kind is one record in this file. Each owns
 *
 * <ul>
 * <li>its name ({@code --derivative NAME}, and summary.json's {@code "derivative"});</li>
 * <li>its directory under {@code --out} (also its key in summary.json);</li>
 * <li>its row shape: one example's array, for a model of {@code in} inputs and {@code out} outputs
 * (one output per example with a loss);</li>
 * <li>its memory factor: the values each activation carries in a task (the value, its tangents,
 * second-order terms), for the task-size estimate that refuses a job before it runs out of memory;</li>
 * <li>its core call ({@link BatchGradient.Request});</li>
 * <li>its summary entry.</li>
 * </ul>
 *
 * {@code nested} is MindSpore's nesting of order {@code --order} ({@code grad} its first order),
 * weighted by {@code --sens}; the others are the per-example operators of the outputs
 * ({@link Operators}), one per output component, with no sensitivities.
 */
public sealed interface PerExampleOutput extends Serializable {

    /** The directory of the nested input derivatives ({@code nested} and {@code grad}) under --out. */
    String INPUT_GRADS = "input_grads";

    /** {@code --derivative}'s value for this kind. */
    String name();

    /** The directory under --out that holds the parts (and the key of the summary's entry). */
    default String dir() {
        return name().replace('-', '_');
    }

    /** One example's array, for {@code in} input features and {@code out} outputs. */
    int[] rowShape(int in, int out);

    /** The values an activation carries in a task (1: the value alone), for rows of {@code in} features. */
    long memoryFactor(int in);

    /** The order of a nested derivative ({@code --order}); 0 for an operator of the outputs, which has none. */
    default int order() {
        return 0;
    }

    /** Whether {@code --sens} weighs it (else it is per output component and takes none). */
    default boolean weightedBySens() {
        return false;
    }

    /**
     * Whether it is a statistic of the per-example weight gradients ({@code --per-example}, computed by
     * {@code GradientStatistics}), not an input derivative ({@code --derivative}).
     */
    default boolean ofWeightGradients() {
        return false;
    }

    /** The core's request for a chunk: the weights' gradient (or HVP along {@code hvpVector}) when {@code weights}, and this output. */
    BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale);

    /** summary.json's entry: what was written, where, in which format, its shape (rows first) and its number of parts. */
    default Map<String, Object> summaryEntry(String format, List<Long> shape, int parts) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put(ofWeightGradients() ? "per_example" : "derivative", name());
        if (order() > 0) d.put("order", order());
        d.put("path", dir());
        d.put("format", format);
        d.put("shape", shape);
        d.put("parts", parts);
        return d;
    }

    /** One of each input derivative kind (nested of order 1), in the order the help lists them; the statistics are named by --per-example. */
    List<PerExampleOutput> KINDS = List.of(new Nested(1), new Grad(), new Laplacian(), new HessianDiagonal(), new Jacobian(), new Hessian());

    /** The kinds' names, as {@code --derivative} takes them. */
    static List<String> names() {
        return KINDS.stream().map(PerExampleOutput::name).toList();
    }

    /**
     * The kind named {@code name} ({@link #names}); {@code nested} of order {@code order}.
     *
     * @throws IllegalArgumentException when no kind has that name
     */
    static PerExampleOutput named(String name, int order) {
        PerExampleOutput kind = KINDS.stream().filter(k -> k.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no per-example output " + name));
        return kind instanceof Nested ? new Nested(order) : kind;
    }

    /** MindSpore's nested input gradient of order {@code order}, weighted by the sensitivities: shaped like a row of x. */
    record Nested(int order) implements PerExampleOutput {
        @Override public String name() { return "nested"; }
        @Override public String dir() { return INPUT_GRADS; }
        @Override public int[] rowShape(int in, int out) { return new int[] {in}; }
        @Override public long memoryFactor(int in) { return 1; }
        @Override public boolean weightedBySens() { return true; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(weights, hvpVector, order, scale);
        }
    }

    /** The first-order nested gradient, by its own name. */
    record Grad() implements PerExampleOutput {
        @Override public String name() { return "grad"; }
        @Override public int order() { return 1; }
        @Override public String dir() { return INPUT_GRADS; }
        @Override public int[] rowShape(int in, int out) { return new int[] {in}; }
        @Override public long memoryFactor(int in) { return 1; }
        @Override public boolean weightedBySens() { return true; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(weights, hvpVector, 1, scale);
        }
    }

    /**
     * {@code Δ out_j}, [out], by {@code estimator} ({@code --estimator}): the forward-Laplacian sweep carries
     * the value, in tangents (K for a randomised estimator, whose directions come from {@code seed} and
     * each row's index in the input, so no split of the rows changes them) and the summed second-order term.
     */
    record Laplacian(LaplacianEstimator estimator, long seed) implements PerExampleOutput {
        /** The exact Laplacian. */
        public Laplacian() {
            this(LaplacianEstimator.EXACT, 0);
        }
        @Override public String name() { return "laplacian"; }
        @Override public int[] rowShape(int in, int out) { return new int[] {out}; }
        @Override public long memoryFactor(int in) { return (estimator.directions() < 0 ? in : estimator.directions()) + 2L; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(weights, hvpVector, 1, scale, estimator instanceof LaplacianEstimator.Exact
                    ? Operators::laplacian : new RandomisedLaplacian(estimator, seed, 0));
        }
        @Override public Map<String, Object> summaryEntry(String format, List<Long> shape, int parts) {
            Map<String, Object> d = PerExampleOutput.super.summaryEntry(format, shape, parts);
            if (estimator instanceof LaplacianEstimator.Exact) return d;   // as before estimators: no key
            d.put("estimator", estimator.spelling());
            d.put("seed", seed);
            return d;
        }
    }

    /** The randomised Laplacian of a chunk whose first row is row {@code firstRow} of the input. */
    record RandomisedLaplacian(LaplacianEstimator estimator, long seed, long firstRow) implements BatchGradient.RowOperator, Serializable {
        @Override public Tensor apply(org.gradspark.ad.Fn f, Tensor x) {
            return Operators.laplacian(f, x, estimator, seed, firstRow);
        }
        @Override public BatchGradient.RowOperator fromRow(long row) {
            return new RandomisedLaplacian(estimator, seed, row);
        }
    }

    /** {@code ∂² out_j / ∂x_i²}, [out, in]: the same sweep, keeping a second-order term per direction. */
    record HessianDiagonal() implements PerExampleOutput {
        @Override public String name() { return "hessian-diagonal"; }
        @Override public int[] rowShape(int in, int out) { return new int[] {out, in}; }
        @Override public long memoryFactor(int in) { return 2L * in + 1; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(weights, hvpVector, 1, scale, Operators::hessianDiagonal);
        }
    }

    /** {@code ∂ out_j / ∂x_i}, [out, in]: one forward sweep carrying the value and in tangents. */
    record Jacobian() implements PerExampleOutput {
        @Override public String name() { return "jacobian"; }
        @Override public int[] rowShape(int in, int out) { return new int[] {out, in}; }
        @Override public long memoryFactor(int in) { return in + 1L; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(weights, hvpVector, 1, scale, Operators::jacobian);
        }
    }

    /**
     * {@code ∂² out_j / ∂x_i ∂x_k}, [out, in, in]: forward over forward, a Jacobian sweep of the
     * Jacobian sweep, so each activation carries the value, in tangents of each of the two sweeps and
     * in × in tangents of tangents: (in + 1)² values.
     */
    record Hessian() implements PerExampleOutput {
        @Override public String name() { return "hessian"; }
        @Override public int[] rowShape(int in, int out) { return new int[] {out, in, in}; }
        @Override public long memoryFactor(int in) { return (in + 1L) * (in + 1L); }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(weights, hvpVector, 1, scale, Operators::hessian);
        }
    }

    /**
     * {@code |g_n|}, (rows,): each example's whole weight gradient's norm, in {@code grad_norms/}
     * ({@code --per-example grad-norm}). The request is the weights' gradient alone: the norms come from
     * {@code GradientStatistics} in the same pass.
     */
    record GradNorm() implements PerExampleOutput {
        @Override public String name() { return "grad-norm"; }
        @Override public String dir() { return "grad_norms"; }
        @Override public int[] rowShape(int in, int out) { return new int[0]; }
        @Override public long memoryFactor(int in) { return 1; }
        @Override public boolean ofWeightGradients() { return true; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(true, null, 0, scale);
        }
    }

    /**
     * {@code |g_n[key]|}, (rows, K): the norm of each weight key's part of example n's gradient, the
     * columns in the weights' key order (named in summary.json), in {@code grad_norms/}.
     */
    record GradNormPerKey() implements PerExampleOutput {
        @Override public String name() { return "grad-norm-per-key"; }
        @Override public String dir() { return "grad_norms"; }
        /** One value per weight key: K is the weights', which the rows' and outputs' widths do not tell. */
        @Override public int[] rowShape(int in, int out) {
            throw new UnsupportedOperationException("a row of grad-norm-per-key has one value per weight key");
        }
        @Override public long memoryFactor(int in) { return 1; }
        @Override public boolean ofWeightGradients() { return true; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(true, null, 0, scale);
        }
    }

    /** {@code g_n · v}, (rows,): each example's weight gradient dotted with the reference gradient {@code vector} (an .npz of the weights' keys), in {@code grad_dots/}. */
    record GradDot(String vector) implements PerExampleOutput {
        @Override public String name() { return "grad-dot"; }
        @Override public String dir() { return "grad_dots"; }
        @Override public int[] rowShape(int in, int out) { return new int[0]; }
        @Override public long memoryFactor(int in) { return 1; }
        @Override public boolean ofWeightGradients() { return true; }
        @Override public BatchGradient.Request request(boolean weights, Tensor[] hvpVector, double scale) {
            return new BatchGradient.Request(true, null, 0, scale);
        }
        @Override public Map<String, Object> summaryEntry(String format, List<Long> shape, int parts) {
            Map<String, Object> d = PerExampleOutput.super.summaryEntry(format, shape, parts);
            d.put("vector", org.gradspark.job.io.Storage.display(vector));
            return d;
        }
    }
}
