package org.gradspark.ad.examples;

/**
 * {@link PoissonResidual} on a tanh 2-16-16-1 network, 337 weights: small enough for
 * {@code fit --optimizer gauss-newton --solve dense}, whose Gramian is P × P (the energy natural gradient
 * papers' networks have a few hundred weights), and enough to reach a relative L2 error of 1e-6:
 *
 * <pre>{@code
 * gradspark-submit fit --model-class org.gradspark.ad.examples.SmallPoissonResidual --input points.npy \
 *     --labels zeros.npy --loss mse --dtype float64 --optimizer gauss-newton --solve dense --out poisson-fit
 * }</pre>
 */
public class SmallPoissonResidual extends PoissonResidual {
    private static final long serialVersionUID = 1L;

    /** The hidden layers' width. */
    public static final int WIDTH = 16;

    public SmallPoissonResidual() {
        super(WIDTH);
    }
}
