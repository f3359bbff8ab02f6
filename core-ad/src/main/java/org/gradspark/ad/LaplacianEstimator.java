package org.gradspark.ad;

import java.util.SplittableRandom;

/**
 * How {@link Operators#laplacian(Fn, Tensor, LaplacianEstimator, long, long)} gets {@code Δu = tr H}
 * at each row: exactly, from the {@code in} basis directions, or unbiasedly from K random directions
 * per row, each contributing {@code vᵀ H v} by one second-order Taylor jet along v (the forward-Laplacian
 * sweep with v in place of the basis), so a point costs about K + 1 forward passes instead of in + 1:
 *
 * <ul>
 * <li>{@link Exact} ({@code exact}): {@code Σ_i eᵢᵀ H eᵢ}, no randomness.</li>
 * <li>{@link Hutchinson} ({@code hutchinson:K}): K Rademacher directions v (each coordinate ±1 with
 * probability ½, so {@code E[v vᵀ] = I}), the estimate {@code (1/K) Σ_k v_kᵀ H v_k}; its variance is
 * {@code 2 Σ_{i≠j} H_ij² / K}. This is also the STDE paper's "dense" estimator.</li>
 * <li>{@link Stde} ({@code stde:K}): the Stochastic Taylor Derivative Estimator of Shi et al. (NeurIPS
 * 2024) in its sparse form, as their JAX code's {@code sparse_stde} with the sampling correction: K
 * distinct coordinates {@code J} drawn uniformly without replacement from {@code 0..in-1}, a jet along
 * each basis vector {@code e_j}, and the estimate {@code (in/K) Σ_{j∈J} ∂²u/∂x_j²}. Its variance is
 * {@code in² σ² (in − K) / (K (in − 1))}, σ² the population variance of the Hessian's diagonal; with
 * K = in it is exact. Needs {@code K ≤ in}.</li>
 * </ul>
 *
 * The directions of row r come from its own generator, a {@link SplittableRandom} seeded by a mix of
 * {@code seed} and the row's index in the whole batch, so they do not depend on how the rows are cut
 * into partitions or chunks: the same seed draws the same directions, to the bit, on any split.
 */
public sealed interface LaplacianEstimator extends java.io.Serializable {

    /** The exact Laplacian. */
    LaplacianEstimator EXACT = new Exact();

    /** Directions per row (in for {@link Exact}, where it is not known here: -1). */
    int directions();

    /** The option's spelling: {@code exact}, {@code hutchinson:K}, {@code stde:K}. */
    String spelling();

    /** The exact Laplacian, from the in basis directions. */
    record Exact() implements LaplacianEstimator {
        @Override public int directions() { return -1; }
        @Override public String spelling() { return "exact"; }
    }

    /** K Rademacher directions per row, the mean of {@code vᵀ H v}. */
    record Hutchinson(int directions) implements LaplacianEstimator {
        public Hutchinson {
            if (directions <= 0) throw new IllegalArgumentException("hutchinson:K needs K >= 1 directions per point, got " + directions);
        }
        @Override public String spelling() { return "hutchinson:" + directions; }
    }

    /** K distinct coordinates per row, {@code in/K} times the sum of their second derivatives (sparse STDE). */
    record Stde(int directions) implements LaplacianEstimator {
        public Stde {
            if (directions <= 0) throw new IllegalArgumentException("stde:K needs K >= 1 coordinates per point, got " + directions);
        }
        @Override public String spelling() { return "stde:" + directions; }
    }

    /**
     * {@code exact}, {@code hutchinson:K} or {@code stde:K} (K a positive integer).
     *
     * @throws IllegalArgumentException naming what is wrong with {@code text}
     */
    static LaplacianEstimator parse(String text) {
        if (text.equals("exact")) return EXACT;
        int colon = text.indexOf(':');
        String kind = colon < 0 ? text : text.substring(0, colon);
        if (!kind.equals("hutchinson") && !kind.equals("stde")) {
            throw new IllegalArgumentException("expected exact, hutchinson:K or stde:K, got '" + text + "'");
        }
        if (colon < 0) throw new IllegalArgumentException(kind + " needs its number of directions per point, as " + kind + ":K, got '" + text + "'");
        int k;
        try {
            k = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(kind + ":K needs an integer K, got '" + text + "'");
        }
        return kind.equals("hutchinson") ? new Hutchinson(k) : new Stde(k);
    }

    /**
     * The directions for {@code rows} rows of {@code in} features starting at the batch's row
     * {@code firstRow}, as the Taylor sweep takes them: [K, rows, in].
     */
    default Tensor directions(int in, int rows, long seed, long firstRow, DType dtype) {
        int k = directions();
        if (this instanceof Stde && k > in) {
            throw new IllegalArgumentException(spelling() + " draws K distinct coordinates of each point, but the points have only " + in);
        }
        double[] v = new double[Math.multiplyExact(Math.multiplyExact(k, rows), in)];
        int[] coordinates = this instanceof Stde ? new int[in] : null;
        for (int r = 0; r < rows; r++) {
            SplittableRandom random = new SplittableRandom(rowSeed(seed, firstRow + r));
            if (coordinates == null) {
                // 64 signs from each draw: the bits of a uniform long are independent fair coins.
                long bits = 0;
                int left = 0;
                for (int d = 0; d < k; d++) {
                    for (int i = 0; i < in; i++) {
                        if (left == 0) {
                            bits = random.nextLong();
                            left = 64;
                        }
                        v[(d * rows + r) * in + i] = (bits & 1) != 0 ? 1 : -1;
                        bits >>>= 1;
                        left--;
                    }
                }
            } else {
                // A partial Fisher-Yates shuffle: the first k entries are k distinct coordinates, uniformly.
                for (int i = 0; i < in; i++) coordinates[i] = i;
                for (int d = 0; d < k; d++) {
                    int pick = d + random.nextInt(in - d);
                    int c = coordinates[pick];
                    coordinates[pick] = coordinates[d];
                    coordinates[d] = c;
                    v[(d * rows + r) * in + c] = 1;
                }
            }
        }
        return dtype == DType.FLOAT64 ? Tensor.wrap(v, Shape.of(k, rows, in)) : Tensor.fromFunction(dtype, Shape.of(k, rows, in), i -> v[i]);
    }

    /** What the sum of {@code vᵀ H v} over the K directions is multiplied by: 1/K, or in/K for sparse STDE. */
    default double scale(int in) {
        return this instanceof Stde ? (double) in / directions() : 1.0 / directions();
    }

    /**
     * The seed of row {@code row}'s generator: {@code seed} and the row index mixed by two rounds of
     * SplitMix64's finaliser, so that neighbouring rows (and neighbouring seeds) get unrelated streams
     * (seeding {@code SplittableRandom} with {@code seed + row} would give row r+1 row r's stream shifted by one).
     */
    static long rowSeed(long seed, long row) {
        return mix64(mix64(seed) ^ (row * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L));
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
