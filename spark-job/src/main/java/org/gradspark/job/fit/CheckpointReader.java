package org.gradspark.job.fit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;

/**
 * Reads a checkpoint directory for {@code --resume}, and refuses one that is not exactly what fit
 * wrote (a damaged or edited file), before anything runs. The rule, each part named in the message:
 * <ul>
 *   <li>state.json has every field with its type, and the format fit writes now;</li>
 *   <li>its {@code iteration} is the directory's {@code iter-NNNNNN};</li>
 *   <li>its {@code history} runs without a gap from the optimiser's first iteration (L-BFGS, Gauss-Newton,
 *       Newton-CG: 0, the starting point; Adam/SGD: 1) to {@code iteration}, with finite values,
 *       {@code evaluations} their sum and {@code elapsed_s} the last one's (the second-order optimisers':
 *       each with its CG iterations, products and λ);</li>
 *   <li>optimizer.npz holds exactly the optimiser's arrays (float64 vectors, finite) with their
 *       lengths for the model's parameter count, agrees with the history where both record a value
 *       (L-BFGS), and has the SHA-256 recorded in state.json;</li>
 *   <li>weights.npz holds the model's weights and they are x, cast to the model's dtype;</li>
 *   <li>DP-SGD ({@code --dp-clip} in its trajectory): Adam or SGD on a sample, valid --dp-* settings,
 *       and each step's {@code epsilon} the accountant's for it; plain steps record none.</li>
 * </ul>
 * Whether the checkpoint belongs to this run (model, settings, rows) is {@link Checkpoint#requireMatches}'s
 * and {@link Checkpoint#requireRows}'s.
 */
final class CheckpointReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern ITER = Pattern.compile("iter-(\\d{6,})");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final String DAMAGED = " (a damaged or edited checkpoint: resume from another, --resume can name one iter-NNNNNN directory)";

    private final Storage storage;
    private final String dir;
    private final String state;

    private CheckpointReader(Storage storage, String dir) {
        this.storage = storage;
        this.dir = dir;
        this.state = "--resume " + Storage.display(Storage.child(dir, "state.json"));
    }

    /** The checkpoint in {@code dir} (an {@code iter-NNNNNN} directory or one holding state.json), checked whole. */
    static Checkpoint read(Storage storage, String dir) {
        return new CheckpointReader(storage, dir).read();
    }

    private Checkpoint read() {
        JsonNode json = stateJson();
        FitSettings.Optimizer optimizer = optimizer(json);
        int iteration = integer(json, "iteration", 1, Integer.MAX_VALUE);
        Matcher m = ITER.matcher(Storage.name(dir));
        if (m.matches() && Long.parseLong(m.group(1)) != iteration) {
            throw bad(state + ": field 'iteration' is " + iteration + ", but the directory is " + Storage.name(dir));
        }
        JsonNode problem = object(json, "problem"), trajectory = object(json, "trajectory");
        ParamLayout layout = layout(object(json, "parameters"));
        List<IterationRecord> history = history(json, optimizer, iteration);
        long evaluations = longValue(field(json, "evaluations"), "evaluations", 0);
        long sum = history.stream().mapToLong(IterationRecord::evaluations).sum();
        if (evaluations != sum) throw bad(state + ": field 'evaluations' is " + evaluations + ", but the history's evaluations add up to " + sum);
        double elapsed = number(json, "elapsed_s");
        if (elapsed != history.get(history.size() - 1).elapsed()) {
            throw bad(state + ": field 'elapsed_s' is " + elapsed + ", but the history's last elapsed_s is " + history.get(history.size() - 1).elapsed());
        }
        requireDp(optimizer, trajectory, history);
        int memory = optimizer == FitSettings.Optimizer.LBFGS ? integer(trajectory, "--lbfgs-memory", 1, 1000) : 0;
        Checkpoint.OptimizerState st = optimizerState(optimizer, iteration, layout.size(), memory, history);
        String sha = text(json, "optimizer_sha256");
        if (!sha.equals(st.sha256())) {
            throw bad("--resume " + Storage.display(Storage.child(dir, "optimizer.npz")) + ": its arrays do not have the SHA-256 that state.json's field "
                    + "'optimizer_sha256' records (" + sha + ")");
        }
        requireWeightsAgree(layout, st.x());
        return new Checkpoint(st, JSON.convertValue(problem, Map.class), JSON.convertValue(trajectory, Map.class), rowsDigest(json), layout, history,
                evaluations, elapsed, dir);
    }

    private JsonNode stateJson() {
        JsonNode json;
        try (InputStream in = Channels.newInputStream(storage.openRead(Storage.child(dir, "state.json")))) {
            json = JSON.readTree(in);
        } catch (IOException e) {
            throw new BadInputException(state + ": cannot read it: " + Storage.reason(e), e);
        }
        if (json == null || !json.isObject()) throw bad(state + ": not a JSON object");
        String format = json.path("format").asText("");
        if (format.equals("gradspark-fit-checkpoint/1")) {
            throw new BadInputException(state + ": written by an earlier GradSpark (format " + format + "), which recorded neither the rows' digest nor "
                    + "--partitions and --chunk-rows, so resuming it could change the result unseen; start afresh (its weights.npz can be --weights)");
        }
        if (!format.equals(Checkpoint.FORMAT)) throw bad(state + ": field 'format' is '" + format + "', expected '" + Checkpoint.FORMAT + "'");
        return json;
    }

    private FitSettings.Optimizer optimizer(JsonNode json) {
        String name = text(json, "optimizer");
        for (FitSettings.Optimizer o : FitSettings.Optimizer.values()) if (o.cli().equals(name)) return o;
        throw bad(state + ": field 'optimizer' is '" + name + "', not lbfgs, adam, sgd, gauss-newton or newton-cg");
    }

    /** The model's parameters as recorded: dtype and each key's shape, in the model's order. */
    private ParamLayout layout(JsonNode p) {
        String dtype = text(p, "dtype");
        if (!dtype.equals("float32") && !dtype.equals("float64")) throw bad(state + ": field 'parameters.dtype' is '" + dtype + "'");
        JsonNode shapes = object(p, "shapes");
        List<String> keys = new ArrayList<>();
        List<Shape> list = new ArrayList<>();
        long size = 0;
        for (var it = shapes.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode dims = e.getValue();
            if (!dims.isArray()) throw bad(state + ": field 'parameters.shapes." + e.getKey() + "' is not a list of dimensions");
            int[] d = new int[dims.size()];
            for (int i = 0; i < d.length; i++) d[i] = (int) longValue(dims.get(i), "parameters.shapes." + e.getKey() + "[" + i + "]", 0, Integer.MAX_VALUE);
            long n = 1;
            for (int x : d) n = Math.multiplyExact(n, (long) x);
            size += n;
            if (size > Integer.MAX_VALUE - 8) throw bad(state + ": field 'parameters.shapes' adds up to more than 2^31 - 9 parameters");
            keys.add(e.getKey());
            list.add(Shape.of(d));
        }
        if (keys.isEmpty()) throw bad(state + ": field 'parameters.shapes' names no parameter");
        return new ParamLayout(keys, list, dtype.equals("float32") ? DType.FLOAT32 : DType.FLOAT64, (int) size);
    }

    /** The history: iterations first..iteration without a gap (L-BFGS from 0, its starting point; Adam/SGD from step 1), finite, elapsed not decreasing. */
    private List<IterationRecord> history(JsonNode json, FitSettings.Optimizer optimizer, int iteration) {
        JsonNode h = field(json, "history");
        if (!h.isArray()) throw bad(state + ": field 'history' is not a list");
        int first = optimizer == FitSettings.Optimizer.LBFGS || optimizer.secondOrder() ? 0 : 1;
        List<IterationRecord> records = new ArrayList<>();
        double elapsedBefore = 0;
        for (int i = 0; i < h.size(); i++) {
            String at = "history[" + i + "].";
            JsonNode r = h.get(i);
            if (!r.isObject()) throw bad(state + ": field 'history[" + i + "]' is not an object");
            int it = integer(r, "iteration", at, 0, Integer.MAX_VALUE);
            if (it != first + i) {
                throw bad(state + ": field '" + at + "iteration' is " + it + ", expected " + (first + i) + " (the history runs " + first + ", " + (first + 1)
                        + ", ... up to 'iteration' " + iteration + ")");
            }
            IterationRecord rec = new IterationRecord(it, number(r, "loss", at), number(r, "grad_norm", at), number(r, "step", at),
                    integer(r, "evaluations", at, 0, Integer.MAX_VALUE), longValue(field(r, "rows", at), at + "rows", 0),
                    number(r, "seconds", at), number(r, "elapsed_s", at), epsilon(r, at), optimizer.secondOrder() ? solve(r, at) : null);
            if (rec.gradNorm() < 0 || rec.step() < 0 || rec.seconds() < 0 || rec.elapsed() < elapsedBefore) {
                throw bad(state + ": field '" + at + "' has a negative grad_norm, step or seconds, or an elapsed_s below the one before: " + r);
            }
            elapsedBefore = rec.elapsed();
            records.add(rec);
        }
        if (records.isEmpty() || records.get(records.size() - 1).iteration() != iteration) {
            throw bad(state + ": field 'history' ends at iteration " + (records.isEmpty() ? "none" : records.get(records.size() - 1).iteration())
                    + ", but field 'iteration' is " + iteration);
        }
        return records;
    }

    /** A history record's ε: absent for plain steps (NaN), null where infinite (σ = 0), else a finite number ≥ 0. */
    private double epsilon(JsonNode r, String at) {
        JsonNode v = r.get("epsilon");
        if (v == null) return Double.NaN;
        if (v.isNull()) return Double.POSITIVE_INFINITY;
        if (!v.isNumber() || !(v.asDouble() >= 0) || Double.isInfinite(v.asDouble())) {
            throw bad(state + ": field '" + at + "epsilon' is " + v + ", not a finite number >= 0 (or null: infinite)");
        }
        return v.asDouble();
    }

    /**
     * DP-SGD's part of the rule: a checkpoint whose trajectory has {@code --dp-clip} is of Adam or SGD on
     * a sample (0 &lt; q &lt; 1) with valid --dp-* settings, and each step's ε is the one the accountant
     * gives for that step at those settings; a checkpoint of plain steps records no --dp-* setting and no ε.
     */
    private void requireDp(FitSettings.Optimizer optimizer, JsonNode trajectory, List<IterationRecord> history) {
        if (!trajectory.has("--dp-clip")) {
            for (String k : List.of("--dp-noise-multiplier", "--dp-delta")) {
                if (trajectory.has(k)) throw bad(state + ": field 'trajectory." + k + "' without 'trajectory.--dp-clip'");
            }
            for (int i = 0; i < history.size(); i++) {
                if (history.get(i).dp()) throw bad(state + ": field 'history[" + i + "].epsilon' in a checkpoint of plain steps (no 'trajectory.--dp-clip')");
            }
            return;
        }
        if (optimizer == FitSettings.Optimizer.LBFGS || optimizer.secondOrder()) {
            throw bad(state + ": field 'trajectory.--dp-clip' in a checkpoint of --optimizer " + optimizer.cli() + " (DP-SGD is Adam's or SGD's)");
        }
        double q = number(trajectory, "--minibatch-fraction", "trajectory.");
        if (!(q > 0 && q < 1)) throw bad(state + ": field 'trajectory.--minibatch-fraction' is " + q + ", DP-SGD samples 0 < q < 1");
        DpSgd dp;
        try {
            dp = new DpSgd(number(trajectory, "--dp-clip", "trajectory."), number(trajectory, "--dp-noise-multiplier", "trajectory."),
                    number(trajectory, "--dp-delta", "trajectory."));
        } catch (BadInputException e) {
            throw bad(state + ": field 'trajectory': " + e.getMessage());
        }
        RdpAccountant accountant = dp.accountant(q);
        for (int i = 0; i < history.size(); i++) {
            IterationRecord r = history.get(i);
            double want = accountant.epsilon(r.iteration(), dp.delta()).epsilon();
            if (Double.compare(r.epsilon(), want) != 0) {
                throw bad(state + ": field 'history[" + i + "].epsilon' is " + (r.dp() ? r.epsilon() : "absent") + ", but the accountant gives " + want
                        + " after " + r.iteration() + " steps at q " + q + ", sigma " + dp.noiseMultiplier() + ", delta " + dp.delta());
            }
        }
    }

    /** A second-order iteration's solve: whole CG iterations and products, and a finite damping λ > 0. */
    private IterationRecord.Solve solve(JsonNode r, String at) {
        IterationRecord.Solve solve = new IterationRecord.Solve(integer(r, "cg_iterations", at, 0, Integer.MAX_VALUE),
                integer(r, "products", at, 0, Integer.MAX_VALUE), number(r, "lambda", at));
        if (!(solve.lambda() > 0)) throw bad(state + ": field '" + at + "lambda' is " + solve.lambda() + ", expected a value > 0");
        return solve;
    }

    /** optimizer.npz: float64 vectors, finite, exactly the optimiser's arrays with their lengths. */
    private Checkpoint.OptimizerState optimizerState(FitSettings.Optimizer optimizer, int iteration, int parameters, int memory,
                                                     List<IterationRecord> history) {
        String file = Storage.child(dir, "optimizer.npz");
        String where = "--resume " + Storage.display(file);
        // Its size follows from the model: no more is inflated than the arrays need (L-BFGS: x, grad and 2·memory vectors).
        long vectors = optimizer == FitSettings.Optimizer.LBFGS ? 2 + 2L * memory : optimizer == FitSettings.Optimizer.ADAM ? 3
                : optimizer.secondOrder() ? 2 : 1;
        Map<String, Tensor> read = readNpz(file, 8 * (vectors * parameters + iteration + 64) + 4096 * (vectors + 8));
        Map<String, double[]> arrays = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : read.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.FLOAT64 || t.rank() != 1) {
                throw bad(where + ": array '" + e.getKey() + "' is " + t.dtype().numpyName() + " of shape " + t.shape() + ", expected a float64 vector");
            }
            int bad = t.firstNonFinite();
            if (bad >= 0) throw bad(where + ": array '" + e.getKey() + "'[" + bad + "] is " + t.getDouble(bad));
            arrays.put(e.getKey(), t.toDoubleArray());
        }
        double[] x = arrays.remove("x");
        if (x == null) throw bad(where + ": no array 'x' (the position)");
        if (x.length != parameters) throw bad(where + ": array 'x' has " + x.length + " values, but state.json's 'parameters' add up to " + parameters);
        Checkpoint.OptimizerState st = new Checkpoint.OptimizerState(optimizer.cli(), iteration, x, arrays);
        try {
            if (optimizer == FitSettings.Optimizer.LBFGS) {
                LbfgsOptimizer.requireState(st, memory, history, where);
            } else if (optimizer.secondOrder()) {
                SecondOrderOptimizer.requireState(st, history, where);
            } else {
                AdamOptimizer.requireState(st, optimizer == FitSettings.Optimizer.ADAM, where);
            }
        } catch (BadInputException e) {
            throw bad(e.getMessage());
        }
        return st;
    }

    /** weights.npz holds the model's keys with their shapes and dtype, and its values are x in that dtype, bit for bit. */
    private void requireWeightsAgree(ParamLayout layout, double[] x) {
        String file = Storage.child(dir, "weights.npz");
        String where = "--resume " + Storage.display(file);
        Map<String, Tensor> read = readNpz(file, 8L * layout.size() + 4096L * (layout.keys().size() + 8));
        Map<String, Tensor> expected = layout.weights(x);
        if (!read.keySet().equals(expected.keySet())) throw bad(where + ": keys " + read.keySet() + ", but state.json's 'parameters' are " + expected.keySet());
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor got = read.get(e.getKey()), want = e.getValue();
            if (got.dtype() != want.dtype() || !got.shape().equals(want.shape())) {
                throw bad(where + ": key '" + e.getKey() + "' is " + got.dtype().numpyName() + " " + got.shape() + ", expected "
                        + want.dtype().numpyName() + " " + want.shape());
            }
            for (int i = 0; i < want.size(); i++) {
                if (Double.doubleToRawLongBits(got.getDouble(i)) != Double.doubleToRawLongBits(want.getDouble(i))) {
                    throw bad(where + ": key '" + e.getKey() + "' " + want.indexText(i) + " is " + got.getDouble(i) + ", but optimizer.npz's x gives "
                            + want.getDouble(i));
                }
            }
        }
    }

    private Map<String, String> rowsDigest(JsonNode json) {
        JsonNode d = object(json, "rows_digest");
        Map<String, String> out = new LinkedHashMap<>();
        for (var it = d.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isTextual() || !SHA256.matcher(e.getValue().asText()).matches()) {
                throw bad(state + ": field 'rows_digest." + e.getKey() + "' is not a SHA-256 (64 hexadecimal digits)");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    private Map<String, Tensor> readNpz(String file, long maxBytes) {
        try {
            return Npz.read(storage, file, maxBytes);
        } catch (BadInputException e) {
            throw new BadInputException("--resume " + e.getMessage() + DAMAGED, e);
        }
    }

    private BadInputException bad(String message) {
        return new BadInputException(message + DAMAGED);
    }

    private JsonNode field(JsonNode obj, String name) {
        return field(obj, name, "");
    }

    private JsonNode field(JsonNode obj, String name, String at) {
        JsonNode v = obj.get(name);
        if (v == null || v.isNull()) throw bad(state + ": no field '" + at + name + "'");
        return v;
    }

    private JsonNode object(JsonNode obj, String name) {
        JsonNode v = field(obj, name);
        if (!v.isObject()) throw bad(state + ": field '" + name + "' is not an object");
        return v;
    }

    private String text(JsonNode obj, String name) {
        JsonNode v = field(obj, name);
        if (!v.isTextual()) throw bad(state + ": field '" + name + "' is not a string");
        return v.asText();
    }

    private int integer(JsonNode obj, String name, int min, int max) {
        return integer(obj, name, "", min, max);
    }

    private int integer(JsonNode obj, String name, String at, int min, int max) {
        return (int) longValue(field(obj, name, at), at + name, min, max);
    }

    private long longValue(JsonNode v, String name, long min) {
        return longValue(v, name, min, Long.MAX_VALUE);
    }

    private long longValue(JsonNode v, String name, long min, long max) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) throw bad(state + ": field '" + name + "' is " + v + ", not an integer");
        long n = v.asLong();
        if (n < min || n > max) throw bad(state + ": field '" + name + "' is " + n + ", expected " + min + (max == Long.MAX_VALUE ? " or more" : ".." + max));
        return n;
    }

    private double number(JsonNode obj, String name) {
        return number(obj, name, "");
    }

    /** A finite number (fit writes no other). */
    private double number(JsonNode obj, String name, String at) {
        JsonNode v = field(obj, name, at);
        if (!v.isNumber() || !Double.isFinite(v.asDouble())) throw bad(state + ": field '" + at + name + "' is " + v + ", not a finite number");
        return v.asDouble();
    }
}
