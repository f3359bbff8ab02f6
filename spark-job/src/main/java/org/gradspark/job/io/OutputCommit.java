package org.gradspark.job.io;

import java.io.IOException;
import java.util.Map;

/**
 * The steps that {@code grad}'s and {@code fit}'s outputs share, written once so that the two cannot
 * drift apart: an output directory is never one that the run reads from; the {@code _SUCCESS}
 * manifest ({@link OutputManifest#MARKER}) lists every file and is written last; an earlier output on
 * an object store loses its manifest before its files (a reader that sees no manifest sees no
 * result); an earlier output elsewhere is moved aside whole, then only the files its manifest lists
 * are removed. Each job's own order of these steps is its class's: {@code JobOutput} (a temporary
 * directory renamed into place) and {@code FitOutput} (checkpoints written in place as the fit runs).
 */
public final class OutputCommit {
    private OutputCommit() {}

    /**
     * Refuses an {@code out} that holds one of the run's inputs (option to qualified URI; null values
     * are absent inputs), since the output directory's earlier contents are removed.
     *
     * @param advice what the user should do instead, after "which this run reads; "
     * @throws BadInputException naming --out and the input
     */
    public static void refuseInputsInside(String out, Map<String, String> inputs, String advice) {
        for (Map.Entry<String, String> in : inputs.entrySet()) {
            if (in.getValue() != null && Storage.within(in.getValue(), out)) {
                throw new BadInputException("--out " + Storage.display(out) + ": holds " + in.getKey() + " " + Storage.display(in.getValue())
                        + ", which this run reads; " + advice);
            }
        }
    }

    /** An earlier output on an object store, where nothing is renamed: its manifest first, then the files it lists. */
    public static void removeEarlierInPlace(Storage storage, String out, OutputDirectory.Findings found) throws IOException {
        storage.delete(Storage.child(out, OutputManifest.MARKER), false);
        for (String f : found.listed()) storage.delete(Storage.child(out, f), false);
    }

    /** Removes an earlier output that was moved aside to {@code old}: the files its manifest lists, and a warning for any other. */
    public static void removeMovedAside(Storage storage, String old, Class<?> owner) throws IOException {
        if (!OutputDirectory.removeEarlier(storage, old)) {
            org.slf4j.LoggerFactory.getLogger(owner).warn("{}: the earlier output moved aside keeps files its manifest does not list", old);
        }
    }
}
