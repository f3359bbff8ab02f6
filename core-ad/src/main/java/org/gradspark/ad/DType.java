package org.gradspark.ad;

/** Element type of a {@link Tensor}. Storage is real: {@code float[]} for FLOAT32, {@code double[]} for FLOAT64. */
public enum DType {
    FLOAT32, FLOAT64;

    /** NumPy's promotion: float32 with float64 gives float64. */
    public static DType promote(DType a, DType b) {
        return a == FLOAT64 || b == FLOAT64 ? FLOAT64 : FLOAT32;
    }

    /** Bytes of one element: 4 for FLOAT32, 8 for FLOAT64. */
    public int bytes() {
        return this == FLOAT32 ? Float.BYTES : Double.BYTES;
    }

    /** The name NumPy and MindSpore use ({@code float32}, {@code float64}). */
    public String numpyName() {
        return this == FLOAT32 ? "float32" : "float64";
    }
}
