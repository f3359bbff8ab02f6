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
import org.apache.hadoop.fs.FileStatus;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;

/**
 * fit's {@code --out}. Unlike {@code grad}'s, it is written while the job runs: checkpoints go to
 * {@code --out/checkpoints/} as they are made (so that a killed driver leaves them where {@code
 * --resume} finds them); the final files are written under temporary names and renamed into place at
 * the end, then {@code _SUCCESS} (the manifest of every file, as {@code grad} writes it) last. So an
 * unfinished fit is a directory of checkpoints without {@code _SUCCESS}.
 *
 * <p>{@code --out} may be absent, empty, an earlier GradSpark output (a {@code _SUCCESS} manifest
 * listing every file: its files are removed when the fit starts, since checkpoints are written into
 * it at once), or an unfinished fit when resuming ({@code --resume}); anything else is refused, and
 * so is an unfinished fit without {@code --resume} (its checkpoints would be overwritten).
 */
final class FitOutput {
    static final String MARKER = "_SUCCESS";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Storage storage;
    private final String out;

    private FitOutput(Storage storage, String out) {
        this.storage = storage;
        this.out = out;
    }

    /** What {@link #check} found. */
    enum State { ABSENT, EMPTY, EARLIER_OUTPUT, UNFINISHED_FIT }

    /**
     * Checks {@code --out} before any work.
     *
     * @param inputs the run's input files by option (qualified); none may lie inside --out
     * @param resume the qualified --resume directory, or null
     */
    static State check(Storage storage, String out, Map<String, String> inputs, String resume) {
        for (Map.Entry<String, String> in : inputs.entrySet()) {
            if (in.getValue() != null && Storage.within(in.getValue(), out)) {
                throw new BadInputException("--out " + Storage.display(out) + ": holds " + in.getKey() + " " + Storage.display(in.getValue())
                        + ", which this run reads; write the fit elsewhere");
            }
        }
        try {
            FileStatus st = storage.status(out);
            if (st == null) return State.ABSENT;
            if (!st.isDirectory()) throw notOurs(out, "is a file");
            List<String> present = storage.filesUnder(out);
            if (present.isEmpty()) return State.EMPTY;
            List<String> listed = manifest(storage, out);
            if (listed != null) {
                for (String f : present) {
                    if (!f.equals(MARKER) && !listed.contains(f)) throw notOurs(out, "holds " + f + ", which no earlier GradSpark run wrote");
                }
                if (resume != null && Storage.within(resume, out)) {
                    throw new BadInputException("--resume " + Storage.display(resume) + ": inside --out " + Storage.display(out)
                            + ", a finished fit's output, which a new run replaces: resume into another --out");
                }
                return State.EARLIER_OUTPUT;
            }
            for (String f : present) {
                if (!f.startsWith(Checkpoint.DIR + "/")) throw notOurs(out, "holds " + f + ", which no earlier GradSpark run wrote");
            }
            if (resume == null) {
                throw new BadInputException("--out " + Storage.display(out) + ": holds the checkpoints of an unfinished fit; continue it with --resume "
                        + Storage.display(Storage.child(out, Checkpoint.DIR)) + ", or choose another --out");
            }
            return State.UNFINISHED_FIT;
        } catch (IOException e) {
            throw Storage.failure(out, e);
        }
    }

    private static BadInputException notOurs(String out, String why) {
        return new BadInputException("--out " + Storage.display(out) + ": exists and is not an earlier GradSpark output (it " + why
                + "); choose another directory");
    }

    /** The files of an earlier output's manifest, or null when it has none. */
    private static List<String> manifest(Storage storage, String out) throws IOException {
        String marker = Storage.child(out, MARKER);
        if (!storage.exists(marker)) return null;
        JsonNode m;
        try (InputStream in = Channels.newInputStream(storage.openRead(marker))) {
            m = JSON.readTree(in);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return null;
        }
        if (m == null || !"gradspark".equals(m.path("committer").asText()) || !m.path("files").isArray()) return null;
        List<String> files = new ArrayList<>();
        m.get("files").forEach(f -> files.add(f.asText()));
        return files;
    }

    /** Starts the output: an earlier output's files are removed; the checkpoints directory is made. */
    static FitOutput begin(Storage storage, String out, State state) {
        try {
            if (state == State.EARLIER_OUTPUT) {
                List<String> listed = manifest(storage, out);
                storage.delete(Storage.child(out, MARKER), false);
                for (String f : listed) storage.delete(Storage.child(out, f), false);
                removeEmptyDirectories(storage, out, out);
            }
            storage.mkdirs(Storage.child(out, Checkpoint.DIR));
            return new FitOutput(storage, out);
        } catch (IOException e) {
            throw Storage.unchecked("--out " + Storage.display(out), e);
        }
    }

    private static void removeEmptyDirectories(Storage storage, String dir, String keep) throws IOException {
        for (FileStatus s : storage.list(dir)) {
            if (s.isDirectory()) removeEmptyDirectories(storage, s.getPath().toString(), keep);
        }
        if (!dir.equals(keep) && storage.list(dir).isEmpty()) storage.delete(dir, false);
    }

    String checkpoints() {
        return Storage.child(out, Checkpoint.DIR);
    }

    /** Where a final file is written before {@link #commit} renames it to {@code name}. */
    String pending(String name) {
        return Storage.child(out, "." + name + ".gradspark-pending");
    }

    /** Renames the final files into place, then writes the manifest of every file under --out. */
    void commit(List<String> names) {
        try {
            for (String n : names) {
                String to = Storage.child(out, n);
                if (storage.exists(to)) storage.delete(to, false);
                if (!storage.rename(pending(n), to)) throw new IOException("cannot rename " + pending(n) + " to " + to);
            }
            List<String> files = storage.filesUnder(out);
            files.remove(MARKER);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("committer", "gradspark");
            m.put("files", files);
            try (OutputStream o = storage.create(Storage.child(out, MARKER))) {
                JSON.writeValue(o, m);
            }
        } catch (IOException e) {
            throw Storage.unchecked("cannot move the results into " + Storage.display(out), e);
        }
    }

    /** A failed fit keeps its checkpoints (to resume from) and drops the pending final files. */
    void abort(List<String> names) {
        for (String n : names) {
            try {
                storage.delete(pending(n), false);
            } catch (IOException ignored) {
                // the fit's own failure is the one to report
            }
        }
    }
}
