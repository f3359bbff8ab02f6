package org.gradspark.ad;

/**
 * What a {@link Cell} returns: a single {@link Tensor} or a {@link TensorTuple} (as MindSpore's
 * {@code construct} may return a tuple).
 */
public sealed interface Value permits Tensor, TensorTuple {

    /** This value as a Tensor; a clear error if it is a tuple. */
    default Tensor asTensor() {
        if (this instanceof Tensor t) return t;
        throw new IllegalStateException("expected a Tensor but got a tuple of " + ((TensorTuple) this).size() + " values");
    }

    /** This value as a tuple; a clear error if it is a single Tensor. */
    default TensorTuple asTuple() {
        if (this instanceof TensorTuple t) return t;
        throw new IllegalStateException("expected a tuple but got a Tensor of shape " + ((Tensor) this).shape());
    }

    /** The tensors of this value, nested tuples flattened depth-first (a Tensor gives itself). */
    java.util.List<Tensor> leaves();
}
