package org.gradspark.job;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.io.BadInputException;

/**
 * The application {@code spark-submit} runs: {@code grad [job options]} (the gradient job) or
 * {@code tutorial}. A user mistake exits with code 2 and one line naming the culprit.
 */
public final class GradSparkMain {
    private GradSparkMain() {}

    public static void main(String[] args) throws org.apache.spark.SparkUserAppException {
        ClusterConsole console = ClusterConsole.fromSystemProperties();
        if (console == null) {
            int code = run(args, System.out, System.err);
            // The run has printed its last line; what Spark's threads print as the JVM ends goes to the log.
            System.out.flush();
            System.setErr(driverLog());
            if (code != 0) System.exit(code);
            return;
        }
        // In a YARN container (cluster deploy mode) the console goes to a file the submitting machine prints; an
        // exit status is the application master's to report (an exit here would stop it before it had said how it ended).
        int code = run(args, console.out(), console.err());
        console.write(code);
        if (code != 0) throw new org.apache.spark.SparkUserAppException(code, null);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            out.println("usage: gradspark-submit [spark-submit options] grad [job options] | fit [job options] [fit options] | tutorial\n\n" + JobOptions.usage());
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("tutorial")) return tutorial(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
        if (args[0].equals("fit")) return org.gradspark.job.fit.FitMain.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
        if (!args[0].equals("grad")) {
            err.println("gradspark: unknown command '" + args[0] + "' (expected grad, fit or tutorial)");
            return 2;
        }
        String[] jobArgs = java.util.Arrays.copyOfRange(args, 1, args.length);
        if (java.util.Arrays.asList(jobArgs).contains("--help") || java.util.Arrays.asList(jobArgs).contains("-h")) {
            out.println("usage: gradspark-submit [spark-submit options] grad [job options]\n\n" + JobOptions.usage());
            return 0;
        }
        SparkConf conf = submittedConf("GradSpark grad");
        Map<String, String> keys = keysOf(conf);
        JobConfig cfg;
        JobInputs checked;
        try {
            cfg = JobOptions.parse(keys, jobArgs);
            // Every file the job names is checked once, before Spark starts.
            checked = JobInputs.check(cfg, org.gradspark.job.io.Storage.fromSparkConf(keys));
            configure(conf, checked.cfg());
        } catch (BadInputException e) {
            err.println("gradspark: " + e.getMessage());
            return 2;
        } catch (OutOfMemoryError e) {
            return fail(err, "out of memory in the driver while reading the inputs (heap " + (Runtime.getRuntime().maxMemory() >> 20)
                    + " MiB): raise --driver-memory", e, 2);
        }
        JavaSparkContext jsc;
        try {
            jsc = new JavaSparkContext(GradientJob.configure(conf));
        } catch (RuntimeException e) {
            return cannotStart(err, conf, e);
        }
        ApplicationWatch watch = ApplicationWatch.attach(jsc);
        Thread interrupted = interruptNotice(err);
        try {
            jsc.setLogLevel(conf.get("spark.gradspark.logLevel", "WARN"));
            GradientJob.Result r = GradientJob.run(jsc, checked);
            printSummary(out, jsc, cfg, r);
            out.println("GradSpark wrote " + org.gradspark.job.io.Storage.display(r.out()));
            return 0;
        } catch (Exception | Error e) {   // Scala code throws checked exceptions undeclared
            return failed(err, watch, e);   // before the context is closed (Spark's events, the storage's state)
        } finally {
            closeQuietly(jsc);
            Runtime.getRuntime().removeShutdownHook(interrupted);
        }
    }

    /**
     * Closes the context with {@link System#err} sent to the driver's log meanwhile (nowhere without
     * one): the run's last line is printed, and Spark's shutdown races (an RPC answer completing a
     * future on a thread pool already stopped) print their stack traces there through Scala's default
     * reporter, not on the console. The caller's own stream (the console) is not affected.
     */
    public static void closeQuietly(JavaSparkContext jsc) {   // public: fit's too
        PrintStream before = System.err;
        System.setErr(driverLog());
        try {
            jsc.close();
        } finally {
            System.err.flush();
            System.setErr(before);
        }
    }

    /** The driver's log file (gradspark.logFile) appended to, or a stream to nowhere. */
    static PrintStream driverLog() {
        String log = System.getProperty("gradspark.logFile");
        if (log != null) {
            try {
                return new PrintStream(new java.io.FileOutputStream(log, true), true, java.nio.charset.StandardCharsets.UTF_8);
            } catch (java.io.IOException | SecurityException e) {
                // nowhere, then
            }
        }
        return new PrintStream(java.io.OutputStream.nullOutputStream());
    }

    /** {@code tutorial}: the examples, or with {@code --help} what it does; it takes no other option. */
    private static int tutorial(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            org.gradspark.ad.tutorial.TutorialExamples.main(new String[0]);
            return 0;
        }
        if (args[0].equals("--help") || args[0].equals("-h")) {
            out.println("usage: gradspark-submit [spark-submit options] tutorial\n\nRuns the six examples of MindSpore's GradOperation tutorial"
                    + " (gradients with respect to an input and a weight, with sensitivities, with and without stop_gradient, a second derivative)"
                    + " and prints their results. It takes no options.");
            return 0;
        }
        err.println("gradspark: tutorial takes no options, got '" + args[0] + "' (gradspark-submit tutorial --help)");
        return 2;
    }

    /** How the line for a Spark start that failed in a race of Spark's own begins (gradspark-bench runs such a job again). */
    public static final String RACE_AT_START = "Spark failed as it started, in a race of its own";

    /**
     * The one line for a Spark context that did not start. On a cluster, one that Spark stopped
     * while it started (its calls then fail with an IllegalStateException) is a cluster manager that
     * gave up on the application: a standalone master that did not answer its 3 registration
     * attempts, for one; both are exit 2, the master or the settings being the user's to fix.
     * A ConcurrentModificationException is none of the user's doing (the web UI's Jetty throws one
     * now and then on a loaded machine as its handlers start): exit 1, as for any failure of Spark's.
     */
    public static int cannotStart(PrintStream err, SparkConf conf, RuntimeException e) {   // public: fit's too
        String master = conf.get("spark.master");
        boolean local = new MasterUrl(master).inProcess();
        Throwable root = rootCause(e);
        if (root instanceof java.util.ConcurrentModificationException) {
            boolean webUi = startingWebUi(e);
            StackTraceElement at = root.getStackTrace().length == 0 ? null : root.getStackTrace()[0];
            return fail(err, RACE_AT_START + " (" + rootMessage(e) + (at == null ? "" : " in " + at.getClassName() + "." + at.getMethodName())
                    + (webUi ? ", while its web UI started" : "") + "), not because of the job or its input: run it again"
                    + (webUi ? " (the web UI can be left off: --conf spark.ui.enabled=false)" : ""), e, 1);
        }
        // Spark stopping the context under its own start shows as either: calls on a stopped context (IllegalStateException),
        // or SparkContext's start reading its task scheduler after the stop cleared it (a NullPointerException raised in SparkContext).
        boolean stoppedWhileStarting = root instanceof IllegalStateException || root instanceof NullPointerException
                && root.getStackTrace().length > 0 && root.getStackTrace()[0].getClassName().startsWith("org.apache.spark.SparkContext");
        if (!local && stoppedWhileStarting) {
            return fail(err, "Spark stopped the application as it started: " + masterQuestion(master), e, 2);
        }
        return fail(err, "cannot start Spark with --master " + master + ": " + rootMessage(e), e, 2);
    }

    /** Whether {@code e} was thrown from the start of Spark's web UI (its classes or the Jetty it runs on). */
    private static boolean startingWebUi(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            for (StackTraceElement f : t.getStackTrace()) {
                if (f.getClassName().startsWith("org.apache.spark.ui.") || f.getClassName().contains(".jetty.")) return true;
            }
        }
        return false;
    }

    private static String masterQuestion(String master) {
        return "did --master " + master + " accept it (is the URL right, the master running, and a worker with enough memory and cores registered)?";
    }

    /** The Spark settings a job needs: the warm-up plugin with the job's model; a backend this JVM cannot start, in local mode. */
    public static void configure(SparkConf conf, JobConfig cfg) {   // public: fit's too (org.gradspark.job.fit.FitMain)
        // Each task runs on the job's backend (Backends.scoped in its thread), as does the warm-up of
        // the job's model, which starts with each executor (GradSparkPlugin) unless a key says none.
        if (!conf.contains(GradSparkPlugin.KEY)) conf.set(GradSparkPlugin.KEY, GradSparkPlugin.specOf(cfg));
        // Progress inside the partitions reaches the driver with the executors' heartbeats (Spark's default: every 10 s).
        if (!conf.contains("spark.executor.heartbeatInterval")) conf.set("spark.executor.heartbeatInterval", "3s");
        String plugins = conf.get("spark.plugins", "");
        if (!plugins.contains(GradSparkPlugin.class.getName())) {
            conf.set("spark.plugins", plugins.isEmpty() ? GradSparkPlugin.class.getName() : plugins + "," + GradSparkPlugin.class.getName());
        }
        // In local mode this JVM runs the tasks: a backend it cannot start is known before Spark starts.
        if (new MasterUrl(conf.get("spark.master")).inProcess()) requireBackend(cfg.backend());
    }

    /** What spark-submit gave this JVM (system properties), with local[*] and {@code appName} where it gave none. */
    public static SparkConf submittedConf(String appName) {   // public: fit's too (org.gradspark.job.fit.FitMain)
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) conf.setMaster("local[*]");
        if (!conf.contains("spark.app.name")) conf.setAppName(appName);
        return conf;
    }

    /** The conf's keys and values, for the job options' {@code spark.gradspark.*} keys and the storage settings. */
    public static Map<String, String> keysOf(SparkConf conf) {
        Map<String, String> keys = new HashMap<>();
        for (scala.Tuple2<String, String> kv : conf.getAll()) keys.put(kv._1(), kv._2());
        return keys;
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

    /**
     * The one line and exit code for a job that failed once Spark had started, decided from the
     * failure and what the application went through, before the context is closed: bad input; the
     * driver out of memory; an application Spark stopped on its own (the job's failure is then
     * what the stop broke), whose master is the one to ask about when no executor ever joined it; a
     * storage failure, naming the file and its cause (a quota, a NameNode that does not answer); on
     * a cluster, an application no executor ever joined; else Spark's own message.
     */
    public static int failed(PrintStream err, ApplicationWatch watch, Throwable e) {   // public: fit's too
        watch.clearProgressBar();
        if (INTERRUPTED.get()) return 130;   // the shutdown notice has said it
        BadInputException bad = badInputIn(e);
        if (bad != null) {
            err.println("gradspark: " + bad.getMessage());
            return 2;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return fail(err, "out of memory in the driver (heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB, which also runs the tasks"
                        + " in local mode): raise --driver-memory, or lower --chunk-rows", e, 2);
            }
        }
        if (watch.stoppedBySpark()) {
            return fail(err, watch.noExecutorEverJoined() ? "no executor ever joined the Spark application: " + masterQuestion(watch.master())
                    : "Spark stopped the application while the job ran (" + rootMessage(e) + "): see the driver's log and the cluster manager's", e, 2);
        }
        String storage = StorageFailure.lineFor(e);
        if (storage != null) return fail(err, storage, e, 2);
        if (watch.noExecutorEverJoined()) {
            return fail(err, "no executor ever joined the Spark application: " + masterQuestion(watch.master()), e, 2);
        }
        return fail(err, "failed: " + rootMessage(e), e, 1);
    }

    private static final java.util.concurrent.atomic.AtomicBoolean INTERRUPTED = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * On Ctrl-C (or a TERM) the JVM runs its shutdown hooks while the job still runs: say so in one
     * line (the temporary output is removed by {@link JobOutput}'s own hook), instead of the traces
     * of the job's threads as Spark stops under them.
     */
    private static Thread interruptNotice(PrintStream err) {
        Thread t = new Thread(() -> {
            INTERRUPTED.set(true);
            String log = System.getProperty("gradspark.logFile");
            // A TERM or Ctrl-C, or Spark exiting the JVM after a fatal error in a task (an OutOfMemoryError in local mode).
            err.println("gradspark: stopped before the end (interrupted, or a fatal error in a task such as running out of memory"
                    + (log != null ? ": see " + log : "") + "); nothing was written to --out");
            err.flush();
            System.setErr(new PrintStream(java.io.OutputStream.nullOutputStream()));
        }, "gradspark-interrupt");
        Runtime.getRuntime().addShutdownHook(t);
        return t;
    }

    /** Prints one line, keeps the stack trace in the log file, and returns the exit code. */
    private static int fail(PrintStream err, String line, Throwable e, int code) {
        org.slf4j.LoggerFactory.getLogger("org.gradspark.failure").error(line, e);
        String log = System.getProperty("gradspark.logFile");
        err.println("gradspark: " + line + (code == 1 && log != null ? " (stack trace in " + log + ")" : ""));
        return code;
    }

    /** The innermost cause's first line, which is what the user can act on. */
    private static String rootMessage(Throwable e) {
        Throwable t = rootCause(e);
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + t.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }

    /** The job's backend, started here: a missing device (no OpenCL) is one line before Spark starts. */
    private static void requireBackend(String name) {
        try {
            Backends.require(name).device();
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new BadInputException("--backend " + name + ": " + e.getMessage(), e);
        }
    }

    /** A bad-input error, also when it reaches the driver wrapped in a failed Spark task. */
    static BadInputException badInputIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException b) return b;
            if (t instanceof SparkException && t.getMessage() != null && t.getMessage().contains(BadInputException.class.getName())) {
                String m = t.getMessage();
                int at = m.indexOf(BadInputException.class.getName() + ": ");
                String line = m.substring(at + BadInputException.class.getName().length() + 2).lines().findFirst().orElse(m);
                return new BadInputException(line);
            }
        }
        return null;
    }
}
