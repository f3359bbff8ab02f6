package org.gradspark.job.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.commons.io.output.TeeOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The console of a driver that runs in a YARN container ({@code --deploy-mode cluster}), kept for the user's
 * terminal: every line the driver prints (summary, progress, the one-line failure) still goes to the container's
 * log, and is also written, with the exit status, to one file that {@link YarnApplicationConsole} on the
 * submitting machine reads back and prints once the application has ended.
 *
 * <p>The file is {@code HOME/.gradspark-console/TAG} on the default filesystem of the application's Hadoop
 * configuration ({@code HOME}: the user's home directory there, where Spark stages the application too), TAG
 * being the key {@value #KEY} that gradspark-submit sets to the application's YARN tag. Its lines are
 * {@code out LINE} and {@code err LINE} in the order printed, then {@code exit STATUS}.
 */
public final class ClusterConsole {
    /** The Spark key that names the console file (set by gradspark-submit in YARN cluster mode only). */
    public static final String KEY = "spark.gradspark.clusterConsole";
    private static final Pattern TAG = Pattern.compile("gradspark-[0-9a-f]{32}");

    private final List<String> lines = new ArrayList<>();
    private final PrintStream out;
    private final PrintStream err;

    private ClusterConsole() {
        out = new PrintStream(new TeeOutputStream(System.out, new LineRecorder("out ")), true, StandardCharsets.UTF_8);
        err = new PrintStream(new TeeOutputStream(System.err, new LineRecorder("err ")), true, StandardCharsets.UTF_8);
    }

    /** A console to record when this JVM's Spark settings (system properties) have the key; else null. */
    static ClusterConsole fromSystemProperties() {
        return System.getProperty(KEY) == null ? null : new ClusterConsole();
    }

    PrintStream out() {
        return out;
    }

    PrintStream err() {
        return err;
    }

    /**
     * Writes the lines and {@code status} to the console file. A failure to write is said in the container's log and
     * leaves the submitting side the application's own final status and diagnostics.
     */
    void write(int status) {
        out.flush();
        err.flush();
        try {
            Map<String, String> keys = Launcher.keysOf(new org.apache.spark.SparkConf());
            Configuration conf = hadoopConf(keys);
            Path file = file(conf, keys.get(KEY));
            try (FSDataOutputStream s = file.getFileSystem(conf).create(file, true)) {
                StringBuilder b = new StringBuilder();
                synchronized (lines) {
                    for (String line : lines) b.append(line).append('\n');
                }
                b.append("exit ").append(status).append('\n');
                s.write(b.toString().getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("gradspark: could not write the console file for the submitting machine: " + e);
        }
    }

    /** The Hadoop configuration of a Spark conf's keys: Hadoop's defaults (and site files), then {@code spark.hadoop.*}. */
    static Configuration hadoopConf(Map<String, String> sparkKeys) {
        Configuration c = new Configuration();
        sparkKeys.forEach((k, v) -> {
            if (k.startsWith("spark.hadoop.")) c.set(k.substring("spark.hadoop.".length()), v);
        });
        return c;
    }

    /**
     * The console file of the application tagged {@code tag}: HOME/.gradspark-console/TAG on the default filesystem.
     *
     * @throws IllegalArgumentException when the tag is not one gradspark-submit makes (it names a file)
     */
    static Path file(Configuration conf, String tag) throws IOException {
        if (tag == null || !TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException(KEY + "=" + tag + ": not a tag gradspark-submit makes (gradspark- and 32 hex digits)");
        }
        return new Path(FileSystem.get(conf).getHomeDirectory(), ".gradspark-console/" + tag);
    }

    /** Reads a console file's lines: each {@code out }/{@code err } line, and last {@code exit N}. */
    static List<String> read(FileSystem fs, Path file) throws IOException {
        List<String> read = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) read.add(line);
        }
        return read;
    }

    /** Splits what is printed into lines, each kept with its stream's prefix. */
    private final class LineRecorder extends OutputStream {
        private final String prefix;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        LineRecorder(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                String text = line.toString(StandardCharsets.UTF_8);
                line.reset();
                synchronized (lines) {
                    lines.add(prefix + (text.endsWith("\r") ? text.substring(0, text.length() - 1) : text));
                }
            } else {
                line.write(b);
            }
        }
    }
}
