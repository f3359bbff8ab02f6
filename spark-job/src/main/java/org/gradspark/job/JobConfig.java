package org.gradspark.job;

import java.io.Serializable;
import org.gradspark.ad.DType;
import org.gradspark.ad.nn.Activation;

/**
 * Everything a gradient job is asked to do: the CLI flags and {@code spark.gradspark.*} keys,
 * parsed and checked ({@link JobOptions}). Paths are absolute strings, so the record travels to tasks.
 */
public record JobConfig(
        String modelClass,          // null: the built-in MLP
        int[] layers,                 // null until JobInputs reads them from --weights (no --layers given)
        Activation.Kind activation,
        String weights,               // null: seeded initialisation
        long seed,
        String input,                 // null: synthetic rows; .npy, or .parquet/.csv (read with Spark)
        String featuresCol,           // parquet/csv: an array column of features; null: every column
        boolean csvHeader,            // csv: each file's first line names the columns
        long syntheticRows,
        String sens,                  // null: ones
        String labels,                // null: no loss
        Loss loss,
        Wrt wrt,
        int order,
        PerExampleOutput derivative,    // the per-example output of --wrt inputs|all: nested (--order K), or an operator of the outputs
        Mode mode,
        String vector,                // hvp direction (.npz with the weights' keys)
        Reduction reduction,
        int partitions,             // 0: Spark's default parallelism
        DType dtype,
        String backend,
        int chunkRows,
        OnNan onNan,
        String out,
        int repeat,                   // evaluations in one application (benchmarks); the outputs are the last one's
        InputGradsFormat inputGradsFormat,
        CheckFinite checkFinite,
        String inputName,             // null: named by --input; else what the rows were read from
        RowSource.NpyParts inputParts) implements Serializable {   // non-null: the rows, written as .npy parts (Parquet/CSV, a Dataset)

    public enum Loss { NONE, MSE, SOFTMAX_CROSS_ENTROPY }

    public enum Wrt { WEIGHTS, INPUTS, ALL }

    public enum Mode { GRAD, HVP }

    public enum Reduction { SUM, MEAN }

    public enum OnNan { FAIL, SKIP }

    /**
     * Non-finite values in the results: {@code OUTPUTS} refuses to write a NaN or an infinity into
     * grads.npz or the input derivatives; {@code OPS} also watches every op and names the first that
     * produced one ({@code Functional.detectAnomaly}, slower); {@code NONE} writes whatever came out.
     */
    public enum CheckFinite { OUTPUTS, OPS, NONE }

    /** How the per-example input derivatives are written under {@code --out/input_grads}. */
    public enum InputGradsFormat { NPY, PARQUET }

    /**
     * The same job reading its rows from .npy parts (a Parquet/CSV input or a Dataset written out);
     * {@code name} still names the rows' origin in error messages.
     */
    public JobConfig withRows(RowSource.NpyParts rows, String name) {
        return new JobConfig(modelClass, layers, activation, weights, seed, null, null, csvHeader, syntheticRows, sens, labels, loss, wrt, order, derivative, mode,
                vector, reduction, partitions, dtype, backend, chunkRows, onNan, out, repeat, inputGradsFormat, checkFinite, name, rows);
    }

    /** The same job writing to another --out (fit checks its inputs against a directory its checkpoints are not in). */
    public JobConfig withOut(String dir) {
        return new JobConfig(modelClass, layers, activation, weights, seed, input, featuresCol, csvHeader, syntheticRows, sens, labels, loss, wrt, order, derivative,
                mode, vector, reduction, partitions, dtype, backend, chunkRows, onNan, dir, repeat, inputGradsFormat, checkFinite, inputName, inputParts);
    }

    /** The same job with the MLP's widths (read from --weights when --layers was not given). */
    public JobConfig withLayers(int[] widths) {
        return new JobConfig(modelClass, widths, activation, weights, seed, input, featuresCol, csvHeader, syntheticRows, sens, labels, loss, wrt, order, derivative,
                mode, vector, reduction, partitions, dtype, backend, chunkRows, onNan, out, repeat, inputGradsFormat, checkFinite, inputName, inputParts);
    }

    /**
     * The same job with every path fully qualified by {@code storage} ({@code hdfs://nn:8020/x.npy},
     * {@code file:/home/me/x.npy}), so that the driver and every executor mean the same file.
     *
     * @throws BadInputException naming the option whose path has no filesystem or is not a path
     */
    public JobConfig qualified(org.gradspark.job.io.Storage storage) {
        return new JobConfig(modelClass, layers, activation, q(storage, "--weights", weights), seed, q(storage, "--input", input), featuresCol, csvHeader,
                syntheticRows, q(storage, "--sens", sens), q(storage, "--labels", labels), loss, wrt, order, derivative, mode, q(storage, "--vector", vector),
                reduction, partitions, dtype, backend, chunkRows, onNan, q(storage, "--out", out), repeat, inputGradsFormat, checkFinite, inputName, inputParts);
    }

    private static String q(org.gradspark.job.io.Storage storage, String option, String path) {
        if (path == null) return null;
        try {
            return storage.qualify(path);
        } catch (org.gradspark.job.io.BadInputException e) {
            throw new org.gradspark.job.io.BadInputException(option + " " + e.getMessage(), e);
        }
    }

    /** The files the job reads, by option (values null when not given). */
    public java.util.Map<String, String> inputFiles() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("--input", input);
        m.put("--weights", weights);
        m.put("--sens", sens);
        m.put("--labels", labels);
        m.put("--vector", vector);
        return m;
    }

    /** How error messages name the rows: {@code --input FILE}, {@code synthetic input} or the Dataset. */
    public String inputWhere() {
        if (inputName != null) return inputName;
        return input == null ? "synthetic input" : "--input " + org.gradspark.job.io.Storage.display(input);
    }

    public boolean weightsWanted() { return wrt != Wrt.INPUTS || mode == Mode.HVP; }

    public boolean inputsWanted() { return wrt != Wrt.WEIGHTS && mode == Mode.GRAD; }
}
