package org.gradspark.ad.nn;

import static org.gradspark.ad.Ops.logSoftmax;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.neg;
import static org.gradspark.ad.Ops.sum;

import org.gradspark.ad.Cell;
import org.gradspark.ad.Tensor;

/**
 * Softmax cross-entropy with logits, per example {@code -sum_c labels_c * log softmax(logits)_c}
 * over the last axis (MindSpore's {@code SoftmaxCrossEntropyWithLogits(sparse=False)}); labels are
 * one-hot or probabilities of the logits' shape. Default reduction: none (one loss per example).
 */
public final class SoftmaxCrossEntropy extends Cell {
    private static final long serialVersionUID = 1L;
    private final Reduction reduction;

    public SoftmaxCrossEntropy() {
        this(Reduction.NONE);
    }

    public SoftmaxCrossEntropy(Reduction reduction) {
        this.reduction = reduction;
    }

    /** Whether it gives one loss per example (reduction none), as a batch job's per-example statistics need. */
    public boolean perExample() { return reduction == Reduction.NONE; }

    @Override public int inputCount() { return 2; }

    /** {@code construct(logits, labels)}. */
    @Override public Tensor construct(Tensor... in) {
        Tensor logits = in[0], labels = in[1];
        if (!logits.shape().equals(labels.shape())) {
            throw new IllegalArgumentException("softmaxCrossEntropy: logits " + logits.shape() + " and labels " + labels.shape() + " must have the same shape");
        }
        return reduction.apply(neg(sum(mul(labels, logSoftmax(logits, -1)), -1, false)));
    }
}
