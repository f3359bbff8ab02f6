package org.gradspark.ad;

/**
 * A primitive turned finite inputs into a NaN or an infinity while non-finite values were being
 * watched for ({@link Functional#detectAnomaly}): it names the primitive (a forward op, or an op of
 * a derivative rule), the first bad element and the input shapes, as PyTorch's anomaly mode names
 * the function that produced a NaN.
 */
public final class NonFiniteException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final String op;

    NonFiniteException(String op, String message) {
        super(message);
        this.op = op;
    }

    /** The primitive that produced the first non-finite value. */
    public String op() {
        return op;
    }
}
