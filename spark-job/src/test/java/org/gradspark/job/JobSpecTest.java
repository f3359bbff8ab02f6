package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.gradspark.ad.DType;
import org.gradspark.ad.nn.Activation;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.PerExampleOutput;
import org.gradspark.job.exec.StatisticsSpec;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.RowSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The grad job's spec (issue 25, item 1): every option built through {@link JobConfig.Builder} and
 * through the CLI ({@link JobOptions#parse}) gives equal specs; the builder refuses what the CLI
 * refuses, with the same line; copies are builder copies; the spec survives Java serialization (it
 * travels to the tasks).
 */
class JobSpecTest {

    /** Each case: the CLI's flags, the option it is about, and the same job through the builder. */
    private static Map<List<String>, Supplier<JobConfig.Builder>> cases() {
        Map<List<String>, Supplier<JobConfig.Builder>> c = new LinkedHashMap<>();
        c.put(List.of("--model-class", "org.example.Net"), () -> JobConfig.builder().modelClass("org.example.Net"));
        c.put(List.of("--layers", "4,5,2"), () -> JobConfig.builder().layers(4, 5, 2));
        c.put(List.of("--activation", "sin"), () -> JobConfig.builder().activation(Activation.Kind.SIN));
        c.put(List.of("--weights", "w.npz"), () -> JobConfig.builder().weights("w.npz"));
        c.put(List.of("--seed", "7"), () -> JobConfig.builder().seed(7));
        c.put(List.of("--input", "x.npy"), () -> JobConfig.builder().input("x.npy"));
        c.put(List.of("--input", "x.parquet", "--features-col", "f"), () -> JobConfig.builder().input("x.parquet").featuresCol("f"));
        c.put(List.of("--input", "x.csv", "--csv-header", "false"), () -> JobConfig.builder().input("x.csv").csvHeader(false));
        c.put(List.of("--synthetic", "50"), () -> JobConfig.builder().synthetic(50));
        c.put(List.of("--sens", "s.npy"), () -> JobConfig.builder().sens("s.npy"));
        c.put(List.of("--loss", "softmax-cross-entropy", "--labels", "y.npy"),
                () -> JobConfig.builder().loss(JobConfig.Loss.SOFTMAX_CROSS_ENTROPY).labels("y.npy"));
        c.put(List.of("--wrt", "all", "--order", "3"), () -> JobConfig.builder().wrt(JobConfig.Wrt.ALL).order(3));
        c.put(List.of("--wrt", "inputs", "--derivative", "hessian"), () -> JobConfig.builder().wrt(JobConfig.Wrt.INPUTS).derivative(new PerExampleOutput.Hessian()));
        c.put(List.of("--wrt", "inputs", "--derivative", "laplacian", "--estimator", "stde:4", "--seed", "3"), () -> JobConfig.builder().wrt(JobConfig.Wrt.INPUTS)
                .seed(3).derivative(new PerExampleOutput.Laplacian(new org.gradspark.ad.LaplacianEstimator.Stde(4), 3)));
        c.put(List.of("--mode", "hvp", "--vector", "v.npz"), () -> JobConfig.builder().mode(JobConfig.Mode.HVP).vector("v.npz"));
        c.put(List.of("--reduction", "mean"), () -> JobConfig.builder().reduction(JobConfig.Reduction.MEAN));
        c.put(List.of("--partitions", "3"), () -> JobConfig.builder().partitions(3));
        c.put(List.of("--dtype", "float64"), () -> JobConfig.builder().dtype(DType.FLOAT64));
        c.put(List.of("--backend", "reference"), () -> JobConfig.builder().backend("reference"));
        c.put(List.of("--chunk-rows", "10"), () -> JobConfig.builder().chunkRows(10));
        c.put(List.of("--on-nan", "skip"), () -> JobConfig.builder().onNan(JobConfig.OnNan.SKIP));
        c.put(List.of("--out", "hdfs://nn:8020/o"), () -> JobConfig.builder().out("hdfs://nn:8020/o"));
        c.put(List.of("--wrt", "inputs", "--input-grads-format", "parquet"),
                () -> JobConfig.builder().wrt(JobConfig.Wrt.INPUTS).inputGradsFormat(JobConfig.InputGradsFormat.PARQUET));
        c.put(List.of("--check-finite", "ops"), () -> JobConfig.builder().checkFinite(JobConfig.CheckFinite.OPS));
        c.put(List.of("--repeat", "3"), () -> JobConfig.builder().repeat(3));
        c.put(List.of("--per-example", "grad-dot:v.npz", "--grad-stats", "sum-of-squares", "--clip", "0.5"),
                () -> JobConfig.builder().statistics(new StatisticsSpec(new PerExampleOutput.GradDot("v.npz"), true, false, 0.5)));
        c.put(List.of("--per-example", "grad-norm-per-key", "--grad-stats", "ggn-diagonal,sum-of-squares", "--loss", "mse", "--labels", "y.npy"),
                () -> JobConfig.builder().statistics(new StatisticsSpec(new PerExampleOutput.GradNormPerKey(), true, true, 0)).loss(JobConfig.Loss.MSE)
                        .labels("y.npy"));
        c.put(List.of("--model", "mlp"), JobConfig::builder);
        return c;
    }

    @Test
    void everyOptionThroughTheBuilderAndThroughTheCliGivesEqualSpecs() throws Exception {
        JobConfig defaults = JobOptions.parse(Map.of());
        assertEquals(defaults, JobConfig.builder().build(), "the builder's defaults are the CLI's");
        Set<String> covered = new TreeSet<>();
        for (Map.Entry<List<String>, Supplier<JobConfig.Builder>> e : cases().entrySet()) {
            JobConfig cli = JobOptions.parse(Map.of(), e.getKey().toArray(new String[0]));
            JobConfig built = e.getValue().get().build();
            assertEquals(cli, built, e.getKey().toString());
            assertEquals(cli.hashCode(), built.hashCode(), e.getKey().toString());
            if (!e.getKey().equals(List.of("--model", "mlp"))) assertNotEquals(defaults, built, e.getKey() + " changes nothing");
            assertEquals(built, built.toBuilder().build(), "a copy of " + e.getKey());
            assertEquals(built, deserialized(built), "serialized " + e.getKey());
            e.getKey().stream().filter(a -> a.startsWith("--")).forEach(covered::add);
        }
        Set<String> options = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : new CommandLine(new JobOptions()).getCommandSpec().options()) options.add(o.longestName());
        assertEquals(options, covered, "every grad option has a case");
    }

    @Test
    void theBuilderRefusesWhatTheCliRefusesWithTheSameLine() {
        Map<List<String>, Supplier<JobConfig.Builder>> bad = new LinkedHashMap<>();
        bad.put(List.of("--wrt", "inputs", "--order", "9"), () -> JobConfig.builder().wrt(JobConfig.Wrt.INPUTS).order(9));
        bad.put(List.of("--order", "2"), () -> JobConfig.builder().order(2));
        bad.put(List.of("--mode", "hvp"), () -> JobConfig.builder().mode(JobConfig.Mode.HVP));
        bad.put(List.of("--vector", "v.npz"), () -> JobConfig.builder().vector("v.npz"));
        bad.put(List.of("--loss", "mse"), () -> JobConfig.builder().loss(JobConfig.Loss.MSE));
        bad.put(List.of("--labels", "y.npy"), () -> JobConfig.builder().labels("y.npy"));
        bad.put(List.of("--derivative", "laplacian"), () -> JobConfig.builder().derivative(new PerExampleOutput.Laplacian()));
        bad.put(List.of("--wrt", "inputs", "--derivative", "jacobian", "--sens", "s.npy"),
                () -> JobConfig.builder().wrt(JobConfig.Wrt.INPUTS).derivative(new PerExampleOutput.Jacobian()).sens("s.npy"));
        bad.put(List.of("--synthetic", "5", "--input", "x.npy"), () -> JobConfig.builder().synthetic(5).input("x.npy"));
        bad.put(List.of("--synthetic", "0"), () -> JobConfig.builder().synthetic(0));
        bad.put(List.of("--features-col", "f"), () -> JobConfig.builder().featuresCol("f"));
        bad.put(List.of("--input", "x.npy", "--csv-header", "true"), () -> JobConfig.builder().input("x.npy").csvHeader(true));
        bad.put(List.of("--partitions", "-1"), () -> JobConfig.builder().partitions(-1));
        bad.put(List.of("--per-example", "grad-norm", "--wrt", "inputs"),
                () -> JobConfig.builder().statistics(new StatisticsSpec(new PerExampleOutput.GradNorm(), false, false, 0)).wrt(JobConfig.Wrt.INPUTS));
        bad.put(List.of("--grad-stats", "ggn-diagonal"), () -> JobConfig.builder().statistics(new StatisticsSpec(null, false, true, 0)));
        bad.put(List.of("--repeat", "0"), () -> JobConfig.builder().repeat(0));
        bad.put(List.of("--chunk-rows", "0"), () -> JobConfig.builder().chunkRows(0));
        bad.put(List.of("--backend", "nosuch"), () -> JobConfig.builder().backend("nosuch"));
        bad.put(List.of("--layers", "4"), () -> JobConfig.builder().layers(4));
        for (Map.Entry<List<String>, Supplier<JobConfig.Builder>> e : bad.entrySet()) {
            String cli = assertThrows(BadInputException.class, () -> JobOptions.parse(Map.of(), e.getKey().toArray(new String[0])), e.getKey().toString()).getMessage();
            String built = assertThrows(BadInputException.class, () -> e.getValue().get().build(), e.getKey().toString()).getMessage();
            assertEquals(cli, built, e.getKey().toString());
        }
    }

    /** withOut, withLayers and withRows are builder copies: the same spec but for what they change. */
    @Test
    void copiesChangeOnlyWhatTheyName() {
        JobConfig job = JobConfig.builder().layers(3, 4, 1).wrt(JobConfig.Wrt.ALL).order(2).seed(3).build();
        assertEquals(JobConfig.builder().layers(3, 4, 1).wrt(JobConfig.Wrt.ALL).order(2).seed(3).out("elsewhere").build(), job.withOut("elsewhere"));
        assertEquals(job.toBuilder().layers(3, 8, 1).build(), job.withLayers(new int[] {3, 8, 1}));
        assertEquals(new PerExampleOutput.Nested(2), job.derivative());
        RowSource.NpyParts rows = new RowSource.NpyParts(List.of());
        JobConfig fromParts = JobConfig.builder().input("x.csv").build().withRows(rows, "--input x.csv");
        assertEquals(null, fromParts.input());
        assertEquals(rows, fromParts.inputParts());
        assertEquals("--input x.csv", fromParts.inputWhere());
    }

    /** The warm-up's model travels as its text (a Spark setting) and comes back equal. */
    @Test
    void theModelsTextGivesItBack() {
        JobConfig job = JobConfig.builder().layers(5, 7, 3).activation(Activation.Kind.SIGMOID).loss(JobConfig.Loss.SOFTMAX_CROSS_ENTROPY).labels("y.npy")
                .dtype(DType.FLOAT64).backend("reference").build();
        assertEquals("backend=reference dtype=float64 layers=5,7,3 activation=sigmoid loss=softmax-cross-entropy", job.model().text());
        assertEquals(job.model(), JobConfig.Model.ofText(job.model().text()));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.Model.ofText("--backend reference --layers 4,2"));
        assertThrows(IllegalArgumentException.class, () -> JobConfig.Model.ofText("backend=reference layers=4,2"));
    }

    private static Object deserialized(Object o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return in.readObject();
        }
    }
}
