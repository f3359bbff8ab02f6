package org.gradspark.job.fit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.Evaluator.Value;
import org.gradspark.job.exec.RowSample;

/**
 * A plain objective for the optimiser tests: mean squared error of a linear model
 * {@code (1/N) Σ_n (x_n·w + b − y_n)²} (the job's identity MLP {@code --layers d,1} with {@code --loss mse}
 * and {@code --reduction mean}), value and gradient in core-ad Tensors. A {@link RowSample}
 * keeps row n iff a hash of (seed, step, n) is below the fraction; {@link #evaluations} counts calls; its rows' digest
 * is their values'. DP-SGD's clipped sum is computed row by row: g_n = 2·r_n·(x_n, 1), r_n = x_n·w + b − y_n.
 */
final class LeastSquares implements ClippedObjective {
    final Tensor x, y;   // [N, d], [N, 1]
    final DType dtype;
    int evaluations;

    LeastSquares(int n, int d, long seed, DType dtype) {
        this.dtype = dtype;
        this.x = Tensor.uniform(seed, -1, 1, DType.FLOAT64, n, d).astype(dtype);
        Tensor w = Tensor.uniform(seed + 1, -2, 2, DType.FLOAT64, d, 1);
        Tensor noise = Ops.mul(Tensor.normal(seed + 2, DType.FLOAT64, n, 1), 0.1);
        this.y = Ops.add(Ops.add(Ops.matMul(x.astype(DType.FLOAT64), w), 0.5), noise).astype(dtype);
    }

    @Override
    public List<String> keys() {
        return List.of("w0", "b0");
    }

    @Override
    public Map<String, Tensor> initialWeights() {
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("w0", Tensor.zeros(dtype, x.shape().dim(1), 1));
        w.put("b0", Tensor.zeros(dtype, 1));
        return w;
    }

    /** SHA-256 of x's and y's values: another draw of rows is another objective. */
    @Override
    public Map<String, String> rowsDigest() {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            for (Tensor t : List.of(x, y)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 * t.size());
                for (double v : t.toDoubleArray()) b.putDouble(v);
                md.update(b.array());
            }
            return Map.of("rows", java.util.HexFormat.of().formatHex(md.digest()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Value evaluate(Map<String, Tensor> weights, RowSample sample) {
        evaluations++;
        int n = x.shape().dim(0);
        double[] keep = new double[n];
        long used = 0;
        for (int i = 0; i < n; i++) {
            keep[i] = sample == null || kept(sample, i) ? 1 : 0;
            used += (long) keep[i];
        }
        Tensor mask = Tensor.wrap(keep, Shape.of(n, 1)).astype(dtype);
        Tensor r = Ops.mul(Ops.sub(Ops.add(Ops.matMul(x, weights.get("w0")), weights.get("b0")), y), mask);
        double scale = 1.0 / used;
        double value = Ops.sum(Ops.square(r)).item() * scale;
        Tensor gw = Ops.mul(Ops.matMul(x, r, true, false), 2 * scale);
        Tensor gb = Ops.reshape(Ops.mul(Ops.sum(r), 2 * scale), 1);
        Map<String, Tensor> g = new LinkedHashMap<>();
        g.put("w0", gw.astype(dtype));
        g.put("b0", gb.astype(dtype));
        return new Value(value, g, used, 0);
    }

    @Override
    public Value clippedSum(Map<String, Tensor> weights, RowSample sample, double clip) {
        evaluations++;
        int n = x.shape().dim(0), d = x.shape().dim(1);
        double[] w = weights.get("w0").toDoubleArray();
        double b = weights.get("b0").getDouble(0);
        double[] sum = new double[d + 1];
        double value = 0;
        long used = 0;
        for (int i = 0; i < n; i++) {
            if (!kept(sample, i)) continue;
            used++;
            double r = b - y.getDouble(i);
            for (int j = 0; j < d; j++) r += x.get(i, j) * w[j];
            value += r * r;
            double[] g = new double[d + 1];
            double sq = 0;
            for (int j = 0; j <= d; j++) {
                g[j] = 2 * r * (j < d ? x.get(i, j) : 1);
                sq += g[j] * g[j];
            }
            double factor = Math.min(1, clip / Math.sqrt(sq));
            if (sq == 0) factor = 1;
            for (int j = 0; j <= d; j++) sum[j] += g[j] * factor;
        }
        Map<String, Tensor> g = new LinkedHashMap<>();
        g.put("w0", Tensor.wrap(java.util.Arrays.copyOf(sum, d), Shape.of(d, 1)).astype(dtype));
        g.put("b0", Tensor.wrap(new double[] {sum[d]}, Shape.of(1)).astype(dtype));
        return new Value(value, g, used, 0);
    }

    @Override
    public long rows() {
        return x.shape().dim(0);
    }

    static boolean kept(RowSample s, long row) {
        long h = s.seed() * 0x9E3779B97F4A7C15L + s.step() * 0xC2B2AE3D27D4EB4FL + row;
        h = (h ^ (h >>> 33)) * 0xff51afd7ed558ccdL;
        h = (h ^ (h >>> 33)) * 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (h >>> 11) * 0x1.0p-53 < s.fraction();
    }

    /** The least-squares solution [w; b] by the normal equations in float64 (Gaussian elimination, partial pivoting). */
    double[] solution() {
        int n = x.shape().dim(0), d = x.shape().dim(1), p = d + 1;
        double[][] a = new double[p][p + 1];
        for (int i = 0; i < n; i++) {
            double[] row = new double[p];
            for (int j = 0; j < d; j++) row[j] = x.get(i, j);
            row[d] = 1;
            double yi = y.get(i, 0);
            for (int j = 0; j < p; j++) {
                for (int k = 0; k < p; k++) a[j][k] += row[j] * row[k];
                a[j][p] += row[j] * yi;
            }
        }
        for (int c = 0; c < p; c++) {
            int piv = c;
            for (int r = c + 1; r < p; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
            double[] t = a[c];
            a[c] = a[piv];
            a[piv] = t;
            for (int r = 0; r < p; r++) {
                if (r == c) continue;
                double f = a[r][c] / a[c][c];
                for (int k = c; k <= p; k++) a[r][k] -= f * a[c][k];
            }
        }
        double[] sol = new double[p];
        for (int j = 0; j < p; j++) sol[j] = a[j][p] / a[j][j];
        return sol;
    }
}
