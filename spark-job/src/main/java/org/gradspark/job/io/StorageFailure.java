package org.gradspark.job.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.spark.SparkThrowable;

/**
 * A failure whose cause is storage, told in one line naming the file and the cause in words (a
 * quota exceeded, a NameNode that does not answer or stopped mid-call, a full disk, permissions):
 * found in the failure's chain of causes, where a task's exception arrives too (Spark makes it the
 * cause of the job's failure).
 */
public final class StorageFailure {
    private StorageFailure() {}

    /**
     * The line for {@code e}, or null when no I/O failure is in its chain: GradSpark's own message
     * ({@code cannot write FILE: CAUSE}: it names the file), or the file Spark could not read (its
     * {@code FAILED_READ_FILE} error, for Parquet and CSV input) and the cause.
     */
    public static String lineFor(Throwable e) {
        String file = null;
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof SparkThrowable s && s.getCondition() != null && s.getCondition().startsWith("FAILED_READ_FILE")) {
                file = s.getMessageParameters().get("path");
            }
            if (t instanceof UncheckedIOException u) return firstLine(u.getMessage());
            if (t instanceof IOException io) return (file == null ? "" : Storage.display(file) + ": ") + Storage.reason(io);
        }
        return null;
    }

    /** The cause in words of the first I/O failure in {@code e}'s chain (without the file), or null when there is none. */
    static String causeIn(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof IOException io) return Storage.reason(io);
        }
        return null;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
