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
        int[] layers,
        Activation.Kind activation,
        String weights,               // null: seeded initialisation
        long seed,
        String input,                 // null: synthetic rows; .npy, or .parquet/.csv (read with Spark)
        String featuresCol,           // parquet/csv: an array column of features; null: every column
        long syntheticRows,
        String sens,                  // null: ones
        String labels,                // null: no loss
        Loss loss,
        Wrt wrt,
        int order,
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
        String inputName) implements Serializable {   // null: named by --input; else what the rows were read from

    public enum Loss { NONE, MSE, SOFTMAX_CROSS_ENTROPY }

    public enum Wrt { WEIGHTS, INPUTS, ALL }

    public enum Mode { GRAD, HVP }

    public enum Reduction { SUM, MEAN }

    public enum OnNan { FAIL, SKIP }

    /**
     * The same job reading its rows from another file (a Parquet/CSV input or a Dataset written as
     * .npy); {@code name} still names the rows' origin in error messages.
     */
    public JobConfig withInput(String npy, String name) {
        return new JobConfig(modelClass, layers, activation, weights, seed, npy, null, syntheticRows, sens, labels, loss, wrt, order, mode,
                vector, reduction, partitions, dtype, backend, chunkRows, onNan, out, repeat, name);
    }

    /** How error messages name the rows: {@code --input FILE}, {@code synthetic input} or the Dataset. */
    public String inputWhere() {
        if (inputName != null) return inputName;
        return input == null ? "synthetic input" : "--input " + input;
    }

    public boolean weightsWanted() { return wrt != Wrt.INPUTS || mode == Mode.HVP; }

    public boolean inputsWanted() { return wrt != Wrt.WEIGHTS && mode == Mode.GRAD; }
}
