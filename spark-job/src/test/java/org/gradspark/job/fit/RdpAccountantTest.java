package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link RdpAccountant} against published values, each cited by repository, file and test. The
 * conversion to (ε, δ) is Balle et al. 2020's, the one these tests were written for (TF Privacy's
 * {@code _compute_eps} since 2020, Opacus's {@code get_privacy_spent}); the classic
 * ε = rdp + log(1/δ)/(α − 1) would give, for Opacus's case below, 8.0738 instead of 7.3291.
 */
class RdpAccountantTest {

    /** tensorflow/privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py, test_compute_rdp_scalar: compute_rdp(0.1, 2, 10, 5) = 0.07737 (5 places). */
    @Test
    void rdpAtAnIntegerOrderIsTfPrivacys() {
        assertEquals(0.07737, 10 * RdpAccountant.rdp(0.1, 2, 5), 0.5e-5);
    }

    /**
     * tensorflow/privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py, test_compute_rdp_sequence:
     * compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, inf]) = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, inf]
     * (delta 1e-5): fractional and integer orders, and a large order where A_α is e^8000 (log space).
     */
    @Test
    void rdpAtFractionalAndLargeOrdersIsTfPrivacys() {
        double[] orders = {1.5, 2.5, 5, 50, 100, Double.POSITIVE_INFINITY};
        double[] expected = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, Double.POSITIVE_INFINITY};
        double[] got = new RdpAccountant(0.01, 2.5, orders).rdp(50);
        assertArrayEquals(expected, got, 1e-5);
    }

    /**
     * tensorflow/privacy, rdp_accountant_test.py, test_compute_rdp_no_data (q = 0: 0) and
     * test_compute_rdp_no_sampling (q = 1, σ = 10, α = 20: α/(2σ²) = 0.1); Opacus's _compute_rdp: σ = 0 is no privacy.
     */
    @Test
    void rdpLimits() {
        assertEquals(0, RdpAccountant.rdp(0, 10, 20));
        assertEquals(0.1, RdpAccountant.rdp(1, 10, 20));
        assertEquals(Double.POSITIVE_INFINITY, RdpAccountant.rdp(0.01, 0, 20));
        assertEquals(Double.POSITIVE_INFINITY, new RdpAccountant(0.01, 0).epsilon(10, 1e-5).epsilon());
        assertEquals(0, new RdpAccountant(0.01, 1).epsilon(0, 1e-5).epsilon());
    }

    /**
     * tensorflow/privacy, rdp_accountant_test.py, test_get_privacy_spent_check_target_delta: a constant RDP of 1.1 at orders
     * 2..32 gives ε = 1.32783806176 at δ = 1e-5, at order 32 (the classic conversion would give 1.4714); and the Gaussian
     * mechanism (q = 1) with σ = 4.530877117 over orders 1.000..99.999 is exactly (1, 1e-6)-DP (7 places).
     */
    @Test
    void conversionToEpsilonIsBalleEtAls() {
        double[] orders = IntStream.rangeClosed(2, 32).asDoubleStream().toArray();
        double[] rdp = new double[orders.length];
        java.util.Arrays.fill(rdp, 1.1);
        RdpAccountant.Epsilon e = RdpAccountant.epsilon(orders, rdp, 1e-5);
        assertEquals(1.32783806176, e.epsilon(), 1e-10);
        assertEquals(32, e.order());

        double[] fine = IntStream.range(1000, 100000).mapToDouble(i -> 0.001 * i).toArray();
        assertEquals(1, new RdpAccountant(1, 4.530877117, fine).epsilon(1, 1e-6).epsilon(), 0.5e-7);
    }

    /**
     * pytorch/opacus, opacus/tests/accountants_test.py, test_rdp_accountant: σ = 1.5, q = 0.04, int(90 / 0.04) = 2250 steps,
     * δ = 1e-5: ε = 7.32911117143 (7 places), over Opacus's default orders (RDPAccountant.DEFAULT_ALPHAS, ours).
     */
    @Test
    void epsilonIsOpacuss() {
        assertEquals(7.32911117143, new RdpAccountant(0.04, 1.5, RdpAccountant.OPACUS_ORDERS).epsilon(2250, 1e-5).epsilon(), 0.5e-7);
        // fit's default orders hold Opacus's: the same order is the best there.
        assertEquals(7.32911117143, new RdpAccountant(0.04, 1.5).epsilon(2250, 1e-5).epsilon(), 0.5e-7);
    }

    /**
     * tensorflow/privacy, tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py, test_compute_dp_sgd_privacy
     * (Test0, Test1, Test2): n rows, batch b (q = b/n), noise multiplier σ, epochs E (T = ceil(E·n/b) steps), δ: ε (7
     * places) and the order that gives it, over compute_dp_sgd_privacy's orders (TF_PRIVACY_ORDERS). Test2 (σ = 0.1) is an ε of
     * 5.9 million at α = 1.25, agreed to 5e-12 relative (the 7 places TF asserts would be 1e-14 relative there: its
     * value and TF's own rdp_accountant.py, run with scipy 1.17, differ by 2.7e-12). fit's default orders hold these and more,
     * so they give at most these (Test0 and Test1 exactly; Test2 7801 at α = 1.1, an order TF's list lacks).
     */
    @ParameterizedTest
    @CsvSource({
            "60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0",
            "100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0",
            "100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25"})
    void epsilonOfDpSgdIsTfPrivacys(long n, long batch, double sigma, double epochs, double delta, double expected, double order) {
        long steps = (long) Math.ceil(epochs * n / batch);
        RdpAccountant.Epsilon e = new RdpAccountant((double) batch / n, sigma, RdpAccountant.TF_PRIVACY_ORDERS).epsilon(steps, delta);
        assertEquals(expected, e.epsilon(), Math.max(0.5e-7, Math.abs(expected) * 5e-12));
        assertEquals(order, e.order(), 1e-12);
        double withDefaults = new RdpAccountant((double) batch / n, sigma).epsilon(steps, delta).epsilon();
        assertTrue(withDefaults <= expected + 0.5e-7, "default orders: " + withDefaults);
        if (expected < 10) assertEquals(expected, withDefaults, 0.5e-7);
    }

    /** More steps never spend less: ε grows with T (the per-iteration values in history.json rest on it). */
    @Test
    void epsilonGrowsWithSteps() {
        RdpAccountant a = new RdpAccountant(0.01, 1.1);
        double before = 0;
        for (long t = 1; t <= 1000; t *= 10) {
            double eps = a.epsilon(t, 1e-5).epsilon();
            assertTrue(eps > before, "eps(" + t + ") = " + eps + " after " + before);
            before = eps;
        }
    }
}
