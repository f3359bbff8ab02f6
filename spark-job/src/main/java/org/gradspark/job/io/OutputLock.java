package org.gradspark.job.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One run at a time writes an {@code --out} that it fills while it runs ({@code fit}): a lock file
 * {@code .OUT.gradspark-lock} beside {@code --out}, created only if absent ({@link Storage#createNew}:
 * {@code O_EXCL} on local disks, the NameNode's exclusive create on HDFS), holding JSON that names
 * the run ({@link RunId}: host, pid), the command and when it started. A second run is refused with
 * one line naming the first. A lock refuses rather than waits: the second run's output would replace
 * the first's, so it is a mistake to report, not a queue.
 *
 * <p>A lock whose run is gone from this host (a driver killed with SIGKILL) is stale: the next run
 * takes it over by renaming it aside ({@code .OUT.gradspark-lock-stale-TAG}; of two runs that try,
 * one rename succeeds) and checking that what it moved is the dead run's. A lock of another host
 * cannot be checked: the message says how to remove it when that run is known to be gone. On object
 * stores, whose create is not exclusive, the lock only guards against runs that start apart: S3A's
 * {@code create(path, false)} checks and then PUTs; hadoop-aws 3.5 sends {@code If-None-Match: *} only
 * with the createFile option {@code fs.option.create.conditional.overwrite}, which is not used because
 * the S3 server the tests run (S3Proxy 2.7.0) ignores that header, so it could not be tested.
 *
 * <pre>{@code
 * OutputLock lock = OutputLock.acquire(storage, out, RunId.fresh(), "fit");   // or BadInputException naming the holder
 * try { ... } finally { lock.release(); }
 * }</pre>
 */
public final class OutputLock {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Storage storage;
    private final String path;
    private final RunId run;

    private OutputLock(Storage storage, String path, RunId run) {
        this.storage = storage;
        this.path = path;
        this.run = run;
    }

    /** The lock file of {@code out}: {@code .OUT.gradspark-lock} in its parent. */
    public static String path(String out) {
        return Storage.child(Storage.parent(out), "." + Storage.name(out) + ".gradspark-lock");
    }

    /**
     * Refuses when a run that may be going holds {@code out}'s lock (a check before any work; the
     * lock itself is taken by {@link #acquire}).
     */
    public static void requireFree(Storage storage, String out) throws IOException {
        if (Storage.parent(out) == null) return;
        String lock = path(out);
        if (storage.kindOf(lock) == null) return;
        Optional<Holder> h = read(storage, lock);
        if (h.isEmpty() || !h.get().run().goneFromThisHost()) throw held(out, lock, h);
    }

    /**
     * Takes {@code out}'s lock for {@code run}; the parent of {@code out} must exist.
     *
     * @throws BadInputException naming --out and the run that holds it
     */
    public static OutputLock acquire(Storage storage, String out, RunId run, String command) throws IOException {
        String lock = path(out);
        Map<String, Object> content = new LinkedHashMap<>();
        content.put("committer", OutputManifest.COMMITTER);
        content.put("run", run.tag());
        content.put("command", command);
        content.put("started", Instant.now().toString());
        byte[] bytes = JSON.writeValueAsBytes(content);
        for (int attempt = 0; attempt < 3; attempt++) {
            if (storage.createNew(lock, bytes)) return new OutputLock(storage, lock, run);
            Optional<Holder> h = read(storage, lock);
            if (h.isEmpty() && storage.kindOf(lock) == null) continue;   // released meanwhile
            if (h.isEmpty() || !h.get().run().goneFromThisHost()) throw held(out, lock, h);
            takeOver(storage, out, lock, h.get(), run);
        }
        throw held(out, lock, read(storage, lock));
    }

    /** Moves a dead run's lock aside and deletes it; puts back a live one moved by mistake (another run took it over first). */
    private static void takeOver(Storage storage, String out, String lock, Holder dead, RunId run) throws IOException {
        String aside = OutputDirectory.sibling(out, "lock-stale", run);
        try {
            if (!storage.rename(lock, aside)) return;
        } catch (FileNotFoundException e) {
            return;   // another run moved it first
        }
        Optional<Holder> moved = read(storage, aside);
        if (moved.isPresent() && moved.get().run().equals(dead.run())) {
            storage.delete(aside, false);
            return;
        }
        storage.rename(aside, lock);
        throw held(out, lock, moved);
    }

    /** Releases the lock if it is still this run's. */
    public void release() {
        try {
            Optional<Holder> h = read(storage, path);
            if (h.isPresent() && h.get().run().equals(run)) storage.delete(path, false);
        } catch (IOException e) {
            // A lock left behind is recognised as stale by the next run on this host.
        }
    }

    /** Who holds a lock, as its file says. */
    record Holder(RunId run, String command, String started) {}

    /** The lock's holder; empty when the file is gone, or does not name a run (being written, or not ours). */
    static Optional<Holder> read(Storage storage, String lock) throws IOException {
        JsonNode read;
        try (InputStream in = Channels.newInputStream(storage.openRead(lock))) {
            read = JSON.readTree(in.readNBytes(64 << 10));
        } catch (FileNotFoundException | JacksonException e) {
            return Optional.empty();
        }
        JsonNode j = read;
        if (j == null || !OutputManifest.COMMITTER.equals(j.path("committer").asText())) return Optional.empty();
        return RunId.parse(j.path("run").asText()).map(r -> new Holder(r, j.path("command").asText("?"), j.path("started").asText("?")));
    }

    private static BadInputException held(String out, String lock, Optional<Holder> h) {
        String who = h.map(x -> "a " + x.command() + " run, " + x.run().describe() + ", started " + x.started()).orElse("a lock that names no run");
        return new BadInputException("--out " + Storage.display(out) + ": another GradSpark run is writing it (" + who + "; lock " + Storage.display(lock)
                + "): wait for it to end, or choose another --out; if no such run is going, remove the lock");
    }
}
