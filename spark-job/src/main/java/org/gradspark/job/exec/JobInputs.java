package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.JobOutput;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.RowSource;
import org.gradspark.job.io.Storage;
import org.gradspark.job.io.TabularInput;

/**
 * Everything a job names, checked once before any work is done: the configuration with every path
 * qualified, {@code --out}, the weights and the hvp direction (read whole), the weights' keys in the
 * model's order, and the headers of the input, sensitivities and labels against each other and
 * {@code --layers}, on whatever filesystem they are. Needs no Spark context, so the CLI checks
 * before starting one.
 *
 * <p>Rows that Spark must read first (a Parquet or CSV input, a Dataset) are {@linkplain #pending()
 * pending}: the job writes them as .npy parts and {@link #withRows} checks the rest against them,
 * without reading the weights again.
 *
 * @param input  where the rows come from; null while they are pending
 * @param sens   null: ones
 * @param labels null: no loss
 * @param vector the hvp direction (--mode hvp), or the reference gradient of {@code --per-example grad-dot:V.npz}, or null
 */
public record JobInputs(JobConfig cfg, Map<String, Tensor> weights, List<String> keys, RowSource input, RowSource sens, RowSource labels,
                        Map<String, Tensor> vector) {

    /**
     * Checks a job whose rows are named by {@code cfg} ({@code --input} or {@code --synthetic}); a
     * Parquet or CSV input is checked to exist (a CSV's header lines too, with {@code --csv-header true})
     * and left pending.
     *
     * @throws BadInputException naming the option and file (and key or row) at fault
     */
    public static JobInputs check(JobConfig given, Storage storage) {
        return check(given, storage, DriverMemoryCheck.Setting.submitted());
    }

    /**
     * {@link #check(JobConfig, Storage)} for a driver of the setting {@code driver}: the model's size is weighed
     * against its heap ({@link DriverMemoryCheck}) before the weights are allocated (a Cell's once it is built).
     */
    public static JobInputs check(JobConfig given, Storage storage, DriverMemoryCheck.Setting driver) {
        JobInputs fixed = checkFixed(given.qualified(storage), storage, driver);
        JobConfig cfg = fixed.cfg();
        if (cfg.input() != null && TabularInput.handles(cfg.input())) {
            try {
                if (!storage.exists(cfg.input())) throw new BadInputException("--input " + Storage.display(cfg.input()) + ": no such file or directory");
            } catch (java.io.IOException e) {
                throw new BadInputException("--input " + Storage.failure(cfg.input(), e).getMessage(), e);
            }
            if (cfg.csvHeader() && TabularInput.isCsv(cfg.input())) TabularInput.requireHeaderLines(storage, cfg.input());
            return fixed;
        }
        RowSource input;
        if (cfg.inputParts() != null) {
            input = cfg.inputParts();
        } else if (cfg.input() == null) {
            input = new RowSource.Synthetic(cfg.syntheticRows(), cfg.layers()[0], cfg.seed());
        } else {
            Npy.Header h = named("--input", () -> Npy.readHeader(storage, cfg.input()));
            String where = cfg.inputWhere();
            if (h.rank() < 1 || h.rank() > 2) {
                throw new BadInputException(where + ": shape " + shapeText(h) + ", expected rows of features (N, features)");
            }
            if (h.rows() == 0) throw new BadInputException(where + ": no rows");
            input = new RowSource.NpyRows(cfg.input(), h);
        }
        return fixed.rows(cfg, input, storage);
    }

    /** Checks a job whose rows come from a Dataset of the caller's: all but the rows, which are pending. */
    public static JobInputs checkForDataset(JobConfig given, Storage storage) {
        if (given.input() != null) throw new BadInputException("--input " + given.input() + ": not used when the rows come from a Dataset; leave it unset");
        return checkFixed(given.qualified(storage), storage, DriverMemoryCheck.Setting.submitted());
    }

    /** Whether the rows are still to be written as .npy parts (a Parquet/CSV input or a Dataset). */
    public boolean pending() {
        return input == null;
    }

    /** The pending rows, written as .npy parts and named {@code name} in messages: the rest is checked against them. */
    public JobInputs withRows(RowSource.NpyParts rows, String name, Storage storage) {
        JobConfig cfg = this.cfg.withRows(rows, name);
        return rows(cfg, rows, storage);
    }

    /** What does not depend on the rows: --out, the model's size, the weights, the hvp direction. */
    private static JobInputs checkFixed(JobConfig given, Storage storage, DriverMemoryCheck.Setting driver) {
        JobOutput.check(storage, given.out(), given.inputFiles());
        Map<String, Tensor> read = given.layers() == null ? named("--weights", () -> Npz.read(storage, given.weights(), Npz.DEFAULT_MAX_INFLATED_BYTES)) : null;
        JobConfig cfg = read == null ? given : given.withLayers(layersOf(read, "--weights " + Storage.display(given.weights())));
        if (cfg.modelClass() == null) DriverMemoryCheck.require(cfg, TaskMemoryCheck.model(cfg), JobModel.checkSize(cfg.layers()), cfg.dtype(), driver);
        Map<String, Tensor> weights = loadWeights(cfg, storage, read);
        if (cfg.modelClass() != null) requireCellFits(cfg, weights, driver);
        List<String> keys = cfg.modelClass() == null ? mlpKeys(cfg.layers()) : new ArrayList<>(weights.keySet());
        Map<String, Tensor> vector = null;
        if (cfg.vector() != null) {
            vector = named("--vector", () -> Npz.read(storage, cfg.vector(), Npz.DEFAULT_MAX_INFLATED_BYTES));
            JobModel.checkLike(vector, weights, "--vector " + Storage.display(cfg.vector()));
            requireFinite(vector, "--vector " + Storage.display(cfg.vector()));
        }
        String dot = cfg.statistics().dotVector();
        if (dot != null) {
            // V is read whole on the driver and broadcast with the weights: it has their keys and shapes, and finite values.
            String where = "--per-example grad-dot:" + Storage.display(dot);
            try {
                vector = Npz.read(storage, dot, Npz.DEFAULT_MAX_INFLATED_BYTES);
            } catch (BadInputException e) {
                throw new BadInputException("--per-example grad-dot:" + e.getMessage(), e);   // the message starts with the file
            }
            JobModel.checkLike(vector, weights, where);
            requireFinite(vector, where);
        }
        return new JobInputs(cfg, weights, List.copyOf(keys), null, null, null, vector);
    }

    /** A user Cell, built on the driver, against the driver's heap: its parameters' count, float64 if any of them is. */
    private static void requireCellFits(JobConfig cfg, Map<String, Tensor> weights, DriverMemoryCheck.Setting driver) {
        long count = weights.values().stream().mapToLong(Tensor::size).sum();
        boolean wide = weights.values().stream().anyMatch(t -> t.dtype() == org.gradspark.ad.DType.FLOAT64);
        DriverMemoryCheck.require(cfg, TaskMemoryCheck.model(cfg), count, wide ? org.gradspark.ad.DType.FLOAT64 : org.gradspark.ad.DType.FLOAT32, driver);
    }

    /** The rows against --partitions and --layers, and the sensitivities and labels against the rows. */
    private JobInputs rows(JobConfig cfg, RowSource input, Storage storage) {
        if (input.width() <= 0) throw new BadInputException(cfg.inputWhere() + ": rows of " + (input instanceof RowSource.NpyRows r
                ? r.header().rowWidth() : "no") + " values are more than one tensor holds (2^31 - 9 at most)");
        if (cfg.partitions() > input.rows()) {
            throw new BadInputException("--partitions " + cfg.partitions() + ": more than the " + input.rows() + " rows of " + cfg.inputWhere()
                    + " (a partition needs rows; thousands each keep the tasks' overhead small)");
        }
        if (cfg.modelClass() == null && input.width() != cfg.layers()[0]) {
            throw new BadInputException(cfg.inputWhere() + ": rows have " + input.width() + " values but --layers starts with " + cfg.layers()[0]);
        }
        if (cfg.derivative() instanceof PerExampleOutput.Laplacian lap && lap.estimator() instanceof org.gradspark.ad.LaplacianEstimator.Stde stde
                && stde.directions() > input.width()) {
            throw new BadInputException("--estimator " + stde.spelling() + " draws " + stde.directions() + " distinct coordinates of each point, but the rows of "
                    + cfg.inputWhere() + " have only " + input.width());
        }
        long n = input.rows();
        int outWidth = cfg.layers()[cfg.layers().length - 1];
        RowSource sens = companion(storage, cfg.sens(), "--sens", n, cfg.loss() == JobConfig.Loss.NONE ? outWidth : 1);
        RowSource labels = cfg.loss() == JobConfig.Loss.SOFTMAX_CROSS_ENTROPY ? classLabels(storage, cfg.labels(), n, outWidth)
                : companion(storage, cfg.labels(), "--labels", n, outWidth);
        return new JobInputs(cfg, weights, keys, input, sens, labels, vector);
    }

    /**
     * The MLP's widths from its weights when --layers is not given: w0 [in, h1], w1 [h1, h2], … (the
     * biases and the rest are checked after, against these widths).
     */
    private static int[] layersOf(Map<String, Tensor> w, String file) {
        List<Integer> widths = new ArrayList<>();
        for (int k = 0; w.containsKey("w" + k); k++) {
            Tensor wk = w.get("w" + k);
            if (wk.rank() != 2) throw new BadInputException(file + ", key 'w" + k + "': shape " + wk.shape() + ", expected [in, out]");
            if (k == 0) widths.add(wk.shape().dim(0));
            widths.add(wk.shape().dim(1));
        }
        if (widths.isEmpty()) {
            throw new BadInputException(file + ": no key w0, so the MLP's widths are unknown (keys " + w.keySet() + "); give --layers, or the keys w0,b0,w1,b1,…");
        }
        return widths.stream().mapToInt(Integer::intValue).toArray();
    }

    private static List<String> mlpKeys(int[] layers) {
        List<String> keys = new ArrayList<>();
        for (int k = 0; k + 1 < layers.length; k++) {
            keys.add("w" + k);
            keys.add("b" + k);
        }
        return keys;
    }

    /**
     * Labels of a softmax classifier: one-hot rows (N, classes), or class indices as PyTorch's
     * CrossEntropyLoss takes them (int64, int32 or integral floats of shape (N,)), read as one-hot rows.
     */
    private static RowSource classLabels(Storage storage, String file, long n, int classes) {
        if (file == null) return null;
        Npy.Header h = named("--labels", () -> Npy.readHeader(storage, file, true));
        String where = "--labels " + Storage.display(file);
        if (h.rank() == 1 && (h.integer() || classes > 1)) {
            if (h.rows() != n) throw new BadInputException(where + ": has " + h.rows() + " class indices but the input has " + n + " rows");
            return new RowSource.ClassIndices(new RowSource.NpyRows(file, h), classes, "--labels");
        }
        if (h.integer()) {
            throw new BadInputException(where + ": " + h.dtypeName() + " of shape " + shapeText(h) + "; integer labels are class indices of shape (N,)");
        }
        return companion(storage, file, "--labels", n, classes);
    }

    /** Sensitivities or labels: N rows of the given width (or a 1-D array of N when width is 1). */
    private static RowSource companion(Storage storage, String file, String option, long n, int width) {
        if (file == null) return null;
        Npy.Header h = named(option, () -> Npy.readHeader(storage, file));
        String where = option + " " + Storage.display(file);
        if (h.rank() < 1) throw new BadInputException(where + ": shape (), expected " + n + " rows");
        if (h.rows() != n) throw new BadInputException(where + ": has " + h.rows() + " rows but the input has " + n);
        long rowWidth = h.rank() == 1 ? 1 : h.rowWidth();
        if (rowWidth != width) throw new BadInputException(where + ": rows have " + rowWidth + (rowWidth == 1 ? " value" : " values") + ", expected " + width);
        return new RowSource.NpyRows(file, h);
    }

    /** Every array of an .npz input holds finite values only, or the first NaN/infinity is named. */
    private static void requireFinite(Map<String, Tensor> arrays, String where) {
        arrays.forEach((key, t) -> {
            int bad = t.firstNonFinite();
            if (bad >= 0) throw new BadInputException(where + ", key '" + key + "': " + t.getDouble(bad) + " at " + t.indexText(bad));
        });
    }

    /** Runs a reader, prefixing its message (which names the file) with the option that named the file. */
    private static <T> T named(String option, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (BadInputException e) {
            throw new BadInputException(option + " " + e.getMessage(), e);
        }
    }

    private static String shapeText(Npy.Header h) {
        return java.util.Arrays.toString(h.shape()).replace('[', '(').replace(']', ')');
    }

    /**
     * A randomised --estimator for a --model-class Cell (without --derivative laplacian, whose it is) needs the Cell to take the job's
     * draws: one that does not would compute its Laplacians exactly, and never silently.
     */
    private static void requireRowAware(JobConfig cfg, org.gradspark.ad.Cell cell) {
        if (cfg.estimator() instanceof org.gradspark.ad.LaplacianEstimator.Exact || cell instanceof org.gradspark.ad.RowAware) {
            return;
        }
        throw new BadInputException("--estimator " + cfg.estimator().spelling() + ": --model-class " + cfg.modelClass() + " does not implement "
                + "org.gradspark.ad.RowAware, so it cannot take the job's draws (its Laplacians would stay exact): implement it, or use --estimator exact");
    }

    /** The weights by key: --weights (checked against --layers), the seeded MLP, or the user Cell's own. */
    private static Map<String, Tensor> loadWeights(JobConfig cfg, Storage storage, Map<String, Tensor> alreadyRead) {
        if (cfg.modelClass() != null) {
            if (cfg.weights() != null) throw new BadInputException("--weights is not supported with --model-class (the Cell initialises its own)");
            Map<String, Tensor> w = new LinkedHashMap<>();
            JobModel m = JobModel.build(cfg, Map.of());
            requireRowAware(cfg, m.network());
            for (int i = 0; i < m.keys().size(); i++) w.put(m.keys().get(i), m.params().get(i).value());
            return w;
        }
        if (cfg.weights() == null) return JobModel.initialWeights(cfg.layers(), cfg.dtype(), cfg.seed());
        Map<String, Tensor> w = alreadyRead != null ? alreadyRead : named("--weights", () -> Npz.read(storage, cfg.weights(), Npz.DEFAULT_MAX_INFLATED_BYTES));
        JobModel.checkWeights(w, cfg.layers(), "--weights " + Storage.display(cfg.weights()));
        requireFinite(w, "--weights " + Storage.display(cfg.weights()));
        return w;
    }
}
