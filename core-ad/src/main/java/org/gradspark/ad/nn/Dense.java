package org.gradspark.ad.nn;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.matMul;

import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;

/**
 * A fully connected layer {@code y = x @ weight + bias}, with {@code weight} shaped [in, out] (the
 * layout of GradSpark's weight files) and {@code bias} [out]. x is [batch, in] or [batch, steps, in].
 */
public final class Dense extends Cell {
    private static final long serialVersionUID = 1L;
    private final Parameter weight;
    private final Parameter bias;

    /** Glorot-uniform weights from {@code seed}, zero bias. */
    public Dense(int in, int out, DType dtype, long seed) {
        this(Tensor.uniform(seed, -Math.sqrt(6.0 / (in + out)), Math.sqrt(6.0 / (in + out)), dtype, in, out),
                Tensor.zeros(dtype, out));
    }

    /** Given weights: {@code weight} [in, out], {@code bias} [out]. */
    public Dense(Tensor weight, Tensor bias) {
        if (weight.rank() != 2 || bias.rank() != 1 || bias.shape().dim(0) != weight.shape().dim(1)) {
            throw new IllegalArgumentException("Dense: weight " + weight.shape() + " and bias " + bias.shape() + " do not fit ([in, out] and [out])");
        }
        this.weight = new Parameter(weight, "weight");
        this.bias = new Parameter(bias, "bias");
    }

    public Parameter weight() { return weight; }

    public Parameter bias() { return bias; }

    @Override public int inputCount() { return 1; }

    @Override public Tensor construct(Tensor... in) {
        return add(matMul(in[0], weight), bias);
    }
}
