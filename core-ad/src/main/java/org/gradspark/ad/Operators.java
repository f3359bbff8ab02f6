package org.gradspark.ad;

import static org.gradspark.ad.Ops.broadcastTo;
import static org.gradspark.ad.Ops.permute;
import static org.gradspark.ad.Ops.reshape;

import java.util.List;
import org.gradspark.ad.backend.Backends;

/**
 * Per-example differential operators, for functions of rows: f maps x [N, in] to [N, out], and row n
 * of the output depends on row n of the input only (an MLP, a PINN's network, any Cell that does not
 * mix rows). They are what a PINN residual such as {@code u_t - ν Δu} or {@code u_t - ν u_xx} needs,
 * computed in one forward sweep over f, generic over the primitive table (not special-cased to MLPs):
 *
 * <ul>
 * <li>{@link #jacobian}: {@code J[n, j, i] = ∂ out_j / ∂ x_i} at row n, [N, out, in];</li>
 * <li>{@link #laplacian}: {@code Δ out_j = Σ_i ∂² out_j / ∂x_i²}, [N, out], by the forward Laplacian
 * (collapsed Taylor mode; Li et al. 2023, the folx library): the sweep carries each tensor's value,
 * its tangents along the in basis directions stacked as one batch [in, N, ...], and the accumulated
 * second-order term [N, ...], which for a primitive f becomes {@code Df[S] + Σ_i D²f[T_i, T_i]};</li>
 * <li>{@link #hessianDiagonal}: the individual {@code ∂² out_j / ∂x_i²}, [N, out, in]: the same sweep
 * keeping the second-order term per direction;</li>
 * <li>{@link #hessian}: the full per-example {@code ∂² out_j / ∂x_i ∂x_k}, [N, out, in, in], forward over
 * forward (for small in).</li>
 * </ul>
 *
 * The basis directions are shared by every row, so they enter as [in, 1, in] and stay broadcast through
 * the first linear layer (which costs in rows, not in*N). Every result is differentiable again: inside
 * a gradient (e.g. with respect to the weights, for training on a residual) the sweep is recorded.
 * That row n depends on row n only is the caller's promise; it is not checked (a Cell that mixes rows
 * gets sums over the rows it mixes).
 *
 * <pre>{@code
 * Cell u = new Sequential(new Dense(3, 64, FLOAT64, 1), Activation.tanh(), new Dense(64, 1, FLOAT64, 2));
 * Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT64, 1024, 3);     // 1024 points in 3-D
 * Tensor lap = Operators.laplacian(u, x);                           // [1024, 1]
 * Tensor uxx = Operators.hessianDiagonal(u, x);                     // [1024, 1, 3]: u_xx, u_yy, u_zz
 * Tensor du = Operators.jacobian(u, x);                             // [1024, 1, 3]: the gradient of u
 * }</pre>
 */
public final class Operators {
    private Operators() {}

    /** f's value, per-example Jacobian and Laplacian, from one forward-Laplacian sweep. */
    public record Derivatives(Tensor value, Tensor jacobian, Tensor laplacian) {}

    /** {@code Δ out_j = Σ_i ∂² out_j / ∂x_i²} for each row: [N, out]. */
    public static Tensor laplacian(Fn f, Tensor x) {
        return sweep(f, x, true, false).laplacian();
    }

    /**
     * {@code Δ out_j} for each row, [N, out], by {@code estimator} ({@link LaplacianEstimator}): exactly, or
     * unbiasedly from K random directions per row, one Taylor sweep carrying K tangents instead of in.
     * Row n's directions are drawn from {@code seed} and its index {@code firstRow + n} in the whole batch,
     * so a batch cut into chunks anywhere draws the same directions, to the bit, as the batch in one piece
     * (and gets the same values, to the rounding of kernels whose bits depend on the block's size):
     *
     * <pre>{@code
     * Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT64, 1024, 1000);              // 1024 points in 1000-D
     * Tensor lap = Operators.laplacian(u, x, LaplacianEstimator.parse("hutchinson:16"), 42, 0);
     * }</pre>
     */
    public static Tensor laplacian(Fn f, Tensor x, LaplacianEstimator estimator, long seed, long firstRow) {
        if (estimator instanceof LaplacianEstimator.Exact) return laplacian(f, x);
        Shape s = checkRows(x, "laplacian " + estimator.spelling());
        int in = s.dim(1);
        Tensor directions = estimator.directions(in, s.dim(0), seed, firstRow, x.dtype());
        Derivatives d = sweep(f, x, directions, "laplacian " + estimator.spelling(), true, false);
        return Recording.release(Ops.mul(d.laplacian(), estimator.scale(in))).asTensor();
    }

    /** The value, the Jacobian [N, out, in] and the Laplacian [N, out] of f at every row, in one sweep. */
    public static Derivatives valueJacobianLaplacian(Fn f, Tensor x) {
        return sweep(f, x, true, true);
    }

    /** {@code ∂² out_j / ∂x_i²} for each row, each output j and each input coordinate i: [N, out, in]. */
    public static Tensor hessianDiagonal(Fn f, Tensor x) {
        return sweep(f, x, false, false).laplacian();
    }

    /** {@code ∂ out_j / ∂x_i} for each row: [N, out, in]. One forward sweep with the in basis directions as a batch. */
    public static Tensor jacobian(Fn f, Tensor x) {
        Shape s = checkRows(x, "jacobian");
        Recording rec = Recording.of(f, new Tensor[] {x}, new boolean[] {true}, List.of());
        Tensor y = output(rec, s, "jacobian");
        int in = s.dim(1);
        Tensor t = ForwardMode.sweep(List.of(y), rec.inputVars, new Tensor[] {basis(in, x.dtype())})[0];
        return perExample(t, y, in);
    }

    /** {@code ∂² out_j / ∂x_i ∂x_k} for each row: [N, out, in, in]. Forward over forward: meant for small in. */
    public static Tensor hessian(Fn f, Tensor x) {
        Shape s = checkRows(x, "hessian");
        int n = s.dim(0), in = s.dim(1);
        Fn flatJacobian = a -> {
            Tensor j = jacobian(f, a[0]);
            return reshape(j, n, j.shape().dim(1) * in);
        };
        Tensor h = jacobian(flatJacobian, x);
        return Recording.release(reshape(h, n, h.shape().dim(1) / in, in, in)).asTensor();
    }

    // ------------------------------------------------------------ the sweep

    /** The forward-Laplacian sweep: second-order terms summed over the directions (laplacian), or kept (Hessian diagonal). */
    private static Derivatives sweep(Fn f, Tensor x, boolean sum, boolean withJacobian) {
        String who = sum ? "laplacian" : "hessianDiagonal";
        return sweep(f, x, basis(checkRows(x, who).dim(1), x.dtype()), who, sum, withJacobian);
    }

    /** The Taylor sweep along {@code directions} [k, 1 or N, in]: the basis (exact), or a row's random directions. */
    private static Derivatives sweep(Fn f, Tensor x, Tensor directions, String who, boolean sum, boolean withJacobian) {
        Shape s = checkRows(x, who);
        Recording rec = Recording.of(f, new Tensor[] {x}, new boolean[] {true}, List.of());
        Tensor y = output(rec, s, who);
        int k = directions.shape().dim(0);   // in for the basis
        ForwardMode.Jet jet = ForwardMode.taylor(List.of(y), rec.inputVars,
                new ForwardMode.Jet[] {new ForwardMode.Jet(directions, null)}, true, sum)[0];
        Tensor second;
        if (sum) {
            Shape like = y.shape();
            second = jet.second() == null ? Backends.current().full(0, y.dtype(), like) : reshape(broadcastTo(jet.second(), TangentAlgebra.withBatch(1, like)), like);
        } else {
            second = perExample(jet.second(), y, k);
        }
        Tensor jac = withJacobian ? perExample(jet.first(), y, k) : null;
        Tensor value = withJacobian ? Recording.release(y).asTensor() : null;
        return new Derivatives(value, jac, Recording.release(second).asTensor());
    }

    /** The in basis directions shared by every row: [in, 1, in], the identity. */
    private static Tensor basis(int in, DType dtype) {
        return reshape(Functional.identity(in, dtype), in, 1, in);
    }

    /** A batch of per-direction tangents [in, N, out] (broadcastable, or null: zero) as [N, out, in]. */
    private static Tensor perExample(Tensor t, Tensor y, int in) {
        Shape full = TangentAlgebra.withBatch(in, y.shape());
        if (t == null) return Backends.current().full(0, y.dtype(), Shape.of(y.shape().dim(0), y.shape().dim(1), in));
        return Recording.release(permute(broadcastTo(t, full), 1, 2, 0)).asTensor();
    }

    private static Shape checkRows(Tensor x, String who) {
        if (x.rank() != 2) throw new IllegalArgumentException(who + ": x must be rows [N, in], got shape " + x.shape());
        return x.shape();
    }

    private static Tensor output(Recording rec, Shape x, String who) {
        if (!(rec.output instanceof Tensor y)) throw new IllegalArgumentException(who + ": f must return one Tensor [N, out], got a tuple");
        if (y.rank() != 2 || y.shape().dim(0) != x.dim(0)) {
            throw new IllegalArgumentException(who + ": f must map rows [N, in] to rows [N, out]; x " + x + " gave " + y.shape());
        }
        return y;
    }
}
