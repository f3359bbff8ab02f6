package org.gradspark.ad;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.gradspark.ad.backend.DeviceData;

/**
 * An immutable n-dimensional array of float32 or float64 values in row-major order.
 *
 * <p>Storage is real: a {@code float[]} for {@link DType#FLOAT32} and a {@code double[]} for
 * {@link DType#FLOAT64}, so BLAS and OpenCL kernels can take it as it is. A tensor produced by a
 * differentiable op while a gradient is being taken also remembers that op and its inputs (its
 * autodiff {@link Node}); that link is transient and never serialized.
 *
 * <p>A tensor a device kernel produced may instead hold {@link DeviceData}: its host arrays are then
 * made on the first host read (any accessor below, printing, serialization), once, and kept; device
 * kernels of the owning backend read the device data in place ({@link #deviceData()}).
 *
 * <pre>{@code
 * Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
 * System.out.println(x);   // [[0.8 0.6 0.2]
 *                          //  [1.8 1.3 1.1]]
 * }</pre>
 */
public sealed class Tensor implements Value, Serializable permits Parameter {
    private static final long serialVersionUID = 1L;

    private final DType dtype;
    private final Shape shape;
    // Null while only the device holds the values; set once by the first host read (see host()).
    private volatile float[] f32;
    private volatile double[] f64;
    /** The values on a device, or null for a host tensor; never serialized (the host copy is). */
    private final transient DeviceData device;
    /** The op that produced this tensor while recording, or a leaf marker; null for a constant. */
    private final transient Node node;

    Tensor(DType dtype, Shape shape, float[] f32, double[] f64, Node node) {
        this(dtype, shape, f32, f64, null, node);
    }

    private Tensor(DType dtype, Shape shape, float[] f32, double[] f64, DeviceData device, Node node) {
        this.dtype = dtype;
        this.shape = shape;
        this.f32 = f32;
        this.f64 = f64;
        this.device = device;
        this.node = node;
        int n = device != null && f32 == null && f64 == null ? device.size() : dtype == DType.FLOAT32 ? f32.length : f64.length;
        if (n != shape.size()) {
            throw new IllegalArgumentException("data of length " + n + " does not fill shape " + shape);
        }
        if (device != null && device.dtype() != dtype) {
            throw new IllegalArgumentException("device data of dtype " + device.dtype() + " for a " + dtype + " tensor");
        }
    }

    /** A copy of {@code t}'s value: the constructor Parameter uses (device data is shared, not read). */
    Tensor(Tensor t) {
        this(t.dtype, t.shape, t.f32, t.f64, t.device, null);
    }

    // ---------------------------------------------------------------- factories

    /** A float32 tensor of the given shape; the array is copied. With no shape, 1-D. */
    public static Tensor of(float[] data, int... shape) {
        return wrap(data.clone(), shape.length == 0 ? Shape.of(data.length) : Shape.of(shape));
    }

    /** A float64 tensor of the given shape; the array is copied. With no shape, 1-D. */
    public static Tensor of(double[] data, int... shape) {
        return wrap(data.clone(), shape.length == 0 ? Shape.of(data.length) : Shape.of(shape));
    }

    public static Tensor of(float[][] rows) {
        int c = rows.length == 0 ? 0 : rows[0].length;
        float[] d = new float[rows.length * c];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != c) throw new IllegalArgumentException("ragged rows: row " + i + " has " + rows[i].length + " values, row 0 has " + c);
            System.arraycopy(rows[i], 0, d, i * c, c);
        }
        return wrap(d, Shape.of(rows.length, c));
    }

    public static Tensor of(double[][] rows) {
        int c = rows.length == 0 ? 0 : rows[0].length;
        double[] d = new double[rows.length * c];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i].length != c) throw new IllegalArgumentException("ragged rows: row " + i + " has " + rows[i].length + " values, row 0 has " + c);
            System.arraycopy(rows[i], 0, d, i * c, c);
        }
        return wrap(d, Shape.of(rows.length, c));
    }

    /** Takes ownership of {@code data} without copying: for kernels that just produced it. */
    public static Tensor wrap(float[] data, Shape shape) {
        return new Tensor(DType.FLOAT32, shape, data, null, null);
    }

    /** Takes ownership of {@code data} without copying: for kernels that just produced it. */
    public static Tensor wrap(double[] data, Shape shape) {
        return new Tensor(DType.FLOAT64, shape, null, data, null);
    }

    /**
     * A tensor whose values {@code data} holds on a device: for device kernels that just produced
     * them. The host arrays are made on the first host read.
     */
    public static Tensor onDevice(DeviceData data, Shape shape) {
        return new Tensor(data.dtype(), shape, null, null, data, null);
    }

    public static Tensor scalar(double value, DType dtype) {
        return full(value, dtype, Shape.SCALAR);
    }

    public static Tensor full(double value, DType dtype, Shape shape) {
        int n = shape.size();
        if (dtype == DType.FLOAT32) {
            float[] d = new float[n];
            Arrays.fill(d, (float) value);
            return wrap(d, shape);
        }
        double[] d = new double[n];
        Arrays.fill(d, value);
        return wrap(d, shape);
    }

    public static Tensor zeros(DType dtype, int... shape) { return full(0, dtype, Shape.of(shape)); }

    public static Tensor ones(DType dtype, int... shape) { return full(1, dtype, Shape.of(shape)); }

    /** Builds a tensor element by element from a function of the flat index. */
    public static Tensor fromFunction(DType dtype, Shape shape, java.util.function.IntToDoubleFunction f) {
        int n = shape.size();
        if (dtype == DType.FLOAT32) {
            float[] d = new float[n];
            for (int i = 0; i < n; i++) d[i] = (float) f.applyAsDouble(i);
            return wrap(d, shape);
        }
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = f.applyAsDouble(i);
        return wrap(d, shape);
    }

    /** Uniform values in [lo, hi), reproducible from {@code seed}. */
    public static Tensor uniform(long seed, double lo, double hi, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        return fromFunction(dtype, Shape.of(shape), i -> lo + (hi - lo) * r.nextDouble());
    }

    /** Standard normal values, reproducible from {@code seed}. */
    public static Tensor normal(long seed, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        return fromFunction(dtype, Shape.of(shape), i -> {
            double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
            return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        });
    }

    // ---------------------------------------------------------------- accessors

    public DType dtype() { return dtype; }

    public Shape shape() { return shape; }

    public int rank() { return shape.rank(); }

    public int size() { return shape.size(); }

    /** The flat (row-major) index of the first NaN or infinity, or -1 when every element is finite. */
    public int firstNonFinite() {
        for (int i = 0; i < size(); i++) {
            if (!Double.isFinite(getDouble(i))) return i;
        }
        return -1;
    }

    /** A flat index as NumPy's index tuple for this shape, e.g. {@code (2, 3)}. */
    public String indexText(int flat) {
        int[] d = shape().dims();
        if (d.length == 0) return "()";
        int[] idx = new int[d.length];
        for (int k = d.length - 1; k >= 0; k--) {
            idx[k] = flat % d[k];
            flat /= d[k];
        }
        StringBuilder b = new StringBuilder("(");
        for (int k = 0; k < idx.length; k++) b.append(k == 0 ? "" : ", ").append(idx[k]);
        return b.append(d.length == 1 ? ",)" : ")").toString();
    }

    /** Element at a flat row-major index, widened to double. */
    public double getDouble(int flatIndex) {
        if (dtype == DType.FLOAT32) {
            float[] f = f32;
            return (f != null ? f : hostFloats())[flatIndex];
        }
        double[] d = f64;
        return (d != null ? d : hostDoubles())[flatIndex];
    }

    /** Element at an n-d index. */
    public double get(int... index) {
        if (index.length != rank()) throw new IllegalArgumentException("index " + Arrays.toString(index) + " does not fit shape " + shape);
        int[] st = shape.strides();
        int flat = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape.dim(i)) throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape " + shape);
            flat += index[i] * st[i];
        }
        return getDouble(flat);
    }

    /** The single value of a one-element tensor. */
    public double item() {
        if (size() != 1) throw new IllegalStateException("item() needs a tensor of one element, not shape " + shape);
        return getDouble(0);
    }

    public double[] toDoubleArray() {
        if (dtype == DType.FLOAT64) return rawDoubles().clone();
        float[] f = rawFloats();
        double[] d = new double[f.length];
        for (int i = 0; i < d.length; i++) d[i] = f[i];
        return d;
    }

    public float[] toFloatArray() {
        if (dtype == DType.FLOAT32) return rawFloats().clone();
        double[] s = rawDoubles();
        float[] d = new float[s.length];
        for (int i = 0; i < d.length; i++) d[i] = (float) s[i];
        return d;
    }

    /** The live float32 storage, for kernels: never write to it. A device tensor's values are read back first. */
    public float[] rawFloats() {
        if (dtype != DType.FLOAT32) throw new IllegalStateException("rawFloats() on a " + dtype + " tensor");
        float[] f = f32;
        return f != null ? f : hostFloats();
    }

    /** The live float64 storage, for kernels: never write to it. A device tensor's values are read back first. */
    public double[] rawDoubles() {
        if (dtype != DType.FLOAT64) throw new IllegalStateException("rawDoubles() on a " + dtype + " tensor");
        double[] d = f64;
        return d != null ? d : hostDoubles();
    }

    /** The device holding this tensor's values (kernels of its owner read them in place), or null for a host tensor. */
    public DeviceData deviceData() { return device; }

    /** Whether the host arrays exist (a host tensor, or a device tensor already read back). */
    public boolean onHost() { return f32 != null || f64 != null; }

    /**
     * The same values in a new shape of the same size, sharing the storage (host arrays or device
     * data): a reshape, never a copy or a read back.
     */
    public Tensor withShape(Shape s) {
        if (s.size() != shape.size()) throw new IllegalArgumentException("cannot view shape " + shape + " as " + s);
        return new Tensor(dtype, s, f32, f64, device, null);
    }

    // One read back per tensor, however many threads ask at once.
    private synchronized float[] hostFloats() {
        if (f32 == null) {
            float[] f = new float[shape.size()];
            device.readInto(f);
            f32 = f;
        }
        return f32;
    }

    private synchronized double[] hostDoubles() {
        if (f64 == null) {
            double[] d = new double[shape.size()];
            device.readInto(d);
            f64 = d;
        }
        return f64;
    }

    /** Serialization writes the host values: a device tensor is read back first. */
    private void writeObject(ObjectOutputStream out) throws IOException {
        if (dtype == DType.FLOAT32) rawFloats();
        else rawDoubles();
        out.defaultWriteObject();
    }

    /**
     * This tensor's values in {@code target}, converted on the host (a constant, not differentiable;
     * the same rounding as {@link #astype}): for input data read on the host, which then crosses to a
     * device once, in the job's dtype, rather than in its file's.
     */
    public Tensor convertedOnHost(DType target) {
        if (target == dtype && node == null && getClass() == Tensor.class) return this;
        return target == DType.FLOAT32 ? wrap(toFloatArray(), shape) : wrap(toDoubleArray(), shape);
    }

    /** This tensor converted to {@code target} (differentiable). */
    public Tensor astype(DType target) { return Ops.cast(this, target); }

    @Override public List<Tensor> leaves() { return List.of(this); }

    // ---------------------------------------------------------------- autodiff link

    Node node() { return node; }

    /** True if this tensor is part of a graph being recorded for a gradient. */
    public boolean isTracked() { return node != null; }

    /** The same values with a given autodiff node (no copy). */
    Tensor withNode(Node n) { return new Tensor(dtype, shape, f32, f64, device, n); }

    /** The same values as a constant: no autodiff node. */
    Tensor detached() { return node == null && getClass() == Tensor.class ? this : new Tensor(dtype, shape, f32, f64, device, null); }

    // ---------------------------------------------------------------- comparison and printing

    /**
     * NumPy's {@code allclose}: same shape and {@code |a-b| <= atol + rtol*|b|} everywhere.
     * NaN is never close to anything.
     */
    public boolean allClose(Tensor other, double rtol, double atol) {
        if (!shape.equals(other.shape)) return false;
        for (int i = 0; i < size(); i++) {
            double a = getDouble(i), b = other.getDouble(i);
            if (Double.isNaN(a) || Double.isNaN(b)) return false;
            if (a == b) continue;
            if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) return false;
        }
        return true;
    }

    /** Printed as NumPy prints an array: {@code [[4.51      2.7       3.6000001] ...]}. */
    @Override public String toString() {
        return NumpyFormat.format(this);
    }
}
