package org.gradspark.ad.backend;

/** Elementwise unary kernels a {@link Backend} provides; each states its maths. */
public enum UnaryOp {
    /** -x */ NEG,
    /** e^x */ EXP,
    /** ln x */ LOG,
    /** sin x */ SIN,
    /** cos x */ COS,
    /** tanh x */ TANH,
    /** 1 / (1 + e^-x) */ SIGMOID,
    /** max(x, 0); NaN stays NaN */ RELU,
    /** sqrt x */ SQRT;

    /** The reference definition in float64. */
    public double apply(double x) {
        return switch (this) {
            case NEG -> -x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SIN -> Math.sin(x);
            case COS -> Math.cos(x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> x >= 0 ? 1.0 / (1.0 + Math.exp(-x)) : Math.exp(x) / (1.0 + Math.exp(x));
            case RELU -> x > 0 ? x : (Double.isNaN(x) ? x : 0.0);
            case SQRT -> Math.sqrt(x);
        };
    }
}
