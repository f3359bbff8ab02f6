package org.gradspark.job.io;

/**
 * Input the job cannot use: a missing, unreadable, corrupt or unsupported file, or data that does
 * not fit. The job prints the message as one line and exits with code 2, so the message must say
 * which file (and key, row, column) is at fault and what is wrong with it.
 *
 * <pre>{@code
 * throw new BadInputException("w.npz, key 'w0': dtype '<i8' (int64) is not supported");
 * // w.npz, key 'w0': dtype '<i8' (int64) is not supported
 * }</pre>
 *
 * Rows and columns are 0-based, as NumPy indexes them.
 */
public class BadInputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
        super(oneLine(message));
    }

    public BadInputException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    // The job's contract is one line per failure; causes (zip or OS messages) may carry newlines.
    private static String oneLine(String message) {
        return message == null ? null : message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }
}
