package org.gradspark.bench;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.matMul;
import static org.gradspark.ad.Ops.sum;
import static org.gradspark.ad.Ops.tanh;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.gradspark.ad.DType;
import org.gradspark.ad.Fn;
import org.gradspark.ad.Functional;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;

/**
 * Issue 13's forward-mode benchmarks in the core (no Spark), float32, on the backend named by
 * {@code -Dgradspark.backend} (the fast {@code cpu} one from module gpu): tanh MLPs of 3 hidden
 * layers, in -> w -> w -> w -> 1, rows uniform in [-1, 1).
 * <ul>
 * <li>{@code laplacian}: {@link Operators#laplacian} per example (the forward-Laplacian sweep);</li>
 * <li>{@code jvp}: {@link Functional#jvp} (the JVP rules) and, as it was before, the double-VJP
 * path ({@link Functional#linearize} then one apply), w.r.t. the rows;</li>
 * <li>{@code hvp}: the weight-space Hessian-vector product of sum(out) by forward-over-reverse
 * ({@link Functional#hvp}).</li>
 * </ul>
 * Prints one JSON line per measurement: the median over {@code --repeats} timed runs after
 * {@code --warmup} runs. Run by {@code bench/run-laplacian}, which runs the PyTorch peer beside it.
 *
 * <pre>LaplacianBench --rows 16384 --repeats 5 --warmup 2 [--only laplacian|jvp|hvp] [--models 3x128,16x128,64x256]</pre>
 */
public final class LaplacianBench {
    private LaplacianBench() {}

    public static void main(String[] args) {
        int rows = 16384, repeats = 5, warmup = 2;
        String only = null, models = "3x128,16x128,64x256";
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--rows" -> rows = Integer.parseInt(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--only" -> only = args[i + 1];
                case "--models" -> models = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        String backend = Backends.current().name() + " on " + Backends.current().device();
        for (String m : models.split(",")) {
            int d = Integer.parseInt(m.split("x")[0]), w = Integer.parseInt(m.split("x")[1]);
            Tensor[] ws = weights(d, w);
            Tensor x = Tensor.uniform(7, -1, 1, DType.FLOAT32, rows, d);
            Fn net = a -> mlp(a[0], ws);
            String model = "tanh MLP " + d + "-" + w + "-" + w + "-" + w + "-1";
            if (only == null || only.equals("laplacian")) {
                report("laplacian", model, d, w, rows, backend, time(() -> Operators.laplacian(net, x), repeats, warmup));
            }
            if (only == null || only.equals("jvp")) {
                Tensor t = Tensor.uniform(8, -1, 1, DType.FLOAT32, rows, d);
                report("jvp (JVP rules)", model, d, w, rows, backend,
                        time(() -> Functional.jvp(net, new Tensor[] {x}, new Tensor[] {t}).tensor(1), repeats, warmup));
                report("jvp (double VJP)", model, d, w, rows, backend,
                        time(() -> Functional.linearize(net, x).apply(t).asTensor(), repeats, warmup));
            }
            if (only == null || only.equals("hvp")) {
                Tensor[] v = new Tensor[ws.length];
                for (int i = 0; i < ws.length; i++) v[i] = Tensor.uniform(100 + i, -1, 1, DType.FLOAT32, ws[i].shape().dims());
                Fn loss = p -> sum(mlp(x, p));
                report("hvp (forward over reverse)", model, d, w, rows, backend,
                        time(() -> Functional.hvp(loss, ws, v).tensor(0), repeats, warmup));
            }
        }
    }

    /** Glorot-uniform weights [in, out] and zero-mean small biases: w0, b0, ..., w3, b3. */
    static Tensor[] weights(int d, int w) {
        int[] widths = {d, w, w, w, 1};
        Tensor[] ws = new Tensor[2 * (widths.length - 1)];
        for (int k = 0; k + 1 < widths.length; k++) {
            double r = Math.sqrt(6.0 / (widths[k] + widths[k + 1]));
            ws[2 * k] = Tensor.uniform(11 + k, -r, r, DType.FLOAT32, widths[k], widths[k + 1]);
            ws[2 * k + 1] = Tensor.uniform(21 + k, -0.1, 0.1, DType.FLOAT32, widths[k + 1]);
        }
        return ws;
    }

    static Tensor mlp(Tensor x, Tensor[] ws) {
        Tensor h = x;
        for (int k = 0; k < ws.length; k += 2) {
            h = add(matMul(h, ws[k]), ws[k + 1]);
            if (k + 2 < ws.length) h = tanh(h);
        }
        return h;
    }

    /** Seconds of each timed run, after the warm-up runs. */
    static double[] time(Supplier<Tensor> body, int repeats, int warmup) {
        double checksum = 0;
        for (int i = 0; i < warmup; i++) checksum += body.get().getDouble(0);
        double[] s = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            checksum += body.get().getDouble(0);
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        if (Double.isNaN(checksum)) throw new IllegalStateException("NaN result");
        return s;
    }

    static void report(String what, String model, int d, int w, int rows, String backend, double[] s) {
        double[] sorted = s.clone();
        Arrays.sort(sorted);
        List<String> runs = new ArrayList<>();
        for (double v : s) runs.add(String.format(Locale.ROOT, "%.4f", v));
        System.out.println(String.format(Locale.ROOT,
                "{\"system\": \"gradspark\", \"what\": \"%s\", \"model\": \"%s\", \"d\": %d, \"width\": %d, \"rows\": %d, \"median_s\": %.4f, \"runs_s\": [%s], \"backend\": \"%s\"}",
                what, model, d, w, rows, sorted[sorted.length / 2], String.join(", ", runs), backend.replace("\"", "'")));
    }
}
