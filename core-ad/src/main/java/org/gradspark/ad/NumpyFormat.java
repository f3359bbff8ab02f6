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
 * decimal point, and scientific notation is used when NumPy would use it. The digits are Dragon4's
 * (NumPy's printer), which differ from Java's shortest round-trip in a few corner cases.
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
        // NumPy prints a 0-d array as its scalar, which is not held to the array's precision.
        if (dims.length == 0) return ff.scalar(t.getDouble(0));
        // Any zero-length axis gives "[]", whatever the rank.
        if (t.size() == 0) return "[]";
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
            // NumPy compares in the array's dtype, and lowers the upper cutoff to 10**finfo.precision
            // (1e6 for float32): a float32 1e-4 is not below float32(1e-4), though it is below 1e-4.
            if (max > 0) {
                boolean f32 = dtype == DType.FLOAT32;
                double cutoff = f32 ? 1e6 : 1e8;
                double small = f32 ? (float) 1e-4 : 1e-4;
                double ratio = f32 ? (float) max / (float) min : max / min;
                if (max >= cutoff || min < small || ratio > 1000.0) exp = true;
            }
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
                    String[] p = positional(v, 0, PRECISION);
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
            String[] p = positional(v, 0, PRECISION);
            return pad(p[0], padLeft) + "." + p[1] + " ".repeat(padRight - p[1].length());
        }

        /**
         * The str of a NumPy scalar: every digit the dtype needs, positional (keeping one fractional
         * zero) for magnitudes in [1e-4, 1e16), or [1e-4, 1e6) for float32, scientific (dropping a
         * bare point) outside. The bounds are compared in double, so a float32 1e-4 falls below.
         */
        String scalar(double v) {
            if (!Double.isFinite(v)) return Double.isNaN(v) ? "nan" : v < 0 ? "-inf" : "inf";
            double a = Math.abs(v);
            double maxPositional = dtype == DType.FLOAT32 ? 1e6 : 1e16;
            if (a == 0 || (a >= 1e-4 && a < maxPositional)) {
                String[] p = positional(v, -1, -1);
                return p[0] + "." + (p[1].isEmpty() ? "0" : p[1]);
            }
            String[] p = scientific(v, -1, false, 0);
            return p[0] + (p[1].isEmpty() ? "" : "." + p[1]) + "e" + p[2];
        }

        private static String pad(String s, int width) {
            return " ".repeat(Math.max(0, width - s.length())) + s;
        }

        /**
         * Dragon4's unique-mode digits of |v|, rounded as it rounds them. It stops at the first digit
         * that tells v from its neighbours, but not before {@code minDigits} and at the latest at
         * {@code maxDigits} (-1: no bound), counted past the point when {@code fractional}, else
         * past the leading digit. Shortest round-trip is not enough: the margins are inclusive for
         * an even mantissa, the lower one halves at a power of two, and min_digits goes on into
         * the exact value's digits (a float32 9.09196e-06 padded to 7 digits is 9.0919602e-06).
         */
        private BigDecimal dragon4(double v, int minDigits, int maxDigits, boolean fractional) {
            if (v == 0) return BigDecimal.ZERO;
            double a = Math.abs(v);
            boolean f32 = dtype == DType.FLOAT32;
            boolean even = f32 ? (Float.floatToRawIntBits((float) a) & 1) == 0 : (Double.doubleToRawLongBits(a) & 1) == 0;
            double below = f32 ? Math.nextDown((float) a) : Math.nextDown(a);
            double above = f32 ? Math.nextUp((float) a) : Math.nextUp(a);
            BigDecimal exact = new BigDecimal(a);
            BigDecimal half = new BigDecimal("0.5");
            BigDecimal marginLow = exact.subtract(new BigDecimal(below)).multiply(half);
            // The largest finite value has no finite neighbour above; its gaps are equal.
            BigDecimal marginHigh = Double.isInfinite(above) ? marginLow : new BigDecimal(above).subtract(exact).multiply(half);
            int lead = exact.precision() - exact.scale() - 1;
            int minScale = minDigits < 0 ? Integer.MIN_VALUE : fractional ? minDigits : minDigits - lead;
            int maxScale = maxDigits < 0 ? Integer.MAX_VALUE : fractional ? maxDigits : maxDigits - lead;
            for (int scale = Math.min(-lead, maxScale); ; scale++) {
                BigDecimal down = exact.setScale(scale, RoundingMode.DOWN);
                BigDecimal unit = BigDecimal.ONE.movePointLeft(scale);
                BigDecimal rest = exact.subtract(down);
                int cmpLow = rest.compareTo(marginLow), cmpHigh = rest.add(marginHigh).compareTo(unit);
                boolean low = even ? cmpLow <= 0 : cmpLow < 0, high = even ? cmpHigh >= 0 : cmpHigh > 0;
                if (((low || high) && scale >= minScale) || scale >= maxScale) {
                    boolean roundDown = low;
                    if (low == high) {
                        int c = rest.add(rest).compareTo(unit);
                        roundDown = c < 0 || (c == 0 && !down.unscaledValue().testBit(0));
                    }
                    return roundDown ? down : down.add(unit);
                }
            }
        }

        private static String sign(double v) {
            return (v < 0 || (v == 0 && 1 / v < 0)) ? "-" : "";
        }

        /** {int part, fraction digits} of dragon4_positional(unique, min_digits, precision, trim '.'). */
        String[] positional(double v, int minDigits, int precision) {
            BigDecimal d = dragon4(v, minDigits, precision, true);
            d = d.stripTrailingZeros();
            String plain = d.scale() < 0 ? d.setScale(0).toPlainString() : d.toPlainString();
            int dot = plain.indexOf('.');
            String ip = dot < 0 ? plain : plain.substring(0, dot);
            String fp = dot < 0 ? "" : plain.substring(dot + 1);
            return new String[] {sign(v) + ip, fp};
        }

        /**
         * {mantissa int part, mantissa fraction, exponent with sign} of dragon4_scientific(unique,
         * precision prec), with min_digits = prec and trim 'k' when {@code padDigits}.
         */
        String[] scientific(double v, int prec, boolean padDigits, int expDigits) {
            BigDecimal d = dragon4(v, padDigits ? prec : -1, prec, false);
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
