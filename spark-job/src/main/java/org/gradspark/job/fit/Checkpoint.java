package org.gradspark.job.fit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.FitOutput;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;

/**
 * A fit's state after an iteration, in a directory {@code checkpoints/iter-NNNNNN/} of three files:
 * {@code weights.npz} (the model's weights, the keys of {@code --weights}: usable as {@code --weights}
 * of any job), {@code optimizer.npz} (every number of the optimiser's state as float64 arrays, so it
 * is restored exactly: the position {@code x}; L-BFGS's gradient, value, (s, y) history and recent
 * values; Adam's moments) and {@code state.json} (the optimiser, the iteration, what the model and
 * data were, the settings the trajectory depends on, a digest of the rows, a digest of
 * optimizer.npz's arrays, the history so far). A checkpoint is written into a temporary sibling and
 * renamed into place, so a directory named {@code iter-*} is complete; a state with a NaN or an
 * infinity is never written.
 *
 * <p>Resume rule: {@link #read} refuses a checkpoint that is not exactly what fit wrote
 * ({@link CheckpointReader}), and {@link #requireMatches} one written for another objective, other
 * settings or other rows.
 *
 * @param problem    what the objective is (model, rows, loss, dtype...): a checkpoint of another one is refused
 * @param trajectory the settings a resumed run must keep: the optimiser's ({@link FitSettings#trajectory})
 *                   and the objective's ({@link FitObjective#evaluationSettings}: partitions, chunk rows, backend)
 * @param rowsDigest the rows' digests by source ({@link FitObjective#rowsDigest})
 * @param layout     the model's parameters (keys, shapes, dtype): the order of x
 * @param dir        the directory it was read from; null for one being written
 */
public record Checkpoint(OptimizerState state, Map<String, Object> problem, Map<String, Object> trajectory, Map<String, String> rowsDigest,
                         ParamLayout layout, List<IterationRecord> history, long evaluations, double elapsed, String dir) {

    /** The optimiser's state: its name, the iteration reached, the position, and named float64 arrays. */
    public record OptimizerState(String optimizer, int iteration, double[] x, Map<String, double[]> arrays) {

        /**
         * The arrays are exactly {@code lengths}' names with those lengths, or a {@link BadInputException}
         * (prefixed with {@code where}) names the first that is missing, extra or of another length.
         */
        void requireArrays(Map<String, Integer> lengths, String where) {
            for (Map.Entry<String, Integer> e : lengths.entrySet()) {
                double[] a = arrays.get(e.getKey());
                if (a == null) {
                    throw new BadInputException(where + ": no array '" + e.getKey() + "', which a " + optimizer + " checkpoint holds");
                }
                if (a.length != e.getValue()) {
                    throw new BadInputException(where + ": array '" + e.getKey() + "' has " + a.length + " values, expected " + e.getValue());
                }
            }
            for (String k : arrays.keySet()) {
                if (!lengths.containsKey(k)) throw new BadInputException(where + ": array '" + k + "' is not part of a " + optimizer + " checkpoint");
            }
        }

        /**
         * SHA-256 of the arrays (x included) by name in sorted order: each name, its length and its
         * values' IEEE bits, recorded in state.json so that an optimizer.npz edited or taken from
         * another checkpoint is refused.
         */
        String sha256() {
            Map<String, double[]> all = new TreeMap<>(arrays);
            all.put("x", x);
            MessageDigest md = sha256Digest();
            for (Map.Entry<String, double[]> e : all.entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                ByteBuffer b = ByteBuffer.allocate(9 + 8 * e.getValue().length).order(ByteOrder.LITTLE_ENDIAN);
                b.put((byte) 0).putLong(e.getValue().length);
                b.asDoubleBuffer().put(e.getValue());
                md.update(b.array());
            }
            return HexFormat.of().formatHex(md.digest());
        }
    }

    public static final String DIR = FitOutput.CHECKPOINTS_DIR;
    static final String FORMAT = "gradspark-fit-checkpoint/2";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static String name(int iteration) {
        return String.format("iter-%06d", iteration);
    }

    static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256 (every Java platform must)", e);
        }
    }

    /**
     * Writes this checkpoint under {@code checkpointsDir}; returns its directory.
     *
     * @throws BadInputException when the state holds a NaN or an infinity (or weights that overflow the
     *         model's dtype), before anything is written: such a state cannot be resumed
     */
    public String write(Storage storage, String checkpointsDir) {
        Map<String, Tensor> weights = layout.finiteWeights(state.x(), "fit --optimizer " + state.optimizer() + ", iteration " + state.iteration()
                + ": no checkpoint is written");
        requireFiniteState();
        String dir = Storage.child(checkpointsDir, name(state.iteration()));
        // On an object store, written in place (a rename would copy it), state.json last: a partial one (the store stopped)
        // has none, and --resume refuses it naming the file.
        boolean inPlace = Storage.renameCopies(dir);
        String tmp = inPlace ? dir : Storage.child(checkpointsDir, "." + name(state.iteration()) + ".tmp-" + UUID.randomUUID().toString().substring(0, 8));
        try {
            if (inPlace && storage.exists(dir)) storage.delete(dir, true);   // a resumed run passing an iteration again
            storage.mkdirs(tmp);
            Npz.write(storage, Storage.child(tmp, "weights.npz"), weights, Npz.Compression.STORED);
            Map<String, Tensor> arrays = new LinkedHashMap<>();
            arrays.put("x", Tensor.wrap(state.x().clone(), Shape.of(state.x().length)));
            state.arrays().forEach((k, v) -> arrays.put(k, Tensor.wrap(v.clone(), Shape.of(v.length))));
            Npz.write(storage, Storage.child(tmp, "optimizer.npz"), arrays, Npz.Compression.STORED);
            try (OutputStream o = storage.create(Storage.child(tmp, "state.json"))) {
                JSON.writeValue(o, json());
            }
            if (inPlace) return dir;
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

    private Map<String, Object> json() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("format", FORMAT);
        json.put("optimizer", state.optimizer());
        json.put("iteration", state.iteration());
        json.put("problem", problem);
        json.put("trajectory", trajectory);
        Map<String, Object> shapes = new LinkedHashMap<>();
        for (int k = 0; k < layout.keys().size(); k++) shapes.put(layout.keys().get(k), layout.shapes().get(k).dims());
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("dtype", layout.dtype().numpyName());
        parameters.put("shapes", shapes);
        json.put("parameters", parameters);
        json.put("rows_digest", rowsDigest);
        json.put("optimizer_sha256", state.sha256());
        json.put("evaluations", evaluations);
        json.put("elapsed_s", elapsed);
        json.put("history", history.stream().map(IterationRecord::json).toList());
        return json;
    }

    /** Every number of the optimiser's state and history is finite (what {@link CheckpointReader} demands back). */
    private void requireFiniteState() {
        String where = "fit --optimizer " + state.optimizer() + ", iteration " + state.iteration();
        for (Map.Entry<String, double[]> e : state.arrays().entrySet()) {
            for (int i = 0; i < e.getValue().length; i++) {
                if (!Double.isFinite(e.getValue()[i])) {
                    throw new BadInputException(where + ": the optimiser's '" + e.getKey() + "'[" + i + "] is " + e.getValue()[i]
                            + "; no checkpoint is written (a state that cannot be resumed)");
                }
            }
        }
        for (IterationRecord r : history) {
            if (!Double.isFinite(r.loss()) || !Double.isFinite(r.gradNorm()) || !Double.isFinite(r.step())) {
                throw new BadInputException(where + ": iteration " + r.iteration() + " has loss " + r.loss() + ", gradient norm " + r.gradNorm() + ", step "
                        + r.step() + "; no checkpoint is written (a state that cannot be resumed)");
            }
        }
    }

    /**
     * The checkpoint in {@code dir}: a checkpoint directory itself, or a directory of them (the latest
     * complete one is taken), checked whole ({@link CheckpointReader}).
     *
     * @throws BadInputException naming {@code --resume}, the file and the field at fault
     */
    public static Checkpoint read(Storage storage, String dir) {
        return CheckpointReader.read(storage, locate(storage, dir));
    }

    /** How messages name this checkpoint's state.json. */
    String where() {
        return "--resume" + (dir == null ? "" : " " + Storage.display(Storage.child(dir, "state.json")));
    }

    /**
     * Refuses a checkpoint of another objective, optimiser or settings, naming the first difference.
     *
     * @param notYetKnown settings of {@code trajectoryNow} that may be absent, to be checked later (a
     *                    default --partitions is Spark's parallelism, known once Spark runs)
     */
    public void requireMatches(String optimizerNow, Map<String, Object> problemNow, Map<String, Object> trajectoryNow, Collection<String> notYetKnown) {
        if (!state.optimizer().equals(optimizerNow)) {
            throw new BadInputException(where() + ": a checkpoint of --optimizer " + state.optimizer() + ", not " + optimizerNow);
        }
        String p = firstDifference(problem, problemNow, List.of());
        if (p != null) {
            throw new BadInputException(where() + ": a checkpoint of another model or data (" + p + "); resume with the options it was written with");
        }
        String t = firstDifference(trajectory, trajectoryNow, notYetKnown);
        if (t != null) {
            throw new BadInputException(where() + ": written with other settings (" + t + "); a resumed run keeps every setting its result depends on, "
                    + "to continue as if never stopped: resume with the options it was written with");
        }
    }

    /** Refuses a checkpoint of another model's parameters (keys, shapes or dtype). */
    public void requireLayout(ParamLayout now) {
        if (!layout.equals(now)) {
            throw new BadInputException(where() + ": a checkpoint of another model (parameters " + describe(layout) + ", this one has " + describe(now) + ")");
        }
    }

    private static String describe(ParamLayout l) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < l.keys().size(); k++) b.append(k == 0 ? "" : ", ").append(l.keys().get(k)).append(' ').append(l.shapes().get(k));
        return b.append(' ').append(l.dtype().numpyName()).toString();
    }

    /**
     * Refuses a checkpoint whose rows were not these: the digest of each source (the rows, labels,
     * sensitivities) must be the one recorded.
     */
    public void requireRows(Map<String, String> digestNow) {
        if (!rowsDigest.equals(digestNow)) {
            String d = firstDifference(abbreviated(rowsDigest), abbreviated(digestNow), List.of());
            throw new BadInputException(where() + ": the rows differ from those the checkpoint was fitted to (rows_digest " + d
                    + "); resume with the same --input, --labels and --sens");
        }
    }

    /** The digests' first 16 hexadecimal digits, enough to tell them apart in a message (state.json has them whole). */
    private static Map<String, String> abbreviated(Map<String, String> digests) {
        Map<String, String> m = new LinkedHashMap<>();
        digests.forEach((k, v) -> m.put(k, v.length() > 16 ? v.substring(0, 16) + "..." : v));
        return m;
    }

    private static String firstDifference(Map<String, ?> saved, Map<String, ?> now, Collection<String> notYetKnown) {
        JsonNode a = JSON.valueToTree(saved), b = JSON.valueToTree(now);
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        a.fieldNames().forEachRemaining(names::add);
        b.fieldNames().forEachRemaining(names::add);
        for (String n : names) {
            JsonNode x = a.get(n), y = b.get(n);
            if (y == null && notYetKnown.contains(n)) continue;
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
            List<String> all = list(storage, dir);
            String latest = all.isEmpty() ? null : all.get(all.size() - 1);
            if (latest == null) throw new BadInputException("--resume " + Storage.display(dir) + ": holds no checkpoint (no state.json, no iter-NNNNNN directory)");
            return latest;
        } catch (IOException e) {
            throw new BadInputException("--resume " + Storage.failure(dir, e).getMessage(), e);
        }
    }

    /**
     * The checkpoint directories under {@code checkpointsDir}, oldest first by iteration (iter-1000000
     * after iter-999999, which a comparison of the names would put first).
     */
    public static List<String> list(Storage storage, String checkpointsDir) throws IOException {
        List<String> out = new ArrayList<>();
        if (!storage.exists(checkpointsDir)) return out;
        for (FileStatus s : storage.list(checkpointsDir)) {
            if (s.isDirectory() && s.getPath().getName().matches("iter-\\d{6,}")) out.add(s.getPath().toString());
        }
        out.sort(java.util.Comparator.comparing((String d) -> new java.math.BigInteger(Storage.name(d).substring("iter-".length()))));
        return out;
    }
}
