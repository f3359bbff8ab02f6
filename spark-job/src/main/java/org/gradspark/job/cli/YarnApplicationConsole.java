package org.gradspark.job.cli;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.exceptions.YarnException;

/**
 * The submitting side of {@code gradspark-submit --master yarn --deploy-mode cluster}: once spark-submit has
 * handed the application to YARN, this finds it by the tag gradspark-submit gave it, prints its id and tracking
 * URL, waits for it to end, and then prints what its driver printed ({@link ClusterConsole}'s file, removed
 * afterwards) and exits with the driver's status: 0 done, 2 bad input, 1 any other failure. Where the driver left
 * no console file (it never started, or could not write it), the status and a line come from YARN's final report.
 *
 * <p>Arguments: {@code TAG}. The ResourceManager and the default filesystem come from the Hadoop configuration on
 * the class path (YARN_CONF_DIR, HADOOP_CONF_DIR).
 */
public final class YarnApplicationConsole {
    private static final long FIND_TIMEOUT_MS = 60_000;
    private static final long POLL_MS = 1_000;
    private static final Pattern USER_EXIT = Pattern.compile("User application exited with status (\\d+)");
    private static final Set<YarnApplicationState> ENDED = EnumSet.of(YarnApplicationState.FINISHED, YarnApplicationState.FAILED,
            YarnApplicationState.KILLED);

    private YarnApplicationConsole() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: YarnApplicationConsole TAG");
            System.exit(2);
        }
        System.exit(watch(args[0], new YarnConfiguration(), System.out, System.err));
    }

    static int watch(String tag, YarnConfiguration conf, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        Path consoleFile = ClusterConsole.file(conf, tag);
        try (YarnClient yarn = YarnClient.createYarnClient()) {
            yarn.init(conf);
            yarn.start();
            ApplicationReport report = find(yarn, tag);
            if (report == null) {
                err.println("gradspark: YARN has no application tagged " + tag + " " + FIND_TIMEOUT_MS / 1000
                        + " s after spark-submit handed it over (ResourceManager " + conf.get(YarnConfiguration.RM_ADDRESS) + ")");
                return 1;
            }
            out.println("GradSpark YARN application " + report.getApplicationId() + " (cluster deploy mode), tracking URL " + trackingUrl(report, conf));
            out.flush();
            while (!ENDED.contains(report.getYarnApplicationState())) {
                Thread.sleep(POLL_MS);
                report = yarn.getApplicationReport(report.getApplicationId());
            }
            return ended(report, consoleFile.getFileSystem(conf), consoleFile, out, err);
        } catch (YarnException e) {
            err.println("gradspark: the ResourceManager " + conf.get(YarnConfiguration.RM_ADDRESS) + " failed to answer: " + firstLine(e));
            return 1;
        }
    }

    /**
     * The report's tracking URL; but a ResourceManager whose web UI was configured on port 0 (a MiniYARNCluster's)
     * makes its proxy's URLs with that 0, and the client's configuration has the port it bound.
     */
    private static String trackingUrl(ApplicationReport report, YarnConfiguration conf) {
        String url = report.getTrackingUrl();
        Matcher m = Pattern.compile("^(https?://)[^/:]+:0(/.*)$").matcher(url == null ? "" : url);
        return m.matches() ? m.group(1) + conf.get(YarnConfiguration.RM_WEBAPP_ADDRESS) + m.group(2) : url;
    }

    private static ApplicationReport find(YarnClient yarn, String tag) throws IOException, YarnException, InterruptedException {
        long deadline = System.currentTimeMillis() + FIND_TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            List<ApplicationReport> found = yarn.getApplications(null, null, Set.of(tag));
            if (!found.isEmpty()) return found.get(0);
            Thread.sleep(POLL_MS / 4);
        }
        return null;
    }

    /** Prints the driver's console and returns its status; or, without one, YARN's account of how the application ended. */
    private static int ended(ApplicationReport report, FileSystem fs, Path consoleFile, PrintStream out, PrintStream err) throws IOException {
        List<String> lines;
        try {
            lines = ClusterConsole.read(fs, consoleFile);
        } catch (FileNotFoundException e) {
            return withoutConsole(report, consoleFile, err);
        }
        fs.delete(consoleFile, false);
        String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        if (!last.matches("exit \\d{1,3}")) {
            err.println("gradspark: the driver's console file " + consoleFile + " has no exit status on its last line ('" + last + "'); the application "
                    + report.getApplicationId() + " ended " + report.getFinalApplicationStatus());
            return 1;
        }
        for (int i = 0; i < lines.size() - 1; i++) {
            String line = lines.get(i);
            if (line.startsWith("out ")) out.println(line.substring(4));
            else if (line.startsWith("err ")) err.println(line.substring(4));
            else {
                err.println("gradspark: the driver's console file " + consoleFile + ", line " + (i + 1) + ": neither 'out ' nor 'err ' ('" + line + "')");
                return 1;
            }
        }
        return Integer.parseInt(last.substring(5));
    }

    private static int withoutConsole(ApplicationReport report, Path consoleFile, PrintStream err) {
        FinalApplicationStatus status = report.getFinalApplicationStatus();
        if (status == FinalApplicationStatus.SUCCEEDED) {
            err.println("gradspark: " + report.getApplicationId() + " succeeded, but its driver left no console file (" + consoleFile + ")");
            return 0;
        }
        String diagnostics = report.getDiagnostics() == null ? "" : report.getDiagnostics();
        Matcher m = USER_EXIT.matcher(diagnostics);
        err.println("gradspark: " + report.getApplicationId() + " ended " + report.getYarnApplicationState() + " (" + status + "): "
                + (diagnostics.isBlank() ? "no diagnostics" : firstLine(diagnostics)) + "; its driver left no console file (the container's log has its output)");
        return m.find() ? Integer.parseInt(m.group(1)) : 1;
    }

    private static String firstLine(Object o) {
        String s = String.valueOf(o instanceof Throwable t ? t.getMessage() : o);
        return s.lines().filter(l -> !l.isBlank()).findFirst().orElse(s);
    }

}
