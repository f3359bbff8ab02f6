package org.gradspark.job;

import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Dense;

/**
 * A {@code --model-class} Cell of {@value #IN} x {@value #OUT} float32 weights (20 M parameters), for
 * {@code --layers 2000,10000}, that also holds {@value #TABLE_FLOATS} floats (200 MB, its class's) of its own beside its
 * parameters, as a Cell with fixed features or a lookup table may: the driver's memory check counts the
 * parameters (0.58 GiB with the reduction's terms, within a 768 MiB driver's 80%), not what a Cell holds besides,
 * so the run starts, and the gradient's summed shards then do not fit; the driver reads them in Spark's
 * task-result-getter threads (StandaloneClusterTest#aDriverOutOfMemoryReadingTheResultsEndsTheRunWithOneLine).
 */
public final class WideLayerCell extends Cell {
    private static final long serialVersionUID = 1L;
    public static final int IN = 2000;
    public static final int OUT = 10000;

    public static final int TABLE_FLOATS = 50_000_000;

    private final Dense layer = new Dense(IN, OUT, DType.FLOAT32, 7);
    // The class's, so it stays as long as the class is loaded, as a table of fixed features would.
    private static final float[] TABLE = new float[TABLE_FLOATS];

    @Override public Tensor construct(Tensor... in) {
        return layer.construct(in);
    }
}
