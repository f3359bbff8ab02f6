package org.gradspark.job.exec;

import java.io.Serializable;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import org.gradspark.job.io.BadInputException;

/**
 * What a {@code grad --wrt weights} job asks of the per-example gradients {@code g_n = ∇_w o_n}
 * ({@code o_n = Σ_j s_nj · out_nj}, no 1/N scale), all from the same pass over the rows:
 *
 * <ul>
 * <li>{@code perExample}: one value (or one row) per example, written as parts like the input derivatives:
 *     {@link PerExampleOutput.GradNorm} |g_n|, {@link PerExampleOutput.GradNormPerKey} |g_n[key]| per weight key,
 *     {@link PerExampleOutput.GradDot} g_n · v; null: none;</li>
 * <li>{@code sumOfSquares}: Σ_n g_n² per weight ({@code grad_sum_squares.npz});</li>
 * <li>{@code ggnDiagonal}: Σ_n diag(J_nᵀ H_n J_n) per weight ({@code ggn_diagonal.npz}), for --loss mse or softmax-cross-entropy;</li>
 * <li>{@code clip}: C > 0 makes grads.npz Σ_n g_n · min(1, C/|g_n|); 0: the plain sum.</li>
 * </ul>
 */
public record StatisticsSpec(PerExampleOutput perExample, boolean sumOfSquares, boolean ggnDiagonal, double clip) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Nothing but the gradient. */
    public static final StatisticsSpec NONE = new StatisticsSpec(null, false, false, 0);

    /** {@code --grad-stats}' names. */
    public static final String SUM_OF_SQUARES = "sum-of-squares", GGN_DIAGONAL = "ggn-diagonal";

    /** The prefix of {@code --per-example grad-dot:V.npz}. */
    public static final String GRAD_DOT = "grad-dot:";

    public StatisticsSpec {
        if (perExample != null && !perExample.ofWeightGradients()) {
            throw new IllegalArgumentException("not a per-example statistic of the weights' gradients: " + perExample.name());
        }
        if (clip < 0 || Double.isNaN(clip) || Double.isInfinite(clip)) throw new IllegalArgumentException("clip " + clip);
    }

    /** Whether anything beyond the plain gradient is asked. */
    public boolean any() {
        return perExample != null || sumOfSquares || ggnDiagonal || clip > 0;
    }

    /** Whether every example's norm is computed (norms, sum of squares): then summary.json has the gradient noise scale. */
    public boolean normsKnown() {
        return perExample instanceof PerExampleOutput.GradNorm || perExample instanceof PerExampleOutput.GradNormPerKey || sumOfSquares;
    }

    /** The reference gradient file of {@code grad-dot:V.npz}; null without one. */
    public String dotVector() {
        return perExample instanceof PerExampleOutput.GradDot d ? d.vector() : null;
    }

    /** The same spec with the reference gradient at {@code path} (qualified). */
    StatisticsSpec withDotVector(String path) {
        return perExample instanceof PerExampleOutput.GradDot ? new StatisticsSpec(new PerExampleOutput.GradDot(path), sumOfSquares, ggnDiagonal, clip) : this;
    }

    /**
     * {@code --per-example grad-norm | grad-norm-per-key | grad-dot:V.npz} (null: none).
     *
     * @throws BadInputException naming {@code option} and the value
     */
    public static PerExampleOutput perExample(String option, String value) {
        if (value == null) return null;
        if (value.equals("grad-norm")) return new PerExampleOutput.GradNorm();
        if (value.equals("grad-norm-per-key")) return new PerExampleOutput.GradNormPerKey();
        if (value.startsWith(GRAD_DOT) && value.length() > GRAD_DOT.length()) return new PerExampleOutput.GradDot(value.substring(GRAD_DOT.length()));
        throw new BadInputException(option + ": expected grad-norm, grad-norm-per-key or grad-dot:V.npz, got '" + value + "'");
    }

    /**
     * {@code --grad-stats sum-of-squares,ggn-diagonal}: a comma-separated set (null: none).
     *
     * @throws BadInputException naming {@code option} and the unknown or repeated name
     */
    public static Set<String> gradStats(String option, String value) {
        Set<String> names = new LinkedHashSet<>();
        if (value == null) return names;
        for (String name : value.split(",", -1)) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            if (!n.equals(SUM_OF_SQUARES) && !n.equals(GGN_DIAGONAL)) {
                throw new BadInputException(option + ": expected a comma-separated list of " + SUM_OF_SQUARES + " and " + GGN_DIAGONAL + ", got '" + value + "'");
            }
            if (!names.add(n)) throw new BadInputException(option + ": " + n + " is named twice in '" + value + "'");
        }
        return names;
    }
}
