package org.gradspark.ad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/**
 * The randomised Laplacians ({@link LaplacianEstimator}): unbiased, with the variance their
 * distribution predicts (the mean over M independent draws is within a few standard errors of the
 * exact Laplacian, and the draws' variance is the predicted one), a check strong enough to refuse a
 * wrongly scaled estimator; exact where they should be; the same directions, to the bit, however the rows are
 * chunked; differentiable for the weights.
 */
class RandomisedLaplacianTest {
    private static final DType F64 = DType.FLOAT64;
    private static final int IN = 6, OUT = 2;
    private static final Cell U = new Sequential(new Dense(IN, 16, F64, 1), Activation.tanh(), new Dense(16, OUT, F64, 2));
    private static final Tensor POINT = Tensor.uniform(5, -1, 1, F64, 1, IN);
    /** Independent draws at one point: each row has its own directions (its own generator). */
    private static final int DRAWS = 4000;

    private static Tensor replicated(Tensor point, int rows) {
        int in = point.shape().dim(1);
        return Tensor.fromFunction(F64, Shape.of(rows, in), i -> point.getDouble(i % in));
    }

    /** H[j] of output j at POINT, [OUT][IN][IN]. */
    private static double[][][] hessian() {
        Tensor h = Operators.hessian(U, POINT);
        double[][][] r = new double[OUT][IN][IN];
        for (int j = 0; j < OUT; j++) for (int a = 0; a < IN; a++) for (int b = 0; b < IN; b++) r[j][a][b] = h.getDouble((j * IN + a) * IN + b);
        return r;
    }

    /** The draws of output j: one per row of the estimate [DRAWS, OUT]. */
    private static double[] column(Tensor estimate, int j) {
        double[] c = new double[DRAWS];
        for (int n = 0; n < DRAWS; n++) c[n] = estimate.getDouble(n * OUT + j);
        return c;
    }

    /**
     * The draws' mean is within 4 standard errors (from the predicted variance) of {@code exact}, and
     * their sample variance within 15% of the prediction (its own standard error here is a few %).
     */
    static void assertUnbiasedWithVariance(double[] draws, double exact, double predictedVariance) {
        double mean = Arrays.stream(draws).average().orElseThrow();
        double variance = Arrays.stream(draws).map(v -> (v - mean) * (v - mean)).sum() / (draws.length - 1);
        double standardError = Math.sqrt(predictedVariance / draws.length);
        if (Math.abs(mean - exact) > 4 * standardError) {
            throw new AssertionFailedError("mean " + mean + " of " + draws.length + " draws is " + Math.abs(mean - exact) / standardError
                    + " standard errors from the exact " + exact);
        }
        if (Math.abs(variance / predictedVariance - 1) > 0.15) {
            throw new AssertionFailedError("sample variance " + variance + " against the predicted " + predictedVariance);
        }
    }

    @Test
    void hutchinsonIsUnbiasedWithVarianceTwiceTheOffDiagonalSquaresOverK() {
        int k = 2;
        double[][][] h = hessian();
        Tensor exact = Operators.laplacian(U, POINT);
        Tensor estimate = Operators.laplacian(U, replicated(POINT, DRAWS), new LaplacianEstimator.Hutchinson(k), 11, 0);
        for (int j = 0; j < OUT; j++) {
            double offDiagonal = 0;
            for (int a = 0; a < IN; a++) for (int b = 0; b < IN; b++) if (a != b) offDiagonal += h[j][a][b] * h[j][a][b];
            assertUnbiasedWithVariance(column(estimate, j), exact.getDouble(j), 2 * offDiagonal / k);
        }
    }

    @Test
    void stdeIsUnbiasedWithTheVarianceOfSamplingCoordinatesWithoutReplacement() {
        int k = 2;
        double[][][] h = hessian();
        Tensor exact = Operators.laplacian(U, POINT);
        Tensor estimate = Operators.laplacian(U, replicated(POINT, DRAWS), new LaplacianEstimator.Stde(k), 11, 0);
        for (int j = 0; j < OUT; j++) {
            double mean = 0, spread = 0;
            for (int a = 0; a < IN; a++) mean += h[j][a][a] / IN;
            for (int a = 0; a < IN; a++) spread += (h[j][a][a] - mean) * (h[j][a][a] - mean) / IN;
            double predicted = (double) IN * IN * spread * (IN - k) / (k * (IN - 1.0));
            assertUnbiasedWithVariance(column(estimate, j), exact.getDouble(j), predicted);
        }
    }

    /** The check has the power to refuse: Gaussian directions scaled by 1.1 (bias 21%), and unscaled Gaussian ones (right mean, wrong variance). */
    @Test
    void theCheckRefusesAWronglyScaledOrWronglyDistributedEstimator() {
        double[][][] h = hessian();
        double exact = Operators.laplacian(U, POINT).getDouble(0);
        double offDiagonal = 0;
        for (int a = 0; a < IN; a++) for (int b = 0; b < IN; b++) if (a != b) offDiagonal += h[0][a][b] * h[0][a][b];
        double rademacherVariance = 2 * offDiagonal;
        for (double scale : new double[] {1.1, 1.0}) {
            SplittableRandom random = new SplittableRandom(3);
            double[] draws = new double[DRAWS];
            for (int n = 0; n < DRAWS; n++) {
                double[] v = new double[IN];
                for (int a = 0; a < IN; a++) v[a] = scale * gaussian(random);
                for (int a = 0; a < IN; a++) for (int b = 0; b < IN; b++) draws[n] += v[a] * h[0][a][b] * v[b];
            }
            assertThrows(AssertionFailedError.class, () -> assertUnbiasedWithVariance(draws, exact, rademacherVariance), "Gaussian directions scaled by " + scale);
        }
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    @Test
    void stdeWithEveryCoordinateIsTheExactLaplacian() {
        Tensor x = Tensor.uniform(8, -1, 1, F64, 9, IN);
        Tensor exact = Operators.laplacian(U, x), all = Operators.laplacian(U, x, new LaplacianEstimator.Stde(IN), 3, 100);
        for (int i = 0; i < exact.size(); i++) assertEquals(exact.getDouble(i), all.getDouble(i), 1e-12 * (1 + Math.abs(exact.getDouble(i))));
        assertEquals(Operators.laplacian(U, x).toDoubleArray().length, Operators.laplacian(U, x, LaplacianEstimator.EXACT, 3, 0).toDoubleArray().length);
    }

    /**
     * The directions of a batch cut into chunks are those of the batch in one piece, to the bit; so are the
     * Laplacians on the reference backend, and to rounding on the others (a BLAS kernel's bits depend on
     * the block's size, which a chunk changes; a different draw would differ in the first digit).
     */
    @Test
    void aBatchCutIntoChunksDrawsTheSameDirections() {
        Tensor x = Tensor.uniform(9, -1, 1, F64, 13, IN);
        boolean reference = org.gradspark.ad.backend.Backends.current().name().equals("reference");
        for (LaplacianEstimator e : new LaplacianEstimator[] {new LaplacianEstimator.Hutchinson(3), new LaplacianEstimator.Stde(2)}) {
            Tensor all = e.directions(IN, 13, 7, 1000, F64);
            Tensor joined = Ops.concat(1, e.directions(IN, 5, 7, 1000, F64), e.directions(IN, 8, 7, 1005, F64));
            assertTrue(Arrays.equals(all.toDoubleArray(), joined.toDoubleArray()), e.spelling() + ": the chunks' directions differ from the whole batch's");
            double[] whole = Operators.laplacian(U, x, e, 7, 1000).toDoubleArray();
            double[] head = Operators.laplacian(U, Ops.slice(x, new int[] {0, 0}, new int[] {5, IN}), e, 7, 1000).toDoubleArray();
            double[] tail = Operators.laplacian(U, Ops.slice(x, new int[] {5, 0}, new int[] {8, IN}), e, 7, 1005).toDoubleArray();
            double[] chunked = Arrays.copyOf(head, whole.length);
            System.arraycopy(tail, 0, chunked, head.length, tail.length);
            if (reference) assertTrue(Arrays.equals(whole, chunked), e.spelling() + ": the chunks' Laplacians differ from the whole batch's");
            for (int i = 0; i < whole.length; i++) assertEquals(whole[i], chunked[i], 1e-12 * (1 + Math.abs(whole[i])), e.spelling() + ", value " + i);
            assertFalse(Arrays.equals(all.toDoubleArray(), e.directions(IN, 13, 8, 1000, F64).toDoubleArray()), e.spelling() + ": another seed, the same draws");
        }
    }

    @Test
    void theWeightGradientOfStdeWithEveryCoordinateIsTheExactOnes() {
        Tensor x = Tensor.uniform(10, -1, 1, F64, 5, IN);
        ParameterTuple params = new ParameterTuple(U.trainableParams());
        TensorTuple exact = new GradOperation(false, true, false).apply(lossOf(LaplacianEstimator.EXACT), params).call(x);
        TensorTuple all = new GradOperation(false, true, false).apply(lossOf(new LaplacianEstimator.Stde(IN)), params).call(x);
        for (int p = 0; p < exact.leaves().size(); p++) {
            double[] e = exact.leaves().get(p).toDoubleArray(), a = all.leaves().get(p).toDoubleArray();
            for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], 1e-10 * (1 + Math.abs(e[i])));
        }
    }

    /** sum((Δu)²) by {@code estimator}: a residual loss, differentiated for the weights. */
    private static Cell lossOf(LaplacianEstimator estimator) {
        return new Cell() {
            private static final long serialVersionUID = 1L;

            @Override public Tensor construct(Tensor... in) {
                return Ops.sum(Ops.square(Operators.laplacian(U, in[0], estimator, 1, 0)));
            }
        };
    }

    @Test
    void badSpellingsAreRefusedNamingWhatIsWrong() {
        assertEquals(new LaplacianEstimator.Hutchinson(16), LaplacianEstimator.parse("hutchinson:16"));
        assertEquals(new LaplacianEstimator.Stde(4), LaplacianEstimator.parse("stde:4"));
        assertEquals(LaplacianEstimator.EXACT, LaplacianEstimator.parse("exact"));
        for (String bad : new String[] {"hutchinson:0", "stde:-2", "hutchinson", "stde:x", "gauss:4", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LaplacianEstimator.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'") || e.getMessage().contains("K >= 1"), e.getMessage());
        }
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> Operators.laplacian(U, POINT, new LaplacianEstimator.Stde(IN + 1), 1, 0));
        assertTrue(tooMany.getMessage().contains("stde:7") && tooMany.getMessage().contains("only 6"), tooMany.getMessage());
    }
}
