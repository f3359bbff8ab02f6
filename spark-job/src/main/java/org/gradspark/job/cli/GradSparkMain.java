package org.gradspark.job.cli;

import java.io.PrintStream;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.exec.MasterUrl;
import org.gradspark.job.io.BadInputException;

/**
 * The application {@code spark-submit} runs: {@code grad [job options]} (the gradient job),
 * {@code fit} ({@link org.gradspark.job.cli.FitMain}) or {@code tutorial}, each through {@link Launcher}.
 * A user mistake exits with code 2 and one line naming the culprit.
 */
public final class GradSparkMain {
    private GradSparkMain() {}

    public static void main(String[] args) throws org.apache.spark.SparkUserAppException {
        ClusterConsole console = ClusterConsole.fromSystemProperties();
        if (console == null) {
            int code = run(args, System.out, System.err);
            // The run has printed its last line; what Spark's threads print as the JVM ends goes to the log.
            System.out.flush();
            System.setErr(Launcher.driverLog());
            if (code != 0) System.exit(code);
            return;
        }
        // In a YARN container (cluster deploy mode) the console goes to a file the submitting machine prints; an
        // exit status is the application master's to report (an exit here would stop it before it had said how it ended).
        int code = run(args, console.out(), console.err());
        console.write(code);
        if (code != 0) throw new org.apache.spark.SparkUserAppException(code, null);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            out.println("usage: gradspark-submit [spark-submit options] grad [job options] | fit [job options] [fit options] | tutorial\n\n" + JobOptions.usage());
            return args.length == 0 ? 2 : 0;
        }
        String[] commandArgs = java.util.Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "grad" -> Launcher.launch(new Grad(), commandArgs, out, err);
            case "fit" -> org.gradspark.job.cli.FitMain.run(commandArgs, out, err);
            case "tutorial" -> Launcher.launch(new Tutorial(), commandArgs, out, err);
            default -> {
                err.println("gradspark: unknown command '" + args[0] + "' (expected grad, fit or tutorial)");
                yield 2;
            }
        };
    }

    /** {@code grad}: the options as parsed, and the inputs they name, checked. */
    private record CheckedJob(JobConfig cfg, JobInputs inputs) {}

    /** {@code grad}: the gradient job ({@link GradientJob}) and its summary line. */
    private static final class Grad implements Launcher.Command<CheckedJob> {
        @Override public String usage() {
            return "usage: gradspark-submit [spark-submit options] grad [job options]\n\n" + JobOptions.usage();
        }

        @Override public String appName() {
            return "GradSpark grad";
        }

        @Override public CheckedJob check(String[] args, Map<String, String> keys, SparkConf conf) {
            JobConfig cfg = JobOptions.parse(keys, args);
            // Every file the job names is checked once, before Spark starts.
            JobInputs checked = JobInputs.check(cfg, org.gradspark.job.io.Storage.fromSparkConf(keys));
            Launcher.configure(conf, checked.cfg());
            return new CheckedJob(cfg, checked);
        }

        @Override public void run(JavaSparkContext jsc, CheckedJob job, PrintStream out) {
            GradientJob.Result r = GradientJob.run(jsc, job.inputs());
            printSummary(out, jsc, job.cfg(), r);
            out.println("GradSpark wrote " + org.gradspark.job.io.Storage.display(r.out()));
        }

        @Override public String interruptedLine(CheckedJob job) {
            String log = System.getProperty("gradspark.logFile");
            // A TERM or Ctrl-C, or Spark exiting the JVM after a fatal error in a task (an OutOfMemoryError in local mode);
            // the temporary output is removed by JobOutput's own hook.
            return "stopped before the end (interrupted, or a fatal error in a task such as running out of memory"
                    + (log != null ? ": see " + log : "") + "); nothing was written to --out";
        }
    }

    /** {@code tutorial}: the examples, or with {@code --help} what it does; it takes no other option. */
    private static final class Tutorial implements Launcher.Command<Void> {
        @Override public String usage() {
            return "usage: gradspark-submit [spark-submit options] tutorial\n\nRuns the six examples of MindSpore's GradOperation tutorial"
                    + " (gradients with respect to an input and a weight, with sensitivities, with and without stop_gradient, a second derivative)"
                    + " and prints their results. It takes no options.";
        }

        @Override public String appName() {
            return "GradSpark tutorial";
        }

        @Override public Void check(String[] args, Map<String, String> keys, SparkConf conf) {
            if (args.length > 0) throw new BadInputException("tutorial takes no options, got '" + args[0] + "' (gradspark-submit tutorial --help)");
            return null;
        }

        @Override public boolean startsSpark() {
            return false;
        }

        @Override public void run(JavaSparkContext jsc, Void nothing, PrintStream out) {
            org.gradspark.ad.tutorial.TutorialExamples.main(new String[0]);
        }

        @Override public String interruptedLine(Void nothing) {
            return "interrupted";
        }
    }

    /** The run's one summary line; its rate is over the tasks (on a small job, the time in all is mostly Spark's start-up). */
    private static void printSummary(PrintStream out, JavaSparkContext jsc, JobConfig cfg, GradientJob.Result r) {
        out.printf("GradSpark %s: %d rows%s in %d partitions on %s, %.2f s in all, %.2f s in the tasks (%.0f rows/s); backend %s; sum of outputs %.6g%s%n",
                cfg.mode() == JobConfig.Mode.HVP ? "hvp" : "grad", r.rows(), r.skippedRows() == 0 ? "" : " (" + r.skippedRows() + " skipped, "
                        + (r.rows() - r.skippedRows()) + " used)", r.partitions(), r.summary().get("master"),
                (Double) r.summary().get("wall_s"), (Double) r.summary().get("tasks_s"), (Double) r.summary().get("tasks_rows_per_s"),
                // In local mode this JVM has logged "GradSpark backend: NAME on DEVICE": the name is enough here.
                new MasterUrl(jsc.master()).inProcess() ? cfg.backend() : r.summary().get("backend"), r.outputSum(), noiseScale(r.summary()));
    }

    /** {@code ; gradient noise scale B} when the job computed it (README: Gradient statistics), else nothing. */
    private static String noiseScale(Map<String, Object> summary) {
        Object b = summary.get("gradient_noise_scale");
        return b == null ? "" : String.format(java.util.Locale.ROOT, "; gradient noise scale %.4g", (Double) b);
    }
}
