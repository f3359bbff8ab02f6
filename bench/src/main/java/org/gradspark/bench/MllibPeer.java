package org.gradspark.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.PartitionRows;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.RowSource;

/**
 * The Spark MLlib peer of the gradient job: time per gradient evaluation of
 * {@code MultilayerPerceptronClassifier} (sigmoid hidden layers, softmax output, cross-entropy),
 * the gradient path a Spark user would pick today, against one full-batch gradient of the grad job
 * with {@code --activation sigmoid --loss softmax-cross-entropy}, on the same rows, labels, layers
 * and partitions, in one Spark application. Prints one JSON line.
 *
 * <pre>MllibPeer [--quick|--smoke] [--master local[2]] [--layers 256,1024,1024,10] [--rows 65536] [--partitions 2]
 *           [--iters-low 2] [--iters-high 6] [--repeats 3] [--warmup 1] [--chunk-rows 4096]
 *           [--dtype float32] [--block-size 128] [--backend cpu] [--seed 42] [--work-dir TMPDIR]</pre>
 * {@code --quick} is {@code --layers 32,64,64,10 --rows 8192}, {@code --smoke} is {@code --layers 8,16,3 --rows 512
 * --chunk-rows 128 --iters-low 1 --iters-high 10 --repeats 1 --warmup 1} (options after either still win).
 * A comparison that cannot be made (MLlib's time per evaluation, a difference of two fits, not positive) is
 * an error, not a line with a meaningless ratio.
 * {@code --master} applies unless spark-submit already set {@code spark.master};
 * {@code bench/run-mllib-peer} submits it to any master.
 *
 * <p>The data: features are the job's own synthetic rows ({@link RowSource.Synthetic}, uniform in
 * [-1, 1), rounded to {@code --dtype}); the class of row r is {@code r mod classes} (as in
 * {@link CoreEndToEnd}: labels unrelated to the features, which is all a timing needs). The job
 * reads them from an .npy pair (features, one-hot labels); MLlib from a cached DataFrame
 * (label, features) of the same values, made in the same row ranges per partition.
 *
 * <p>What MLlib times (Spark 4.2.0, {@code ml/ann/Layer.scala}, {@code mllib/optimization/LBFGS.scala}):
 * {@code fit} stacks the rows into blocks of {@code blockSize} (persisted), counts them (one job),
 * and runs Breeze's L-BFGS on {@code LBFGS.CostFun}. One L-BFGS iteration picks a direction from
 * the last 10 (s, y) pairs and line-searches along it (strong Wolfe); every point the search tries
 * is one cost evaluation: the weights broadcast, then one {@code treeAggregate} job in which each
 * block runs {@code FeedForwardModel.computeGradient} in float64 (forward: dgemm + bias, sigmoid
 * elementwise, softmax; cross-entropy and its delta; backward: dgemm for the deltas and the
 * weight gradients), summed and divided by the block count. The initial point costs one
 * evaluation, and a first trial step that satisfies the Wolfe conditions makes the rest one per
 * iteration. So the time of one evaluation is measured as the difference of two fits
 * ({@code --iters-high} and {@code --iters-low} iterations, {@code tol} 0) over the difference of
 * their treeAggregate jobs, counted by a listener; per iteration likewise over the difference of
 * {@code totalIterations}. Fixed costs (stacking, count, model) cancel in the difference.
 */
public final class MllibPeer {
    private MllibPeer() {}

    /** The command line; defaults are the full size. */
    private static final class Options {
        String master = "local[2]", backend = "cpu", workDir = System.getProperty("java.io.tmpdir");
        int[] layers = {256, 1024, 1024, 10};
        long rows = 65536, seed = 42;
        int partitions = 2, itersLow = 2, itersHigh = 6, repeats = 3, warmup = 1, chunkRows = 4096, blockSize = 128;
        DType dtype = DType.FLOAT32;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--quick")) {
                    o.layers = new int[] {32, 64, 64, 10};
                    o.rows = 8192;
                    continue;
                }
                if (args[i].equals("--smoke")) {
                    o.layers = new int[] {8, 16, 3};
                    o.rows = 512;
                    o.chunkRows = 128;
                    o.itersLow = 1;
                    o.itersHigh = 10;
                    o.repeats = 1;
                    o.warmup = 1;
                    continue;
                }
                if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
                String v = args[++i];
                switch (args[i - 1]) {
                    case "--master" -> o.master = v;
                    case "--layers" -> o.layers = Arrays.stream(v.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
                    case "--rows" -> o.rows = Long.parseLong(v);
                    case "--partitions" -> o.partitions = Integer.parseInt(v);
                    case "--iters-low" -> o.itersLow = Integer.parseInt(v);
                    case "--iters-high" -> o.itersHigh = Integer.parseInt(v);
                    case "--repeats" -> o.repeats = Integer.parseInt(v);
                    case "--warmup" -> o.warmup = Integer.parseInt(v);
                    case "--chunk-rows" -> o.chunkRows = Integer.parseInt(v);
                    case "--block-size" -> o.blockSize = Integer.parseInt(v);
                    case "--dtype" -> o.dtype = DType.valueOf(v.toUpperCase(Locale.ROOT));
                    case "--backend" -> o.backend = v;
                    case "--seed" -> o.seed = Long.parseLong(v);
                    case "--work-dir" -> o.workDir = v;
                    default -> throw new IllegalArgumentException("unknown option " + args[i - 1]);
                }
            }
            if (o.itersHigh <= o.itersLow || o.itersLow < 1) throw new IllegalArgumentException("needs 1 <= --iters-low < --iters-high");
            if (o.repeats < 1 || o.warmup < 0 || o.partitions < 1 || o.rows < o.partitions) {
                throw new IllegalArgumentException("needs --repeats >= 1, --warmup >= 0, 1 <= --partitions <= --rows");
            }
            return o;
        }

        int classes() { return layers[layers.length - 1]; }

        String layersCsv() { return String.join(",", Arrays.stream(layers).mapToObj(String::valueOf).toList()); }
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        SparkConf conf = GradientJob.configure(new SparkConf());
        if (!conf.contains("spark.master")) conf.setMaster(o.master);
        if (!conf.contains("spark.app.name")) conf.setAppName("GradSpark MLlib peer");
        // The job's backend in this JVM and on every executor from the start (as GradSparkMain does),
        // so that no executor first probes the default (auto) backend's devices.
        System.setProperty(Backends.PROPERTY, o.backend);
        conf.set("spark.executor.extraJavaOptions",
                (conf.get("spark.executor.extraJavaOptions", "") + " -D" + Backends.PROPERTY + "=" + o.backend).trim());
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        jsc.setLogLevel("WARN");
        // The job's .npy input and --out, in a fresh directory (removed at the end) that executors can read.
        Path work = Files.createTempDirectory(Files.createDirectories(Path.of(o.workDir)), "gradspark-mllib-peer-");
        try {
            RowSource.Synthetic features = new RowSource.Synthetic(o.rows, o.layers[0], o.seed);
            Path x = work.resolve("features.npy"), y = work.resolve("labels.npy");
            writeNpy(features, o, x, y);
            Dataset<Row> df = dataFrame(spark, jsc, features, o).cache();
            df.count();

            MllibRuns mllib = new MllibRuns(jsc, df, o);
            GradSparkRuns ours = new GradSparkRuns(jsc, o, x, y, work.resolve("out"));
            for (int i = 0; i < o.warmup; i++) {
                mllib.warmup();
                ours.run();
            }
            // Interleaved, so that a change in the load of a shared machine falls on both alike.
            for (int i = 0; i < o.repeats; i++) {
                mllib.time(i);
                ours.time(i);
            }

            double oursMedian = CoreEndToEnd.median(ours.seconds), lossSum = ours.last.outputSum();
            if (!(mllib.perEvaluation() > 0) || !(oursMedian > 0) || !Double.isFinite(lossSum)) {
                throw new IllegalStateException(String.format(Locale.ROOT, "no comparison: MLlib %s s per evaluation (the difference of its %d- and "
                        + "%d-iteration fits), GradSpark %s s with loss sum %s; on a busy machine give more --iters-high or --rows",
                        json(mllib.perEvaluation()), o.itersLow, o.itersHigh, json(oursMedian), lossSum));
            }
            double[] history = mllib.objectiveHistory;
            System.out.printf(Locale.ROOT,
                    "{\"what\": \"mllib-peer\", \"layers\": \"%s\", \"rows\": %d, \"partitions\": %d, \"master\": \"%s\", \"dtype\": \"%s\", "
                            + "\"labels\": \"row mod classes\", \"block_size\": %d, \"chunk_rows\": %d, \"warmup\": %d, "
                            + "\"mllib_iters\": [%d, %d], \"mllib_fit_s\": %s, \"mllib_total_iterations\": %s, \"mllib_evaluations\": %s, \"mllib_fit_jobs\": %s, "
                            + "\"mllib_per_iteration_s\": %s, \"mllib_per_evaluation_s\": %s, \"mllib_objective_first\": %.8g, \"mllib_objective_last\": %.8g, "
                            + "\"gradspark_backend\": \"%s\", \"gradspark_s\": %s, \"gradspark_median_s\": %s, \"gradspark_loss_sum\": %.8g, \"gradspark_loss_mean\": %.8g, "
                            + "\"ratio\": %s}%n",
                    o.layersCsv().replace(',', '-'), o.rows, o.partitions, jsc.master(), o.dtype.numpyName(), o.blockSize, o.chunkRows, o.warmup,
                    o.itersLow, o.itersHigh, pairs(mllib.seconds), pairs(mllib.iterations), pairs(mllib.evaluations), pairs(mllib.jobs),
                    json(mllib.perIteration()), json(mllib.perEvaluation()), history[0], history[history.length - 1],
                    String.valueOf(ours.last.summary().get("backend")).replace("\"", "'"),
                    Arrays.toString(Arrays.stream(ours.seconds).mapToObj(MllibPeer::json).toArray()), json(oursMedian), lossSum, lossSum / o.rows,
                    json(mllib.perEvaluation() / oursMedian));
        } finally {
            spark.stop();
            deleteTree(work);
        }
    }

    /** The job's input: features in --dtype and one-hot labels, written a chunk at a time. */
    private static void writeNpy(RowSource.Synthetic features, Options o, Path x, Path y) {
        Npy.Header hx = Npy.allocate(x, o.dtype, o.rows, o.layers[0]);
        Npy.Header hy = Npy.allocate(y, o.dtype, o.rows, o.classes());
        for (long r = 0; r < o.rows; r += o.chunkRows) {
            int count = (int) Math.min(o.chunkRows, o.rows - r);
            Npy.writeRows(x, hx, r, features.read(r, count, o.dtype));
            long first = r;
            int k = o.classes();
            Npy.writeRows(y, hy, r, Tensor.fromFunction(o.dtype, Shape.of(count, k), i -> label(first + i / k, k) == i % k ? 1 : 0));
        }
    }

    private static int label(long row, int classes) {
        return (int) (row % classes);
    }

    /**
     * MLlib's input, (label double, features vector), one partition per row range of the job's
     * partitions, made on the executors from the same synthetic rows rounded to --dtype.
     */
    private static Dataset<Row> dataFrame(SparkSession spark, JavaSparkContext jsc, RowSource.Synthetic features, Options o) {
        long n = o.rows;
        int parts = o.partitions, width = o.layers[0], classes = o.classes(), chunk = o.chunkRows;
        DType dtype = o.dtype;
        JavaRDD<Row> rows = jsc.parallelize(IntStream.range(0, parts).boxed().toList(), parts).flatMap(p -> {
            long end = PartitionRows.firstRow(n, parts, p + 1);
            List<Row> out = new ArrayList<>();
            for (long r = PartitionRows.firstRow(n, parts, p); r < end; r += chunk) {
                int count = (int) Math.min(chunk, end - r);
                double[] v = features.read(r, count, dtype).toDoubleArray();
                for (int i = 0; i < count; i++) {
                    out.add(RowFactory.create((double) label(r + i, classes), Vectors.dense(Arrays.copyOfRange(v, i * width, (i + 1) * width))));
                }
            }
            return out.iterator();
        });
        StructType schema = new StructType().add("label", DataTypes.DoubleType, false).add("features", SQLDataTypes.VectorType(), false);
        return spark.createDataFrame(rows, schema);
    }

    /** Counts the jobs started, and among them MLlib's cost evaluations (a treeAggregate job each). */
    private static final class JobCounter extends SparkListener {
        final AtomicInteger jobs = new AtomicInteger(), evaluations = new AtomicInteger();

        @Override public void onJobStart(SparkListenerJobStart e) {
            jobs.incrementAndGet();
            List<StageInfo> stages = scala.jdk.javaapi.CollectionConverters.asJava(e.stageInfos());
            if (stages.stream().anyMatch(s -> s.name().startsWith("treeAggregate at"))) evaluations.incrementAndGet();
        }
    }

    /** MLlib's fits; per timed repeat i, as {low, high}: fit seconds, L-BFGS iterations, cost evaluations and all jobs. */
    private static final class MllibRuns {
        final JavaSparkContext jsc;
        final Dataset<Row> df;
        final Options o;
        final MultilayerPerceptronClassifier mlp;
        final double[][] seconds, iterations, evaluations, jobs;
        double[] objectiveHistory;

        MllibRuns(JavaSparkContext jsc, Dataset<Row> df, Options o) {
            this.jsc = jsc;
            this.df = df;
            this.o = o;
            mlp = new MultilayerPerceptronClassifier().setLayers(o.layers).setSolver("l-bfgs").setTol(0).setBlockSize(o.blockSize).setSeed(o.seed);
            seconds = new double[o.repeats][2];
            iterations = new double[o.repeats][2];
            evaluations = new double[o.repeats][2];
            jobs = new double[o.repeats][2];
        }

        void warmup() {
            mlp.setMaxIter(o.itersLow).fit(df);
        }

        /** Repeat i: a fit of --iters-low, then one of --iters-high. */
        void time(int i) throws Exception {
            JobCounter counter = new JobCounter();
            jsc.sc().addSparkListener(counter);
            try {
                for (int h = 0; h < 2; h++) {
                    counter.jobs.set(0);
                    counter.evaluations.set(0);
                    long t0 = System.nanoTime();
                    MultilayerPerceptronClassificationModel model = mlp.setMaxIter(h == 0 ? o.itersLow : o.itersHigh).fit(df);
                    seconds[i][h] = (System.nanoTime() - t0) / 1e9;
                    // Listener events arrive asynchronously; this drains them (private[spark] in Scala,
                    // public in the bytecode: what Spark's own tests call).
                    jsc.sc().listenerBus().waitUntilEmpty();
                    iterations[i][h] = model.summary().totalIterations();
                    evaluations[i][h] = counter.evaluations.get();
                    jobs[i][h] = counter.jobs.get();
                    objectiveHistory = model.summary().objectiveHistory();
                }
            } finally {
                jsc.sc().removeSparkListener(counter);
            }
        }

        double perIteration() { return medianOfDifferences(iterations); }

        double perEvaluation() { return medianOfDifferences(evaluations); }

        private double medianOfDifferences(double[][] counts) {
            double[] v = new double[seconds.length];
            for (int i = 0; i < v.length; i++) v[i] = (seconds[i][1] - seconds[i][0]) / (counts[i][1] - counts[i][0]);
            return CoreEndToEnd.median(v);
        }
    }

    /** The job's full-batch gradient runs (in the same Spark context); seconds per timed repeat, and what the last returned. */
    private static final class GradSparkRuns {
        final JavaSparkContext jsc;
        final JobConfig cfg;
        final double[] seconds;
        GradientJob.Result last;

        GradSparkRuns(JavaSparkContext jsc, Options o, Path x, Path y, Path out) {
            this.jsc = jsc;
            cfg = JobConfig.builder().layers(o.layers).activation(org.gradspark.ad.nn.Activation.Kind.SIGMOID).loss(JobConfig.Loss.SOFTMAX_CROSS_ENTROPY)
                    .input(x.toString()).labels(y.toString()).dtype(o.dtype).partitions(o.partitions).chunkRows(o.chunkRows).backend(o.backend)
                    .seed(o.seed).out(out.toString()).build();
            seconds = new double[o.repeats];
        }

        double run() {
            long t0 = System.nanoTime();
            last = GradientJob.run(jsc, cfg);
            return (System.nanoTime() - t0) / 1e9;
        }

        void time(int i) { seconds[i] = run(); }
    }

    private static String pairs(double[][] v) {
        return Arrays.toString(Arrays.stream(v).map(p -> "[" + json(p[0]) + ", " + json(p[1]) + "]").toArray());
    }

    /** A number for JSON: integral values without a fraction, NaN and infinities (a zero difference) as null. */
    private static String json(double v) {
        if (!Double.isFinite(v)) return "null";
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.6g", v);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
