package org.gradspark.ad;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks derivatives against central finite differences in float64, as PyTorch's
 * {@code gradcheck} and {@code gradgradcheck}: the full Jacobian from reverse mode (one pullback per
 * output element) must match {@code (f(x + eps e_j) - f(x - eps e_j)) / 2 eps} within
 * {@code atol + rtol * |numeric|} everywhere.
 *
 * <pre>{@code
 * GradCheck.gradcheck(x -> sin(x[0]), Tensor.uniform(1, -2, 2, DType.FLOAT64, 3, 4));
 * GradCheck.gradgradcheck(x -> sin(x[0]), Tensor.uniform(1, -2, 2, DType.FLOAT64, 3, 4));
 * }</pre>
 */
public final class GradCheck {
    /** Tolerances and step; PyTorch's defaults. */
    public record Options(double eps, double atol, double rtol) {
        public static final Options DEFAULT = new Options(1e-6, 1e-5, 1e-3);
    }

    /** A derivative that disagrees with finite differences. */
    public static final class Mismatch extends AssertionError {
        private static final long serialVersionUID = 1L;

        Mismatch(String message) {
            super(message);
        }
    }

    private GradCheck() {}

    public static void gradcheck(Fn f, Tensor... inputs) {
        gradcheck(f, inputs, allPositions(inputs.length), Options.DEFAULT);
    }

    /** Checks the derivatives w.r.t. the inputs at {@code wrt} (the others are held constant). */
    public static void gradcheck(Fn f, Tensor[] inputs, int[] wrt, Options opt) {
        requireFloat64(inputs, wrt);
        Recording rec = Recording.of(f, inputs, Recording.only(inputs.length, wrt), List.of());
        List<Tensor> outs = rec.outputs();
        int outSize = outs.stream().mapToInt(Tensor::size).sum();
        // analytic[k][row][col]: d out_row / d input_{wrt[k]}_col
        double[][][] analytic = new double[wrt.length][outSize][];
        int row = 0;
        for (int o = 0; o < outs.size(); o++) {
            for (int e = 0; e < outs.get(o).size(); e++, row++) {
                List<Tensor> cts = new ArrayList<>();
                for (int q = 0; q < outs.size(); q++) {
                    Tensor out = outs.get(q);
                    int hot = q == o ? e : -1;
                    cts.add(Tensor.fromFunction(out.dtype(), out.shape(), i -> i == hot ? 1.0 : 0.0));
                }
                Tensor[] g = rec.pullback(outs, cts, rec.inputVars);
                for (int k = 0; k < wrt.length; k++) analytic[k][row] = g[k].toDoubleArray();
            }
        }
        for (int k = 0; k < wrt.length; k++) {
            int p = wrt[k];
            double[] x = inputs[p].toDoubleArray();
            for (int j = 0; j < x.length; j++) {
                double[] plus = evalFlat(f, inputs, p, x, j, opt.eps());
                double[] minus = evalFlat(f, inputs, p, x, j, -opt.eps());
                for (int r = 0; r < outSize; r++) {
                    double numeric = (plus[r] - minus[r]) / (2 * opt.eps());
                    double a = analytic[k][r][j];
                    if (!(Math.abs(a - numeric) <= opt.atol() + opt.rtol() * Math.abs(numeric))) {
                        throw new Mismatch(String.format("derivative of output element %d w.r.t. input %d element %d (shape %s): analytic %.10g, numeric %.10g",
                                r, p, j, inputs[p].shape(), a, numeric));
                    }
                }
            }
        }
    }

    public static void gradgradcheck(Fn f, Tensor... inputs) {
        gradgradcheck(f, inputs, allPositions(inputs.length), Options.DEFAULT);
    }

    /**
     * Checks second derivatives: the pullback {@code (x, u) -> J(x)^T u}, with u a fixed random
     * cotangent, is itself checked by {@link #gradcheck} in both x and u.
     */
    public static void gradgradcheck(Fn f, Tensor[] inputs, int[] wrt, Options opt) {
        requireFloat64(inputs, wrt);
        List<Tensor> outs = f.apply(inputs).leaves();
        int n = inputs.length;
        Tensor[] all = Arrays.copyOf(inputs, n + outs.size());
        for (int q = 0; q < outs.size(); q++) all[n + q] = Tensor.normal(7919L * (q + 1), DType.FLOAT64, outs.get(q).shape().dims());
        boolean[] mask = Recording.only(n, wrt);
        Fn pullback = args -> {
            Tensor[] xs = Arrays.copyOf(args, n);
            Recording rec = Recording.of(f, xs, mask, List.of());
            List<Tensor> us = Arrays.asList(Arrays.copyOfRange(args, n, args.length));
            return Recording.tuple(rec.pullback(rec.outputs(), us, rec.inputVars));
        };
        int[] wrt2 = Arrays.copyOf(wrt, wrt.length + outs.size());
        for (int q = 0; q < outs.size(); q++) wrt2[wrt.length + q] = n + q;
        gradcheck(pullback, all, wrt2, opt);
    }

    private static double[] evalFlat(Fn f, Tensor[] inputs, int p, double[] x, int j, double delta) {
        Tensor[] args = inputs.clone();
        double[] moved = x.clone();
        moved[j] += delta;
        args[p] = Tensor.wrap(moved, inputs[p].shape());
        List<Tensor> outs = f.apply(args).leaves();
        return outs.stream().flatMapToDouble(t -> Arrays.stream(t.toDoubleArray())).toArray();
    }

    private static void requireFloat64(Tensor[] inputs, int[] wrt) {
        for (int p : wrt) {
            if (inputs[p].dtype() != DType.FLOAT64) {
                throw new IllegalArgumentException("gradcheck needs float64 inputs: input " + p + " is " + inputs[p].dtype().numpyName());
            }
        }
    }

    private static int[] allPositions(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }
}
