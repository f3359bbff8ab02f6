package org.gradspark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.fit.FitObjective;
import org.gradspark.job.fit.FitSettings;
import org.gradspark.job.fit.Fitter;
import org.gradspark.job.fit.IterationRecord;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Time to the same training loss (issue 14): Spark MLlib's {@code MultilayerPerceptronClassifier}
 * (Breeze L-BFGS, float64, sigmoid hidden layers, softmax output, mean cross-entropy) runs K
 * iterations; GradSpark's fit ({@code --optimizer lbfgs}, float32, the same layers, rows, labels,
 * partitions and starting weights, in the same Spark application; up to 2K iterations) is timed to
 * the first iteration whose loss is at most MLlib's final one; PyTorch's {@code torch.optim.LBFGS}
 * (full batch, float32, 2 threads, one machine, up to 2K iterations) to its first evaluation at or below it. Writes {@code fit.md}, {@code fit-loss-time.png} and the raw
 * record {@code fit.json} into the results directory.
 *
 * <pre>FitBench [--smoke] [--master local[2]] [--layers 64,256,256,10] [--rows 65536] [--partitions 2] [--iterations 40]
 *          [--seed 42] [--results bench/results] [--python /usr/bin/python3|none] [--label local[2]]
 *          [--app-jar spark-job/target/gradspark-app.jar (with a spark:// master)]</pre>
 * {@code --smoke}: 4-8-3, 512 rows, 3 iterations (options after it win), and the run fails unless all three
 * recorded losses and GradSpark reached MLlib's final loss. A PyTorch peer that fails is an error;
 * {@code --python none} leaves it out.
 *
 * <p>The data: features uniform in [-1, 1) (float32 values), the class of a row the argmax of a
 * fixed random linear map of its features (learnable, so the loss falls a long way). MLlib's fit
 * includes its own preparation (stacking the rows into blocks, a count), as a user's call does; ours
 * includes opening the evaluator (the rows are read and kept at its first evaluation). Both ran a
 * 2-iteration warm-up first in the same JVMs. MLlib's curve places its per-iteration losses
 * ({@code objectiveHistory}) evenly between the end of its first cost evaluation and the end of its
 * fit: MLlib reports no per-iteration times.
 */
public final class FitBench {
    /** --smoke (first): tiny sizes and few iterations, which the options after it can still change. */
    private static final Map<String, String> SMOKE = Map.of("--layers", "4,8,3", "--rows", "512", "--iterations", "3");

    private FitBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--replot")) {
            replot(Path.of(args[1]));
            return;
        }
        Map<String, String> o = new LinkedHashMap<>(Map.of("--master", "local[2]", "--layers", "64,256,256,10", "--rows", "65536", "--partitions", "2",
                "--iterations", "40", "--seed", "42", "--results", "bench/results", "--python", "/usr/bin/python3"));
        boolean smoke = args.length > 0 && args[0].equals("--smoke");
        if (smoke) o.putAll(SMOKE);
        for (int i = smoke ? 1 : 0; i < args.length; i += 2) {
            if (!o.containsKey(args[i]) && !args[i].equals("--label") && !args[i].equals("--app-jar")) throw new IllegalArgumentException("unknown option " + args[i]);
            if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
            o.put(args[i], args[i + 1]);
        }
        int[] layers = Arrays.stream(o.get("--layers").split(",")).mapToInt(Integer::parseInt).toArray();
        int rows = Integer.parseInt(o.get("--rows")), partitions = Integer.parseInt(o.get("--partitions")), k = Integer.parseInt(o.get("--iterations"));
        long seed = Long.parseLong(o.get("--seed"));
        int in = layers[0], classes = layers[layers.length - 1];

        SparkConf conf = GradientJob.configure(new SparkConf());
        if (!conf.contains("spark.master")) conf.setMaster(o.get("--master"));
        if (o.containsKey("--app-jar")) {
            // A standalone cluster's executors get the job's classes from the application jar (MLlib is in their Spark jars).
            conf.set("spark.jars", o.get("--app-jar")).set("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");
        }
        conf.setIfMissing("spark.app.name", "GradSpark fit vs MLlib").setIfMissing("spark.ui.enabled", "false");
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        jsc.setLogLevel("WARN");
        org.apache.logging.log4j.core.config.Configurator.setLevel("org.gradspark.job.progress", org.apache.logging.log4j.Level.WARN);
        String label = o.getOrDefault("--label", jsc.master());
        Path work = Files.createTempDirectory("gradspark-fit-bench-");

        // The data and the starting weights, shared by the three.
        Tensor x = Tensor.uniform(seed, -1, 1, DType.FLOAT32, rows, in);
        Tensor map = Tensor.normal(seed + 1, DType.FLOAT64, in, classes);
        double[] y = new double[rows];
        float[] xv = x.rawFloats();
        double[] mv = map.rawDoubles();
        for (int r = 0; r < rows; r++) {
            int best = 0;
            double bestV = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                double s = 0;
                for (int j = 0; j < in; j++) s += xv[r * in + j] * mv[j * classes + c];
                if (s > bestV) {
                    bestV = s;
                    best = c;
                }
            }
            y[r] = best;
        }
        Npy.write(work.resolve("x.npy"), x);
        Npy.write(work.resolve("y.npy"), Tensor.wrap(y, Shape.of(rows)));
        Map<String, Tensor> w0 = JobModel.initialWeights(layers, DType.FLOAT32, seed);
        Npz.write(work.resolve("w.npz"), w0);
        List<Double> flat = new ArrayList<>();
        for (Tensor t : w0.values()) for (int i = 0; i < t.size(); i++) flat.add(t.getDouble(i));

        // MLlib: (label, features) rows in the same order and partitions; our weights as its initial
        // weights (its layout is ours: per layer W [in, out] row-major, then b).
        List<Row> list = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            double[] f = new double[in];
            for (int j = 0; j < in; j++) f[j] = xv[r * in + j];
            list.add(RowFactory.create(y[r], Vectors.dense(f)));
        }
        StructType schema = new StructType().add("label", DataTypes.DoubleType, false).add("features", SQLDataTypes.VectorType(), false);
        Dataset<Row> df = spark.createDataFrame(jsc.parallelize(list, partitions), schema).cache();
        df.count();
        MultilayerPerceptronClassifier mlp = new MultilayerPerceptronClassifier().setLayers(layers).setSolver("l-bfgs").setTol(0).setBlockSize(128)
                .setSeed(seed).setInitialWeights(Vectors.dense(flat.stream().mapToDouble(Double::doubleValue).toArray()));

        // Ours: the fit's own options, the Evaluator and Fitter as FitJob runs them (timed per iteration here).
        FitConfig fc = FitOptions.parse(Map.of(), "--layers", o.get("--layers"), "--activation", "sigmoid", "--input", work.resolve("x.npy").toString(),
                "--labels", work.resolve("y.npy").toString(), "--loss", "softmax-cross-entropy", "--weights", work.resolve("w.npz").toString(),
                "--partitions", String.valueOf(partitions), "--backend", "cpu", "--optimizer", "lbfgs", "--iterations", String.valueOf(k),
                "--checkpoint-every", "0", "--out", work.resolve("out").toString());
        JobInputs inputs = JobInputs.check(fc.job(), Storage.of(jsc.hadoopConfiguration()));

        // Warm-up of both in these JVMs.
        mlp.setMaxIter(2).fit(df);
        fitOurs(jsc, inputs, fc.settings().withIterations(2));

        // MLlib, K iterations.
        EvalTimes times = new EvalTimes();
        jsc.sc().addSparkListener(times);
        long tm = System.nanoTime();
        times.start = tm;
        MultilayerPerceptronClassificationModel model = mlp.setMaxIter(k).fit(df);
        double mllibWall = (System.nanoTime() - tm) / 1e9;
        jsc.sc().listenerBus().waitUntilEmpty();
        jsc.sc().removeSparkListener(times);
        double[] mh = model.summary().objectiveHistory();
        double target = mh[mh.length - 1];
        List<double[]> mllibCurve = new ArrayList<>();
        double first = times.ends.isEmpty() ? 0 : times.ends.get(0);
        for (int i = 0; i < mh.length; i++) mllibCurve.add(new double[] {first + (mllibWall - first) * i / Math.max(1, mh.length - 1), mh[i]});

        // Ours, K iterations, each iteration's end time from the start of opening the evaluator.
        List<double[]> oursCurve = new ArrayList<>();
        long to = System.nanoTime();
        // Up to twice MLlib's iterations: ours runs in float32, so its loss at MLlib's last iteration can
        // sit a few units in the 5th digit above MLlib's float64 one; the time is to the first iteration at or below it.
        Fitter.Result ours = fitOurs(jsc, inputs, fc.settings().withIterations(2 * k), (rec) -> oursCurve.add(new double[] {(System.nanoTime() - to) / 1e9, rec.loss()}));
        double oursWall = (System.nanoTime() - to) / 1e9;
        double oursToTarget = timeTo(oursCurve, target);

        // PyTorch ("--python none": left out, and the record says so).
        JsonNode torch = o.get("--python").equals("none") ? null : torch(o.get("--python"), work, 2 * k);
        List<double[]> torchCurve = new ArrayList<>();
        double torchToTarget = Double.NaN;
        if (torch != null && torch.has("evaluations")) {
            for (JsonNode e : torch.get("evaluations")) torchCurve.add(new double[] {e.get("s").asDouble(), e.get("loss").asDouble()});
            torchToTarget = timeTo(torchCurve, target);
        }

        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("what", "fit-vs-mllib");
        rec.put("label", label);
        rec.put("master", jsc.master());
        rec.put("layers", o.get("--layers"));
        rec.put("rows", rows);
        rec.put("partitions", partitions);
        rec.put("iterations", k);
        rec.put("initial_loss_mllib", mh[0]);
        rec.put("initial_loss_ours", ours.history().get(0).loss());
        rec.put("mllib_final_loss", target);
        rec.put("mllib_iterations", model.summary().totalIterations());
        rec.put("mllib_spark_jobs", times.ends.size());
        rec.put("mllib_fit_s", mllibWall);
        rec.put("ours_iterations_asked", 2 * k);
        rec.put("ours_final_loss", ours.finalLoss());
        rec.put("ours_iterations", ours.history().get(ours.history().size() - 1).iteration());
        rec.put("ours_evaluations", ours.evaluations());
        rec.put("ours_fit_s", oursWall);
        rec.put("ours_to_mllib_loss_s", oursToTarget);
        rec.put("ours_iterations_to_mllib_loss", iterationsTo(ours.history(), target));
        rec.put("ratio_mllib_over_ours", mllibWall / oursToTarget);
        rec.put("torch", torch == null ? "skipped" : Map.of("final_loss", torch.path("final_loss").asDouble(), "wall_s", torch.path("wall_s").asDouble(),
                "iterations", torch.path("iterations").asInt(), "evaluations", torchCurve.size(), "to_mllib_loss_s", torchToTarget));
        rec.put("curves", Map.of("mllib", mllibCurve, "gradspark", oursCurve, "torch", torchCurve));
        String json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(rec);
        System.out.println(json);

        if (smoke) checkComparison(mllibCurve, oursCurve, torchCurve, oursToTarget, torch);
        Path results = Path.of(o.get("--results"));
        Files.createDirectories(results);
        String tag = label.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "");
        Files.writeString(results.resolve("fit-" + tag + ".json"), json + "\n");
        chart(results.resolve("fit-loss-time-" + tag + ".png"), label, o.get("--layers"), rows, mllibCurve, oursCurve, torchCurve, target);
        jsc.close();
    }

    private static Fitter.Result fitOurs(JavaSparkContext jsc, JobInputs inputs, FitSettings s) {
        return fitOurs(jsc, inputs, s, r -> {});
    }

    private static Fitter.Result fitOurs(JavaSparkContext jsc, JobInputs inputs, FitSettings s, Fitter.Progress progress) {
        try (Evaluator e = Evaluator.open(jsc, inputs)) {
            FitObjective f = new FitObjective() {
                @Override public List<String> keys() { return e.keys(); }

                @Override public Map<String, Tensor> initialWeights() { return e.initialWeights(); }

                @Override public Evaluator.Value evaluate(Map<String, Tensor> w, RowSample sample) {
                    Evaluator.Value v = e.evaluate(w);
                    return new Evaluator.Value(v.objective(), v.gradient(), v.rowsUsed(), v.seconds());
                }
            };
            return Fitter.run(f, s, Map.of(), null, null, null, progress);
        }
    }

    private static double timeTo(List<double[]> curve, double target) {
        for (double[] p : curve) if (p[1] <= target) return p[0];
        return Double.NaN;
    }

    private static int iterationsTo(List<IterationRecord> h, double target) {
        for (IterationRecord r : h) if (r.loss() <= target) return r.iteration();
        return -1;
    }

    /**
     * The PyTorch peer's record; a peer that cannot run (no such Python, no torch, a non-zero exit) is an
     * error naming the command, never a comparison quietly left out.
     */
    private static JsonNode torch(String python, Path work, int k) throws IOException, InterruptedException {
        String threads = System.getenv().getOrDefault("GRADSPARK_BENCH_PEER_THREADS", "2");
        List<String> command = List.of(python, "bench/peers/torch_fit.py", "--x", work.resolve("x.npy").toString(), "--labels",
                work.resolve("y.npy").toString(), "--weights", work.resolve("w.npz").toString(), "--iterations", String.valueOf(k), "--threads", threads);
        Path log = work.resolve("torch.json");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(log.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT);
        // The peer's own thread count for its OpenMP and OpenBLAS, not this JVM's one BLAS thread per task.
        pb.environment().put("OMP_NUM_THREADS", threads);
        pb.environment().put("OPENBLAS_NUM_THREADS", threads);
        int status = pb.start().waitFor();
        if (status != 0) {
            throw new IllegalStateException("the PyTorch peer failed (exit " + status + "): " + String.join(" ", command)
                    + " (--python none leaves it out)");
        }
        return new ObjectMapper().readTree(Files.readString(log));
    }

    /** --smoke: the comparison must have been made, each side with a curve and GradSpark at MLlib's final loss. */
    private static void checkComparison(List<double[]> mllib, List<double[]> ours, List<double[]> torch, double oursToTarget, JsonNode torchRecord) {
        if (mllib.isEmpty() || ours.isEmpty()) throw new IllegalStateException("FitBench --smoke: MLlib or GradSpark recorded no losses");
        if (torchRecord == null || torch.isEmpty()) throw new IllegalStateException("FitBench --smoke: no PyTorch losses (the peer must run in a smoke)");
        if (!Double.isFinite(oursToTarget)) throw new IllegalStateException("FitBench --smoke: GradSpark's fit never reached MLlib's final loss");
    }

    private static void chart(Path file, String label, String layers, int rows, List<double[]> mllib, List<double[]> ours, List<double[]> torch,
                              double target) throws IOException {
        XYChart c = new XYChartBuilder().width(900).height(560).title("MLP " + layers + ", " + rows + " rows, " + label)
                .xAxisTitle("seconds from the start of the fit").yAxisTitle("training loss (mean cross-entropy)").build();
        c.getStyler().setYAxisLogarithmic(true);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        add(c, "Spark MLlib MultilayerPerceptronClassifier (L-BFGS, float64)", mllib);
        add(c, "GradSpark fit --optimizer lbfgs (float32)", ours);
        if (!torch.isEmpty()) add(c, "PyTorch torch.optim.LBFGS (float32, 2 threads, one machine)", torch);
        double end = Math.max(last(mllib), Math.max(last(ours), last(torch)));
        c.addSeries("MLlib's final loss", new double[] {0, end}, new double[] {target, target}).setMarker(SeriesMarkers.NONE)
                .setLineColor(java.awt.Color.GRAY).setLineStyle(new java.awt.BasicStroke(1f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER, 10f,
                        new float[] {6f, 4f}, 0f));
        BitmapEncoder.saveBitmap(c, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static double last(List<double[]> curve) {
        return curve.isEmpty() ? 0 : curve.get(curve.size() - 1)[0];
    }

    private static void add(XYChart c, String name, List<double[]> curve) {
        double[] xs = curve.stream().mapToDouble(p -> p[0]).toArray(), ys = curve.stream().mapToDouble(p -> p[1]).toArray();
        c.addSeries(name, xs, ys).setMarker(SeriesMarkers.NONE);
    }

    /** {@code FitBench --replot fit-LABEL.json}: the chart again from a record (fit-loss-time-LABEL.png beside it). */
    private static void replot(Path json) throws IOException {
        JsonNode r = new ObjectMapper().readTree(json.toFile());
        String tag = json.getFileName().toString().replaceAll("^fit-|\\.json$", "");
        chart(json.resolveSibling("fit-loss-time-" + tag + ".png"), r.get("label").asText(), r.get("layers").asText(), r.get("rows").asInt(),
                curve(r.get("curves").get("mllib")), curve(r.get("curves").get("gradspark")), curve(r.get("curves").get("torch")),
                r.get("mllib_final_loss").asDouble());
    }

    private static List<double[]> curve(JsonNode points) {
        List<double[]> c = new ArrayList<>();
        if (points != null) for (JsonNode p : points) c.add(new double[] {p.get(0).asDouble(), p.get(1).asDouble()});
        return c;
    }

    /** End times (seconds from {@code start}) of MLlib's cost evaluations: its treeAggregate jobs. */
    private static final class EvalTimes extends SparkListener {
        volatile long start;
        final List<Double> ends = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override public void onJobEnd(SparkListenerJobEnd e) {
            ends.add((System.nanoTime() - start) / 1e9);
        }
    }

}
