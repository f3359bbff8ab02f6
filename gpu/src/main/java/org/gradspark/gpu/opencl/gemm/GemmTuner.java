package org.gradspark.gpu.opencl.gemm;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.gradspark.ad.DType;

/**
 * CLBlast's approach in small: at first use on a device, time a handful of {@link GemmParameters} on one
 * representative product and keep the fastest. The candidates are the {@link #BASE} sets with their vector
 * width cut to the device's preferred one, less those the device cannot run ({@link GemmParameters#unfitFor});
 * the search stops taking new candidates after {@link #BUDGET_NANOS}, having timed at least one.
 */
final class GemmTuner {
    /** Times one candidate: seconds per product of {@link #side}^3, or an exception if it does not build or run. */
    interface Trial {
        double secondsPerProduct(GemmParameters candidate);
    }

    /** The winner and its speed on the representative product. */
    record Result(GemmParameters parameters, double gflops) {}

    /**
     * Ordered from the shape that suits most GPUs (CLBlast's defaults are of this kind: 64x64 tiles,
     * 16x16 work-items, 4x4 accumulators) to larger register blocks, and last the plainest kernel.
     */
    static final List<GemmParameters> BASE = List.of(
            new GemmParameters(64, 64, 16, 16, 16, 4),
            new GemmParameters(128, 128, 16, 16, 16, 4),
            new GemmParameters(64, 64, 32, 8, 8, 4),
            new GemmParameters(128, 64, 16, 16, 16, 4),
            new GemmParameters(32, 32, 16, 8, 8, 2),
            new GemmParameters(16, 16, 16, 16, 16, 1));
    /** The search's time budget: a few seconds at first use, then the cache answers. */
    static final long BUDGET_NANOS = 4_000_000_000L;

    private GemmTuner() {}

    /** The side of the square product the search times: large enough to fill a GPU, small enough for a CPU device. */
    static int side(DeviceLimits device) {
        return device.gpu() ? 1024 : 256;
    }

    /** The candidates {@code device} can run for {@code dtype}, in search order. */
    static List<GemmParameters> candidates(DeviceLimits device, DType dtype) {
        Set<GemmParameters> out = new LinkedHashSet<>();
        int width = Integer.highestOneBit(Math.min(16, device.preferredWidth(dtype)));
        for (GemmParameters p : BASE) {
            GemmParameters c = new GemmParameters(p.mwg(), p.nwg(), p.kwg(), p.mdimc(), p.ndimc(), Math.min(p.vw(), width));
            if (c.unfitFor(device, dtype) == null) out.add(c);
        }
        return new ArrayList<>(out);
    }

    /** Times the candidates; an {@link IllegalStateException} naming the device and each failure if none ran. */
    static Result search(DeviceLimits device, DType dtype, Trial trial) {
        List<GemmParameters> candidates = candidates(device, dtype);
        long start = System.nanoTime();
        double flops = 2.0 * Math.pow(side(device), 3);
        GemmParameters best = null;
        double bestSeconds = Double.POSITIVE_INFINITY;
        List<String> failures = new ArrayList<>();
        for (GemmParameters candidate : candidates) {
            if (best != null && System.nanoTime() - start > BUDGET_NANOS) break;
            try {
                double seconds = trial.secondsPerProduct(candidate);
                if (seconds < bestSeconds) {
                    best = candidate;
                    bestSeconds = seconds;
                }
            } catch (RuntimeException e) {
                failures.add(candidate + ": " + e.getMessage());
            }
        }
        if (best == null) {
            throw new IllegalStateException("GEMM tuning on " + device.describe() + " for " + dtype.numpyName() + ": no candidate ran"
                    + (candidates.isEmpty() ? " (none fits the device)" : ": " + String.join("; ", failures)));
        }
        return new Result(best, flops / bestSeconds / 1e9);
    }
}
