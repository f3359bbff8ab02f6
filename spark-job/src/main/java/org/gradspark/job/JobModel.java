package org.gradspark.job;

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
import org.gradspark.ad.nn.MSELoss;
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

    public int outputWidth(JobConfig cfg) {
        return cfg.modelClass() == null ? cfg.layers()[cfg.layers().length - 1] : -1;
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
        if (cfg.modelClass() != null) return userCell(cfg.modelClass());
        int[] layers = cfg.layers();
        List<Cell> cells = new ArrayList<>();
        Map<String, Parameter> byKey = new LinkedHashMap<>();
        for (int k = 0; k + 1 < layers.length; k++) {
            Dense d = new Dense(weights.get("w" + k).astype(cfg.dtype()), weights.get("b" + k).astype(cfg.dtype()));
            cells.add(d);
            byKey.put("w" + k, d.weight());
            byKey.put("b" + k, d.bias());
            if (k + 2 < layers.length) cells.add(new Activation(cfg.activation()));
        }
        return new JobModel(new Sequential(cells), byKey);
    }

    private static JobModel userCell(String className) {
        Cell cell;
        try {
            cell = (Cell) Class.forName(className, true, Thread.currentThread().getContextClassLoader()).getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            throw new BadInputException("--model-class: class " + className + " not found (add its jar with --jars)");
        } catch (ClassCastException e) {
            throw new BadInputException("--model-class: " + className + " is not an org.gradspark.ad.Cell");
        } catch (ReflectiveOperationException e) {
            throw new BadInputException("--model-class: cannot create " + className + " with its no-argument constructor: " + e);
        }
        return new JobModel(cell, new LinkedHashMap<>(cell.namedParameters()));
    }

    /** The per-example loss cell for {@code --loss}, or null: MSE is the mean over the outputs of an example. */
    public static Cell loss(JobConfig.Loss loss) {
        return switch (loss) {
            case NONE -> null;
            case SOFTMAX_CROSS_ENTROPY -> new SoftmaxCrossEntropy(Reduction.NONE);
            case MSE -> new PerExampleMse();
        };
    }

    /** mean_j (prediction_ij - label_ij)^2 for each example i. */
    static final class PerExampleMse extends Cell {
        private static final long serialVersionUID = 1L;
        private final MSELoss elementwise = new MSELoss(Reduction.NONE);

        @Override public int inputCount() { return 2; }

        @Override public Tensor construct(Tensor... in) {
            return org.gradspark.ad.Ops.mean(elementwise.<Tensor>call(in[0], in[1]), -1, false);
        }
    }
}
