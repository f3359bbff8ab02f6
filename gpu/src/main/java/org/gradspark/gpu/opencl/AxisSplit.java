package org.gradspark.gpu.opencl;

import org.gradspark.ad.Shape;

/**
 * A shape seen around one axis, as the max kernels walk it: {@code outer} blocks of {@code len}
 * values along the axis, each value {@code inner} apart (the product of the axes before and after).
 */
record AxisSplit(int outer, int len, int inner) {
    static AxisSplit of(Shape shape, int axis) {
        int[] dims = shape.dims();
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= dims[d];
        for (int d = axis + 1; d < dims.length; d++) inner *= dims[d];
        return new AxisSplit(outer, dims[axis], inner);
    }
}
