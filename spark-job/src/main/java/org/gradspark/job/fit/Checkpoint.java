package org.gradspark.job.fit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;

/**
 * A fit's state after an iteration, in a directory {@code checkpoints/iter-NNNNNN/} of three files:
 * {@code weights.npz} (the model's weights, the keys of {@code --weights}: usable as {@code --weights}
 * of any job), {@code optimizer.npz} (every number of the optimiser's state as float64 arrays, so it
 * is restored exactly: the position {@code x}; L-BFGS's gradient, value, (s, y) history and recent
 * values; Adam's moments) and {@code state.json} (the optimiser, the iteration, what the model and
 * data were, the settings the trajectory depends on, the history so far). A checkpoint is written
 * into a temporary sibling and renamed into place, so a directory named {@code iter-*} is complete.
 *
 * @param problem    what the objective is (model, rows, loss, dtype...): a checkpoint of another one is refused
 * @param trajectory the settings a resumed run must keep ({@link FitSettings#trajectory})
 */
public record Checkpoint(OptimizerState state, Map<String, Object> problem, Map<String, Object> trajectory, List<IterationRecord> history,
                         long evaluations, double elapsed) {

    /** The optimiser's state: its name, the iteration reached, the position, and named float64 arrays. */
    public record OptimizerState(String optimizer, int iteration, double[] x, Map<String, double[]> arrays) {}

    public static final String DIR = "checkpoints";
    static final String FORMAT = "gradspark-fit-checkpoint/1";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static String name(int iteration) {
        return String.format("iter-%06d", iteration);
    }

    /** Writes this checkpoint under {@code checkpointsDir}; returns its directory. */
    public String write(Storage storage, String checkpointsDir, ParamLayout layout) {
        String dir = Storage.child(checkpointsDir, name(state.iteration()));
        String tmp = Storage.child(checkpointsDir, "." + name(state.iteration()) + ".tmp-" + UUID.randomUUID().toString().substring(0, 8));
        try {
            storage.mkdirs(tmp);
            Npz.write(storage, Storage.child(tmp, "weights.npz"), layout.weights(state.x()), Npz.Compression.STORED);
            Map<String, Tensor> arrays = new LinkedHashMap<>();
            arrays.put("x", Tensor.wrap(state.x().clone(), Shape.of(state.x().length)));
            state.arrays().forEach((k, v) -> arrays.put(k, Tensor.wrap(v.clone(), Shape.of(v.length))));
            Npz.write(storage, Storage.child(tmp, "optimizer.npz"), arrays, Npz.Compression.STORED);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("format", FORMAT);
            json.put("optimizer", state.optimizer());
            json.put("iteration", state.iteration());
            json.put("problem", problem);
            json.put("trajectory", trajectory);
            json.put("evaluations", evaluations);
            json.put("elapsed_s", elapsed);
            json.put("history", history.stream().map(IterationRecord::json).toList());
            try (OutputStream o = storage.create(Storage.child(tmp, "state.json"))) {
                JSON.writeValue(o, json);
            }
            if (storage.exists(dir)) storage.delete(dir, true);   // a resumed run passing an iteration again
            if (!storage.rename(tmp, dir)) throw new IOException("cannot rename " + tmp + " to " + dir);
            return dir;
        } catch (IOException e) {
            try {
                storage.delete(tmp, true);
            } catch (IOException ignored) {
                // the failure to report is the first
            }
            throw Storage.unchecked("cannot write the checkpoint " + Storage.display(dir), e);
        }
    }

    /**
     * The checkpoint in {@code dir}: a checkpoint directory itself, or a directory of them (the latest
     * complete one is taken).
     *
     * @throws BadInputException naming {@code --resume} and what is wrong
     */
    public static Checkpoint read(Storage storage, String dir) {
        String at = locate(storage, dir);
        JsonNode json;
        try (InputStream in = Channels.newInputStream(storage.openRead(Storage.child(at, "state.json")))) {
            json = JSON.readTree(in);
        } catch (IOException e) {
            throw new BadInputException("--resume " + Storage.display(at) + ": cannot read state.json: " + Storage.reason(e), e);
        }
        if (json == null || !FORMAT.equals(json.path("format").asText())) {
            throw new BadInputException("--resume " + Storage.display(at) + ": state.json is not a GradSpark fit checkpoint (no format " + FORMAT + ")");
        }
        Map<String, Tensor> arrays;
        try {
            arrays = Npz.read(storage, Storage.child(at, "optimizer.npz"), Npz.DEFAULT_MAX_INFLATED_BYTES);
        } catch (BadInputException e) {
            throw new BadInputException("--resume " + e.getMessage(), e);
        }
        if (!arrays.containsKey("x")) throw new BadInputException("--resume " + Storage.display(at) + ": optimizer.npz has no 'x'");
        Map<String, double[]> a = new LinkedHashMap<>();
        arrays.forEach((k, t) -> {
            if (!k.equals("x")) a.put(k, t.toDoubleArray());
        });
        OptimizerState st = new OptimizerState(json.path("optimizer").asText(), json.path("iteration").asInt(), arrays.get("x").toDoubleArray(), a);
        List<IterationRecord> history = new ArrayList<>();
        for (JsonNode r : json.path("history")) history.add(IterationRecord.fromJson(JSON.convertValue(r, Map.class)));
        return new Checkpoint(st, JSON.convertValue(json.path("problem"), Map.class), JSON.convertValue(json.path("trajectory"), Map.class), history,
                json.path("evaluations").asLong(), json.path("elapsed_s").asDouble());
    }

    /**
     * Refuses a checkpoint of another objective or optimiser settings, naming the first difference.
     *
     * @param where how messages name the checkpoint
     */
    public void requireMatches(Map<String, Object> problemNow, Map<String, Object> trajectoryNow, String where) {
        String p = firstDifference(problem, problemNow);
        if (p != null) throw new BadInputException(where + ": a checkpoint of another model or data (" + p + "); resume with the options it was written with");
        String t = firstDifference(trajectory, trajectoryNow);
        if (t != null) throw new BadInputException(where + ": written with other optimiser settings (" + t + "); a resumed run keeps them, to continue as if never stopped");
    }

    private static String firstDifference(Map<String, Object> saved, Map<String, Object> now) {
        JsonNode a = JSON.valueToTree(saved), b = JSON.valueToTree(now);
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        a.fieldNames().forEachRemaining(names::add);
        b.fieldNames().forEachRemaining(names::add);
        for (String n : names) {
            JsonNode x = a.get(n), y = b.get(n);
            if (x == null || y == null || !text(x).equals(text(y))) {
                return n + " was " + (x == null ? "unset" : text(x)) + ", now " + (y == null ? "unset" : text(y));
            }
        }
        return null;
    }

    private static String text(JsonNode n) {
        return n.isTextual() ? n.asText() : n.toString();
    }

    /** {@code dir} itself when it holds state.json, else its latest complete {@code iter-*} child. */
    private static String locate(Storage storage, String dir) {
        try {
            FileStatus st = storage.status(dir);
            if (st == null) throw new BadInputException("--resume " + Storage.display(dir) + ": no such directory");
            if (!st.isDirectory()) throw new BadInputException("--resume " + Storage.display(dir) + ": not a directory (expected a checkpoint directory or --out/checkpoints)");
            if (storage.exists(Storage.child(dir, "state.json"))) return dir;
            String latest = null;
            for (FileStatus s : storage.list(dir)) {
                String n = s.getPath().getName();
                if (s.isDirectory() && n.matches("iter-\\d{6,}") && (latest == null || n.compareTo(Storage.name(latest)) > 0)) latest = s.getPath().toString();
            }
            if (latest == null) throw new BadInputException("--resume " + Storage.display(dir) + ": holds no checkpoint (no state.json, no iter-NNNNNN directory)");
            return latest;
        } catch (IOException e) {
            throw new BadInputException("--resume " + Storage.failure(dir, e).getMessage(), e);
        }
    }

    /** The checkpoint directories under {@code checkpointsDir}, oldest first (for listings and tests). */
    public static List<String> list(Storage storage, String checkpointsDir) throws IOException {
        List<String> out = new ArrayList<>();
        if (!storage.exists(checkpointsDir)) return out;
        for (FileStatus s : storage.list(checkpointsDir)) {
            if (s.isDirectory() && s.getPath().getName().matches("iter-\\d{6,}")) out.add(s.getPath().toString());
        }
        out.sort(null);
        return out;
    }
}
