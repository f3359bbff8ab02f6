package org.gradspark.examples;

import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.api.InputGradients;
import org.gradspark.job.exec.JobConfig;

/** The gradient job from your own Spark application: weight gradients and per-example input derivatives. */
public final class JavaApiExample {
    public static void main(String[] args) {
        String out = args.length > 0 ? args[0] : "java-api-example-out";  // any Hadoop path: hdfs://nn:8020/out, ...
        SparkConf conf = GradientJob.configure(new SparkConf())           // Kryo with GradSpark's registrator
                .setIfMissing("spark.master", "local[2]")                 // spark-submit --master sets it instead
                .setAppName("GradSpark Java API example")
                .set("spark.executorEnv.OPENBLAS_NUM_THREADS", "1");      // on a cluster: the executors' BLAS threads
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            jsc.setLogLevel("WARN");
            JobConfig cfg = JobConfig.builder().layers(3, 16, 2).synthetic(10_000)
                    .wrt(JobConfig.Wrt.ALL).out(out).build();             // the CLI's options, same meanings and checks
            GradientJob.Result r = GradientJob.run(jsc, cfg);
            for (Map.Entry<String, Tensor> g : r.gradients().entrySet()) {
                System.out.println(g.getKey() + " " + g.getValue().shape());  // also in out/grads.npz
            }
            SparkSession spark = SparkSession.builder().sparkContext(jsc.sc()).getOrCreate();
            Dataset<Row> dx = InputGradients.read(spark, r.inputGradients());  // (row, grad): d(sum out)/dx per row
            System.out.println(r.rows() + " rows, sum of outputs " + r.outputSum() + ", input derivatives of " + dx.count()
                    + " rows, row 0: " + dx.filter("row = 0").first().getList(1));
        }
    }
}
