package org.gradspark.job.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * fit's {@code --out}. Unlike {@code grad}'s, it is written while the job runs: checkpoints go to
 * {@code --out/checkpoints/} as they are made (so that a killed driver leaves them where {@code
 * --resume} finds them); the final files are written under temporary names
 * ({@code .NAME.gradspark-pending-HOST-PID-ID}, this run's {@link RunId}) and renamed into place at
 * the end, then {@code _SUCCESS} (the manifest of every file, as {@code grad} writes it) last, itself
 * written first as {@code ._SUCCESS.gradspark-pending-HOST-PID-ID} so that files renamed before a
 * kill are known as this run's. So an unfinished fit is a directory of checkpoints without
 * {@code _SUCCESS}.
 *
 * <p>One fit at a time writes an {@code --out}: the run holds {@link OutputLock} from {@link #begin}
 * to {@link #commit} or {@link #abort}, and a second run is refused naming the first.
 *
 * <p>{@code --out} may be absent, empty, an earlier GradSpark output (its files are removed when the
 * fit starts, since checkpoints are written into it at once), or an unfinished fit when resuming
 * ({@code --resume}); anything else is refused ({@link OutputDirectory}), and so is an unfinished fit
 * without {@code --resume} (its checkpoints would be overwritten). A dead run's leftovers (pending
 * files, a checkpoint being written, a stale lock) are removed.
 *
 * <p>On an object store ({@link Storage#renameCopies}) nothing is renamed, as for {@code grad}: the
 * final files are written at their names and {@code _SUCCESS} last; an earlier output loses its
 * {@code _SUCCESS} first, then its files. A fit stopped between its final files and {@code _SUCCESS}
 * leaves files that no manifest lists, which the next run refuses until they are removed.
 */
public final class FitOutput {
    /** The directory under --out that holds a fit's checkpoints ({@code Checkpoint} writes them there). */
    public static final String CHECKPOINTS_DIR = "checkpoints";
    private static final Pattern CHECKPOINT = Pattern.compile("iter-\\d{6,}");
    // The checkpoint writer's temporary: "." + Checkpoint.name(iteration) + ".tmp-" + eight hex digits.
    private static final Pattern CHECKPOINT_TMP = Pattern.compile("\\.iter-\\d{6,}\\.tmp-[0-9a-f]{8}");

    /** An unfinished fit's checkpoints directory, as the output's inspection sees it. */
    static final OutputDirectory.Checkpoints CHECKPOINTS = new OutputDirectory.Checkpoints() {
        @Override public String dir() {
            return CHECKPOINTS_DIR;
        }

        @Override public boolean isCheckpoint(String name) {
            return CHECKPOINT.matcher(name).matches();
        }

        @Override public boolean isTemporary(String name) {
            return CHECKPOINT_TMP.matcher(name).matches();
        }
    };

    private final Storage storage;
    private final String out;
    private final RunId run;
    private final OutputLock lock;
    private final Set<String> pending = new LinkedHashSet<>();
    // Ctrl-C or TERM mid-fit: the pending files go and the lock is released (the checkpoints stay); a SIGKILL leaves them to the next run.
    private final Thread onShutdown = new Thread(this::dropPending, "gradspark-fit-release");

    private FitOutput(Storage storage, String out, RunId run, OutputLock lock) {
        this.storage = storage;
        this.out = out;
        this.run = run;
        this.lock = lock;
        Runtime.getRuntime().addShutdownHook(onShutdown);
    }

    /** What {@link #check} found. */
    public enum State { ABSENT, EMPTY, EARLIER_OUTPUT, UNFINISHED_FIT }

    /**
     * Checks {@code --out} before any work, changing nothing.
     *
     * @param inputs the run's input files by option (qualified); none may lie inside --out
     * @param resume the qualified --resume directory, or null
     */
    public static State check(Storage storage, String out, Map<String, String> inputs, String resume) {
        try {
            OutputLock.requireFree(storage, out);
            return State.valueOf(inspect(storage, out, inputs, resume).kind().name());
        } catch (IOException e) {
            throw Storage.failure(out, e);
        }
    }

    private static OutputDirectory.Findings inspect(Storage storage, String out, Map<String, String> inputs, String resume) throws IOException {
        OutputCommit.refuseInputsInside(out, inputs, "write the fit elsewhere");
        OutputDirectory.Findings found = OutputDirectory.inspect(storage, out, CHECKPOINTS);
        if (found.kind() == OutputDirectory.Kind.EARLIER_OUTPUT && resume != null && Storage.within(resume, out)) {
            throw new BadInputException("--resume " + Storage.display(resume) + ": inside --out " + Storage.display(out)
                    + ", a finished fit's output, which a new run replaces: resume into another --out");
        }
        if (found.kind() == OutputDirectory.Kind.UNFINISHED_FIT && resume == null) {
            throw new BadInputException("--out " + Storage.display(out) + ": holds the checkpoints of an unfinished fit; continue it with --resume "
                    + Storage.display(Storage.child(out, CHECKPOINTS_DIR)) + ", or choose another --out");
        }
        return found;
    }

    /**
     * Starts the output: takes the lock (refusing a second run), checks {@code --out} again (another
     * run may have changed it since {@link #check}), removes a dead run's leftovers, moves an
     * earlier output aside and removes its files, and makes the checkpoints directory.
     */
    public static FitOutput begin(Storage storage, String out, Map<String, String> inputs, String resume) {
        String parent = Storage.parent(out);
        if (parent == null) throw new BadInputException("--out " + Storage.display(out) + ": the root cannot be an output directory");
        OutputLock lock = null;
        try {
            storage.mkdirs(parent);
            RunId run = RunId.fresh();
            lock = OutputLock.acquire(storage, out, run, "fit");
            OutputDirectory.Findings found = inspect(storage, out, inputs, resume);
            OutputDirectory.removeDeadSiblings(storage, out);
            OutputDirectory.removeLeftovers(storage, out, found);
            if (found.kind() == OutputDirectory.Kind.EARLIER_OUTPUT && Storage.renameCopies(out)) OutputCommit.removeEarlierInPlace(storage, out, found);
            else if (found.kind() == OutputDirectory.Kind.EARLIER_OUTPUT) removeEarlier(storage, out, run);
            storage.mkdirs(Storage.child(out, CHECKPOINTS_DIR));
            return new FitOutput(storage, out, run, lock);
        } catch (IOException | RuntimeException e) {
            if (lock != null) lock.release();
            if (e instanceof RuntimeException r) throw r;
            throw Storage.unchecked("--out " + Storage.display(out), (IOException) e);
        }
    }

    /** The earlier output is moved aside first, so that a kill leaves either it whole or a dead run's sibling. */
    private static void removeEarlier(Storage storage, String out, RunId run) throws IOException {
        String old = OutputDirectory.sibling(out, "old", run);
        if (!storage.rename(out, old)) throw new IOException("cannot move the earlier output " + Storage.display(out) + " aside");
        OutputCommit.removeMovedAside(storage, old, FitOutput.class);
    }

    public String checkpoints() {
        return Storage.child(out, CHECKPOINTS_DIR);
    }

    /** Where a final file is written before {@link #commit} renames it to {@code name}. */
    public String pending(String name) {
        pending.add(name);
        return pendingPath(name);
    }

    /** A final file's pending path: its own name on an object store, where nothing is renamed. */
    private String pendingPath(String name) {
        return Storage.child(out, Storage.renameCopies(out) ? name : OutputDirectory.pendingName(name, run));
    }

    /**
     * Renames the final files into place and writes the manifest of every file under --out: the
     * manifest is written first under its pending name, and renamed to {@code _SUCCESS} last.
     */
    public void commit(List<String> names) {
        try {
            if (Storage.renameCopies(out)) {
                OutputManifest.write(storage, Storage.child(out, OutputManifest.MARKER), storage.filesUnder(out));
                pending.clear();
                settled();
                lock.release();
                return;
            }
            List<String> files = new ArrayList<>();
            for (String f : storage.filesUnder(out)) {
                String finalName = names.stream().filter(n -> f.equals(OutputDirectory.pendingName(n, run))).findFirst().orElse(f);
                if (!finalName.equals(OutputManifest.MARKER)) files.add(finalName);
            }
            files.sort(null);
            String journal = pending(OutputManifest.MARKER);
            OutputManifest.write(storage, journal, files);
            for (String n : names) {
                String to = Storage.child(out, n);
                if (storage.exists(to)) storage.delete(to, false);
                if (!storage.rename(pending(n), to)) throw new IOException("cannot rename " + pending(n) + " to " + to);
            }
            if (!storage.rename(journal, Storage.child(out, OutputManifest.MARKER))) throw new IOException("cannot rename " + journal + " to " + OutputManifest.MARKER);
            pending.clear();
            settled();
            lock.release();
        } catch (IOException e) {
            throw Storage.unchecked("cannot move the results into " + Storage.display(out), e);
        }
    }

    /** A failed fit keeps its checkpoints (to resume from) and drops the pending final files. */
    public void abort(List<String> names) {
        names.forEach(this::pending);
        settled();
        dropPending();
    }

    private void dropPending() {
        for (String n : pending) {
            try {
                storage.delete(pendingPath(n), false);
            } catch (IOException ignored) {
                // the fit's own failure is the one to report; a dead run's pending files are removed by the next
            }
        }
        lock.release();
    }

    private void settled() {
        try {
            Runtime.getRuntime().removeShutdownHook(onShutdown);
        } catch (IllegalStateException stopping) {
            // the hook runs, or has run
        }
    }
}
