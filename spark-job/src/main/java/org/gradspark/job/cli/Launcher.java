package org.gradspark.job.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.api.FatalErrorWatch;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.exec.GradSparkPlugin;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.MasterUrl;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.StorageFailure;

/**
 * What every command of {@code gradspark-submit} ({@code grad}, {@code fit}, {@code tutorial}) goes
 * through, in one order: {@code --help}; the submitted Spark conf; the command's checks of everything
 * it reads, before Spark starts (a mistake: one line, exit code 2); the Spark context; the command's
 * run, with a shutdown notice for Ctrl-C; and one line and an exit code for a failure, decided before
 * the context is closed, also for a fatal error (out of memory) in any of Spark's driver threads, which
 * would otherwise leave the job waiting for ever ({@link FatalErrorWatch}). A command says only what is
 * its own ({@link Command}).
 *
 * <pre>{@code
 * int code = Launcher.launch(new GradCommand(), args, System.out, System.err);
 * }</pre>
 */
public final class Launcher {
    private Launcher() {}

    /**
     * One command's part of a launch. {@code C} is what its checks produced (the checked inputs), which
     * its run and its interrupt notice use.
     */
    public interface Command<C> {
        /** The text {@code --help} or {@code -h} prints (exit code 0). */
        String usage();

        /** The Spark application's name where spark-submit gave none. */
        String appName();

        /**
         * Parses {@code args} (with the conf's {@code spark.gradspark.*} {@code keys}) and checks every
         * file the command names, before Spark starts, and sets what the command needs in {@code conf}.
         *
         * @throws BadInputException a user mistake: its message is the one line printed
         */
        C check(String[] args, Map<String, String> keys, SparkConf conf);

        /** Whether {@link #run} needs a Spark context (the tutorial does not). */
        default boolean startsSpark() {
            return true;
        }

        /** Runs the checked command on {@code jsc} (null without {@link #startsSpark}) and prints its lines to {@code out}. */
        void run(JavaSparkContext jsc, C checked, PrintStream out) throws Exception;

        /** The line printed when the JVM is stopped (Ctrl-C, a TERM) while the command runs. */
        String interruptedLine(C checked);
    }

    /** Runs {@code command} with its {@code args}; the exit code: 0, 2 for a user mistake, 1 for any other failure, 130 when interrupted. */
    public static <C> int launch(Command<C> command, String[] args, PrintStream out, PrintStream err) {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            out.println(command.usage());
            return 0;
        }
        SparkConf conf = submittedConf(command.appName());
        C checked;
        try {
            checked = command.check(args, keysOf(conf), conf);
        } catch (BadInputException e) {
            err.println("gradspark: " + e.getMessage());
            return 2;
        } catch (OutOfMemoryError e) {
            return fail(err, "out of memory in the driver while reading the inputs (heap " + (Runtime.getRuntime().maxMemory() >> 20)
                    + " MiB): raise --driver-memory", e, 2);
        }
        if (!command.startsSpark()) return runWithoutSpark(command, checked, out, err);
        Duration executorWait;
        try {
            executorWait = executorWait(conf);
        } catch (BadInputException e) {
            err.println("gradspark: " + e.getMessage());
            return 2;
        }
        // Before the context starts, so that a fatal error in any of its threads ends the run instead of hanging it.
        try (FatalErrorWatch fatal = FatalErrorWatch.install(err)) {
            return runOnSpark(command, checked, conf, executorWait, fatal, out, err);
        }
    }

    private static <C> int runOnSpark(Command<C> command, C checked, SparkConf conf, Duration executorWait, FatalErrorWatch fatal,
                                      PrintStream out, PrintStream err) {
        JavaSparkContext jsc;
        try {
            jsc = new JavaSparkContext(GradientJob.configure(conf));
        } catch (RuntimeException e) {
            return cannotStart(err, conf, e);
        }
        fatal.cancels(jsc.sc());
        ApplicationWatch watch = ApplicationWatch.attach(jsc, executorWait);
        Thread notice = interruptNotice(err, command.interruptedLine(checked), fatal);
        try {
            jsc.setLogLevel(conf.get("spark.gradspark.logLevel", "WARN"));
            command.run(jsc, checked, out);
            return 0;
        } catch (Exception | Error e) {   // Scala code throws checked exceptions undeclared
            return failed(err, watch, fatal, e);   // before the context is closed (Spark's events, the storage's state)
        } finally {
            closeQuietly(jsc);
            try {
                Runtime.getRuntime().removeShutdownHook(notice);
            } catch (IllegalStateException stopping) {
                // the JVM is stopping: the notice runs
            }
        }
    }

    private static <C> int runWithoutSpark(Command<C> command, C checked, PrintStream out, PrintStream err) {
        try {
            command.run(null, checked, out);
            return 0;
        } catch (Exception e) {
            return fail(err, "failed: " + rootMessage(e), e, 1);
        }
    }

    /**
     * Closes the context with {@link System#err} sent to the driver's log meanwhile (nowhere without
     * one): the run's last line is printed, and Spark's shutdown races (an RPC answer completing a
     * future on a thread pool already stopped) print their stack traces there through Scala's default
     * reporter, not on the console. The caller's own stream (the console) is not affected.
     */
    private static void closeQuietly(JavaSparkContext jsc) {
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
    public static int cannotStart(PrintStream err, SparkConf conf, RuntimeException e) {
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
        if (master.startsWith("k8s://")) {
            return "did --master " + master + " start the executor pods (kubectl get pods -l spark-role=executor: the image, its pull,"
                    + " a node with the memory, cores and GPUs asked, the namespace's quota; and can they reach spark.driver.host)?";
        }
        return "did --master " + master + " accept it (is the URL right, the master running, and a worker with enough memory and cores registered)?";
    }

    /** How long a cluster's application may go without any executor before the driver stops it (Spark's time format; 0: for ever). */
    static final String EXECUTOR_WAIT_KEY = "spark.gradspark.executorWait";

    private static Duration executorWait(SparkConf conf) {
        String value = conf.get(EXECUTOR_WAIT_KEY, "10min");
        try {
            long ms = conf.getTimeAsMs(EXECUTOR_WAIT_KEY, "10min");
            if (ms < 0) throw new NumberFormatException("negative");
            return Duration.ofMillis(ms);
        } catch (NumberFormatException e) {
            throw new BadInputException(EXECUTOR_WAIT_KEY + "=" + value + ": not a duration (e.g. 10min, 90s; 0 waits for ever)", e);
        }
    }

    /** The Spark settings a job needs: the warm-up plugin with the job's model; a backend this JVM cannot start, in local mode. */
    public static void configure(SparkConf conf, JobConfig cfg) {
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
    private static SparkConf submittedConf(String appName) {
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) conf.setMaster("local[*]");
        if (!conf.contains("spark.app.name")) conf.setAppName(appName);
        return conf;
    }

    /** The conf's keys and values, for the job options' {@code spark.gradspark.*} keys and the storage settings. */
    static Map<String, String> keysOf(SparkConf conf) {
        Map<String, String> keys = new HashMap<>();
        for (scala.Tuple2<String, String> kv : conf.getAll()) keys.put(kv._1(), kv._2());
        return keys;
    }

    /**
     * The one line and exit code for a job that failed once Spark had started, decided from the
     * failure and what the application went through, before the context is closed: bad input; the
     * driver out of memory; an application Spark stopped on its own (the job's failure is then
     * what the stop broke), whose master is the one to ask about when no executor ever joined it; a
     * storage failure, naming the file and its cause (a quota, a NameNode that does not answer); on
     * a cluster, an application no executor ever joined; else Spark's own message.
     */
    public static int failed(PrintStream err, ApplicationWatch watch, Throwable e) {
        watch.clearProgressBar();
        if (INTERRUPTED.get()) return 130;   // the shutdown notice has said it
        return failedWhileRunning(err, watch, e);
    }

    /**
     * {@link #failed(PrintStream, ApplicationWatch, Throwable)}, where a fatal error that {@code fatal}
     * recorded in another thread of the driver (which the job's failure is then the cancel of) comes first.
     */
    static int failed(PrintStream err, ApplicationWatch watch, FatalErrorWatch fatal, Throwable e) {
        watch.clearProgressBar();
        if (fatal.exiting()) return fatal.exitCode();   // the watch has printed the line and exits the JVM
        if (fatal.takeReport()) return fail(err, fatal.line(), fatal.error(), fatal.exitCode());
        if (INTERRUPTED.get()) return 130;   // the shutdown notice has said it
        return failedWhileRunning(err, watch, e);
    }

    private static int failedWhileRunning(PrintStream err, ApplicationWatch watch, Throwable e) {
        BadInputException bad = BadInputException.carriedBy(e);
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
        if (watch.gaveUpAfter() != null) {
            return fail(err, "no executor joined the Spark application in " + watch.gaveUpAfter().toSeconds() + " s (" + EXECUTOR_WAIT_KEY + "): "
                    + masterQuestion(watch.master()), e, 2);
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

    private static final AtomicBoolean INTERRUPTED = new AtomicBoolean();

    /**
     * On Ctrl-C (or a TERM) the JVM runs its shutdown hooks while the command still runs: say so in
     * one {@code line} (what the command keeps or removes is its own hooks' business), instead of the
     * traces of the job's threads as Spark stops under them.
     */
    private static Thread interruptNotice(PrintStream err, String line, FatalErrorWatch fatal) {
        Thread t = new Thread(() -> {
            INTERRUPTED.set(true);
            if (!fatal.exiting()) err.println("gradspark: " + line);   // else the watch has printed its line
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
}
