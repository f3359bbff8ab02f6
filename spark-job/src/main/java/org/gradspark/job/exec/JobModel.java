package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.PerExampleMSELoss;
import org.gradspark.ad.nn.Reduction;
import org.gradspark.ad.nn.Sequential;
import org.gradspark.ad.nn.SoftmaxCrossEntropy;
import org.gradspark.job.io.BadInputException;

/**
 * The network a job differentiates, its weights by file key ({@code w0,b0,w1,b1,…}, {@code w_k}
 * [in, out]) and its per-example loss. Layer k computes {@code h = act(h @ w_k + b_k)}, with no
 * activation after the last layer.
 */
public final class JobModel {
    private final Cell network;
    private final Map<String, Parameter> byKey;

    private JobModel(Cell network, Map<String, Parameter> byKey) {
        this.network = network;
        this.byKey = byKey;
    }

    public Cell network() { return network; }

    /** The parameters in file-key order. */
    public List<Parameter> params() { return new ArrayList<>(byKey.values()); }

    public List<String> keys() { return new ArrayList<>(byKey.keySet()); }

    /**
     * Refuses an MLP with a weight of more elements than one tensor holds, before anything is allocated; returns its
     * parameter count (what {@link DriverMemoryCheck} weighs against the driver's heap).
     */
    public static long checkSize(int[] layers) {
        for (int k = 0; k + 1 < layers.length; k++) {
            long w = (long) layers[k] * layers[k + 1];
            if (w > Integer.MAX_VALUE - 8) {
                throw new BadInputException("--layers " + joined(layers) + ": w" + k + " is " + layers[k] + " x " + layers[k + 1] + " = " + w
                        + " values, more than one tensor holds (2^31 - 9)");
            }
        }
        return parameters(layers);
    }

    /** The parameters of the MLP of {@code layers}. */
    public static long parameters(int[] layers) {
        long params = 0;
        for (int k = 0; k + 1 < layers.length; k++) params += (long) layers[k] * layers[k + 1] + layers[k + 1];
        return params;
    }

    /**
     * The activations a task holds for one chunk of {@code rows} rows: each layer's input, output and their
     * cotangents, each carried with {@code directions} values (1; a per-example operator's sweep carries the
     * tangents along every input direction too). In double: a full Hessian's (in + 1)² values per activation
     * overflow a long for wide inputs.
     */
    static double activationBytes(int[] layers, DType dtype, long rows, long directions) {
        long widths = 0;
        for (int w : layers) widths += w;
        return 4.0 * rows * widths * dtype.bytes() * directions;
    }

    /**
     * Refuses an MLP whose tasks cannot fit in the heap that runs them, before any task starts: {@code tasks} at once
     * in a heap of {@code heapBytes} (the driver's in local mode, with the driver's own part, else
     * {@code spark.executor.memory}), named by {@code setting}, each holding what {@link HeapEstimate#task} counts
     * with its chunk's {@link #activationBytes activations}. A chunk holds {@code --chunk-rows} rows, or fewer when
     * the largest partition has fewer ({@code partitionRows}: 32 rows over 8 partitions make chunks of 4 rows,
     * whatever --chunk-rows says). {@code load} is the evaluation's ({@link DriverMemoryCheck#load}); null: a
     * collected reduction over {@code tasks} partitions.
     */
    public static void checkTaskSize(int[] layers, DType dtype, int chunkRows, long partitionRows, long directions, long heapBytes, int tasks,
                                     String setting, HeapEstimate.Load load) {
        long rows = Math.min(chunkRows, partitionRows);
        double acts = activationBytes(layers, dtype, rows, directions);
        long params = parameters(layers);
        int item = dtype.bytes();
        HeapEstimate.Load l = load != null ? load.withActivations(acts)
                : new HeapEstimate.Load(params, item, params, false, tasks, false, DriverMemoryCheck.RESULT_GETTERS, 128L << 20, acts);
        boolean driver = setting.startsWith("--driver");
        HeapEstimate e = driver ? HeapEstimate.driver(l, tasks) : HeapEstimate.executor(l, tasks);
        String chunks = rows == chunkRows ? "--chunk-rows " + chunkRows : "chunks of " + rows + " rows (a partition's)";
        String subject = String.format(java.util.Locale.ROOT, "--layers %s with %s%s: %d task%s at once%s", joined(layers), chunks,
                directions == 1 ? "" : " and " + directions + " values per activation", Math.min(tasks, l.partitions()), Math.min(tasks, l.partitions()) == 1 ? "" : "s",
                driver ? " and the driver's own part" : "");
        e.requireFits(subject, heapBytes, driver ? "the driver, which runs the tasks in local mode" : "each executor",
                "lower --chunk-rows or raise " + setting);
    }

    /** Seeded Glorot-uniform weights (zero biases) for the MLP of {@code layers}. */
    public static Map<String, Tensor> initialWeights(int[] layers, DType dtype, long seed) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (int k = 0; k + 1 < layers.length; k++) {
            Dense d = new Dense(layers[k], layers[k + 1], dtype, seed * 1_000_003L + k);
            w.put("w" + k, d.weight().value());
            w.put("b" + k, d.bias().value());
        }
        return w;
    }

    /** Checks a weights map against the MLP's layers: exactly the keys w0,b0,…, with their shapes. */
    public static void checkWeights(Map<String, Tensor> weights, int[] layers, String file) {
        Map<String, Shape> expected = new LinkedHashMap<>();
        for (int k = 0; k + 1 < layers.length; k++) {
            expected.put("w" + k, Shape.of(layers[k], layers[k + 1]));
            expected.put("b" + k, Shape.of(layers[k + 1]));
        }
        check(weights, expected, file, "weight keys do not match --layers " + joined(layers));
    }

    /** Checks that {@code given} (an hvp direction) has exactly the keys and shapes of {@code like} (the weights). */
    public static void checkLike(Map<String, Tensor> given, Map<String, Tensor> like, String file) {
        Map<String, Shape> expected = new LinkedHashMap<>();
        like.forEach((k, t) -> expected.put(k, t.shape()));
        check(given, expected, file, "keys do not match the weights' keys " + expected.keySet());
    }

    private static void check(Map<String, Tensor> given, Map<String, Shape> expected, String file, String mismatch) {
        List<String> missing = expected.keySet().stream().filter(k -> !given.containsKey(k)).toList();
        List<String> extra = given.keySet().stream().filter(k -> !expected.containsKey(k)).toList();
        if (!missing.isEmpty() || !extra.isEmpty()) {
            throw new BadInputException(file + ": " + mismatch + (missing.isEmpty() ? "" : "; missing " + missing) + (extra.isEmpty() ? "" : "; unexpected " + extra));
        }
        expected.forEach((k, s) -> {
            if (!given.get(k).shape().equals(s)) throw new BadInputException(file + ", key '" + k + "': shape " + given.get(k).shape() + ", expected " + s);
        });
    }

    private static String joined(int[] layers) {
        return String.join(",", java.util.Arrays.stream(layers).mapToObj(String::valueOf).toList());
    }

    /** The MLP with the given weights (cast to the job's dtype), or the user's Cell. */
    public static JobModel build(JobConfig cfg, Map<String, Tensor> weights) {
        return build(cfg.model(), weights);
    }

    /**
     * The network of {@code model}: the user's Cell (with {@code weights}, keyed by its parameter names,
     * put in place of its own initial ones unless {@code weights} is empty), or the MLP with
     * {@code weights} (w0,b0,w1,b1,..., cast to its dtype).
     */
    public static JobModel build(JobConfig.Model cfg, Map<String, Tensor> weights) {
        if (cfg.cellClass() != null) {
            JobModel own = userCell(cfg.cellClass());
            if (weights.isEmpty()) return own;
            // fit moves the weights: each evaluation's must be the ones evaluated, not the Cell's initial ones.
            own.network.assignParameters(weights);
            return new JobModel(own.network, new LinkedHashMap<>(own.network.namedParameters()));
        }
        int[] layers = cfg.layers();
        List<Cell> cells = new ArrayList<>();
        Map<String, Parameter> byKey = new LinkedHashMap<>();
        for (int k = 0; k + 1 < layers.length; k++) {
            Dense d = new Dense(weights.get("w" + k).convertedOnHost(cfg.dtype()), weights.get("b" + k).convertedOnHost(cfg.dtype()));
            cells.add(d);
            byKey.put("w" + k, d.weight());
            byKey.put("b" + k, d.bias());
            if (k + 2 < layers.length) cells.add(new Activation(cfg.activation()));
        }
        return new JobModel(new Sequential(cells), byKey);
    }

    /**
     * The user's Cell: the class is loaded without being initialised, checked to be a concrete
     * {@link Cell} with a public no-argument constructor, and only then created, so that a wrong
     * class runs none of its code (no static initialiser, no constructor).
     */
    private static JobModel userCell(String className) {
        String opt = "--model-class " + className;
        Class<?> c;
        try {
            c = Class.forName(className, false, Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException | NoClassDefFoundError e) {
            throw new BadInputException("--model-class: class " + className + " not found (add its jar with --jars)");
        }
        if (!Cell.class.isAssignableFrom(c)) {
            throw new BadInputException(opt + ": not an org.gradspark.ad.Cell (it extends " + (c.getSuperclass() == null ? "nothing" : c.getSuperclass().getName()) + ")");
        }
        if (java.lang.reflect.Modifier.isAbstract(c.getModifiers())) throw new BadInputException(opt + ": an abstract class cannot be created");
        java.lang.reflect.Constructor<?> k;
        try {
            k = c.getConstructor();
        } catch (NoSuchMethodException e) {
            throw new BadInputException(opt + ": has no public no-argument constructor");
        }
        Cell cell;
        try {
            cell = (Cell) k.newInstance();
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new BadInputException(opt + ": its constructor failed: " + describe(e.getCause()), e.getCause());
        } catch (ExceptionInInitializerError e) {
            throw new BadInputException(opt + ": its static initialiser failed: " + describe(e.getCause()), e.getCause());
        } catch (NoClassDefFoundError e) {
            // An initialiser that failed before in this JVM: the JVM keeps the class unusable.
            Throwable first = e.getCause() != null ? e.getCause() : e;
            throw new BadInputException(opt + ": its static initialiser failed: " + describe(first), e);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new BadInputException(opt + ": cannot be created: " + describe(e), e);
        }
        return new JobModel(cell, new LinkedHashMap<>(cell.namedParameters()));
    }

    private static String describe(Throwable t) {
        return t == null ? "unknown cause" : t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /** The per-example loss cell for {@code --loss}, or null: MSE is the mean over the outputs of an example. */
    public static Cell loss(JobConfig.Loss loss) {
        return switch (loss) {
            case NONE -> null;
            case SOFTMAX_CROSS_ENTROPY -> new SoftmaxCrossEntropy(Reduction.NONE);
            case MSE -> new PerExampleMSELoss();
        };
    }
}
