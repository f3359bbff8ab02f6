package org.gradspark.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.examples.PoissonResidual;
import org.gradspark.ad.examples.SmallPoissonResidual;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.fit.FitObjective;
import org.gradspark.job.fit.Fitter;
import org.gradspark.job.fit.IterationRecord;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Second-order training on the 2-D Poisson PINN (issue 28, item 6): {@code fit --optimizer gauss-newton
 * --solve dense} (the energy natural gradient: the Gramian assembled in one distributed pass, a Cholesky
 * solve) against Adam and L-BFGS on the job's residual form ({@link SmallPoissonResidual}, tanh 2-16-16-1,
 * 337 weights, float64, {@code --loss mse}, labels 0), all on the same collocation points, partitions and
 * starting weights in one Spark application
 * (local[2] by default). The measure is the relative L2 error of u against {@code sin(πx) sin(πy)} on a
 * held-out grid, taken at each iteration's point (the time it takes is left out of the curves): the time
 * to reach 1e-3, 1e-4, 1e-5 and 1e-6, and the best error within the same wall time. Gauss-Newton runs
 * first, until the error is at most 1e-6 or {@code --seconds} have passed; Adam and L-BFGS then get the
 * same wall time. Writes {@code second-order.md}, {@code second-order.json} and
 * {@code second-order-error-time.png} into the results directory.
 *
 * <pre>SecondOrderBench [--smoke] [--master local[2]] [--points 1024] [--grid 101] [--seconds 900] [--damping 1e-10]
 *                  [--learning-rate 0.001] [--results bench/results]</pre>
 * {@code --smoke}: 64 points, a 21x21 grid, 2 dense Gauss-Newton iterations and 2 of the others; it fails
 * unless every optimiser recorded an error and Gauss-Newton lowered its own.
 */
public final class SecondOrderBench {
    static final double[] THRESHOLDS = {1e-3, 1e-4, 1e-5, 1e-6};

    private SecondOrderBench() {}

    /** Stops a fit from its progress callback once its wall time is spent. */
    private static final class TimeUp extends RuntimeException {
        TimeUp() { super(null, null, false, false); }
    }

    /** One optimiser's curve: (seconds, relative L2 error, loss, iteration) per iteration. */
    record Curve(String name, List<double[]> points) {
        double timeTo(double error) {
            for (double[] p : points) if (p[1] <= error) return p[0];
            return Double.NaN;
        }

        double best() {
            return points.stream().mapToDouble(p -> p[1]).min().orElse(Double.NaN);
        }

        double end() {
            return points.isEmpty() ? 0 : points.get(points.size() - 1)[0];
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>(Map.of("--master", "local[2]", "--points", "1024", "--grid", "101", "--seconds", "900",
                "--damping", "1e-10", "--learning-rate", "0.001", "--results", "bench/results"));
        boolean smoke = args.length > 0 && args[0].equals("--smoke");
        if (smoke) o.putAll(Map.of("--points", "64", "--grid", "21"));
        for (int i = smoke ? 1 : 0; i < args.length; i += 2) {
            if (!o.containsKey(args[i])) throw new IllegalArgumentException("unknown option " + args[i]);
            if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
            o.put(args[i], args[i + 1]);
        }
        String command = String.join(" ", java.util.stream.Stream.concat(java.util.stream.Stream.of("bench/run-second-order"), java.util.Arrays.stream(args)).toList());
        double loadBefore = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        int points = Integer.parseInt(o.get("--points")), side = Integer.parseInt(o.get("--grid"));
        double seconds = Double.parseDouble(o.get("--seconds"));
        SparkConf conf = GradientJob.configure(new SparkConf());
        if (!conf.contains("spark.master")) conf.setMaster(o.get("--master"));
        conf.setIfMissing("spark.app.name", "GradSpark second-order PINN").setIfMissing("spark.ui.enabled", "false");
        Path work = Files.createTempDirectory("gradspark-second-order-");
        Npy.write(work.resolve("points.npy"), Tensor.uniform(7, -1, 1, DType.FLOAT64, points, 2));
        Npy.write(work.resolve("zeros.npy"), Tensor.zeros(DType.FLOAT64, points, 1));
        Tensor grid = grid(side);
        List<Curve> curves = new ArrayList<>();
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            jsc.setLogLevel("WARN");
            Curve gn = run(jsc, work, "gauss-newton", smoke ? 2 : 100_000, seconds, grid, o, smoke);
            curves.add(gn);
            double budget = smoke ? seconds : gn.end();
            curves.add(run(jsc, work, "adam", smoke ? 2 : 10_000_000, budget, grid, o, smoke));
            curves.add(run(jsc, work, "lbfgs", smoke ? 2 : 100_000, budget, grid, o, smoke));
            if (smoke) check(curves);
            double loadAfter = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            write(Path.of(o.get("--results")), curves, o, jsc.master(), String.format(Locale.ROOT, "`%s`, on %d cores whose 1-minute load average was %.1f "
                    + "at the start and %.1f at the end (other processes share them: the times are this machine's under that load)", command,
                    Runtime.getRuntime().availableProcessors(), loadBefore, loadAfter));
        }
    }

    /** One fit, stopped at its iterations, at its wall time or at an error of 1e-6; its error at each iteration. */
    private static Curve run(JavaSparkContext jsc, Path work, String optimizer, int iterations, double seconds, Tensor grid, Map<String, String> o,
                             boolean smoke) {
        List<String> args = new ArrayList<>(List.of("--model-class", SmallPoissonResidual.class.getName(), "--layers", "2,1", "--dtype", "float64", "--input",
                work.resolve("points.npy").toString(), "--labels", work.resolve("zeros.npy").toString(), "--loss", "mse", "--partitions", "2",
                "--optimizer", optimizer, "--iterations", String.valueOf(iterations), "--checkpoint-every", "0", "--out", work.resolve(optimizer).toString()));
        if (optimizer.equals("gauss-newton")) args.addAll(List.of("--solve", "dense", "--damping", o.get("--damping")));
        if (optimizer.equals("adam")) args.addAll(List.of("--learning-rate", o.get("--learning-rate")));
        if (optimizer.equals("lbfgs")) args.addAll(List.of("--tolerance", "0"));
        FitConfig fc = FitOptions.parse(Map.of(), args.toArray(new String[0]));
        JobInputs inputs = JobInputs.check(fc.job(), Storage.of(jsc.hadoopConfiguration()));
        PoissonResidual measure = new SmallPoissonResidual();
        Tensor exact = exact(grid);
        List<double[]> curve = new ArrayList<>();
        try (Evaluator e = Evaluator.open(jsc, inputs)) {
            Map<Double, Map<String, Tensor>> evaluated = new LinkedHashMap<>();   // the weights of the latest evaluations, by loss
            FitObjective f = new FitObjective() {
                @Override public List<String> keys() { return e.keys(); }

                @Override public Map<String, Tensor> initialWeights() { return e.initialWeights(); }

                @Override public Evaluator.Value evaluate(Map<String, Tensor> w, RowSample sample) {
                    Evaluator.Value v = e.evaluate(w);
                    if (evaluated.size() > 64) evaluated.remove(evaluated.keySet().iterator().next());
                    evaluated.put(v.objective(), w);
                    return new Evaluator.Value(v.objective(), v.gradient(), v.rowsUsed(), v.seconds());
                }

                @Override public GaussNewtonSystem gaussNewtonSystem(Map<String, Tensor> w) {
                    Evaluator.GaussNewtonSystem g = e.gaussNewtonSystem(w);
                    return new GaussNewtonSystem(new Evaluator.Value(g.objective(), g.gradient(), g.rowsUsed(), Double.NaN), g.matrix());
                }

                @Override public Map<String, Tensor> curvatureProduct(Map<String, Tensor> w, Map<String, Tensor> v,
                                                                      org.gradspark.ad.batch.BatchGradient.Curvature kind) {
                    return e.curvatureProduct(w, v, kind).gradient();
                }
            };
            long start = System.nanoTime();
            long[] measuring = {0};
            Fitter.Progress progress = r -> {
                long t = System.nanoTime();
                Map<String, Tensor> w = evaluated.get(r.loss());
                if (w != null) {
                    measure.assignParameters(w);
                    double err = relativeError(measure.solution(grid), exact);
                    double at = (t - start - measuring[0]) / 1e9;   // the measurements before this one left out
                    measuring[0] += System.nanoTime() - t;
                    curve.add(new double[] {at, err, r.loss(), r.iteration()});
                    System.out.printf(Locale.ROOT, "%s: iteration %d  %.2f s  loss %.6g  error %.3e%n", optimizer, r.iteration(), at, r.loss(), err);
                    if (err <= 1e-6 || at >= seconds) throw new TimeUp();
                }
            };
            try {
                Fitter.run(f, fc.settings(), Map.of(), null, null, null, progress);
            } catch (TimeUp stop) {
                // the error or the time asked was reached
            }
        }
        return new Curve(optimizer, curve);
    }

    /** The held-out grid: side x side points of [-0.99, 0.99]², none of them a collocation point. */
    static Tensor grid(int side) {
        return Tensor.fromFunction(DType.FLOAT64, Shape.of(side * side, 2), i -> {
            int p = i / 2, c = i % 2;
            int k = c == 0 ? p % side : p / side;
            return -0.99 + 1.98 * k / (side - 1);
        });
    }

    /** {@code sin(πx) sin(πy)}, [N, 1]. */
    static Tensor exact(Tensor grid) {
        int n = grid.shape().dim(0);
        return Tensor.fromFunction(DType.FLOAT64, Shape.of(n, 1), i -> Math.sin(Math.PI * grid.getDouble(2 * i)) * Math.sin(Math.PI * grid.getDouble(2 * i + 1)));
    }

    static double relativeError(Tensor u, Tensor exact) {
        double num = 0, den = 0;
        for (int i = 0; i < exact.size(); i++) {
            double d = u.getDouble(i) - exact.getDouble(i);
            num += d * d;
            den += exact.getDouble(i) * exact.getDouble(i);
        }
        return Math.sqrt(num / den);
    }

    private static void check(List<Curve> curves) {
        for (Curve c : curves) if (c.points().size() < 2) throw new IllegalStateException("SecondOrderBench --smoke: " + c.name() + " recorded " + c.points().size() + " errors");
        List<double[]> gn = curves.get(0).points();
        if (!(gn.get(gn.size() - 1)[2] < gn.get(0)[2])) throw new IllegalStateException("SecondOrderBench --smoke: gauss-newton did not lower its loss");
    }

    private static void write(Path results, List<Curve> curves, Map<String, String> o, String master, String how) throws IOException {
        Files.createDirectories(results);
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("what", "second-order-poisson");
        rec.put("master", master);
        rec.put("options", o);
        rec.put("run", how);
        for (Curve c : curves) rec.put(c.name(), Map.of("curve", c.points(), "best_error", c.best(), "wall_s", c.end()));
        Files.writeString(results.resolve("second-order.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(rec) + "\n");
        StringBuilder md = new StringBuilder("# Second-order training: the 2-D Poisson PINN\n\n");
        md.append(String.format(Locale.ROOT, "`bench/run-second-order` (SecondOrderBench) on %s: `SmallPoissonResidual` (tanh 2-16-16-1, 337 weights, float64), %s collocation points, "
                + "relative L2 error against sin(πx) sin(πy) on a %sx%s held-out grid; Gauss-Newton with --solve dense --damping %s (the Gramian in one "
                + "distributed pass per iteration, Cholesky, Levenberg-Marquardt damping, Armijo backtracking), Adam with --learning-rate %s, "
                + "L-BFGS (Breeze, memory 10), all from the same weights on the same points. Gauss-Newton stops at an error of 1e-6; "
                + "Adam and L-BFGS ran for Gauss-Newton's wall time.%n%n", master, o.get("--points"), o.get("--grid"), o.get("--grid"),
                o.get("--damping"), o.get("--learning-rate")));
        md.append("| optimiser | to 1e-3 (s) | to 1e-4 (s) | to 1e-5 (s) | to 1e-6 (s) | best error | iterations | wall (s) |\n|---|---|---|---|---|---|---|---|\n");
        for (Curve c : curves) {
            md.append("| ").append(c.name());
            for (double t : THRESHOLDS) md.append(" | ").append(Double.isNaN(c.timeTo(t)) ? "not reached" : String.format(Locale.ROOT, "%.1f", c.timeTo(t)));
            md.append(String.format(Locale.ROOT, " | %.2e | %d | %.1f |%n", c.best(), c.points().isEmpty() ? 0 : (int) c.points().get(c.points().size() - 1)[3], c.end()));
        }
        md.append("\nProduced by ").append(how).append(".\n");
        md.append("\n![relative L2 error against time](second-order-error-time.png)\n");
        Files.writeString(results.resolve("second-order.md"), md.toString());
        XYChart chart = new XYChartBuilder().width(900).height(560).title("2-D Poisson PINN, " + o.get("--points") + " points, " + master)
                .xAxisTitle("seconds from the start of the fit").yAxisTitle("relative L2 error on the held-out grid").build();
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        for (Curve c : curves) {
            if (c.points().isEmpty()) continue;
            chart.addSeries(c.name(), c.points().stream().mapToDouble(p -> p[0]).toArray(), c.points().stream().mapToDouble(p -> p[1]).toArray())
                    .setMarker(SeriesMarkers.NONE);
        }
        BitmapEncoder.saveBitmap(chart, results.resolve("second-order-error-time.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
