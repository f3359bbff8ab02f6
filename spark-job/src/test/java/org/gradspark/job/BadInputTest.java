package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.cli.GradSparkMain;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every bad input of the {@code grad} job, through the command line ({@link GradSparkMain#run}):
 * exit code 2, one line on stderr that starts {@code gradspark: } and names the culprit (option,
 * file, key, row), nothing on stdout, and {@code --out} untouched, whether it did not exist or
 * held an earlier result, with no temporary directory left beside it. Each case runs against both.
 *
 * <p>Only bad rows (NaN/Inf) are found inside Spark tasks; every other case is caught before the
 * Spark context starts.
 */
class BadInputTest {
    private static final String[] SYSTEM_PROPERTIES = {"spark.master", "spark.ui.enabled", Backends.PROPERTY};
    private static final Map<String, String> saved = new LinkedHashMap<>();

    @TempDir
    Path dir;

    // The good job every case spoils one thing of: a 4-3-2 MLP over 10 rows.
    Path x, w, s, y, v;

    @BeforeAll
    static void sparkSettings() {
        for (String p : SYSTEM_PROPERTIES) saved.put(p, System.getProperty(p));
        System.setProperty("spark.master", "local[2]");
        System.setProperty("spark.ui.enabled", "false");
    }

    @AfterAll
    static void restore() {
        saved.forEach((p, value) -> {
            if (value == null) System.clearProperty(p);
            else System.setProperty(p, value);
        });
    }

    @BeforeEach
    void goodFiles() {
        x = dir.resolve("x.npy");
        w = dir.resolve("w.npz");
        s = dir.resolve("s.npy");
        y = dir.resolve("y.npy");
        v = dir.resolve("v.npz");
        Npy.write(x, rows(10, 4));
        Npz.write(w, weights(4, 3, 2));
        Npy.write(s, rows(10, 2));
        Npy.write(y, rows(10, 2));
        Npz.write(v, weights(4, 3, 2));
    }

    // ---- files that cannot be read ----

    @ParameterizedTest
    @ValueSource(strings = {"--input", "--weights", "--sens", "--labels", "--vector"})
    void missingFile(String option) {
        Path missing = dir.resolve("missing" + (option.equals("--weights") || option.equals("--vector") ? ".npz" : ".npy"));
        List<String> args = new ArrayList<>(job(option, missing.toString()));
        if (option.equals("--labels")) args.addAll(List.of("--loss", "mse"));
        if (option.equals("--vector")) args.addAll(List.of("--mode", "hvp"));
        assertRejected(args, option + " " + missing, "no such file");
    }

    @Test
    void unreadableFile() throws IOException {
        Files.setPosixFilePermissions(x, PosixFilePermissions.fromString("---------"));
        assumeFalse(Files.isReadable(x), "permissions do not stop this user (root)");
        assertRejected(job(), "--input " + x, "permission denied");
    }

    /** Cluster-storage mistakes: a scheme no filesystem serves, a NameNode that does not answer. */
    @Test
    void unknownSchemeAndANameNodeThatDoesNotAnswer() {
        assertRejected(job("--input", "foo://bucket/x.npy"), "--input foo://bucket/x.npy", "no filesystem serves this scheme");
        assertRejected(job("--weights", "foo://bucket/w.npz"), "--weights foo://bucket/w.npz", "no filesystem serves this scheme");
        // Hadoop's client retries a refused connection 10 times a second apart unless told otherwise (a spark.hadoop.* key).
        withSystemProperty("spark.hadoop.ipc.client.connect.max.retries", "0", () ->
                assertRejected(job("--input", "hdfs://127.0.0.1:1/data/x.npy"), "--input hdfs://127.0.0.1:1/data/x.npy", "does not answer"));
    }

    @Test
    void directoryWhereAFileBelongs() {
        assertRejected(job("--input", dir.toString()), "--input " + dir, "is a directory");
        assertRejected(job("--weights", dir.toString()), "--weights " + dir, "is a directory");
    }

    // ---- corrupt, truncated and unsupported .npy ----

    @Test
    void notAnNpyFile() throws IOException {
        Files.writeString(x, "a,b,c,d\n1,2,3,4\n");
        assertRejected(job(), "--input " + x, "not a .npy array");
    }

    @Test
    void truncatedNpyHeader() throws IOException {
        Files.write(x, Arrays.copyOf(Files.readAllBytes(x), 40));
        assertRejected(job(), "--input " + x, "truncated header");
    }

    @Test
    void truncatedNpyData() throws IOException {
        byte[] whole = Files.readAllBytes(x);
        Files.write(x, Arrays.copyOf(whole, whole.length - 6));
        assertRejected(job(), "--input " + x, "float32 (10, 4)", "truncated?");
    }

    /** Checked against the file's size, before anything is allocated for the rows it claims. */
    @Test
    void headerClaimsMoreDataThanTheFileHolds() throws IOException {
        Files.write(x, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 4), }", new byte[160]));
        assertRejected(job(), "--input " + x, "header declares float32 (1000000000000, 4)", "holds");
    }

    @Test
    void objectDtype() throws IOException {
        byte[] pickle = {(byte) 0x80, 0x04, (byte) 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, '.'};
        Files.write(x, npy("{'descr': '|O', 'fortran_order': False, 'shape': (10, 4), }", pickle));
        assertRejected(job(), "--input " + x, "object (pickled) arrays are not supported");

        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(w))) {
            z.putNextEntry(new ZipEntry("w0.npy"));
            z.write(npy("{'descr': '|O', 'fortran_order': False, 'shape': (4, 3), }", pickle));
            z.closeEntry();
        }
        assertRejected(job(), "--weights " + w + ", key 'w0'", "object (pickled) arrays are not supported");
    }

    @Test
    void rowsOfTheWrongWidth() {
        Npy.write(x, rows(10, 5));
        assertRejected(job(), "--input " + x, "rows have 5 values but --layers starts with 4");
    }

    @Test
    void inputThatIsNotRows() {
        Npy.write(x, Tensor.wrap(new float[40], Shape.of(10, 2, 2)));
        assertRejected(job(), "--input " + x, "shape (10, 2, 2)");
        Npy.write(x, Tensor.wrap(new float[0], Shape.of(0, 4)));
        assertRejected(job(), "--input " + x, "no rows");
    }

    // ---- corrupt, truncated and hostile .npz ----

    @Test
    void truncatedNpz() throws IOException {
        byte[] whole = Files.readAllBytes(w);
        Files.write(w, Arrays.copyOf(whole, whole.length / 2));
        assertRejected(job(), "--weights " + w, "not a valid zip archive");
    }

    @Test
    void corruptNpzMember() throws IOException {
        byte[] zip = Files.readAllBytes(w);
        int npy = indexOf(zip, "NUMPY".getBytes(StandardCharsets.US_ASCII)) - 1;   // the first member, w0
        zip[npy + 128 + 5] ^= 0x40;                                              // a byte of its data
        Files.write(w, zip);
        assertRejected(job(), "--weights " + w + ", key 'w0'", "CRC-32");
    }

    @Test
    void npyWhereAnNpzBelongs() {
        assertRejected(job("--weights", x.toString()), "--weights " + x, "not an .npz", "it is a .npy array");
    }

    /**
     * A member that really inflates to 1.1 GiB (1 MB on disk) against the job's default bound of
     * 1 GiB: its honest sizes refuse it before anything is inflated.
     */
    @Test
    void zipBombInWeights() throws IOException {
        long zeros = 1100L << 20;
        ZipBomb.write(w, "w0.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (" + zeros / 4 + ",), }", new byte[0]), zeros, -1);
        assertTrue(Files.size(w) < 4 << 20, "a bomb: " + Files.size(w) + " bytes on disk");
        long t0 = System.nanoTime();
        assertRejected(job(), "--weights " + w + ", key 'w0'", "past the bound of " + Npz.DEFAULT_MAX_INFLATED_BYTES + " inflated bytes");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "refused without inflating");
    }

    /** The same bomb lying about its size (a small, valid w0 and then 1.1 GiB more): inflation stops one byte past the claim. */
    @Test
    void zipBombLyingAboutItsSize() throws IOException {
        byte[] head = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", new byte[48]);
        ZipBomb.write(w, "w0.npy", head, 1100L << 20, head.length);
        assertRejected(job(), "--weights " + w + ", key 'w0'", "inflates past the " + head.length + " bytes its entry and header declare");
    }

    // ---- bad rows, found by the tasks ----

    @Test
    void nanAndInfFailNamingTheFirstBadRow() {
        Npy.write(x, rows(10, 4, 3, 1, Float.NaN, 4, 2, Float.POSITIVE_INFINITY));
        assertRejected(job(), "--input " + x + ", row 3: column 1 is NaN", "--on-nan skip");
        Npy.write(x, rows(10, 4, 7, 0, Float.NEGATIVE_INFINITY));
        assertRejected(job("--on-nan", "fail"), "--input " + x + ", row 7: column 0 is -Infinity");
    }

    /**
     * Class indices as PyTorch's CrossEntropyLoss takes them (int64 or int32 of shape (N,)) give the
     * bytes of the same labels one-hot (issue 15, item 2: they were refused); an index outside
     * [0, classes) is named with its file and row.
     */
    @Test
    void classIndicesGiveTheBytesOfOneHotLabels() throws IOException {
        int[] classes = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1};
        float[] oneHot = new float[10 * 2];
        ByteBuffer i64 = ByteBuffer.allocate(80).order(ByteOrder.LITTLE_ENDIAN), i32 = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < 10; r++) {
            oneHot[r * 2 + classes[r]] = 1;
            i64.putLong(classes[r]);
            i32.putInt(classes[r]);
        }
        Npy.write(y, Tensor.wrap(oneHot, Shape.of(10, 2)));
        Path y64 = Files.write(dir.resolve("y64.npy"), npy("{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }", i64.array()));
        Path y32 = Files.write(dir.resolve("y32.npy"), npy("{'descr': '<i4', 'fortran_order': False, 'shape': (10,), }", i32.array()));
        byte[] expected = null;
        for (Path labels : List.of(y, y64, y32)) {
            Path out = dir.resolve("ce-" + labels.getFileName());
            Run r = grad(join(job("--loss", "softmax-cross-entropy", "--labels", labels.toString()), List.of("--out", out.toString())));
            assertEquals(0, r.code(), r.err());
            byte[] got = Files.readAllBytes(out.resolve("grads.npz"));
            if (expected == null) expected = got;
            else assertTrue(Arrays.equals(expected, got), labels + " gives other bytes than the one-hot labels");
        }
        i64.putLong(6 * 8, 2);
        Files.write(y64, npy("{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }", i64.array()));
        assertRejected(job("--loss", "softmax-cross-entropy", "--labels", y64.toString()), "--labels " + y64 + ", row 6: class 2 is not one of 0..1");
        i64.putLong(6 * 8, -1);
        Files.write(y64, npy("{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }", i64.array()));
        assertRejected(job("--loss", "softmax-cross-entropy", "--labels", y64.toString()), "--labels " + y64 + ", row 6: class -1 is not one of 0..1");
    }

    /** NaN in the other inputs made every gradient NaN, with exit 0: each is refused naming the file, the row or key, and the index. */
    @Test
    void nanInSensLabelsWeightsOrVectorIsRefused() {
        Npy.write(s, rows(10, 2, 6, 1, Float.NaN));
        assertRejected(job("--sens", s.toString()), "--sens " + s + ", row 6: column 1 is NaN");
        Npy.write(y, rows(10, 2, 2, 0, Float.POSITIVE_INFINITY));
        assertRejected(job("--loss", "mse", "--labels", y.toString()), "--labels " + y + ", row 2: column 0 is Infinity");
        Map<String, Tensor> bad = weights(4, 3, 2);
        float[] w1 = bad.get("w1").toFloatArray();
        w1[1 * 2 + 1] = Float.NaN;
        bad.put("w1", Tensor.wrap(w1, Shape.of(3, 2)));
        Npz.write(w, bad);
        assertRejected(job(), "--weights " + w + ", key 'w1': NaN at (1, 1)");
        Npz.write(w, weights(4, 3, 2));
        Npz.write(v, bad);
        assertRejected(job("--mode", "hvp", "--vector", v.toString()), "--vector " + v + ", key 'w1': NaN at (1, 1)");
    }

    /**
     * Finite inputs whose results overflow (weights of 1e30 in float32): the job does not report
     * success with Infinity in grads.npz; --check-finite ops names the op; --check-finite none writes it.
     */
    @Test
    void nonFiniteResultsAreRefusedAndTheirOpNamed() {
        Map<String, Tensor> huge = new LinkedHashMap<>();
        weights(4, 3, 2).forEach((k, t) -> huge.put(k, Ops.add(Ops.mul(t, 0.0), k.startsWith("w") ? 1e30 : 0.0).astype(DType.FLOAT32)));
        Npz.write(w, huge);
        List<String> overflow = job("--activation", "identity", "--loss", "mse", "--labels", y.toString());
        assertRejected(overflow, "grads.npz would hold", "--check-finite ops names the op");
        assertRejected(join(overflow, List.of("--check-finite", "ops")), "--input " + x + ", rows ", ": op 'matMul' turned finite inputs");
        assertRejected(join(overflow, List.of("--wrt", "inputs")), "the input derivative of --input " + x + ", row ", "would be");
        Run written = grad(join(join(overflow, List.of("--check-finite", "none")), List.of("--out", dir.resolve("anyway").toString())));
        assertEquals(0, written.code(), written.err());
    }

    /** With skip, the bad rows count as skipped and add nothing: the gradients are those of the other rows. */
    @Test
    void nanAndInfSkipped() throws IOException {
        Npy.write(x, rows(10, 4, 3, 1, Float.NaN, 4, 2, Float.POSITIVE_INFINITY, 8, 0, Float.NEGATIVE_INFINITY));
        Path out = earlierResult();
        Run r = grad(join(List.of("--out", out.toString()), job("--on-nan", "skip")));
        assertEquals(0, r.code(), r.err());
        assertNoTemporaryDirectoryBeside(out);
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(10, summary.get("rows").asLong());
        assertEquals(3, summary.get("skipped_rows").asLong());

        int[] kept = {0, 1, 2, 5, 6, 7, 9};
        float[] good = rows(10, 4).rawFloats(), keptRows = new float[kept.length * 4];
        for (int i = 0; i < kept.length; i++) System.arraycopy(good, kept[i] * 4, keptRows, i * 4, 4);
        Tensor xs = Tensor.wrap(keptRows, Shape.of(kept.length, 4));
        JobModel m = JobModel.build(JobOptions.parse(Map.of(), job("--out", dir.resolve("unused").toString()).toArray(new String[0])), Npz.read(w));
        Tensor[] expected = BatchGradient.weightGradients(m.network(), null, m.params(), xs, Tensor.full(1, DType.FLOAT32, Shape.of(kept.length, 2)), null);
        Map<String, Tensor> grads = Npz.read(out.resolve("grads.npz"));
        for (int k = 0; k < expected.length; k++) {
            String key = m.keys().get(k);
            assertTrue(grads.get(key).allClose(expected[k], 1e-5, 1e-5), key + ": " + grads.get(key) + " vs " + expected[k]);
        }
        Tensor outputs = BatchGradient.outputs(m.network(), null, xs, null);
        double sum = 0;
        for (int i = 0; i < outputs.size(); i++) sum += outputs.getDouble(i);
        assertEquals(sum, summary.get("output_sum").asDouble(), 1e-5);
        assertEquals(7, summary.get("rows_used").asLong());
    }

    /**
     * A mean with rows skipped divides by the rows used, not all rows (issue 15, item 1: it divided by
     * 10 where 7 were used). Closed form in float64: the mean gradient of a linear layer
     * {@code out = x w + b} with unit sensitivities is {@code dW = (1/k) sum_kept x_i^T 1}, {@code db = 1}.
     */
    @Test
    void aMeanWithSkippedRowsDividesByTheRowsUsed() throws IOException {
        double[] xv = new double[10 * 4];
        for (int i = 0; i < xv.length; i++) xv[i] = (i * 37 % 11) / 7.0 - 0.5;
        xv[3 * 4 + 1] = Double.NaN;
        xv[4 * 4 + 2] = Double.POSITIVE_INFINITY;
        xv[8 * 4] = Double.NEGATIVE_INFINITY;
        Npy.write(x, Tensor.wrap(xv, Shape.of(10, 4)));
        Path out = dir.resolve("mean");
        Run r = grad(List.of("grad", "--layers", "4,2", "--dtype", "float64", "--backend", "reference", "--partitions", "3", "--chunk-rows", "2",
                "--input", x.toString(), "--on-nan", "skip", "--reduction", "mean", "--out", out.toString()).toArray(new String[0]));
        assertEquals(0, r.code(), r.err());
        int[] kept = {0, 1, 2, 5, 6, 7, 9};
        double[] dw = new double[4 * 2];
        for (int i : kept) for (int a = 0; a < 4; a++) for (int c = 0; c < 2; c++) dw[a * 2 + c] += xv[i * 4 + a] / kept.length;
        Map<String, Tensor> grads = Npz.read(out.resolve("grads.npz"));
        assertTrue(grads.get("w0").allClose(Tensor.wrap(dw, Shape.of(4, 2)), 1e-15, 1e-15), grads.get("w0").toString());
        assertTrue(grads.get("b0").allClose(Tensor.full(1, DType.FLOAT64, Shape.of(2)), 1e-15, 1e-15), grads.get("b0").toString());
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(7, summary.get("mean_over_rows").asLong());
        assertEquals(3, summary.get("skipped_rows").asLong());
    }

    // ---- companions that do not fit the input or the network ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--sens   | 9  | 2 | has 9 rows but the input has 10",
        "--sens   | 10 | 3 | rows have 3 values, expected 2",
        "--labels | 11 | 2 | has 11 rows but the input has 10",
        "--labels | 10 | 1 | rows have 1 value, expected 2",
    })
    void companionThatDoesNotFit(String option, int rows, int width, String problem) {
        Path file = option.equals("--sens") ? s : y;
        Npy.write(file, rows(rows, width));
        List<String> args = job(option, file.toString());
        if (option.equals("--labels")) args = join(args, List.of("--loss", "mse"));
        assertRejected(args, option + " " + file, problem);
    }

    /** With a loss the output is one number per example, so sens has one value per row. */
    @Test
    void sensForALoss() {
        assertRejected(job("--labels", y.toString(), "--loss", "mse", "--sens", s.toString()), "--sens " + s, "rows have 2 values, expected 1");
    }

    // ---- weights and hvp vectors ----

    @Test
    void missingWeightKey() {
        Map<String, Tensor> bad = weights(4, 3, 2);
        bad.remove("b1");
        Npz.write(w, bad);
        assertRejected(job(), "--weights " + w, "weight keys do not match --layers 4,3,2", "missing [b1]");
    }

    @Test
    void extraWeightKey() {
        Map<String, Tensor> bad = weights(4, 3, 2);
        bad.put("w2", Tensor.wrap(new float[4], Shape.of(2, 2)));
        Npz.write(w, bad);
        assertRejected(job(), "--weights " + w, "unexpected [w2]");
    }

    @Test
    void weightOfTheWrongShape() {
        Map<String, Tensor> bad = weights(4, 3, 2);
        bad.put("w0", Tensor.wrap(new float[12], Shape.of(3, 4)));    // the transpose
        Npz.write(w, bad);
        assertRejected(job(), "--weights " + w + ", key 'w0': shape [3, 4], expected [4, 3]");
    }

    @Test
    void hvpVectorThatDoesNotMatchTheWeights() {
        Map<String, Tensor> bad = weights(4, 3, 2);
        bad.remove("w1");
        Npz.write(v, bad);
        assertRejected(job("--mode", "hvp", "--vector", v.toString()), "--vector " + v, "missing [w1]");
        bad = weights(4, 3, 2);
        bad.put("b0", Tensor.wrap(new float[4], Shape.of(4)));
        Npz.write(v, bad);
        assertRejected(job("--mode", "hvp", "--vector", v.toString()), "--vector " + v + ", key 'b0': shape [4], expected [3]");
    }

    // ---- gradient statistics (issue 27, item 4): refused before Spark starts ----

    @Test
    void gradientStatisticsOnlyOfThePerExampleWeightGradients() {
        assertRejected(job("--per-example", "grad-norm", "--wrt", "inputs"), "--per-example grad-norm is a statistic of the per-example weight gradients",
                "use --wrt weights (not --wrt inputs)");
        assertRejected(job("--clip", "1", "--wrt", "all", "--derivative", "laplacian"), "--clip 1.0 is a statistic of the per-example weight gradients",
                "--wrt all, which adds a per-example input derivative");
        assertRejected(job("--grad-stats", "sum-of-squares", "--mode", "hvp", "--vector", v.toString()), "--grad-stats", "--mode hvp does not compute");
        assertRejected(job("--grad-stats", "ggn-diagonal"), "--grad-stats ggn-diagonal needs --loss mse|softmax-cross-entropy");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--clip|0|--clip: expected a positive, finite norm C, got 0.0",
        "--clip|-1|--clip: expected a positive, finite norm C, got -1.0",
        "--clip|NaN|--clip: expected a positive, finite norm C, got NaN",
        "--per-example|grad-norms|--per-example: expected grad-norm, grad-norm-per-key or grad-dot:V.npz, got 'grad-norms'",
        "--per-example|grad-dot:|--per-example: expected grad-norm, grad-norm-per-key or grad-dot:V.npz, got 'grad-dot:'",
        "--grad-stats|sum-of-squares,fisher|--grad-stats: expected a comma-separated list of sum-of-squares and ggn-diagonal, got 'sum-of-squares,fisher'",
        "--grad-stats|ggn-diagonal,ggn-diagonal|--grad-stats: ggn-diagonal is named twice"})
    void badGradientStatisticsValues(String option, String value, String message) {
        assertRejected(job(option, value), message);
    }

    @Test
    void gradDotVectorThatDoesNotMatchTheWeights() {
        Path missing = dir.resolve("missing.npz");
        assertRejected(job("--per-example", "grad-dot:" + missing), "--per-example grad-dot:" + missing, "no such file");
        Map<String, Tensor> bad = weights(4, 3, 2);
        bad.remove("b1");
        Npz.write(v, bad);
        assertRejected(job("--per-example", "grad-dot:" + v), "--per-example grad-dot:" + v, "missing [b1]");
        bad = weights(4, 3, 2);
        bad.put("w1", Tensor.wrap(new float[6], Shape.of(2, 3)));
        Npz.write(v, bad);
        assertRejected(job("--per-example", "grad-dot:" + v), "--per-example grad-dot:" + v + ", key 'w1': shape [2, 3], expected [3, 2]");
        bad = weights(4, 3, 2);
        bad.put("b0", Tensor.wrap(new float[] {0, Float.NaN, 0}, Shape.of(3)));
        Npz.write(v, bad);
        assertRejected(job("--per-example", "grad-dot:" + v), "--per-example grad-dot:" + v + ", key 'b0': NaN");
    }

    // ---- options ----

    @Test
    void unknownOption() {
        assertRejected(job("--layer", "4,3,2"), "Unknown options: '--layer', '4,3,2'", "did you mean --layers");
        assertRejected(job("--bogus"), "'--bogus'");
        assertRejected(job("stray"), "'stray'");
    }

    @Test
    void optionWithoutItsValue() {
        assertRejected(job("--layers"), "'--layers'");
    }

    @Test
    void unknownCommand() {
        Run r = grad("gard", "--layers", "4,3,2");
        assertEquals(2, r.code());
        assertOneLine(r.err(), "unknown command 'gard'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--layers      | 8,x",
        "--layers      | 4",
        "--layers      | 4,0,2",
        "--dtype       | float16",
        "--reduction   | median",
        "--order       | 0",
        "--order       | x",
        "--partitions  | -1",
        "--chunk-rows  | 0",
        "--repeat      | 0",
        "--repeat      | 10001",
        "--activation  | swish",
        "--wrt         | everything",
        "--mode        | newton",
        "--on-nan      | ignore",
        "--backend     | cuda",
        "--model       | cnn",
        "--seed        | 1.5",
    })
    void badValue(String option, String value) {
        assertRejected(job(option, value), option, value);
    }

    @Test
    void syntheticRowCount() {
        assertRejected(List.of("--synthetic", "0", "--layers", "4,3,2"), "--synthetic", "0");
    }

    @Test
    void optionsThatNeedEachOther() {
        assertRejected(job("--loss", "mse"), "--loss mse needs --labels");
        assertRejected(job("--labels", y.toString()), "--labels needs --loss");
        assertRejected(job("--mode", "hvp"), "--mode hvp needs --vector");
        assertRejected(job("--vector", v.toString()), "--vector is only used with --mode hvp");
        assertRejected(job("--model-class", "org.example.Net"), "--weights is not supported with --model-class");
        assertRejected(List.of("--model-class", "org.example.Net"), "--model-class", "org.example.Net not found");
    }

    /** A user Cell that does not fit the rows' width is one line naming the class and the width (was a trace, exit 1). */
    @Test
    void modelClassOnRowsOfTheWrongWidth() {
        assertRejected(List.of("--model-class", "org.gradspark.ad.examples.PoissonSolution", "--synthetic", "100", "--layers", "3,1", "--partitions", "2"),
                "--model-class org.gradspark.ad.examples.PoissonSolution on rows of 3 values from synthetic input (--layers' first width): matMul: shapes");
    }

    /** A wrong --model-class runs none of its code; a failing constructor or initialiser is named in one line. */
    @Test
    void modelClassIsCheckedBeforeAnyOfItsCodeRuns() throws IOException {
        Path mark = dir.resolve("mark.txt");
        withSystemProperty(UserCells.MARK, mark.toString(), () -> {
            assertRejected(List.of("--model-class", UserCells.NotACell.class.getName()), "--model-class " + UserCells.NotACell.class.getName(),
                    "not an org.gradspark.ad.Cell");
            assertRejected(List.of("--model-class", UserCells.NeedsArguments.class.getName()), "has no public no-argument constructor");
            assertRejected(List.of("--model-class", UserCells.ThrowingStatic.class.getName()), "its static initialiser failed", "no licence server");
            assertRejected(List.of("--model-class", UserCells.ThrowingConstructor.class.getName()),
                    "its constructor failed: IllegalArgumentException: weights file /models/net.bin not found");
        });
        assertTrue(!Files.exists(mark), () -> "code of a refused class ran: " + readQuietly(mark));
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Keys come from --conf, a properties file or -D: system properties here, as SparkConf reads them. */
    @Test
    void unknownKey() {
        withSystemProperty("spark.gradspark.chunkRows", "64",
                () -> assertRejected(job(), "unknown key spark.gradspark.chunkRows", "no option --chunkRows"));
    }

    @Test
    void badValueFromAKeyNamesTheKey() {
        withSystemProperty("spark.gradspark.order", "0", () -> assertRejected(job(), "--order (key spark.gradspark.order): expected 1..8, got 0"));
        withSystemProperty("spark.gradspark.seed", "two", () -> assertRejected(job(), "'--seed' (key spark.gradspark.seed)", "'two'"));
    }

    /** A flag wins over its key, so a bad key it overrides is no error; settings that are not options are no error either. */
    @Test
    void keysAFlagOverridesAndSettingsAreAccepted() {
        Map<String, String> keys = Map.of("spark.gradspark.order", "0", "spark.gradspark.logLevel", "ERROR", "spark.gradspark.shardThreshold", "1");
        JobConfig cfg = JobOptions.parse(keys, "--order", "2", "--wrt", "inputs", "--synthetic", "5", "--out", dir.resolve("o").toString());
        assertEquals(2, cfg.order());
    }

    /** Options that contradict each other or would be ignored are refused (issue 17, item 7). */
    @Test
    void contradictoryOrIgnoredOptions() {
        assertRejected(job("--order", "3"), "--order 3 is the order of the input derivatives", "--wrt inputs");
        assertRejected(job("--order", "2", "--mode", "hvp", "--vector", v.toString()), "--order 2", "--mode hvp does not compute");
        assertRejected(job("--synthetic", "5"), "--synthetic 5 and --input", "give one");
        assertRejected(job("--derivative", "laplacian"), "--derivative laplacian is an input derivative", "--wrt inputs");
        assertRejected(job("--wrt", "inputs", "--derivative", "jacobian", "--order", "2"), "--order 2 is for --derivative nested, not jacobian");
        assertRejected(job("--wrt", "inputs", "--derivative", "hessian-diagonal", "--sens", x.toString()), "--sens is not used with --derivative hessian-diagonal");
        assertRejected(job("--wrt", "inputs", "--derivative", "divergence"), "--derivative: expected nested|grad|laplacian|hessian-diagonal|jacobian|hessian, got 'divergence'");
        assertRejected(job("--layers", "4,3,"), "--layers", "'4,3,'");
        // Issue 28, item 3: the randomised Laplacian's estimator.
        assertRejected(job("--wrt", "inputs", "--derivative", "laplacian", "--estimator", "hutchinson:0"), "--estimator: hutchinson:K needs K >= 1", "got 0");
        assertRejected(job("--wrt", "inputs", "--derivative", "laplacian", "--estimator", "stde:-3"), "--estimator: stde:K needs K >= 1", "got -3");
        assertRejected(job("--wrt", "inputs", "--derivative", "laplacian", "--estimator", "gauss:4"), "--estimator: expected exact, hutchinson:K or stde:K, got 'gauss:4'");
        assertRejected(job("--wrt", "inputs", "--derivative", "laplacian", "--estimator", "hutchinson"), "--estimator: hutchinson needs its number of directions");
        assertRejected(job("--wrt", "inputs", "--derivative", "jacobian", "--estimator", "hutchinson:4"), "--estimator hutchinson:4 is for --derivative laplacian, not jacobian");
        assertRejected(job("--estimator", "stde:2"), "--estimator stde:2 is for --derivative laplacian, not nested");
        assertRejected(List.of("--synthetic", "10", "--layers", "4,2,1", "--wrt", "inputs", "--derivative", "laplacian", "--estimator", "stde:8"),
                "--estimator stde:8 draws 8 distinct coordinates of each point, but the rows of", "have only 4");
        assertRejected(job("--partitions", "11"), "--partitions 11: more than the 10 rows of --input " + x);
    }

    /** An MLP too large for one tensor, or for the driver's heap, is refused before anything is allocated (was an OutOfMemoryError trace). */
    @Test
    void oversizedModels() {
        assertRejected(List.of("--synthetic", "10", "--layers", "100000,100000,3"), "--layers 100000,100000,3: w0 is 100000 x 100000",
                "more than one tensor holds");
        long heapGiB = Runtime.getRuntime().maxMemory() >> 30;
        int width = (int) Math.min(40_000, Math.sqrt((double) (heapGiB + 2) * (1L << 30) / 8) + 1000);
        assertRejected(List.of("--synthetic", "10", "--layers", "8," + width + "," + width + ",3"), "parameters (float32, ",
                "raise --driver-memory");
        // Weights that fit, but not the activations of a million rows in each task (issue 15, item 3: the executors' heap).
        assertRejected(List.of("--synthetic", "1000000", "--partitions", "1", "--layers", "4,4096,4096,2", "--chunk-rows", "1000000"),
                "--layers 4,4096,4096,2 with --chunk-rows 1000000: ", "at once and the driver's own part need", "GiB heap of the driver, which runs the tasks in local mode",
                "lower --chunk-rows or raise --driver-memory");
    }

    /** A per-example Laplacian carries every activation's tangents along the 64 input directions: refused before it runs out of memory (was an OutOfMemoryError, then 'interrupted'). */
    @Test
    void oversizedOperatorSweeps() {
        assertRejected(List.of("--synthetic", "200000", "--partitions", "1", "--layers", "64,256,256,256,1", "--wrt", "inputs", "--derivative", "laplacian", "--chunk-rows", "200000"),
                "--layers 64,256,256,256,1 with --chunk-rows 200000 and 66 values per activation: ", "a chunk's gradient and activations)", "lower --chunk-rows");
    }

    /** A per-example Hessian carries (in + 1)² values per activation (forward over forward): 4225 for 64 inputs, refused before any task runs (issue 25, item 2). */
    @Test
    void oversizedHessian() {
        assertRejected(List.of("--synthetic", "4096", "--partitions", "1", "--layers", "64,256,1", "--wrt", "inputs", "--derivative", "hessian"),
                "--layers 64,256,1 with --chunk-rows 4096 and 4225 values per activation: ", "a chunk's gradient and activations)", "lower --chunk-rows");
    }

    /** On a cluster the executors' heap is spark.executor.memory, with spark.executor.cores tasks at once. */
    @Test
    void oversizedTasksOnExecutors() {
        JobModel.checkTaskSize(new int[] {8, 512, 512, 3}, org.gradspark.ad.DType.FLOAT32, 10_000, Long.MAX_VALUE, 1, 1L << 30, 1, "--executor-memory (spark.executor.memory)", null);
        org.gradspark.job.io.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(org.gradspark.job.io.BadInputException.class, () -> JobModel.checkTaskSize(new int[] {8, 512, 512, 3},
                org.gradspark.ad.DType.FLOAT32, 100_000, Long.MAX_VALUE, 1, 1L << 30, 4, "--executor-memory (spark.executor.memory)", null));
        assertEquals("--layers 8,512,512,3 with --chunk-rows 100000: 4 tasks at once need 6.25 GiB of heap at the peak of an evaluation (4 tasks"
                + " (partial sums, a chunk's gradient and activations, results serialized) 6329 MiB + Spark's own 64 MiB + weights and their broadcast"
                + " blocks 2 MiB), more than"
                + " the 80% usable of the 1.00 GiB heap of each executor: lower --chunk-rows or raise --executor-memory (spark.executor.memory)", e.getMessage());
    }

    /** A FIFO where a file belongs blocked forever; it is refused at once (issue 17, item 5). */
    @Test
    void fifoIsRefused() throws Exception {
        Path fifo = dir.resolve("x.fifo");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(mk.waitFor() == 0, "no mkfifo here");
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
            assertRejected(job("--input", fifo.toString()), "--input " + fifo, "not a regular file");
            assertRejected(job("--weights", fifo.toString()), "--weights " + fifo, "not a regular file");
        });
    }

    /** grad --help lists the job's options and exits 0 (issue 17, item 4). */
    @Test
    void gradHelpListsTheOptions() {
        Run r = grad("grad", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--check-finite") && r.out().contains("--input-grads-format") && r.out().contains("--layers"), r.out());
    }

    // ---- --out ----

    @Test
    void outIsNotAnEarlierResult() throws IOException {
        Path mine = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "keep me");
        assertRefusedOut(mine);
        Path file = Files.writeString(dir.resolve("file"), "keep me too");
        assertRefusedOut(file);
    }

    /**
     * The data-loss case: a directory that merely contains a {@code summary.json} (here with the
     * job's own input and weights and the user's notes) was deleted whole on success. It is not an
     * earlier output, so it is refused and every file stays.
     */
    @Test
    void directoryWithASummaryJsonIsNotDeleted() throws IOException {
        Path proj = Files.createDirectories(dir.resolve("proj"));
        Files.copy(x, proj.resolve("x.npy"));
        Files.copy(w, proj.resolve("w.npz"));
        Files.writeString(proj.resolve("summary.json"), "{}");
        Files.writeString(proj.resolve("notes.md"), "n");
        Map<String, String> before = contents(proj);
        Run r = grad("grad", "--layers", "4,3,2", "--backend", "reference", "--input", proj.resolve("x.npy").toString(),
                "--weights", proj.resolve("w.npz").toString(), "--out", proj.toString());
        assertEquals(2, r.code(), r.err());
        assertOneLine(r.err(), "--out " + proj, "--input " + proj.resolve("x.npy"), "reads");
        assertEquals(before, contents(proj));
        // Without the inputs inside it, the same directory is still not ours.
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Files.writeString(elsewhere.resolve("summary.json"), "{}");
        Files.writeString(elsewhere.resolve("notes.md"), "n");
        assertRefusedOut(elsewhere);
    }

    /** A file the user added to an earlier output (a notebook) is neither deleted nor overwritten: the run is refused. */
    @Test
    void fileAddedToAnEarlierOutputIsKept() throws IOException {
        Path out = dir.resolve("out");
        Run first = grad(join(job("--wrt", "all"), List.of("--out", out.toString())));
        assertEquals(0, first.code(), first.err());
        Files.writeString(out.resolve("analysis.ipynb"), "{}");
        Map<String, String> before = contents(out);
        Run second = grad(join(job("--wrt", "all"), List.of("--out", out.toString())));
        assertEquals(2, second.code(), second.err());
        assertOneLine(second.err(), "--out " + out, "analysis.ipynb", "not an earlier GradSpark output");
        assertEquals(before, contents(out));
        assertNoTemporaryDirectoryBeside(out);
    }

    /** An earlier output (every file in its manifest) is replaced by the next run, file for file, nothing else touched. */
    @Test
    void earlierOutputIsReplaced() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, grad(join(job("--wrt", "all"), List.of("--out", out.toString()))).code());
        Path marker = out.resolve("_SUCCESS");
        assertTrue(Files.readString(marker).contains("\"gradspark\""), Files.readString(marker));
        Run again = grad(join(job("--wrt", "weights"), List.of("--out", out.toString())));
        assertEquals(0, again.code(), again.err());
        assertEquals(List.of("_SUCCESS", "grads.npz", "summary.json"), contents(out).keySet().stream().filter(k -> !k.isEmpty()).toList(),
                "the earlier input derivatives went with the earlier output");
        try (Stream<Path> siblings = Files.list(dir)) {
            assertEquals(List.of(), siblings.filter(p -> p.getFileName().toString().startsWith(".out.")).toList(), "nothing left beside --out");
        }
    }

    /** An input of the running job inside --out (the hvp direction taken from the last output's grads.npz) is never deleted. */
    @Test
    void inputInsideOutIsRefused() throws IOException {
        Path out = dir.resolve("out");
        assertEquals(0, grad(join(job(), List.of("--out", out.toString()))).code());
        Map<String, String> before = contents(out);
        Run r = grad(join(job("--mode", "hvp", "--vector", out.resolve("grads.npz").toString()), List.of("--out", out.toString())));
        assertEquals(2, r.code(), r.err());
        assertOneLine(r.err(), "--out " + out, "--vector " + out.resolve("grads.npz"));
        assertEquals(before, contents(out));
    }

    /** A --out whose parents do not exist gets them; a failed run removes the ones it made. */
    @Test
    void failedRunLeavesNoParentsBehind() {
        Path out = dir.resolve("a/b/out");
        Run r = grad(join(job("--input", dir.resolve("nope.npy").toString()), List.of("--out", out.toString())));
        assertEquals(2, r.code(), r.err());
        assertTrue(!Files.exists(dir.resolve("a")), "parents made for a failed run are left behind");
        Path nan = dir.resolve("nan.npy");
        Npy.write(nan, rows(10, 4, 3, 1, Float.NaN));
        r = grad(join(job("--input", nan.toString()), List.of("--out", out.toString())));
        assertEquals(2, r.code(), r.err());
        assertTrue(!Files.exists(dir.resolve("a")), "parents made for a run that failed in its tasks are left behind");
    }

    private void assertRefusedOut(Path out) {
        Map<String, String> before = contents(out);
        Run r = grad(join(job(), List.of("--out", out.toString())));
        assertEquals(2, r.code(), r.err());
        assertOneLine(r.err(), "--out " + out, "not an earlier GradSpark output");
        assertEquals(before, contents(out));
        assertNoTemporaryDirectoryBeside(out);
    }

    // ---- Parquet and CSV inputs (read with Spark SQL) ----

    @Test
    void csvWithATextColumn() throws IOException {
        Path csv = Files.writeString(dir.resolve("x.csv"), "a,b,name,d\n1,2,x,4\n5,6,y,8\n");
        assertRejected(job("--input", csv.toString()), "--input " + csv, "column 'name'", "string is not numeric");
    }

    /** A short CSV row was reported as "column 2 is NaN" (issue 17, item 6): it is named as empty or missing; --on-nan skip leaves it out. */
    @Test
    void csvWithAShortRow() throws IOException {
        Path csv = Files.writeString(dir.resolve("short.csv"), "a,b,c,d\n1,2,3,4\n5,6\n7,8,9,10\n");
        assertRejected(job("--input", csv.toString()), "--input " + csv + ", row 1, column 'c': empty or missing (a short CSV row?)");
        Run skipped = grad(join(job("--input", csv.toString(), "--on-nan", "skip"), List.of("--out", dir.resolve("skipped").toString())));
        assertEquals(0, skipped.code(), skipped.err());
        assertTrue(skipped.out().contains("3 rows (1 skipped, 2 used)"), skipped.out());
    }

    @Test
    void csvOfTheWrongWidth() throws IOException {
        Path csv = Files.writeString(dir.resolve("x.csv"), "a,b,c\n1,2,3\n5,6,7\n");
        assertRejected(job("--input", csv.toString()), "--input " + csv, "rows have 3 values but --layers starts with 4");
    }

    @Test
    void csvWithAHeaderOnly() throws IOException {
        Path csv = Files.writeString(dir.resolve("x.csv"), "a,b,c,d\n");
        assertRejected(job("--input", csv.toString()), "--input " + csv, "no rows");
    }

    /**
     * Spark drops each CSV file's first line as a header: a file without one lost its first row (issue 23,
     * item 12). A first line of numbers only, in any file of a CSV directory, is refused before Spark starts;
     * with --csv-header false, a header line (every column text) is named as one.
     */
    @Test
    void csvFilesWithoutAHeaderLineAndAHeaderReadAsARow() throws IOException {
        Path parts = Files.createDirectories(dir.resolve("parts.csv"));
        Files.writeString(parts.resolve("a.csv"), "a,b,c,d\n1,2,3,4\n");
        Files.writeString(parts.resolve("b.csv"), "5,6,7.5e0,NaN\n9,10,11,12\n");
        assertRejected(job("--input", parts.toString()), "--input " + parts + ", file " + parts.resolve("b.csv") + ": its first line (5,6,7.5e0,NaN)"
                + " holds only numbers", "pass --csv-header false");
        Path headed = Files.writeString(dir.resolve("headed.csv"), "a,b,c,d\n1,2,3,4\n5,6,7,8\n");
        assertRejected(job("--input", headed.toString(), "--csv-header", "false"), "--input " + headed, "every column holds text", "--csv-header true");
    }

    @Test
    void corruptParquet() throws IOException {
        Path parquet = Files.write(dir.resolve("x.parquet"), "PAR1 this is not a parquet file PAR1".getBytes(StandardCharsets.UTF_8));
        assertRejected(job("--input", parquet.toString()), "--input " + parquet, "cannot be read");
    }

    @Test
    void parquetFeatureColumnMissingOrNotAnArray() {
        Path parquet = parquetOfArrays(new double[][] {{1, 2, 3, 4}, {5, 6, 7, 8}});
        assertRejected(job("--input", parquet.toString(), "--features-col", "f"), "--input " + parquet, "no column 'f'", "columns: id, features");
        assertRejected(job("--input", parquet.toString(), "--features-col", "id"), "--input " + parquet, "column 'id'", "expected an array of numbers");
    }

    @Test
    void parquetArraysOfDifferentLengthsNameTheRow() {
        Path parquet = parquetOfArrays(new double[][] {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11}, {12, 13, 14, 15}});
        assertRejected(job("--input", parquet.toString(), "--features-col", "features"), "--input " + parquet, "row 2", "has 3 features, the first row has 4");
    }

    /** A one-file Parquet table (id: long, features: array of double), written by a short-lived local Spark. */
    private Path parquetOfArrays(double[][] rows) {
        Path parquet = dir.resolve("arrays.parquet");
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().master("local[1]").appName("parquet fixture")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            List<org.apache.spark.sql.Row> r = new ArrayList<>();
            for (int i = 0; i < rows.length; i++) r.add(org.apache.spark.sql.RowFactory.create((long) i, Arrays.stream(rows[i]).boxed().toList()));
            var schema = new org.apache.spark.sql.types.StructType().add("id", org.apache.spark.sql.types.DataTypes.LongType)
                    .add("features", org.apache.spark.sql.types.DataTypes.createArrayType(org.apache.spark.sql.types.DataTypes.DoubleType));
            spark.createDataFrame(r, schema).coalesce(1).write().parquet(parquet.toString());
        } finally {
            spark.stop();
        }
        return parquet;
    }

    // ---- the checks every case makes ----

    /** Exit code, what GradSparkMain printed, and everything else on the console (System.err: Spark's and the JVM's lines). */
    private record Run(int code, String out, String err, String console) {}

    private static Run grad(List<String> jobArgs) {
        List<String> all = new ArrayList<>(List.of("grad"));
        all.addAll(jobArgs);
        return grad(all.toArray(new String[0]));
    }

    private static Run grad(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream(), console = new ByteArrayOutputStream();
        PrintStream realErr = System.err;
        System.setErr(new PrintStream(console, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = GradSparkMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setErr(realErr);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), console.toString(StandardCharsets.UTF_8));
    }

    /**
     * No Java stack trace reached the console (issue 15, item 3: every case of this suite checks it,
     * with the product's logging configuration): traces go to the driver's log file only.
     */
    private static void assertNoTraceOnTheConsole(Run r) {
        for (String line : r.console().lines().toList()) {
            assertTrue(!line.startsWith("\tat ") && !line.startsWith("Exception in thread") && !line.startsWith("Caused by:"),
                    "a stack trace on the console:\n" + r.console());
        }
    }

    /**
     * Runs the job with {@code --out} first absent, then holding an earlier result: each time exit
     * code 2, one line naming every part, nothing on stdout, {@code --out} as it was.
     */
    private void assertRejected(List<String> args, String... named) {
        for (Path out : List.of(dir.resolve("fresh"), earlierResult())) {
            Map<String, String> before = contents(out);
            Run r = grad(join(List.of("--out", out.toString()), args));
            assertEquals(2, r.code(), "exit code; stderr: " + r.err());
            assertOneLine(r.err(), named);
            assertNoTraceOnTheConsole(r);
            assertEquals("", r.out(), "stdout");
            assertEquals(before, contents(out), "--out " + out + " changed");
            assertNoTemporaryDirectoryBeside(out);
        }
    }

    private static void assertOneLine(String err, String... named) {
        assertTrue(err.startsWith("gradspark: "), err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.endsWith(System.lineSeparator()), err);
        for (String part : named) assertTrue(err.contains(part), "'" + part + "' in: " + err);
    }

    private static void assertNoTemporaryDirectoryBeside(Path out) {
        try (Stream<Path> siblings = Files.list(out.getParent())) {
            List<Path> left = siblings.filter(p -> p.getFileName().toString().startsWith("." + out.getFileName() + ".gradspark-")).toList();
            assertEquals(List.of(), left, "temporary directories left");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** An output directory of an earlier run (made by hand: its _SUCCESS manifest lists its files). */
    private Path earlierResult() {
        Path out = dir.resolve("earlier");
        if (Files.exists(out)) return out;
        try {
            Files.createDirectories(out.resolve("input_grads"));
            Files.writeString(out.resolve("summary.json"), "{\"rows\": 7}\n");
            Npz.write(out.resolve("grads.npz"), weights(4, 3, 2));
            Npy.write(out.resolve("input_grads/part-00000.npy"), rows(7, 4));
            Files.writeString(out.resolve("_SUCCESS"),
                    "{\"committer\": \"gradspark\", \"files\": [\"grads.npz\", \"input_grads/part-00000.npy\", \"summary.json\"]}\n");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    /** Every file under {@code path} (or the file itself) by relative name, with its bytes; null when absent. */
    private static Map<String, String> contents(Path path) {
        if (!Files.exists(path)) return null;
        try (Stream<Path> all = Files.walk(path)) {
            Map<String, String> c = new TreeMap<>();
            for (Path p : all.toList()) {
                c.put(path.relativize(p).toString(), Files.isDirectory(p) ? "dir" : Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
            }
            return c;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    // ---- the good job and the files it reads ----

    /** The good job's options, then {@code extra} (a later flag overrides an earlier one). */
    private List<String> job(String... extra) {
        List<String> args = new ArrayList<>(List.of("--layers", "4,3,2", "--backend", "reference", "--partitions", "2", "--chunk-rows", "2",
                "--input", x.toString(), "--weights", w.toString()));
        args.addAll(Arrays.asList(extra));
        return args;
    }

    private static List<String> join(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static void withSystemProperty(String key, String value, Runnable body) {
        System.setProperty(key, value);
        try {
            body.run();
        } finally {
            System.clearProperty(key);
        }
    }

    /** n × width float32 values in [-1, 1); then (row, column, value) triples overwrite single cells. */
    private static Tensor rows(int n, int width, float... cells) {
        float[] a = new float[n * width];
        for (int i = 0; i < a.length; i++) a[i] = ((i * 7919) % 200) / 100f - 1f;
        for (int k = 0; k + 2 < cells.length; k += 3) a[(int) cells[k] * width + (int) cells[k + 1]] = cells[k + 2];
        return Tensor.wrap(a, Shape.of(n, width));
    }

    private static Map<String, Tensor> weights(int... layers) {
        return new LinkedHashMap<>(JobModel.initialWeights(layers, DType.FLOAT32, 7));
    }

    /** A version 1.0 .npy with the given header dict, padded as NumPy pads it, then {@code data}. */
    private static byte[] npy(String dict, byte[] data) {
        byte[] text = dict.getBytes(StandardCharsets.ISO_8859_1);
        int pad = 64 - (10 + text.length + 1) % 64;
        ByteBuffer b = ByteBuffer.allocate(10 + text.length + pad + 1 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) (text.length + pad + 1)).put(text);
        for (int k = 0; k < pad; k++) b.put((byte) ' ');
        return b.put((byte) '\n').put(data).array();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) return i;
        }
        throw new AssertionError("not found");
    }
}
