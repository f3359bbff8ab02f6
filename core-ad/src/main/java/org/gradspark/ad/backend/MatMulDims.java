package org.gradspark.ad.backend;

import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/**
 * The sizes of {@code C = op(A) op(B)} for rank-2 or batched rank-3 operands: A stored as
 * aRows x aCols, B as bRows x bCols, C as m x n, the contraction over k. One place for every
 * backend's MatMul to read them from.
 */
public record MatMulDims(int rank, int batch, int m, int k, int n, int aRows, int aCols, int bRows, int bCols) {

    public static MatMulDims of(Tensor a, Tensor b, boolean transA, boolean transB) {
        int r = a.rank();
        int batch = r == 3 ? a.shape().dim(0) : 1;
        int ar = a.shape().dim(r - 2), ac = a.shape().dim(r - 1);
        int br = b.shape().dim(r - 2), bc = b.shape().dim(r - 1);
        return new MatMulDims(r, batch, transA ? ac : ar, transA ? ar : ac, transB ? br : bc, ar, ac, br, bc);
    }

    /** [m, n], or [batch, m, n] for batched operands. */
    public Shape outShape() {
        return rank == 3 ? Shape.of(batch, m, n) : Shape.of(m, n);
    }

    /** 2 batch m n k: the multiply-adds of the product, counted as two flops each. */
    public double flops() {
        return 2.0 * batch * m * n * k;
    }
}
