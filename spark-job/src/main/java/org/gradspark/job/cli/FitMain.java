package org.gradspark.job.cli;

import java.io.PrintStream;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.api.FitJob;
import org.gradspark.job.fit.Checkpoint;
import org.gradspark.job.fit.DpSgd;
import org.gradspark.job.fit.IterationRecord;
import org.gradspark.job.io.Storage;

/**
 * {@code gradspark-submit fit [job options] [fit options]}: checks everything before Spark starts
 * (a mistake exits with code 2 and one line), then runs {@link FitJob} with a progress line per
 * iteration and the final loss and output directory at the end; the rest of the launch is
 * {@link Launcher}'s, as for every command.
 */
public final class FitMain implements Launcher.Command<FitJob.Prepared> {
    private FitMain() {}

    /** Runs {@code fit} with its {@code args}; the exit code ({@link Launcher#launch}). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return Launcher.launch(new FitMain(), args, out, err);
    }

    @Override public String usage() {
        return "usage: gradspark-submit [spark-submit options] fit [job options] [fit options]\n\n" + FitOptions.usage();
    }

    @Override public String appName() {
        return "GradSpark fit";
    }

    @Override public FitJob.Prepared check(String[] args, Map<String, String> keys, SparkConf conf) {
        FitConfig fc = FitOptions.parse(keys, args);
        FitJob.Prepared prepared = FitJob.prepare(fc, Storage.fromSparkConf(keys));
        Launcher.configure(conf, prepared.inputs().cfg());
        return prepared;
    }

    @Override public void run(JavaSparkContext jsc, FitJob.Prepared prepared, PrintStream out) {
        // The per-iteration line is fit's progress; the evaluations' rows-done lines would bury it.
        org.apache.logging.log4j.core.config.Configurator.setLevel("org.gradspark.job.progress", org.apache.logging.log4j.Level.WARN);
        FitJob.Result r = FitJob.run(jsc, prepared, out);
        out.printf("GradSpark fit %s: %s after %s iterations (%s), final loss %.9g, %d evaluations, %.2f s on %s%n",
                prepared.config().settings().optimizer().cli(), r.stopReason(), r.summary().get("iterations"), prepared.config().settings().iterations()
                        + " asked", r.finalLoss(), (Long) r.summary().get("evaluations"), (Double) r.summary().get("wall_s"), jsc.master());
        DpSgd dp = prepared.config().settings().dp();
        if (dp != null) {
            IterationRecord last = r.history().isEmpty() ? null : r.history().get(r.history().size() - 1);
            out.println("GradSpark fit: DP-SGD spent epsilon " + (last == null ? "0" : FitJob.epsilonText(last.epsilon())) + " at delta " + dp.delta()
                    + " (" + (last == null ? 0 : last.iteration()) + " steps, q " + prepared.config().settings().minibatchFraction() + ", sigma "
                    + dp.noiseMultiplier() + ", C " + dp.clip() + ")");
        }
        out.println("GradSpark wrote " + Storage.display(r.out()));
    }

    @Override public String interruptedLine(FitJob.Prepared prepared) {
        // A TERM or Ctrl-C, or Spark exiting the JVM after a fatal error in a task (an OutOfMemoryError in local mode), as grad's line says.
        String log = System.getProperty("gradspark.logFile");
        return "stopped before the end (interrupted, or a fatal error in a task such as running out of memory" + (log != null ? ": see " + log : "")
                + "); the checkpoints in " + Storage.display(Storage.child(prepared.out(), Checkpoint.DIR)) + " are kept: continue with --resume";
    }
}
