package org.gradspark.job.fit;

import java.util.SplittableRandom;
import org.gradspark.job.io.BadInputException;

/**
 * DP-SGD's settings (Abadi et al. 2016, "Deep Learning with Differential Privacy"; Opacus): each Adam
 * or SGD step takes the rows of its Poisson sample (each row kept with probability q, {@code
 * --minibatch-fraction}), clips each row's gradient g_n to norm C and uses
 * <pre>
 *   g = (Σ_{n in sample} g_n·min(1, C/|g_n|) + N(0, σ²C²·I)) / (q·N)
 * </pre>
 * N the rows of the input, the noise drawn on the driver from {@code --seed} and the step. The privacy
 * spent after k steps is {@link RdpAccountant}'s ε at {@code delta}.
 *
 * @param clip            C, the per-row gradient norm bound ({@code --dp-clip}), finite and &gt; 0
 * @param noiseMultiplier σ, the noise's standard deviation over C ({@code --dp-noise-multiplier}), finite and ≥ 0 (0: no privacy)
 * @param delta           δ ({@code --dp-delta}) in (0, 1), or NaN for the default 1/N, which {@code FitJob#prepare} resolves once the rows are known
 */
public record DpSgd(double clip, double noiseMultiplier, double delta) {
    public DpSgd {
        if (!(clip > 0) || Double.isInfinite(clip)) throw new BadInputException("--dp-clip: expected a finite value > 0, got " + clip);
        if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
            throw new BadInputException("--dp-noise-multiplier: expected a finite value >= 0, got " + noiseMultiplier);
        }
        if (!Double.isNaN(delta) && !(delta > 0 && delta < 1)) throw new BadInputException("--dp-delta: expected 0 < delta < 1, got " + delta);
    }

    /** Whether δ is set (not the default 1/N still to resolve). */
    public boolean deltaResolved() {
        return !Double.isNaN(delta);
    }

    /** δ = 1/N for an unset one. */
    public DpSgd withDefaultDelta(long rows) {
        if (deltaResolved()) return this;
        if (rows < 2) throw new BadInputException("--dp-delta: its default 1/N needs N >= 2 rows, the input has " + rows + "; give --dp-delta");
        return new DpSgd(clip, noiseMultiplier, 1.0 / rows);
    }

    /**
     * Step {@code step}'s noise, σC·z with z ~ N(0, I) of {@code length} coordinates: a function of
     * (seed, step) only (a {@link SplittableRandom} seeded by a SplitMix64 mix of both), so a resumed
     * run draws the same bits as one never stopped. A pseudo-random, not a cryptographically secure,
     * source: the guarantee holds only while the seed stays secret.
     */
    public double[] noise(long seed, long step, int length) {
        SplittableRandom r = new SplittableRandom(mix(mix(seed ^ 0x243F6A8885A308D3L) ^ mix(step ^ 0x13198A2E03707344L)));
        double scale = noiseMultiplier * clip;
        double[] z = new double[length];
        if (scale == 0) return z;
        for (int i = 0; i < length; i++) z[i] = scale * r.nextGaussian();
        return z;
    }

    /** The accountant of these steps at sampling rate {@code q}. */
    public RdpAccountant accountant(double q) {
        return new RdpAccountant(q, noiseMultiplier);
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
