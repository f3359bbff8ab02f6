package org.gradspark.ad.backend;

/** Elementwise binary kernels (NumPy broadcasting) a {@link Backend} provides. */
public enum BinaryOp {
    /** a + b */ ADD,
    /** a * b */ MUL,
    /** a / b */ DIV,
    /** a ^ b */ POW,
    /** 1 if a == b else 0 */ EQUAL,
    /** 1 if a > b else 0 */ GREATER,
    /** a * (1 - b * b): a cotangent through tanh, given tanh's output b (one pass, fused) */ TANH_BACKWARD,
    /** a * b * (1 - b): a cotangent through the sigmoid, given its output b (one pass, fused) */ SIGMOID_BACKWARD;

    /** The reference definition in float64. */
    public double apply(double a, double b) {
        return switch (this) {
            case ADD -> a + b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case EQUAL -> a == b ? 1.0 : 0.0;
            case GREATER -> a > b ? 1.0 : 0.0;
            case TANH_BACKWARD -> a * (1 - b * b);
            case SIGMOID_BACKWARD -> a * (b * (1 - b));
        };
    }
}
