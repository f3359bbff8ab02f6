package org.gradspark.job;

import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Dense;

/**
 * A {@code --model-class} Cell of {@value #IN} x {@value #OUT} float32 weights (20 M parameters), for
 * {@code --layers 2000,10000}: its gradient's summed shards do not fit beside Spark in a 512 MiB driver,
 * which reads them in Spark's task-result-getter threads (DriverOutOfMemorySubmittedTest). A user Cell,
 * so that no estimate of GradSpark's refuses the run before Spark starts.
 */
public final class WideLayerCell extends Cell {
    private static final long serialVersionUID = 1L;
    public static final int IN = 2000;
    public static final int OUT = 10000;

    private final Dense layer = new Dense(IN, OUT, DType.FLOAT32, 7);

    @Override public Tensor construct(Tensor... in) {
        return layer.construct(in);
    }
}
