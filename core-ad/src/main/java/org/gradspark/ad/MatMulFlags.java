package org.gradspark.ad;

/**
 * MatMul's attributes: {@code C = op(A) op(B)} with {@code op(X) = X^T} when the flag is set. Its own
 * file so that the tangent algebra ({@link TangentAlgebra}) and the primitive table ({@link Primitives})
 * both use it without depending on each other both ways.
 */
public record MatMulFlags(boolean transA, boolean transB) {}
