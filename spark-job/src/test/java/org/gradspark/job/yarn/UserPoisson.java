package org.gradspark.job.yarn;

import org.gradspark.ad.examples.PoissonSolution;

/**
 * A user's model for {@code --model-class} that only a jar given with {@code --jars} brings (YarnClusterTest packs this
 * class alone into one): the math and parameter names of {@link PoissonSolution}, so its gradients are that Cell's.
 */
public class UserPoisson extends PoissonSolution {
    private static final long serialVersionUID = 1L;
}
