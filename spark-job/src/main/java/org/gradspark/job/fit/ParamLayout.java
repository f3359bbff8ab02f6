package org.gradspark.job.fit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;

/**
 * The model's weights as one flat float64 vector, the optimisers' view of them: keys in the model's
 * order, each tensor row-major. The optimisers' arithmetic is in float64 on the driver; the model
 * sees the vector cast to its dtype ({@link #weights}), so a float32 model's weights are the float32
 * rounding of the optimiser's float64 position, the same bits on every run.
 */
public record ParamLayout(List<String> keys, List<Shape> shapes, DType dtype, int size) {

    /** The layout of these weights, keys in the given order. */
    public static ParamLayout of(List<String> keys, Map<String, Tensor> weights) {
        List<Shape> shapes = keys.stream().map(k -> weights.get(k).shape()).toList();
        long size = shapes.stream().mapToLong(Shape::size).sum();
        if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("the model has " + size + " parameters: fit holds them in one array, at most 2^31 - 9");
        return new ParamLayout(List.copyOf(keys), shapes, weights.get(keys.get(0)).dtype(), (int) size);
    }

    /** The weights (or a gradient) as one float64 vector in the layout's order. */
    public double[] flatten(Map<String, Tensor> tensors) {
        double[] x = new double[size];
        int at = 0;
        for (int k = 0; k < keys.size(); k++) {
            Tensor t = tensors.get(keys.get(k));
            if (t == null) throw new IllegalArgumentException("no '" + keys.get(k) + "' among " + tensors.keySet());
            if (!t.shape().equals(shapes.get(k))) throw new IllegalArgumentException("'" + keys.get(k) + "' has shape " + t.shape() + ", expected " + shapes.get(k));
            for (int i = 0; i < t.size(); i++) x[at + i] = t.getDouble(i);
            at += t.size();
        }
        return x;
    }

    /**
     * The vector as the model's weights, refused when one is a NaN or an infinity in the model's dtype
     * (a float64 value beyond float32's range becomes an infinity there).
     *
     * @param where what the message starts with (the optimiser and iteration)
     * @throws BadInputException naming the key, the index and the value
     */
    public Map<String, Tensor> finiteWeights(double[] x, String where) {
        Map<String, Tensor> w = weights(x);
        int at = 0;
        for (Map.Entry<String, Tensor> e : w.entrySet()) {
            int bad = e.getValue().firstNonFinite();
            if (bad >= 0) {
                throw new BadInputException(where + ": weight '" + e.getKey() + "' " + e.getValue().indexText(bad) + " is " + e.getValue().getDouble(bad)
                        + (Double.isFinite(x[at + bad]) ? " (" + x[at + bad] + " overflows " + dtype.name().toLowerCase(java.util.Locale.ROOT) + ")" : ""));
            }
            at += e.getValue().size();
        }
        return w;
    }

    /** The vector as the model's weights, in the model's dtype. */
    public Map<String, Tensor> weights(double[] x) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        int at = 0;
        for (int k = 0; k < keys.size(); k++) {
            int n = shapes.get(k).size();
            if (dtype == DType.FLOAT32) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float) x[at + i];
                w.put(keys.get(k), Tensor.wrap(v, shapes.get(k)));
            } else {
                w.put(keys.get(k), Tensor.wrap(java.util.Arrays.copyOfRange(x, at, at + n), shapes.get(k)));
            }
            at += n;
        }
        return w;
    }
}
