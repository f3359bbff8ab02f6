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

    /**
     * A bad-input error in {@code e} or its causes, also when it reaches the driver inside a failed Spark
     * task (a {@code SparkException} whose message carries the executor's exception as text: its line);
     * null when there is none.
     */
    public static BadInputException carriedBy(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException b) return b;
            if (t instanceof org.apache.spark.SparkException && t.getMessage() != null && t.getMessage().contains(BadInputException.class.getName())) {
                String m = t.getMessage();
                int at = m.indexOf(BadInputException.class.getName() + ": ");
                String line = m.substring(at + BadInputException.class.getName().length() + 2).lines().findFirst().orElse(m);
                return new BadInputException(line);
            }
        }
        return null;
    }

    // The job's contract is one line per failure; causes (zip or OS messages) may carry newlines.
    private static String oneLine(String message) {
        return message == null ? null : message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }
}
