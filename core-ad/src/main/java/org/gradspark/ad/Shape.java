package org.gradspark.ad;

import java.io.Serializable;
import java.util.Arrays;

/**
 * An immutable tensor shape (row-major). A scalar has rank 0 and size 1.
 * Broadcasting follows NumPy: shapes are aligned on the right, and a dimension of 1 stretches.
 */
public final class Shape implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final Shape SCALAR = new Shape(new int[0]);

    private final int[] dims;

    private Shape(int[] dims) {
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        for (int d : dims) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(dims));
        }
        return new Shape(dims.clone());
    }

    public int rank() { return dims.length; }

    public int dim(int axis) { return dims[normalizeAxis(axis, "dim")]; }

    public int[] dims() { return dims.clone(); }

    public int size() {
        long n = 1;
        for (int d : dims) n *= d;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + this + " has more than 2^31-1 elements");
        return (int) n;
    }

    /** Row-major strides in elements. */
    public int[] strides() {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /**
     * The shape after reducing {@code axes} (distinct, non-negative): each dropped, or kept as size 1
     * with {@code keepDims}. {@code [2,3,4].reduce({0,2}, false)} is {@code [3]}, with keepDims {@code [1,3,1]}.
     */
    public Shape reduce(int[] axes, boolean keepDims) {
        boolean[] reduced = new boolean[dims.length];
        for (int a : axes) reduced[a] = true;
        int[] out = new int[dims.length];
        int r = 0;
        for (int d = 0; d < dims.length; d++) {
            if (!reduced[d]) out[r++] = dims[d];
            else if (keepDims) out[r++] = 1;
        }
        return new Shape(Arrays.copyOf(out, r));
    }

    /** Maps a possibly negative axis into [0, rank), naming the op on error. */
    public int normalizeAxis(int axis, String op) {
        int a = axis < 0 ? axis + dims.length : axis;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException(op + ": axis " + axis + " is out of range for shape " + this);
        }
        return a;
    }

    /** NumPy broadcast of two shapes; the error names the op and both shapes. */
    public static Shape broadcast(Shape a, Shape b, String op) {
        int r = Math.max(a.rank(), b.rank());
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.rank() ? 1 : a.dims[i - (r - a.rank())];
            int db = i < r - b.rank() ? 1 : b.dims[i - (r - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b + " cannot be broadcast together");
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    /** True if this shape broadcasts to {@code target} (NumPy rules). */
    public boolean broadcastsTo(Shape target) {
        if (rank() > target.rank()) return false;
        int off = target.rank() - rank();
        for (int i = 0; i < rank(); i++) {
            if (dims[i] != 1 && dims[i] != target.dims[i + off]) return false;
        }
        return true;
    }

    @Override public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override public int hashCode() { return Arrays.hashCode(dims); }

    @Override public String toString() { return Arrays.toString(dims); }
}
