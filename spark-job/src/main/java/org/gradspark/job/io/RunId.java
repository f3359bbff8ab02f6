package org.gradspark.job.io;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who wrote a temporary file: the driver's host, its process id and a random id, written into the
 * names of a run's temporaries ({@code HOST-PID-ID}, e.g. {@code node7-48213-9f3c01ab}) and into
 * its lock. A later run tells its own leftovers from a live run's by this tag: a tag of this host
 * whose process is gone belongs to a dead run; any other may belong to a run still going.
 *
 * <pre>{@code
 * RunId me = RunId.fresh();                                // node7-48213-9f3c01ab
 * RunId.parse("node7-1-00000000").get().goneFromThisHost(); // false while pid 1 runs on node7
 * }</pre>
 */
public record RunId(String host, long pid, String id) {
    /** HOST-PID-ID: the host as {@link #thisHost()} writes it, the pid in decimal, eight hex digits. */
    private static final Pattern TAG = Pattern.compile("([A-Za-z0-9._]+)-(\\d{1,19})-([0-9a-f]{8})");

    /** This process's identity, with a random id of its own. */
    public static RunId fresh() {
        return new RunId(thisHost(), ProcessHandle.current().pid(), UUID.randomUUID().toString().substring(0, 8));
    }

    /** The tag in {@code text}, which must be a whole HOST-PID-ID; empty otherwise. */
    public static Optional<RunId> parse(String text) {
        Matcher m = TAG.matcher(text);
        if (!m.matches()) return Optional.empty();
        try {
            return Optional.of(new RunId(m.group(1), Long.parseLong(m.group(2)), m.group(3)));
        } catch (NumberFormatException e) {
            return Optional.empty();   // more digits than a long holds: no process of ours
        }
    }

    /** HOST-PID-ID. */
    public String tag() {
        return host + "-" + pid + "-" + id;
    }

    /**
     * Whether the run was on this host and its process no longer runs (a reused pid counts as
     * running: kept, never removed). A process that has exited but is not yet reaped by its parent
     * (a zombie: state Z in {@code /proc/PID/stat}) holds nothing and counts as gone; Java's
     * {@link ProcessHandle#isAlive} calls it alive, and a driver killed with SIGKILL is one until
     * its parent (init, when the launching script was killed too) waits for it.
     */
    public boolean goneFromThisHost() {
        return host.equals(thisHost()) && !(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !exited(pid));
    }

    /** Whether {@code pid} has exited and waits to be reaped (Linux's /proc; false where it cannot be read). */
    static boolean exited(long pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');    // the command name, in parentheses, may hold spaces and ')'
            return close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'Z';
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** How messages name the run: {@code pid 48213 on host node7}. */
    public String describe() {
        return "pid " + pid + " on host " + host;
    }

    /** This host's name with anything but letters, digits and dots replaced by '_' (so that a tag parses back). */
    public static String thisHost() {
        return ThisHost.NAME;
    }

    // Looked up once: a slow resolver would otherwise be asked for every leftover considered.
    private static final class ThisHost {
        static final String NAME = lookUp();

        private static String lookUp() {
            try {
                return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.]", "_");
            } catch (UnknownHostException e) {
                return "localhost";
            }
        }
    }
}
