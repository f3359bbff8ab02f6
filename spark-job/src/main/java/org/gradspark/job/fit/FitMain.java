package org.gradspark.job.fit;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.job.ApplicationWatch;
import org.gradspark.job.GradSparkMain;
import org.gradspark.job.GradientJob;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;

/**
 * {@code gradspark-submit fit [job options] [fit options]}: checks everything before Spark starts
 * (a mistake exits with code 2 and one line), then runs {@link FitJob} with a progress line per
 * iteration and the final loss and output directory at the end.
 */
public final class FitMain {
    private FitMain() {}

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            out.println("usage: gradspark-submit [spark-submit options] fit [job options] [fit options]\n\n" + FitOptions.usage());
            return 0;
        }
        SparkConf conf = GradSparkMain.submittedConf("GradSpark fit");
        Map<String, String> keys = GradSparkMain.keysOf(conf);
        FitJob.Prepared prepared;
        try {
            FitOptions.FitConfig fc = FitOptions.parse(keys, args);
            prepared = FitJob.prepare(fc, Storage.fromSparkConf(keys));
            GradSparkMain.configure(conf, prepared.inputs().cfg());
        } catch (BadInputException e) {
            err.println("gradspark: " + e.getMessage());
            return 2;
        }
        JavaSparkContext jsc;
        try {
            jsc = new JavaSparkContext(GradientJob.configure(conf));
        } catch (RuntimeException e) {
            return GradSparkMain.cannotStart(err, conf, e);
        }
        ApplicationWatch watch = ApplicationWatch.attach(jsc);
        java.util.concurrent.atomic.AtomicBoolean interrupted = new java.util.concurrent.atomic.AtomicBoolean();
        Thread notice = new Thread(() -> {
            interrupted.set(true);
            err.println("gradspark: interrupted; the checkpoints in " + Storage.display(Storage.child(prepared.out(), Checkpoint.DIR))
                    + " are kept: continue with --resume");
            err.flush();
            System.setErr(new PrintStream(java.io.OutputStream.nullOutputStream()));
        }, "gradspark-fit-interrupt");
        Runtime.getRuntime().addShutdownHook(notice);
        try {
            jsc.setLogLevel(conf.get("spark.gradspark.logLevel", "WARN"));
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
            return 0;
        } catch (Exception | Error e) {   // Scala code throws checked exceptions undeclared
            if (interrupted.get()) return 130;   // the notice has said it
            return GradSparkMain.failed(err, watch, e);   // before the context is closed (Spark's events, the storage's state)
        } finally {
            GradSparkMain.closeQuietly(jsc);
            try {
                Runtime.getRuntime().removeShutdownHook(notice);
            } catch (IllegalStateException stopping) {
                // the hook runs
            }
        }
    }
}
