package org.gradspark.ad;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * Formats a tensor as NumPy's {@code str(array)} does with default print options: precision 8,
 * {@code floatmode='maxprec'}, line width 75, summarisation past 1000 elements with 3 edge items.
 * Each value is printed with the fewest digits that identify it in its own dtype (so a float32
 * 3.6000001 prints as {@code 3.6000001}, not as its float64 widening), columns are aligned on the
 * decimal point, and scientific notation is used when NumPy would use it.
 */
final class NumpyFormat {
    private static final int PRECISION = 8;
    private static final int LINE_WIDTH = 75;
    private static final int THRESHOLD = 1000;
    private static final int EDGE_ITEMS = 3;

    private NumpyFormat() {}

    static String format(Tensor t) {
        boolean summarize = t.size() > THRESHOLD;
        int[] dims = t.shape().dims();
        List<Double> shown = new ArrayList<>();
        collectShown(t, dims, 0, 0, summarize, shown);
        FloatFormat ff = new FloatFormat(shown, t.dtype());
        if (dims.length == 0) return ff.format(t.getDouble(0)).strip();
        return recurse(t, ff, dims, t.shape().strides(), 0, 0, " ", LINE_WIDTH, summarize);
    }

    private static void collectShown(Tensor t, int[] dims, int axis, int offset, boolean summarize, List<Double> out) {
        if (axis == dims.length) {
            out.add(t.getDouble(offset));
            return;
        }
        int stride = t.shape().strides()[axis];
        for (int i : shownIndices(dims[axis], summarize)) {
            if (i >= 0) collectShown(t, dims, axis + 1, offset + i * stride, summarize, out);
        }
    }

    /** Indices printed along an axis; -1 stands for the "..." marker. */
    private static int[] shownIndices(int n, boolean summarize) {
        if (!summarize || n <= 2 * EDGE_ITEMS) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) all[i] = i;
            return all;
        }
        int[] idx = new int[2 * EDGE_ITEMS + 1];
        for (int i = 0; i < EDGE_ITEMS; i++) {
            idx[i] = i;
            idx[EDGE_ITEMS + 1 + i] = n - EDGE_ITEMS + i;
        }
        idx[EDGE_ITEMS] = -1;
        return idx;
    }

    /** NumPy's {@code _formatArray} for separator ' ' (legacy=False). */
    private static String recurse(Tensor t, FloatFormat ff, int[] dims, int[] strides, int axis, int offset,
                                  String hangingIndent, int currWidth, boolean summarize) {
        if (axis == dims.length) return ff.format(t.getDouble(offset));
        String nextIndent = hangingIndent + " ";
        int nextWidth = currWidth - 1;
        int axesLeft = dims.length - axis;
        int[] idx = shownIndices(dims[axis], summarize);
        StringBuilder s = new StringBuilder();
        if (axesLeft == 1) {
            int elemWidth = currWidth - 1;
            StringBuilder line = new StringBuilder(hangingIndent);
            for (int k = 0; k < idx.length; k++) {
                String word = idx[k] < 0 ? "..." : recurse(t, ff, dims, strides, axis + 1, offset + idx[k] * strides[axis], nextIndent, nextWidth, summarize);
                boolean wrap = line.length() + word.length() > elemWidth && line.length() > hangingIndent.length();
                if (wrap) {
                    s.append(line.toString().stripTrailing()).append('\n');
                    line = new StringBuilder(hangingIndent);
                }
                line.append(word);
                if (k < idx.length - 1) line.append(' ');
            }
            s.append(line);
        } else {
            String lineSep = "\n".repeat(axesLeft - 1);
            for (int k = 0; k < idx.length; k++) {
                String nested = idx[k] < 0 ? "..." : recurse(t, ff, dims, strides, axis + 1, offset + idx[k] * strides[axis], nextIndent, nextWidth, summarize);
                s.append(hangingIndent).append(nested);
                if (k < idx.length - 1) s.append(lineSep);
            }
        }
        return "[" + s.substring(hangingIndent.length()) + "]";
    }

    /** NumPy's FloatingFormat: chooses positional or scientific notation and the paddings. */
    private static final class FloatFormat {
        final DType dtype;
        boolean exp;
        int padLeft, padRight, precision = PRECISION, expSize = -1;
        boolean fixedDigits;  // trim='k' with min_digits = precision (scientific second pass)

        FloatFormat(List<Double> values, DType dtype) {
            this.dtype = dtype;
            List<Double> finite = values.stream().filter(Double::isFinite).toList();
            double max = 0, min = Double.POSITIVE_INFINITY;
            for (double v : finite) {
                double a = Math.abs(v);
                if (a == 0) continue;
                max = Math.max(max, a);
                min = Math.min(min, a);
            }
            if (max > 0 && (max >= 1e8 || min < 1e-4 || max / min > 1000.0)) exp = true;
            if (finite.isEmpty()) {
                padLeft = 0;
                padRight = 0;
            } else if (exp) {
                int maxFrac = 0, maxInt = 0, maxExp = 0;
                for (double v : finite) {
                    String[] p = scientific(v, PRECISION, false, 0);
                    maxInt = Math.max(maxInt, p[0].length());
                    maxFrac = Math.max(maxFrac, p[1].length());
                    maxExp = Math.max(maxExp, p[2].length());
                }
                expSize = maxExp - 1;
                precision = maxFrac;
                fixedDigits = true;
                padLeft = maxInt;
                padRight = expSize + 2 + precision;
            } else {
                int maxInt = 0, maxFrac = 0;
                for (double v : finite) {
                    String[] p = positional(v);
                    maxInt = Math.max(maxInt, p[0].length());
                    maxFrac = Math.max(maxFrac, p[1].length());
                }
                padLeft = maxInt;
                padRight = maxFrac;
            }
            if (finite.size() != values.size()) {
                boolean negInf = values.stream().anyMatch(v -> v == Double.NEGATIVE_INFINITY);
                int offset = padRight + 1;
                padLeft = Math.max(padLeft, Math.max(3 - offset, 3 + (negInf ? 1 : 0) - offset));
            }
        }

        String format(double v) {
            if (!Double.isFinite(v)) {
                String r = Double.isNaN(v) ? "nan" : v < 0 ? "-inf" : "inf";
                return " ".repeat(Math.max(0, padLeft + padRight + 1 - r.length())) + r;
            }
            if (exp) {
                String[] p = scientific(v, precision, fixedDigits, expSize);
                String mant = pad(p[0], padLeft) + "." + p[1];
                return mant + "e" + p[2];
            }
            String[] p = positional(v);
            return pad(p[0], padLeft) + "." + p[1] + " ".repeat(padRight - p[1].length());
        }

        private static String pad(String s, int width) {
            return " ".repeat(Math.max(0, width - s.length())) + s;
        }

        /** The fewest significant digits that read back as {@code v} in this dtype. */
        private BigDecimal shortest(double v) {
            BigDecimal exact = new BigDecimal(v);
            if (v == 0) return BigDecimal.ZERO;
            int maxDigits = dtype == DType.FLOAT32 ? 9 : 17;
            for (int p = 1; p < maxDigits; p++) {
                BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
                boolean same = dtype == DType.FLOAT32 ? Float.parseFloat(r.toString()) == (float) v : Double.parseDouble(r.toString()) == v;
                if (same) return r;
            }
            return exact.round(new MathContext(maxDigits, RoundingMode.HALF_EVEN));
        }

        private static String sign(double v) {
            return (v < 0 || (v == 0 && 1 / v < 0)) ? "-" : "";
        }

        /** {int part, fraction digits} of dragon4_positional(unique, precision 8, trim '.'). */
        String[] positional(double v) {
            BigDecimal d = shortest(v).abs();
            if (d.scale() > PRECISION) d = new BigDecimal(Math.abs(v)).setScale(PRECISION, RoundingMode.HALF_EVEN);
            d = d.stripTrailingZeros();
            String plain = d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
            int dot = plain.indexOf('.');
            String ip = dot < 0 ? plain : plain.substring(0, dot);
            String fp = dot < 0 ? "" : plain.substring(dot + 1);
            return new String[] {sign(v) + ip, fp};
        }

        /** {mantissa int part, mantissa fraction, exponent with sign} of dragon4_scientific. */
        String[] scientific(double v, int prec, boolean padDigits, int expDigits) {
            BigDecimal d = shortest(v).abs();
            if (d.signum() != 0 && d.precision() - 1 > prec) {
                d = new BigDecimal(Math.abs(v)).round(new MathContext(prec + 1, RoundingMode.HALF_EVEN));
            }
            d = d.stripTrailingZeros();
            String digits = d.signum() == 0 ? "0" : d.unscaledValue().toString();
            int e = d.signum() == 0 ? 0 : d.precision() - d.scale() - 1;
            String frac = digits.substring(1);
            if (padDigits) frac = frac + "0".repeat(Math.max(0, prec - frac.length()));
            String es = String.valueOf(Math.abs(e));
            es = "0".repeat(Math.max(0, Math.max(2, expDigits) - es.length())) + es;
            return new String[] {sign(v) + digits.charAt(0), frac, (e < 0 ? "-" : "+") + es};
        }
    }
}
