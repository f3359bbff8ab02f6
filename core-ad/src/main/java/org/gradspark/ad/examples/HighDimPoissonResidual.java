package org.gradspark.ad.examples;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.rsub;
import static org.gradspark.ad.Ops.sin;
import static org.gradspark.ad.Ops.slice;
import static org.gradspark.ad.Ops.sub;
import static org.gradspark.ad.Ops.sum;

import java.util.SplittableRandom;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.RowAware;
import org.gradspark.ad.RowDraws;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;

/**
 * A high-dimensional Poisson PINN in residual form (issue 28): {@code -Δu = f} on the unit ball of R^d,
 * {@code u = g} on its sphere, with the solution {@code u*(x) = Σ_i sin(π x_i / 2)}, so
 * {@code f = (π²/4) u*} and {@code g = u*}. u is a tanh MLP d-64-64-1 in float64 (seeded). A row is
 * {@code (x_1..x_d, b)} [N, d + 1]: {@code b = 0} marks an interior point (|x| ≤ 1), whose output is
 * {@code Δu + f}, {@code b = 1} a boundary point (|x| = 1), whose output is {@code u − g}. With
 * {@code --loss mse} and labels of zeros the job's objective is the PINN loss, the mean of the squared
 * residuals over both kinds of row.
 *
 * <p>{@code Δu} comes from the {@link RowDraws} the job sets ({@link RowAware}): {@code --estimator
 * stde:K} or {@code hutchinson:K} takes K directions per point instead of d, each row's drawn from
 * {@code --seed} and the row's index in the input, so a row's residual does not depend on the
 * partitioning; without the job it is exact. The job's {@code --model-class} needs a no-argument
 * constructor, so d is fixed by the class: {@link D100}, {@link D1000} (or a subclass of your own
 * calling {@link #HighDimPoissonResidual(int)}). Rows come from {@link #rows} (the bench's
 * {@code HighDimPoissonJob rows} writes them as .npy):
 *
 * <pre>{@code
 * gradspark-submit fit --model-class 'org.gradspark.ad.examples.HighDimPoissonResidual$D100' --input rows.npy \
 *     --labels zeros.npy --loss mse --dtype float64 --optimizer adam --estimator stde:16 --out pinn-100
 * }</pre>
 */
public class HighDimPoissonResidual extends Cell implements RowAware {
    private static final long serialVersionUID = 1L;
    private final int d;
    private final Cell net;
    private RowDraws draws = RowDraws.EXACT;

    /** The PINN in R^{@code d}, its network seeded (the same weights for the same d). */
    public HighDimPoissonResidual(int d) {
        if (d < 1) throw new IllegalArgumentException("HighDimPoissonResidual: d must be >= 1, got " + d);
        this.d = d;
        net = new Sequential(new Dense(d, 64, DType.FLOAT64, 21), Activation.tanh(), new Dense(64, 64, DType.FLOAT64, 22), Activation.tanh(),
                new Dense(64, 1, DType.FLOAT64, 23));
    }

    /** d = 100, for {@code --model-class org.gradspark.ad.examples.HighDimPoissonResidual$D100}. */
    public static class D100 extends HighDimPoissonResidual {
        private static final long serialVersionUID = 1L;

        public D100() {
            super(100);
        }
    }

    /** d = 1000, for {@code --model-class org.gradspark.ad.examples.HighDimPoissonResidual$D1000}. */
    public static class D1000 extends HighDimPoissonResidual {
        private static final long serialVersionUID = 1L;

        public D1000() {
            super(1000);
        }
    }

    /** The dimension of the domain. */
    public int dimension() {
        return d;
    }

    @Override public int inputCount() { return 1; }

    @Override public void drawFrom(RowDraws next) {
        draws = java.util.Objects.requireNonNull(next, "draws");
    }

    /** The trial solution u at points [N, d], [N, 1]. */
    public Tensor solution(Tensor points) {
        return net.call(points);
    }

    /** {@code u*(x) = Σ_i sin(π x_i / 2)} at points [N, d], [N, 1]. */
    public static Tensor exact(Tensor points) {
        return sum(sin(mul(points, Math.PI / 2)), 1, true);
    }

    /** The residual of each row, [N, 1]: {@code Δu + f} for an interior row, {@code u − g} for a boundary row. */
    @Override public Tensor construct(Tensor... in) {
        Tensor rows = in[0];
        checkRows(rows);
        int n = rows.shape().dim(0);
        Tensor x = slice(rows, new int[] {0, 0}, new int[] {n, d}), b = slice(rows, new int[] {0, d}, new int[] {n, 1});
        Tensor target = exact(x);
        Tensor interior = add(draws.laplacian(net, x), mul(target, Math.PI * Math.PI / 4));
        Tensor onSphere = sub(net.call(x), target);
        // b is exactly 0 or 1 (checked): each row's own residual, the other one times 0. Always both, so that a row's
        // values (and its derivatives, the mark's too) do not depend on whether its chunk holds boundary rows.
        return add(mul(interior, rsub(1, b)), mul(onSphere, b));
    }

    /**
     * A row that is neither an interior point ({@code b = 0}, |x| ≤ 1) nor
     * a boundary point ({@code b = 1}, |x| = 1 to 1e-6) is refused, naming its index in the input.
     */
    private void checkRows(Tensor rows) {
        if (rows.rank() != 2 || rows.shape().dim(1) != d + 1) {
            throw new IllegalArgumentException("HighDimPoissonResidual in R^" + d + " takes rows of " + (d + 1) + " values (x_1..x_" + d
                    + ", then 0 for an interior point or 1 for a boundary point), got " + rows.shape());
        }
        double[] v = rows.toDoubleArray();
        int n = rows.shape().dim(0), w = d + 1;
        for (int i = 0; i < n; i++) {
            double norm2 = 0;
            for (int j = 0; j < d; j++) norm2 += v[i * w + j] * v[i * w + j];
            double b = v[i * w + d], norm = Math.sqrt(norm2);
            boolean ok = b == 0 ? norm <= 1 + 1e-6 : b == 1 && Math.abs(norm - 1) <= 1e-6;
            if (!ok) {
                throw new IllegalArgumentException("row " + (draws.firstRow() + i) + ": " + (b == 0 ? "an interior point (last value 0) must lie in the unit ball, |x| = " + norm
                        : b == 1 ? "a boundary point (last value 1) must lie on the unit sphere, |x| = " + norm
                        : "the last value marks an interior (0) or a boundary (1) point, got " + b));
            }
        }
    }

    /**
     * {@code interior} points uniform in the unit ball (a Gaussian direction, radius U^(1/d)), then
     * {@code boundary} points uniform on the sphere, each with its mark: [interior + boundary, d + 1],
     * float64, the same for the same seed.
     */
    public static Tensor rows(int d, int interior, int boundary, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = interior + boundary, w = d + 1;
        double[] v = new double[Math.multiplyExact(n, w)];
        double[] g = new double[d];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < d; j++) {
                g[j] = Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
                norm += g[j] * g[j];
            }
            boolean onSphere = i >= interior;
            double scale = (onSphere ? 1 : Math.pow(r.nextDouble(), 1.0 / d)) / Math.sqrt(norm);
            for (int j = 0; j < d; j++) v[i * w + j] = g[j] * scale;
            v[i * w + d] = onSphere ? 1 : 0;
        }
        return Tensor.wrap(v, Shape.of(n, w));
    }

    /** {@code ||u − u*|| / ||u*||} over {@code points} [N, d]. */
    public double relativeError(Tensor points) {
        double[] u = solution(points).toDoubleArray(), exact = exact(points).toDoubleArray();
        double num = 0, den = 0;
        for (int i = 0; i < u.length; i++) {
            num += (u[i] - exact[i]) * (u[i] - exact[i]);
            den += exact[i] * exact[i];
        }
        return Math.sqrt(num / den);
    }
}
