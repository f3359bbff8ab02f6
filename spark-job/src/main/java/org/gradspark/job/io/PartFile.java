package org.gradspark.job.io;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;

/**
 * One task attempt's part file, in a directory the job commits as a whole. Written to a hidden
 * attempt file {@code .STEM.attempt-ID} beside it (STEM: the name up to its first dot) and renamed to
 * its name when complete, so that a killed attempt never leaves a partial part under that name; a
 * retried or speculative attempt writes the same bytes, so whichever rename wins, the part is the
 * same. On an object store ({@link Storage#renameCopies}) it is written at its final key instead: the
 * object appears when its upload completes at {@link #commit}, and a failed attempt's upload is
 * {@linkplain Storage#abandon abandoned}, never completed. The driver removes attempt files a killed
 * executor left (names starting with {@code .part-}).
 */
public final class PartFile {
    private final Storage storage;
    private final String attempt, file;
    private final OutputStream stream;
    private boolean done;

    private PartFile(Storage storage, String attempt, String file, OutputStream stream) {
        this.storage = storage;
        this.attempt = attempt;
        this.file = file;
        this.stream = stream;
    }

    /** The attempt file of part {@code file} for task attempt {@code attemptId}: the part itself on an object store. */
    public static String attemptOf(String file, long attemptId) {
        if (Storage.renameCopies(file)) return file;
        String name = Storage.name(file);
        int dot = name.indexOf('.');
        return Storage.child(Storage.parent(file), "." + (dot < 0 ? name : name.substring(0, dot)) + ".attempt-" + attemptId);
    }

    /** Creates this attempt's file of part {@code file}, in its directory as it is ({@link Storage#createInExisting}). */
    public static PartFile open(Storage storage, String file, long attemptId) throws IOException {
        String attempt = attemptOf(file, attemptId);
        return new PartFile(storage, attempt, file, storage.createInExisting(attempt));
    }

    /** The stream to write the part to; closed by the writer that wraps it before {@link #commit}. */
    public OutputStream stream() {
        return stream;
    }

    /** The file being written: the attempt file, or the part itself on an object store (for messages). */
    public String writing() {
        return attempt;
    }

    /** The part is complete and its stream closed: renames the attempt file to the part's name. */
    public void commit() throws IOException {
        if (!attempt.equals(file) && !storage.rename(attempt, file)) {
            if (!storage.exists(file)) throw new IOException("cannot rename " + attempt + " to " + file);
            storage.delete(attempt, false);   // another attempt's identical part is in place
        }
        done = true;
    }

    /**
     * After a failure: nothing of this attempt is published. On an object store the upload is
     * abandoned (the stream, not {@code writer}, which would complete it); elsewhere {@code writer} (the
     * stream's wrapper, or null) is closed and the attempt file deleted.
     */
    public void discard(Closeable writer) {
        if (done) return;
        if (attempt.equals(file)) {
            try {
                Storage.abandon(stream);
            } catch (IOException | IllegalStateException ignored) {
                // nothing was published
            }
            return;
        }
        try {
            if (writer != null) writer.close();
            else stream.close();
        } catch (IOException | RuntimeException ignored) {
            // incomplete on purpose
        }
        try {
            storage.delete(attempt, false);
        } catch (IOException ignored) {
            // the driver's clean-up removes it
        }
    }
}
