package org.gradspark.ad;

import java.io.Serializable;

/**
 * A differentiable function of tensors, the argument of the functional transforms in
 * {@link Functional}. Every {@link Cell} is one; so is a lambda such as {@code x -> sin(x[0])}.
 */
@FunctionalInterface
public interface Fn extends Serializable {
    Value apply(Tensor... args);
}
