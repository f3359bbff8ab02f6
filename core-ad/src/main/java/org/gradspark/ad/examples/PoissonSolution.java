package org.gradspark.ad.examples;

import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.rsub;
import static org.gradspark.ad.Ops.slice;
import static org.gradspark.ad.Ops.square;

import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;

/**
 * The trial solution of a PINN for the 2-D Poisson problem {@code -Δu = f} on the square
 * {@code [-1, 1]²} with {@code u = 0} on its boundary: rows {@code (x, y)} [N, 2] to
 * {@code u(x, y) = (1 - x²)(1 - y²) N(x, y)} [N, 1], a tanh MLP 2-64-64-1 (float32, seeded) times a
 * factor that vanishes on the boundary, so the boundary condition holds exactly and the loss is the
 * interior residual alone ({@link PoissonPinnLoss}). Row n depends on row n only, so the job's
 * {@code --derivative laplacian} gives {@code Δu} per collocation point:
 *
 * <pre>{@code
 * gradspark-submit grad --model-class org.gradspark.ad.examples.PoissonSolution --synthetic 4000000 \
 *     --wrt inputs --derivative laplacian --out poisson-lap      # poisson-lap/laplacian/part-*.npy: Δu, (N, 1)
 * }</pre>
 */
public class PoissonSolution extends Cell {
    private static final long serialVersionUID = 1L;
    private final Cell net;

    /** The float32 network (the job's {@code --model-class} creates it so). */
    public PoissonSolution() {
        this(DType.FLOAT32);
    }

    /** The same seeded network in {@code dtype} (float64 for the accuracy a second-order solver reaches). */
    public PoissonSolution(DType dtype) {
        this(dtype, 64);
    }

    /** The seeded tanh network 2-{@code width}-{@code width}-1 in {@code dtype} (a small one for a dense Gauss-Newton solve). */
    public PoissonSolution(DType dtype, int width) {
        net = new Sequential(new Dense(2, width, dtype, 11), Activation.tanh(), new Dense(width, width, dtype, 12), Activation.tanh(),
                new Dense(width, 1, dtype, 13));
    }

    @Override public int inputCount() { return 1; }

    @Override public Tensor construct(Tensor... in) {
        Tensor p = in[0];
        int n = p.shape().dim(0);
        Tensor x = slice(p, new int[] {0, 0}, new int[] {n, 1}), y = slice(p, new int[] {0, 1}, new int[] {n, 1});
        Tensor boundary = mul(rsub(1, square(x)), rsub(1, square(y)));
        return mul(boundary, net.call(p));
    }
}
