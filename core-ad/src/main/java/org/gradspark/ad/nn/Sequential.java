package org.gradspark.ad.nn;

import java.util.List;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Tensor;

/** Cells applied one after another (MindSpore's {@code SequentialCell}); parameters are named {@code layers.i.*}. */
public final class Sequential extends Cell {
    private static final long serialVersionUID = 1L;
    private final List<Cell> layers;

    public Sequential(Cell... layers) {
        this.layers = List.of(layers);
    }

    public Sequential(List<? extends Cell> layers) {
        this.layers = List.copyOf(layers);
    }

    public List<Cell> layers() { return layers; }

    @Override public int inputCount() { return 1; }

    @Override public Tensor construct(Tensor... in) {
        Tensor h = in[0];
        for (Cell c : layers) h = c.<Tensor>call(h);
        return h;
    }
}
