package org.gradspark.ad.examples;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sin;
import static org.gradspark.ad.Ops.slice;
import static org.gradspark.ad.Ops.square;

import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Tensor;

/**
 * A PINN's per-point loss for {@code -Δu = f} on {@code [-1, 1]²}, {@code u = 0} on the boundary,
 * with {@code f(x, y) = 2π² sin(πx) sin(πy)} (whose solution is {@code sin(πx) sin(πy)}): rows
 * {@code (x, y)} [N, 2] to the squared residual {@code r² = (Δu + f)²} [N, 1], where u is the
 * {@link PoissonSolution} and {@code Δu} comes from {@link Operators#laplacian} (one forward-Laplacian
 * sweep, differentiated again for the weights). With {@code --reduction mean} the job's
 * {@code grads.npz} is the gradient of the PINN loss {@code mean(r²)} over the collocation points:
 *
 * <pre>{@code
 * gradspark-submit grad --model-class org.gradspark.ad.examples.PoissonPinnLoss --synthetic 4000000 \
 *     --reduction mean --out poisson-grad                        # grads.npz: d mean(r^2) / d weights
 * }</pre>
 * (synthetic rows are uniform in [-1, 1)², the problem's domain; {@code --input points.npy} takes your own.)
 */
public class PoissonPinnLoss extends Cell {
    private static final long serialVersionUID = 1L;
    private final PoissonSolution u;

    /** The float32 PINN (the job's {@code --model-class} creates it so). */
    public PoissonPinnLoss() {
        this(DType.FLOAT32);
    }

    /** The PINN of a {@link PoissonSolution} in {@code dtype}. */
    public PoissonPinnLoss(DType dtype) {
        this(dtype, 64);
    }

    /** The PINN of a 2-{@code width}-{@code width}-1 {@link PoissonSolution} in {@code dtype}. */
    public PoissonPinnLoss(DType dtype, int width) {
        u = new PoissonSolution(dtype, width);
    }

    /** The trial solution u whose residual this is. */
    public PoissonSolution solution() {
        return u;
    }

    @Override public int inputCount() { return 1; }

    /** {@code Δu + f} at each point, [N, 1]. */
    public Tensor residual(Tensor points) {
        return add(Operators.laplacian(u, points), source(points));
    }

    /** {@code f = 2π² sin(πx) sin(πy)}, [N, 1]. */
    public static Tensor source(Tensor points) {
        int n = points.shape().dim(0);
        Tensor x = slice(points, new int[] {0, 0}, new int[] {n, 1}), y = slice(points, new int[] {0, 1}, new int[] {n, 1});
        return mul(mul(sin(mul(x, Math.PI)), sin(mul(y, Math.PI))), 2 * Math.PI * Math.PI);
    }

    @Override public Tensor construct(Tensor... in) {
        return square(residual(in[0]));
    }
}
