package org.gradspark.job.fit;

import java.util.Arrays;
import java.util.stream.DoubleStream;
import java.util.stream.IntStream;
import org.apache.commons.math3.special.Erf;

/**
 * The Rényi-DP accountant of the sampled Gaussian mechanism (Mironov, Talwar and Zhang 2019, "Rényi
 * Differential Privacy of the Sampled Gaussian Mechanism", section 3.3; the computation of TF Privacy's
 * {@code rdp_accountant.py} and Opacus's {@code accountants/analysis/rdp.py}): each of T steps keeps
 * every row independently with probability q (Poisson sampling) and adds N(0, σ²C²) noise to the sum
 * of the rows' gradients clipped to norm C. One step is (α, ε_α)-RDP with
 * <pre>
 *   ε_α = log A_α / (α − 1),   A_α = E_{z ~ N(0, σ²)} [ ((1 − q) + q·exp((2z − 1) / (2σ²)))^α ]
 * </pre>
 * computed as a binomial sum for an integer α and as the two-sided series with erfc tails for a
 * fractional one, all in log space (no overflow at large orders or small q); T steps compose to T·ε_α.
 *
 * <p>RDP to (ε, δ): the conversion of Balle et al. 2020 ("Hypothesis testing interpretations and
 * Rényi differential privacy", Theorem 21; Canonne, Kamath and Steinke 2020, Proposition 12), which TF
 * Privacy's current accountant and Opacus use:
 * <pre>
 *   ε = min over α of  ε_α·T + log(1 − 1/α) − log(δ·α) / (α − 1)     (0 where δ² ≥ 1 − exp(−ε_α·T); orders α ≤ 1.01 skipped)
 * </pre>
 * tighter than the classic ε_α·T + log(1/δ)/(α − 1) (Mironov 2017, Proposition 3). The orders are
 * those of TF Privacy's {@code compute_dp_sgd_privacy} and Opacus's default together ({@link #DEFAULT_ORDERS}).
 *
 * <p>Example: q = 0.04, σ = 1.5, T = 2250, δ = 1e-5 gives ε ≈ 7.3291 (at α = 3.9), Opacus's published value.
 * Pure float64 Java on the driver (erfc from commons-math3): it lives with fit, its only user.
 */
public final class RdpAccountant {
    /** Opacus's default orders ({@code RDPAccountant.DEFAULT_ALPHAS}): 1.1 ... 10.9 by 0.1, then 12 ... 63. */
    public static final double[] OPACUS_ORDERS = DoubleStream.concat(IntStream.range(1, 100).mapToDouble(x -> 1 + x / 10.0),
            IntStream.range(12, 64).mapToDouble(x -> x)).toArray();

    /** TF Privacy's {@code compute_dp_sgd_privacy} orders: 1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, 5 ... 63, 128, 256, 512. */
    public static final double[] TF_PRIVACY_ORDERS = DoubleStream.concat(DoubleStream.of(1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5),
            DoubleStream.concat(IntStream.range(5, 64).mapToDouble(x -> x), DoubleStream.of(128, 256, 512))).toArray();

    /**
     * Both lists together: ε is a minimum over the orders, so more orders only tighten it (1.25 for a very
     * large ε, 128..512 for a very small one, the 0.1 grid in between).
     */
    public static final double[] DEFAULT_ORDERS = DoubleStream.concat(DoubleStream.of(OPACUS_ORDERS), DoubleStream.of(TF_PRIVACY_ORDERS)).sorted().distinct()
            .toArray();

    /** ε at δ and the order α that gives it (NaN when ε is 0 or infinite at every order). */
    public record Epsilon(double epsilon, double order) {}

    private final double q, sigma;
    private final double[] orders, oneStep;

    /**
     * @param q     the sampling rate, 0 ≤ q ≤ 1
     * @param sigma the noise multiplier (the noise's standard deviation over the clipping norm), ≥ 0
     */
    public RdpAccountant(double q, double sigma) {
        this(q, sigma, DEFAULT_ORDERS);
    }

    public RdpAccountant(double q, double sigma, double[] orders) {
        if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("sampling rate q: expected 0 <= q <= 1, got " + q);
        if (!(sigma >= 0) || Double.isInfinite(sigma)) throw new IllegalArgumentException("noise multiplier: expected a finite value >= 0, got " + sigma);
        this.q = q;
        this.sigma = sigma;
        this.orders = orders.clone();
        this.oneStep = Arrays.stream(orders).map(a -> rdp(q, sigma, a)).toArray();
    }

    /** The RDP of {@code steps} steps at each order (in this accountant's order list). */
    public double[] rdp(long steps) {
        if (steps < 0) throw new IllegalArgumentException("steps: expected >= 0, got " + steps);
        return Arrays.stream(oneStep).map(r -> steps == 0 ? 0 : r * steps).toArray();
    }

    /** ε at {@code delta} after {@code steps} steps (infinite with σ = 0 and q > 0). */
    public Epsilon epsilon(long steps, double delta) {
        return epsilon(orders, rdp(steps), delta);
    }

    public double q() { return q; }

    public double sigma() { return sigma; }

    /**
     * One step's RDP at order α ≥ 1: 0 when q = 0, infinite when σ = 0 (no noise) or α = ∞,
     * α/(2σ²) when q = 1 (the Gaussian mechanism), else log A_α / (α − 1) (α &gt; 1).
     */
    public static double rdp(double q, double sigma, double order) {
        if (!(order >= 1)) throw new IllegalArgumentException("RDP order: expected >= 1, got " + order);
        if (q == 0) return 0;
        if (sigma == 0) return Double.POSITIVE_INFINITY;
        if (q == 1) return order / (2 * sigma * sigma);
        if (Double.isInfinite(order)) return Double.POSITIVE_INFINITY;
        if (order == 1) throw new IllegalArgumentException("RDP order 1 (the KL divergence) of the sampled Gaussian: not computed, expected an order > 1");
        double logA = order == Math.rint(order) && order < Integer.MAX_VALUE ? logAInteger(q, sigma, (int) order) : logAFractional(q, sigma, order);
        return logA / (order - 1);
    }

    /** log A_α for an integer α: log Σ_{i=0..α} C(α, i) q^i (1 − q)^(α−i) exp((i² − i) / (2σ²)). */
    static double logAInteger(double q, double sigma, int alpha) {
        double logA = Double.NEGATIVE_INFINITY, logQ = Math.log(q), log1mQ = Math.log1p(-q);
        double logBinom = 0;   // log C(alpha, i), by C(α, i+1) = C(α, i)·(α − i)/(i + 1)
        for (int i = 0; i <= alpha; i++) {
            if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
            logA = logAdd(logA, logBinom + i * logQ + (alpha - i) * log1mQ + ((double) i * i - i) / (2 * sigma * sigma));
        }
        return logA;
    }

    /**
     * log A_α for a fractional α: A_α split at z0 = σ²·log(1/q − 1) + 1/2 into two series over i of
     * C(α, i) (a generalised binomial: its sign alternates past i = α) times Gaussian tails (erfc),
     * summed until both terms are below e^-30.
     */
    static double logAFractional(double q, double sigma, double alpha) {
        double logA0 = Double.NEGATIVE_INFINITY, logA1 = Double.NEGATIVE_INFINITY;
        double z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5, logQ = Math.log(q), log1mQ = Math.log1p(-q);
        double logCoef = 0;   // log |C(alpha, i)|
        int sign = 1;         // sign of C(alpha, i)
        for (int i = 0; ; i++) {
            if (i > 0) {
                double f = alpha - (i - 1);
                logCoef += Math.log(Math.abs(f)) - Math.log(i);
                if (f < 0) sign = -sign;
            }
            double j = alpha - i;
            double logT0 = logCoef + i * logQ + j * log1mQ, logT1 = logCoef + j * logQ + i * log1mQ;
            double logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.sqrt(2) * sigma));
            double logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.sqrt(2) * sigma));
            double logS0 = logT0 + ((double) i * i - i) / (2 * sigma * sigma) + logE0;
            double logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
            if (sign > 0) {
                logA0 = logAdd(logA0, logS0);
                logA1 = logAdd(logA1, logS1);
            } else {
                logA0 = logSub(logA0, logS0);
                logA1 = logSub(logA1, logS1);
            }
            if (Math.max(logS0, logS1) < -30) break;
        }
        return logAdd(logA0, logA1);
    }

    /**
     * (ε, δ) from RDP values at orders, by Balle et al. 2020 Theorem 21 (see the class comment): the
     * smallest ε over the orders, at least 0.
     */
    public static Epsilon epsilon(double[] orders, double[] rdp, double delta) {
        if (orders.length != rdp.length) throw new IllegalArgumentException(orders.length + " orders but " + rdp.length + " RDP values");
        if (!(delta > 0 && delta < 1)) throw new IllegalArgumentException("delta: expected 0 < delta < 1, got " + delta);
        double best = Double.POSITIVE_INFINITY, bestOrder = Double.NaN;
        for (int k = 0; k < orders.length; k++) {
            double a = orders[k], r = rdp[k];
            if (!(a >= 1) || !(r >= 0)) throw new IllegalArgumentException("order " + a + " with RDP " + r + ": expected an order >= 1 and RDP >= 0");
            double eps;
            if (delta * delta + Math.expm1(-r) >= 0) {
                eps = 0;   // δ ≥ sqrt(1 − exp(−KL)) already: no ε needed
            } else if (a > 1.01) {
                eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);   // unstable as α → 1, where it is no use anyway
            } else {
                eps = Double.POSITIVE_INFINITY;
            }
            if (eps < best) {
                best = eps;
                bestOrder = a;
            }
        }
        return new Epsilon(Math.max(0, best), bestOrder);
    }

    /** log(e^x + e^y). */
    static double logAdd(double x, double y) {
        double a = Math.min(x, y), b = Math.max(x, y);
        if (a == Double.NEGATIVE_INFINITY) return b;
        return Math.log1p(Math.exp(a - b)) + b;
    }

    /** log(e^x − e^y), x ≥ y. */
    static double logSub(double x, double y) {
        if (x < y) throw new ArithmeticException("log-space subtraction below zero: log(e^" + x + " - e^" + y + ")");
        if (y == Double.NEGATIVE_INFINITY) return x;
        if (x == y) return Double.NEGATIVE_INFINITY;
        double d = x - y;
        // exp(x - y) - 1 overflows past d ≈ 709, where it is exp(d) to the last bit anyway.
        return d > 700 ? x : Math.log(Math.expm1(d)) + y;
    }

    /**
     * log erfc(x), also where erfc(x) underflows: commons-math's erfc (regularised Γ, ~1e-15 relative)
     * while it is a normal double, else the asymptotic series at infinity
     * erfc(x) ~ exp(−x² − 1/(2x²) + 5/(8x⁴) − 37/(24x⁶) + 353/(64x⁸)) / (x·√π), exact to float64 there (x &gt; 26).
     */
    static double logErfc(double x) {
        double r = Erf.erfc(x);
        if (r > Double.MIN_NORMAL * 0x1p60) return Math.log(r);
        double x2 = x * x;
        return -0.5 * Math.log(Math.PI) - Math.log(x) - x2 - 0.5 / x2 + 0.625 / (x2 * x2) - 37.0 / 24.0 / (x2 * x2 * x2) + 353.0 / 64.0 / (x2 * x2 * x2 * x2);
    }
}
