package org.gradspark.job.io;

import java.io.IOException;
import java.util.Map;

/**
 * The life of {@code --out} on any filesystem: nothing half-written, and nothing deleted that the
 * job did not write.
 *
 * <ul>
 *   <li>Outputs go to a temporary sibling {@code .NAME.gradspark-tmp-HOST-PID-ID} (the driver's
 *       {@link RunId} in its name), renamed into place at the end (atomic on HDFS and local
 *       disks). A failed job removes it; one left by a killed driver is removed by the next run on
 *       the same {@code --out} once that driver's process is gone (same host), and is recognisable
 *       as safe to delete by its name otherwise.</li>
 *   <li>{@code _SUCCESS} is written last. It is Spark's marker, and here it is also the
 *       {@linkplain OutputManifest manifest}: JSON naming the committer ({@code gradspark}) and
 *       every file the job wrote.</li>
 *   <li>An existing {@code --out} is replaced only when it is an earlier GradSpark output
 *       ({@link OutputDirectory}: its manifest lists exactly its files, plain names inside it).
 *       It is moved aside ({@code .NAME.gradspark-old-HOST-PID-ID}) for the rename, then only the
 *       files it lists are removed. Anything else is refused, and so is a run that reads one of its
 *       inputs from inside {@code --out}. An empty directory is used as it is.</li>
 *   <li>On an object store ({@link Storage#renameCopies}: {@code s3a://} and its kin) nothing is
 *       renamed: there a rename copies every byte again (and S3 has no atomic rename to offer), so
 *       the job writes each file, the executors' parts included, at its final key in {@code --out}
 *       itself, and {@code _SUCCESS} last. An object appears whole when its upload completes, and a
 *       reader that sees no {@code _SUCCESS} sees no result. An earlier output there loses its
 *       {@code _SUCCESS} first, then its listed files. A failed job removes what it wrote where the
 *       store still answers; where it does not (the store stopped mid-write), the files stay without
 *       {@code _SUCCESS}, and the next run refuses that {@code --out} until they are removed. Hadoop's
 *       S3A committers were not used: they commit Hadoop OutputFormats' task outputs, where these
 *       files are written by the job's own writers (the manifest committer, meant for ABFS and GCS,
 *       also renames).</li>
 * </ul>
 */
public final class JobOutput {
    private final Storage storage;
    private final String out;
    private final RunId run;
    private final String tmp;
    /** Whether the files are written at their final names in --out (an object store), not in the temporary. */
    private final boolean direct;
    private final String createdAncestor;  // the highest parent directory this run created, or null
    // Removes the temporary when the JVM is stopped mid-job (Ctrl-C, TERM); a SIGKILL leaves it to the next run.
    private final Thread onShutdown = new Thread(this::removeTemporary, "gradspark-remove-temporary");

    private JobOutput(Storage storage, String out, RunId run, String createdAncestor) {
        this.storage = storage;
        this.out = out;
        this.run = run;
        this.direct = Storage.renameCopies(out);
        this.tmp = direct ? out : OutputDirectory.sibling(out, "tmp", run);
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
     * output ({@link OutputDirectory#inspect}), not locked by a running fit; and that none of the
     * run's inputs (option to qualified URI) lies inside it.
     *
     * @throws BadInputException naming --out and what is in the way
     */
    public static void check(Storage storage, String out, Map<String, String> inputs) {
        inspect(storage, out, inputs);
    }

    private static OutputDirectory.Findings inspect(Storage storage, String out, Map<String, String> inputs) {
        OutputCommit.refuseInputsInside(out, inputs, "the output directory is replaced as a whole, so write it elsewhere");
        try {
            OutputLock.requireFree(storage, out);
            return OutputDirectory.inspect(storage, out, null);
        } catch (IOException e) {
            throw Storage.failure(out, e);
        }
    }

    /**
     * Starts an output: removes temporaries of this {@code --out} left by drivers that are gone,
     * then creates this run's temporary sibling (and the parent directories it needs, which a
     * failed run removes again).
     */
    public static JobOutput begin(Storage storage, String out) {
        String parent = Storage.parent(out);
        try {
            String created = null;
            for (String p = parent; p != null && !storage.exists(p); p = Storage.parent(p)) created = p;
            if (created == null) OutputDirectory.removeDeadSiblings(storage, out);
            JobOutput o = new JobOutput(storage, out, RunId.fresh(), created);
            if (o.direct) {
                o.clearInPlace();
                storage.mkdirs(out);
                return o;
            }
            if (!storage.mkdirs(o.tmp)) {
                o.abort();
                throw new IOException("cannot create " + o.tmp);
            }
            return o;
        } catch (IOException e) {
            throw new BadInputException("--out " + Storage.display(out) + ": cannot create a directory beside it: " + Storage.reason(e), e);
        }
    }

    /** An object store's --out, checked again: an earlier output loses its manifest, then its files; a dead run's leftovers go. */
    private void clearInPlace() throws IOException {
        if (!storage.exists(out)) return;
        OutputDirectory.Findings found = inspect(storage, out, Map.of());
        OutputDirectory.removeLeftovers(storage, out, found);
        if (found.kind() == OutputDirectory.Kind.EARLIER_OUTPUT) OutputCommit.removeEarlierInPlace(storage, out, found);
    }

    /** Where the job writes {@code name} (a path relative to --out). */
    public String file(String name) {
        return Storage.child(tmp, name);
    }

    /** The temporary directory (executors write their parts under it); --out itself on an object store. */
    public String temporary() {
        return tmp;
    }

    public String out() {
        return out;
    }

    /**
     * Writes the {@code _SUCCESS} manifest of every file written, then moves the result into
     * place, replacing an earlier GradSpark output (checked again now): moved aside, then its
     * listed files removed.
     */
    public void commit() {
        try {
            OutputManifest.write(storage, file(OutputManifest.MARKER), storage.filesUnder(tmp));
            if (direct) {
                settled();
                return;
            }
            String old = null;
            if (storage.exists(out)) {
                OutputDirectory.Findings earlier = inspect(storage, out, Map.of());
                OutputDirectory.removeLeftovers(storage, out, earlier);
                old = OutputDirectory.sibling(out, "old", run);
                if (!storage.rename(out, old)) throw new IOException("cannot move the earlier output " + out + " aside");
            }
            if (!storage.rename(tmp, out)) {
                if (old != null) storage.rename(old, out);
                throw new IOException("cannot rename " + tmp + " to " + out);
            }
            settled();
            if (old != null) OutputCommit.removeMovedAside(storage, old, JobOutput.class);
        } catch (IOException e) {
            throw Storage.unchecked("cannot move the results into " + Storage.display(out), e);
        }
    }

    /** Removes this run's temporary directory, and the parent directories it created. */
    public void abort() {
        settled();
        removeTemporary();
    }

    private void removeTemporary() {
        try {
            // On an object store: what this run wrote into --out, which it found without files.
            if (direct) {
                for (String f : storage.filesUnder(out)) storage.delete(Storage.child(out, f), false);
                return;
            }
            storage.delete(tmp, true);
            if (createdAncestor != null) OutputDirectory.removeEmptyDirectories(storage, createdAncestor);
        } catch (IOException e) {
            // The job's own failure is the one to report; the temporary is named as ours for the next run.
        }
    }
}
