package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DP-SGD in the fit loop on a plain least-squares objective whose rows are clipped one by one (no
 * Spark): resumed from a checkpoint it ends with the bits of a run never stopped, ε per step is the
 * accountant's, the noise is σC·N(0, 1) from (seed, step) only, and a checkpoint whose ε or DP
 * settings were edited is refused. The job's own (Evaluator) DP-SGD is FitJobTest's.
 */
class DpSgdTest {
    private static final Map<String, Object> PROBLEM = Map.of("layers", "5,1", "loss", "mse", "dtype", "float64", "rows", 300);
    private static final Fitter.Progress QUIET = r -> {};

    @TempDir Path dir;

    private static final class Lost extends RuntimeException {}

    private static FitSettings dpAdam(int iterations) {
        return FitSettings.adam(iterations, 0.05).withMinibatch(0.2, 11).withCheckpointEvery(4).withDp(new DpSgd(0.5, 1.1, 1e-5));
    }

    @Test
    void aDpSgdFitResumedFromACheckpointEndsWithTheSameBits() {
        FitSettings s = dpAdam(14);
        Fitter.Result never = Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64), s, PROBLEM, null, Storage.local(), Storage.uri(dir.resolve("full")), QUIET);
        String ck = Storage.uri(dir.resolve("run"));
        assertThrows(Lost.class, () -> Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64), s, PROBLEM, null, Storage.local(), ck, r -> {
            if (r.iteration() == 10) throw new Lost();
        }));
        Checkpoint c = Checkpoint.read(Storage.local(), ck);
        assertEquals(8, c.state().iteration());
        Fitter.Result resumed = Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64), s, PROBLEM, c, Storage.local(), ck, QUIET);
        FitOptimiserTest.assertSameBits(never.weights(), resumed.weights());
        assertEquals(never.history(), resumed.history().stream().map(r -> withTimes(r, never.history().get(r.iteration() - 1))).toList());

        // Each step's ε is the accountant's after that many steps, growing; the plain run records none.
        RdpAccountant accountant = new RdpAccountant(0.2, 1.1);
        for (IterationRecord r : never.history()) assertEquals(accountant.epsilon(r.iteration(), 1e-5).epsilon(), r.epsilon());
        assertTrue(never.history().get(13).epsilon() > never.history().get(0).epsilon());
        Fitter.Result plain = Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64), s.withDp(null), PROBLEM, null, null, null, QUIET);
        assertFalse(plain.history().get(0).dp());
        // The noise moved the weights: not the plain run's.
        assertFalse(plain.weights().get("w0").getDouble(0) == never.weights().get("w0").getDouble(0));
    }

    /** {@code r} with the times of {@code like}: a resumed run's wall times are its own. */
    private static IterationRecord withTimes(IterationRecord r, IterationRecord like) {
        return new IterationRecord(r.iteration(), r.loss(), r.gradNorm(), r.step(), r.evaluations(), r.rows(), like.seconds(), like.elapsed(), r.epsilon());
    }

    @Test
    void theNoiseIsSigmaTimesCGaussianDrawnFromTheSeedAndTheStepOnly() {
        DpSgd dp = new DpSgd(2.0, 1.5, 1e-5);
        double[] a = dp.noise(42, 7, 200_000);
        assertArrayEquals(a, dp.noise(42, 7, 200_000), 0.0);
        assertFalse(java.util.Arrays.equals(a, dp.noise(42, 8, 200_000)), "another step, other noise");
        assertFalse(java.util.Arrays.equals(a, dp.noise(43, 7, 200_000)), "another seed, other noise");
        double mean = 0, sq = 0;
        for (double v : a) {
            mean += v;
            sq += v * v;
        }
        mean /= a.length;
        double sd = Math.sqrt(sq / a.length - mean * mean);
        assertEquals(0, mean, 4 * 3.0 / Math.sqrt(a.length), "mean");
        assertEquals(3.0, sd, 0.01 * 3.0, "standard deviation sigma*C");
        assertArrayEquals(new double[5], new DpSgd(2.0, 0, 1e-5).noise(42, 7, 5), 0.0);
    }

    /**
     * The accountant assumes Poisson sampling: each row in each step's sample independently with probability q. The fit's
     * sample (RowSample, a hash of seed, step and row) is checked for it here: over 400 steps of 4000 rows at
     * q = 0.05, the sample sizes have the binomial's mean qN and variance qN(1 − q), each row is kept in about q of the steps,
     * and whether a row is kept says nothing of whether the next row or the same row the next step is (correlations ≈ 0).
     */
    @Test
    void theFitsRowSampleIsPoissonSampling() {
        int rows = 4000, steps = 400;
        double q = 0.05;
        boolean[][] kept = new boolean[steps][rows];
        double sizeSum = 0, sizeSq = 0;
        int[] perRow = new int[rows];
        for (int k = 0; k < steps; k++) {
            org.gradspark.job.exec.RowSample sample = new org.gradspark.job.exec.RowSample(q, 42, k + 1);
            int size = 0;
            for (int r = 0; r < rows; r++) {
                kept[k][r] = sample.keeps(r);
                if (kept[k][r]) {
                    size++;
                    perRow[r]++;
                }
            }
            sizeSum += size;
            sizeSq += (double) size * size;
        }
        double mean = sizeSum / steps, variance = sizeSq / steps - mean * mean, binomial = rows * q * (1 - q);
        assertEquals(rows * q, mean, 4 * Math.sqrt(binomial / steps), "mean sample size");
        assertEquals(binomial, variance, 0.25 * binomial, "sample size variance (independent rows)");
        double rowMean = java.util.Arrays.stream(perRow).average().orElseThrow();
        double rowVariance = java.util.Arrays.stream(perRow).mapToDouble(c -> (c - rowMean) * (c - rowMean)).sum() / rows;
        assertEquals(steps * q * (1 - q), rowVariance, 0.15 * steps * q * (1 - q), "a row's count over the steps is binomial");
        assertEquals(0, correlation(kept, 0, 1), 0.01, "neighbouring rows");
        assertEquals(0, correlation(kept, 1, 0), 0.01, "the same row in consecutive steps");
    }

    /** Pearson correlation of kept[k][r] with kept[k + dk][r + dr] over all pairs. */
    private static double correlation(boolean[][] kept, int dk, int dr) {
        double n = 0, sa = 0, sb = 0, sab = 0;
        for (int k = 0; k + dk < kept.length; k++) {
            for (int r = 0; r + dr < kept[k].length; r++) {
                double a = kept[k][r] ? 1 : 0, b = kept[k + dk][r + dr] ? 1 : 0;
                n++;
                sa += a;
                sb += b;
                sab += a * b;
            }
        }
        double ma = sa / n, mb = sb / n;
        return (sab / n - ma * mb) / Math.sqrt(ma * (1 - ma) * mb * (1 - mb));
    }

    @Test
    void aCheckpointWhoseEpsilonOrDpSettingsWereEditedIsRefused() throws Exception {
        Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64), dpAdam(4), PROBLEM, null, Storage.local(), Storage.uri(dir.resolve("ck")), QUIET);
        Path ck = dir.resolve("ck/iter-000004");
        Checkpoint c = Checkpoint.read(Storage.local(), Storage.uri(ck));   // as written: sound
        assertEquals(1.1, c.trajectory().get("--dp-noise-multiplier"));

        edit(ck, "e1", s -> ((ObjectNode) s.get("history").get(2)).put("epsilon", 0.001), "field 'history[2].epsilon' is 0.001, but the accountant gives");
        edit(ck, "e2", s -> ((ObjectNode) s.get("history").get(0)).remove("epsilon"), "field 'history[0].epsilon' is absent");
        edit(ck, "e3", s -> ((ObjectNode) s.get("trajectory")).put("--dp-noise-multiplier", 5.0), "field 'history[0].epsilon'");
        edit(ck, "e4", s -> ((ObjectNode) s.get("trajectory")).put("--dp-clip", -1.0), "--dp-clip: expected a finite value > 0, got -1.0");
        edit(ck, "e5", s -> ((ObjectNode) s.get("trajectory")).put("--dp-delta", 1.5), "--dp-delta: expected 0 < delta < 1, got 1.5");
        edit(ck, "e6", s -> ((ObjectNode) s.get("trajectory")).remove("--dp-clip"), "field 'trajectory.--dp-noise-multiplier' without 'trajectory.--dp-clip'");
        edit(ck, "e7", s -> ((ObjectNode) s.get("trajectory")).put("--minibatch-fraction", 1.0), "field 'trajectory.--minibatch-fraction' is 1.0");

        // sigma = 0: no privacy, an infinite epsilon, written as null and read back.
        Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64), dpAdam(4).withDp(new DpSgd(0.5, 0, 1e-5)), PROBLEM, null, Storage.local(),
                Storage.uri(dir.resolve("zero")), QUIET);
        Checkpoint zero = Checkpoint.read(Storage.local(), Storage.uri(dir.resolve("zero/iter-000004")));
        assertEquals(Double.POSITIVE_INFINITY, zero.history().get(3).epsilon());
        assertTrue(Files.readString(dir.resolve("zero/iter-000004/state.json")).contains("\"epsilon\" : null"));

        // Resumed with another noise multiplier: the trajectory differs.
        BadInputException other = assertThrows(BadInputException.class, () -> Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64),
                dpAdam(8).withDp(new DpSgd(0.5, 1.2, 1e-5)), PROBLEM, c, Storage.local(), Storage.uri(dir.resolve("ck")), QUIET));
        assertTrue(other.getMessage().contains("--dp-noise-multiplier was 1.1, now 1.2"), other.getMessage());
        // And a plain run is not the DP run's continuation.
        BadInputException plain = assertThrows(BadInputException.class, () -> Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT64),
                dpAdam(8).withDp(null), PROBLEM, c, Storage.local(), Storage.uri(dir.resolve("ck")), QUIET));
        assertTrue(plain.getMessage().contains("--dp-clip was 0.5, now unset"), plain.getMessage());
    }

    /** A copy of checkpoint {@code ck} as {@code name}/iter-NNNNNN with its state.json edited, refused naming state.json and {@code named}. */
    private void edit(Path ck, String name, java.util.function.Consumer<ObjectNode> change, String named) throws Exception {
        Path to = Files.createDirectories(dir.resolve(name).resolve(ck.getFileName().toString()));
        for (String f : List.of("state.json", "optimizer.npz", "weights.npz")) Files.copy(ck.resolve(f), to.resolve(f));
        ObjectMapper json = new ObjectMapper();
        ObjectNode state = (ObjectNode) json.readTree(to.resolve("state.json").toFile());
        change.accept(state);
        json.writeValue(to.resolve("state.json").toFile(), state);
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.read(Storage.local(), Storage.uri(to)));
        assertTrue(e.getMessage().startsWith("--resume " + to.resolve("state.json")), e.getMessage());
        assertTrue(e.getMessage().contains(named), "'" + named + "' in: " + e.getMessage());
    }

    @Test
    void dpSettingsOutsideTheirRangeOrWithLbfgsOrAFullBatchAreRefusedNamingTheOption() {
        assertRefused(() -> new DpSgd(0, 1, 1e-5), "--dp-clip: expected a finite value > 0, got 0.0");
        assertRefused(() -> new DpSgd(Double.POSITIVE_INFINITY, 1, 1e-5), "--dp-clip: expected a finite value > 0, got Infinity");
        assertRefused(() -> new DpSgd(1, -0.5, 1e-5), "--dp-noise-multiplier: expected a finite value >= 0, got -0.5");
        assertRefused(() -> new DpSgd(1, 1, 0), "--dp-delta: expected 0 < delta < 1, got 0.0");
        assertRefused(() -> new DpSgd(1, 1, 1), "--dp-delta: expected 0 < delta < 1, got 1.0");
        assertRefused(() -> new DpSgd(1, 1, Double.NaN).withDefaultDelta(1), "--dp-delta: its default 1/N needs N >= 2 rows");
        assertEquals(1.0 / 300, new DpSgd(1, 1, Double.NaN).withDefaultDelta(300).delta());
        assertRefused(() -> FitSettings.lbfgs(5).withDp(new DpSgd(1, 1, 1e-5)), "--dp-clip with --optimizer lbfgs");
        assertRefused(() -> FitSettings.adam(5, 0.1).withDp(new DpSgd(1, 1, 1e-5)), "--dp-clip with --minibatch-fraction 1");
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable e, String message) {
        BadInputException x = assertThrows(BadInputException.class, e);
        assertTrue(x.getMessage().contains(message), x.getMessage());
    }
}
