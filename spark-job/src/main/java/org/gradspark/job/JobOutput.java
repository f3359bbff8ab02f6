package org.gradspark.job;

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
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;

/**
 * The life of {@code --out} on any filesystem: nothing half-written, and nothing deleted that the
 * job did not write.
 *
 * <ul>
 *   <li>Outputs go to a temporary sibling {@code .NAME.gradspark-tmp-HOST-PID-ID} (the driver's
 *       host and process id in its name), renamed into place at the end (atomic on HDFS and local
 *       disks). A failed job removes it; one left by a killed driver is removed by the next run on
 *       the same {@code --out} once that driver's process is gone (same host), and is recognisable
 *       as safe to delete by its name otherwise.</li>
 *   <li>{@code _SUCCESS} is written last. It is Spark's marker, and here it is also the manifest:
 *       JSON naming the committer ({@code gradspark}) and every file the job wrote.</li>
 *   <li>An existing {@code --out} is replaced only when it is an earlier GradSpark output: a
 *       directory whose {@code _SUCCESS} manifest lists every file in it. Only those files are
 *       removed. Anything else (a file the user added, a directory of other data, an earlier
 *       output without a manifest) is refused, and so is a run that reads one of its inputs from
 *       inside {@code --out}. An empty directory is used as it is.</li>
 * </ul>
 */
final class JobOutput {
    static final String MARKER = "_SUCCESS";
    static final String COMMITTER = "gradspark";
    private static final String TMP_TAG = ".gradspark-tmp-";
    private static final String OLD_TAG = ".gradspark-old-";

    private final Storage storage;
    private final String out;
    private final String tmp;
    private final String createdAncestor;  // the highest parent directory this run created, or null
    // Removes the temporary when the JVM is stopped mid-job (Ctrl-C, TERM); a SIGKILL leaves it to the next run.
    private final Thread onShutdown = new Thread(this::removeTemporary, "gradspark-remove-temporary");

    private JobOutput(Storage storage, String out, String tmp, String createdAncestor) {
        this.storage = storage;
        this.out = out;
        this.tmp = tmp;
        this.createdAncestor = createdAncestor;
        Runtime.getRuntime().addShutdownHook(onShutdown);
    }

    /** Done with the temporary: no shutdown hook needed any more (none can be removed once the JVM is stopping). */
    private void settled() {
        try {
            Runtime.getRuntime().removeShutdownHook(onShutdown);
        } catch (IllegalStateException stopping) {
            // the hook runs, or has run
        }
    }

    /**
     * Checks {@code --out} before any work: absent, an empty directory, or an earlier GradSpark
     * output; and that none of the run's inputs (option to qualified URI) lies inside it.
     *
     * @throws BadInputException naming --out and what is in the way
     */
    static void check(Storage storage, String out, Map<String, String> inputs) {
        for (Map.Entry<String, String> in : inputs.entrySet()) {
            if (in.getValue() != null && Storage.within(in.getValue(), out)) {
                throw new BadInputException("--out " + Storage.display(out) + ": holds " + in.getKey() + " " + Storage.display(in.getValue())
                        + ", which this run reads; the output directory is replaced as a whole, so write it elsewhere");
            }
        }
        try {
            FileStatus st = storage.status(out);
            if (st == null) return;
            if (!st.isDirectory()) throw notOurs(out, "is a file");
            List<String> present = storage.filesUnder(out);
            if (present.isEmpty()) return;
            Optional<List<String>> manifest = manifest(storage, out);
            if (manifest.isEmpty()) {
                throw notOurs(out, "has no " + MARKER + " manifest of an earlier GradSpark output");
            }
            for (String f : present) {
                if (!f.equals(MARKER) && !manifest.get().contains(f)) {
                    throw notOurs(out, "holds " + f + ", which no earlier GradSpark run wrote");
                }
            }
        } catch (IOException e) {
            throw Storage.failure(out, e);
        }
    }

    private static BadInputException notOurs(String out, String why) {
        return new BadInputException("--out " + Storage.display(out) + ": exists and is not an earlier GradSpark output (it " + why
                + "); only a directory whose " + MARKER + " manifest lists all its files is replaced, and only those files: choose another directory");
    }

    /** The files an earlier output's manifest lists, or empty when it has none (or not ours). */
    private static Optional<List<String>> manifest(Storage storage, String out) throws IOException {
        String marker = Storage.child(out, MARKER);
        if (!storage.exists(marker)) return Optional.empty();
        JsonNode m;
        try (InputStream in = Channels.newInputStream(storage.openRead(marker))) {
            m = new ObjectMapper().readTree(in);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return Optional.empty();
        }
        if (m == null || !COMMITTER.equals(m.path("committer").asText()) || !m.path("files").isArray()) return Optional.empty();
        List<String> files = new ArrayList<>();
        m.get("files").forEach(f -> files.add(f.asText()));
        return Optional.of(files);
    }

    /**
     * Starts an output: removes temporaries of this {@code --out} left by drivers that are gone,
     * then creates this run's temporary sibling (and the parent directories it needs, which a
     * failed run removes again).
     */
    static JobOutput begin(Storage storage, String out) {
        String parent = Storage.parent(out);
        try {
            String created = null;
            for (String p = parent; p != null && !storage.exists(p); p = Storage.parent(p)) created = p;
            if (created == null) removeStaleTemporaries(storage, out);
            String tmp = Storage.child(parent, "." + Storage.name(out) + TMP_TAG + host() + "-" + ProcessHandle.current().pid() + "-"
                    + UUID.randomUUID().toString().substring(0, 8));
            if (!storage.mkdirs(tmp)) throw new IOException("cannot create " + tmp);
            return new JobOutput(storage, out, tmp, created);
        } catch (IOException e) {
            throw new BadInputException("--out " + Storage.display(out) + ": cannot create a directory beside it: " + Storage.reason(e), e);
        }
    }

    /** Where the job writes {@code name} (a path relative to --out). */
    String file(String name) {
        return Storage.child(tmp, name);
    }

    /** The temporary directory (executors write their parts under it). */
    String temporary() {
        return tmp;
    }

    String out() {
        return out;
    }

    /**
     * Writes the {@code _SUCCESS} manifest of every file written, then moves the result into
     * place, replacing an earlier GradSpark output (checked again now) file by file.
     */
    void commit() {
        try {
            List<String> files = storage.filesUnder(tmp);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("committer", COMMITTER);
            m.put("files", files);
            try (OutputStream o = storage.create(file(MARKER))) {
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(o, m);
            }
            String old = null;
            if (storage.exists(out)) {
                check(storage, out, Map.of());
                old = Storage.child(Storage.parent(out), "." + Storage.name(out) + OLD_TAG + UUID.randomUUID().toString().substring(0, 8));
                if (!storage.rename(out, old)) throw new IOException("cannot move the earlier output " + out + " aside");
            }
            if (!storage.rename(tmp, out)) {
                if (old != null) storage.rename(old, out);
                throw new IOException("cannot rename " + tmp + " to " + out);
            }
            settled();
            if (old != null) removeEarlier(old);
        } catch (IOException e) {
            throw Storage.unchecked("cannot move the results into " + Storage.display(out), e);
        }
    }

    /** Removes an earlier output moved aside: the files its manifest lists, then its directories if they are empty. */
    private void removeEarlier(String old) throws IOException {
        List<String> listed = manifest(storage, old).orElse(List.of());
        for (String f : listed) storage.delete(Storage.child(old, f), false);
        storage.delete(Storage.child(old, MARKER), false);
        removeEmptyDirectories(old);
    }

    private void removeEmptyDirectories(String dir) throws IOException {
        for (FileStatus s : storage.list(dir)) {
            if (s.isDirectory()) removeEmptyDirectories(s.getPath().toString());
        }
        if (storage.list(dir).isEmpty()) storage.delete(dir, false);
    }

    /** Removes this run's temporary directory, and the parent directories it created. */
    void abort() {
        settled();
        removeTemporary();
    }

    private void removeTemporary() {
        try {
            storage.delete(tmp, true);
            if (createdAncestor != null) removeEmptyDirectories(createdAncestor);
        } catch (IOException e) {
            // The job's own failure is the one to report; the temporary is named as ours for the next run.
        }
    }

    private static final Pattern TMP_NAME = Pattern.compile("(.+)-(\\d+)-[0-9a-f]{8}");

    /** Deletes {@code .NAME.gradspark-tmp-HOST-PID-ID} siblings whose driver (this host, that pid) no longer runs. */
    private static void removeStaleTemporaries(Storage storage, String out) throws IOException {
        String prefix = "." + Storage.name(out) + TMP_TAG;
        String me = host();
        for (FileStatus s : storage.list(Storage.parent(out))) {
            String n = s.getPath().getName();
            if (!n.startsWith(prefix)) continue;
            Matcher m = TMP_NAME.matcher(n.substring(prefix.length()));
            if (!m.matches() || !m.group(1).equals(me)) continue;
            long pid = Long.parseLong(m.group(2));
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
            org.slf4j.LoggerFactory.getLogger(JobOutput.class).info("removing {}, the temporary output of a driver (pid {}) that is gone", s.getPath(), pid);
            storage.delete(s.getPath().toString(), true);
        }
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.]", "_");
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }
}
