package org.gradspark.job.exec;

import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;

/**
 * What a partition does with a NaN or an infinity, in one place: in the input rows, an error naming
 * the first ({@code --on-nan fail}) or the rows left out ({@code --on-nan skip}); in the sensitivities
 * and labels, always an error (one would make every gradient NaN); in what a chunk computes, an error
 * naming the row ({@code --check-finite rows}), also the op that produced it ({@code --check-finite ops}),
 * or nothing ({@code --check-finite none}, which writes it anyway).
 */
final class NanPolicy implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final JobConfig.OnNan onNan;
    private final JobConfig.CheckFinite checkFinite;
    private final String inputWhere;

    NanPolicy(JobConfig cfg) {
        this.onNan = cfg.onNan();
        this.checkFinite = cfg.checkFinite();
        this.inputWhere = cfg.inputWhere();
    }

    /** Rows of {@code x} (whose first is row {@code firstRow}) with a NaN or an infinity: an error naming the first, or a mask with --on-nan skip; null when none. */
    boolean[] badRows(Tensor x, long firstRow) {
        int rows = x.shape().dim(0), width = x.size() / Math.max(1, rows);
        boolean[] bad = null;
        for (int i = 0; i < x.size(); i++) {
            if (!Double.isFinite(x.getDouble(i))) {
                if (onNan == JobConfig.OnNan.FAIL) {
                    throw new BadInputException(inputWhere + ", " + badCell(x, i, firstRow) + " (use --on-nan skip to leave such rows out)");
                }
                if (bad == null) bad = new boolean[rows];
                bad[i / width] = true;
            }
        }
        return bad;
    }

    /** Sensitivities and labels must be finite (a NaN there would make every gradient NaN): the first bad one is named. */
    static Tensor finite(Tensor rows, String option, String file, long firstRow) {
        int bad = rows.firstNonFinite();
        if (bad < 0) return rows;
        throw new BadInputException(option + " " + Storage.display(file) + ", " + badCell(rows, bad, firstRow));
    }

    /** {@code row R: column C is V} for element {@code flat} of a chunk of rows whose first is {@code firstRow}. */
    private static String badCell(Tensor rows, int flat, long firstRow) {
        int width = rows.size() / Math.max(1, rows.shape().dim(0));
        return "row " + (firstRow + flat / width) + ": column " + (flat % width) + " is " + rows.getDouble(flat);
    }

    /** The chunk's input derivatives, refused when one is NaN or infinite (unless --check-finite none). */
    Tensor finiteInputDerivative(Tensor g, long firstRow) {
        if (checkFinite == JobConfig.CheckFinite.NONE) return g;
        int bad = g.firstNonFinite();
        if (bad < 0) return g;
        int width = g.size() / Math.max(1, g.shape().dim(0));
        throw new BadInputException("the input derivative of " + inputWhere + ", row " + (firstRow + bad / width) + ", column " + (bad % width)
                + " would be " + g.getDouble(bad) + opsAdvice() + "; --check-finite none writes it anyway");
    }

    /** A chunk's per-example statistic, refused when a kept row's is NaN or infinite (unless --check-finite none). */
    Tensor finitePerExample(Tensor values, boolean[] skip, long firstRow, PerExampleOutput kind) {
        if (checkFinite == JobConfig.CheckFinite.NONE) return values;
        int width = values.size() / Math.max(1, values.shape().dim(0));
        for (int i = 0; i < values.size(); i++) {
            double x = values.getDouble(i);
            if (!Double.isFinite(x) && (skip == null || !skip[i / width])) {
                throw new BadInputException("--per-example " + kind.name() + " of " + inputWhere + ", row " + (firstRow + i / width)
                        + " would be " + x + opsAdvice() + "; --check-finite none writes it anyway");
            }
        }
        return values;
    }

    private String opsAdvice() {
        return checkFinite == JobConfig.CheckFinite.OPS ? "" : "; --check-finite ops names the op that produced it";
    }

    /**
     * A chunk's core call (rows {@code firstRow} on, {@code rows} of them); with --check-finite ops, the first
     * op that turns finite values into NaN or an infinity is named.
     */
    <T> T watchingOps(long firstRow, int rows, java.util.function.Supplier<T> work) {
        if (checkFinite != JobConfig.CheckFinite.OPS) return work.get();
        try {
            return org.gradspark.ad.Functional.detectAnomaly(work);
        } catch (org.gradspark.ad.NonFiniteException e) {
            throw new BadInputException(inputWhere + ", rows " + firstRow + ".." + (firstRow + rows - 1) + ": " + e.getMessage(), e);
        }
    }
}
