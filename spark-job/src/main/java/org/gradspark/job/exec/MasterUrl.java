package org.gradspark.job.exec;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a {@code --master} URL says about where the tasks run, decided in one place. {@code local},
 * {@code local[N]}, {@code local[*]} and {@code local[N,F]} run the tasks in the driver's JVM, N at
 * a time; {@code local-cluster[W,C,M]} starts executor JVMs like a cluster does, so it is not
 * in-process although its name starts with "local" (the rule {@code startsWith("local")} got wrong).
 */
public record MasterUrl(String url) {
    private static final Pattern IN_PROCESS = Pattern.compile("local(?:\\[(\\d+|\\*)(?:\\s*,\\s*\\d+)?\\])?");

    public MasterUrl {
        java.util.Objects.requireNonNull(url, "master URL");
    }

    /** Whether the driver's JVM runs the tasks itself (no executor JVMs). */
    public boolean inProcess() {
        return IN_PROCESS.matcher(url.trim()).matches();
    }

    /**
     * How many tasks an in-process master runs at once: N of {@code local[N]}, the machine's
     * processors for {@code local[*]}, 1 for {@code local}.
     *
     * @throws IllegalStateException when the master is not in-process
     */
    public int inProcessTaskSlots() {
        Matcher m = IN_PROCESS.matcher(url.trim());
        if (!m.matches()) throw new IllegalStateException("--master " + url + " runs its tasks in executors, not in the driver");
        if (m.group(1) == null) return 1;
        return m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
    }

    @Override public String toString() {
        return url;
    }
}
