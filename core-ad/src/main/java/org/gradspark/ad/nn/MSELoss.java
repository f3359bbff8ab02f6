package org.gradspark.ad.nn;

import static org.gradspark.ad.Ops.square;
import static org.gradspark.ad.Ops.sub;

import org.gradspark.ad.Cell;
import org.gradspark.ad.Tensor;

/** Mean squared error {@code (prediction - target)^2}, reduced (MindSpore's {@code nn.MSELoss}; default mean). */
public final class MSELoss extends Cell {
    private static final long serialVersionUID = 1L;
    private final Reduction reduction;

    public MSELoss() {
        this(Reduction.MEAN);
    }

    public MSELoss(Reduction reduction) {
        this.reduction = reduction;
    }

    @Override public int inputCount() { return 2; }

    /** {@code construct(prediction, target)}; shapes must broadcast. */
    @Override public Tensor construct(Tensor... in) {
        return reduction.apply(square(sub(in[0], in[1])));
    }
}
