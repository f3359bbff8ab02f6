package org.gradspark.job.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.Evaluator;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.exec.JobInputs;
import org.gradspark.job.fit.Checkpoint;
import org.gradspark.job.fit.DpSgd;
import org.gradspark.job.fit.FitSettings;
import org.gradspark.job.fit.Fitter;
import org.gradspark.job.fit.IterationRecord;
import org.gradspark.job.fit.LossChart;
import org.gradspark.job.fit.ParamLayout;
import org.gradspark.job.fit.RdpAccountant;
import org.gradspark.job.fit.SecondOrderOptimizer;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.FitOutput;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;

/**
 * The {@code fit} job and its Java API: the {@code grad} job's objective ({@link Evaluator}: rows read
 * once and kept in the executors' memory, weights broadcast afresh each evaluation, partial gradients
 * reduced in partition order) minimised by {@link Fitter} on the driver; checkpoints every
 * {@code --checkpoint-every} iterations; {@code weights.npz}, {@code history.json}, {@code loss.png}
 * and {@code summary.json} in {@code --out} at the end ({@link FitOutput}).
 *
 * <pre>{@code
 * JobConfig job = JobConfig.builder().layers(8, 1).activation(Activation.Kind.IDENTITY).input("x.npy").labels("y.npy")
 *         .loss(JobConfig.Loss.MSE).reduction(JobConfig.Reduction.MEAN).out("fit-out").build();
 * FitConfig fc = FitConfig.builder(job).optimizer(FitSettings.Optimizer.LBFGS).iterations(50).build();
 * FitJob.Result r = FitJob.run(jsc, FitJob.prepare(fc, Storage.of(jsc.hadoopConfiguration())), System.out);
 * }</pre>
 */
public final class FitJob {
    private FitJob() {}

    /** The final files, renamed into --out at the end. */
    public static final List<String> FINAL = List.of("weights.npz", "history.json", "loss.png", "summary.json");

    /**
     * Everything checked before Spark starts: the job's inputs, --out, the checkpoint to resume.
     *
     * @param out    --out, qualified
     * @param resume the checkpoint read from --resume, or null
     */
    public record Prepared(FitConfig config, JobInputs inputs, String out, FitOutput.State outState, Checkpoint resume,
                           String resumeDir, Map<String, Object> problem) {}

    /** @param out the output directory (URI); {@code summary} as written to summary.json */
    public record Result(Map<String, Tensor> weights, List<IterationRecord> history, String stopReason, double finalLoss, String out,
                         Map<String, Object> summary) {}

    /**
     * Checks what the fit names, on whatever filesystem: the job's inputs ({@link JobInputs#check}),
     * --out, and the checkpoint to resume (read whole, and matched against this model and data). An
     * unset DP-SGD δ becomes 1/N here, N the input's rows ({@link DpSgd#withDefaultDelta}).
     *
     * @throws BadInputException naming the option and file at fault
     */
    public static Prepared prepare(FitConfig given, Storage storage) {
        FitConfig fc = given;
        String out = qualify(storage, "--out", fc.job().out());
        String resumeDir = fc.resume() == null ? null : qualify(storage, "--resume", fc.resume());
        FitOutput.State state = FitOutput.check(storage, out, fc.job().qualified(storage).inputFiles(), resumeDir);
        // fit writes --out itself (checkpoints as it goes): the job's own check of --out, for an output
        // written at the end, is given a path inside it that never exists.
        JobConfig probe = fc.job().withOut(Storage.child(out, "_fit_unused_job_out"));
        FitSettings settings = fc.settings();
        org.gradspark.job.exec.DriverMemoryCheck.Setting driver = org.gradspark.job.exec.DriverMemoryCheck.Setting.submitted();
        int evaluated = driver.partitions(probe);
        int item = probe.dtype().bytes();
        JobInputs inputs = JobInputs.check(probe, storage, driver.withState(w -> org.gradspark.job.fit.OptimizerMemory.terms(settings, evaluated, w, item)));
        if (inputs.pending()) {
            throw new BadInputException("--input " + Storage.display(inputs.cfg().input()) + ": fit reads .npy rows or --synthetic (Parquet and CSV: not yet)");
        }
        Map<String, Object> problem = problem(inputs);
        SecondOrderOptimizer.requireDenseSize(fc.settings(), inputs.weights().values().stream().mapToLong(t -> t.size()).sum());
        DpSgd dp = fc.settings().dp();
        if (dp != null && !dp.deltaResolved()) {
            fc = new FitConfig(fc.job(), fc.settings().withDp(dp.withDefaultDelta(inputs.input().rows())), fc.resume());
        }
        Checkpoint resume = null;
        if (resumeDir != null) {
            // All but the rows' digest and a default --partitions (Spark's parallelism), which Fitter checks once Spark runs, before any iteration.
            resume = Checkpoint.read(storage, resumeDir);
            Integer partitions = inputs.cfg().partitions() > 0 ? inputs.cfg().partitions() : null;
            resume.requireMatches(fc.settings().optimizer().cli(), problem,
                    Fitter.trajectory(fc.settings(), EvaluatorObjective.settings(inputs.cfg(), partitions)), List.of("--partitions"));
            resume.requireLayout(ParamLayout.of(inputs.keys(), inputs.weights()));
        }
        return new Prepared(fc, inputs, out, state, resume, resumeDir, problem);
    }

    /** What the objective is: a checkpoint of another one is refused. */
    static Map<String, Object> problem(JobInputs in) {
        JobConfig c = in.cfg();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("model", c.modelClass() == null ? "mlp " + java.util.Arrays.toString(c.layers()).replace(" ", "") + " " + c.activation().name().toLowerCase()
                : c.modelClass());
        Map<String, Object> shapes = new LinkedHashMap<>();
        for (String k : in.keys()) shapes.put(k, java.util.Arrays.toString(in.weights().get(k).shape().dims()));
        p.put("weights", shapes);
        p.put("dtype", c.dtype().name().toLowerCase());
        p.put("loss", c.loss().name().toLowerCase());
        p.put("reduction", c.reduction().name().toLowerCase());
        p.put("rows", in.input().rows());
        p.put("sens", c.sens() != null);
        if (!(c.estimator() instanceof org.gradspark.ad.LaplacianEstimator.Exact)) {
            // A RowAware Cell's randomised Laplacians are part of the objective (absent when exact: older checkpoints still match).
            p.put("estimator", c.estimator().spelling());
            p.put("seed", c.seed());
        }
        return p;
    }

    /** Runs a prepared fit; progress lines go to {@code console} (null: none). */
    public static Result run(JavaSparkContext jsc, Prepared p, PrintStream console) {
        long t0 = System.nanoTime();
        Storage storage = Storage.of(jsc.hadoopConfiguration());
        FitSettings s = p.config().settings();
        FitOutput output = FitOutput.begin(storage, p.out(), p.config().job().qualified(storage).inputFiles(), p.resumeDir());
        try (Evaluator evaluator = Evaluator.open(jsc, p.inputs())) {
            Fitter.Progress progress = new Fitter.Progress() {
                @Override public void iteration(IterationRecord r) {
                    if (console != null) {
                        console.printf("fit %s: iteration %d  loss %.9g  |grad| %.4g  step %.3g  evaluations %d%s  %.2f s%s%n", s.optimizer().cli(), r.iteration(),
                                r.loss(), r.gradNorm(), r.step(), r.evaluations(),
                                r.solve() == null ? "" : String.format("  cg %d  lambda %.3g", r.solve().cgIterations(), r.solve().lambda()), r.seconds(),
                                r.dp() ? "  epsilon " + epsilonText(r.epsilon()) : "");
                        console.flush();
                    }
                }

                @Override public void checkpoint(String dir) {
                    if (console != null) console.println("fit: checkpoint " + Storage.display(dir));
                }
            };
            if (console != null && p.resume() != null) {
                console.println("fit: resuming from " + Storage.display(p.resumeDir()) + " at iteration " + p.resume().state().iteration());
            }
            Fitter.Result r = Fitter.run(new EvaluatorObjective(evaluator, p.inputs().cfg(), p.inputs().input().rows()), s, p.problem(), p.resume(), storage,
                    s.checkpointEvery() > 0 ? output.checkpoints() : null, progress);
            double wall = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> summary = summary(jsc, p, evaluator, r, wall);
            Npz.write(storage, output.pending("weights.npz"), r.weights(), Npz.Compression.STORED);
            Map<String, Object> history = new LinkedHashMap<>();
            history.put("optimizer", s.optimizer().cli());
            history.put("iterations", r.history().stream().map(IterationRecord::json).toList());
            writeJson(storage, output.pending("history.json"), history);
            LossChart.write(storage, output.pending("loss.png"), r.history(), "fit --optimizer " + s.optimizer().cli() + ": " + p.problem().get("model"));
            writeJson(storage, output.pending("summary.json"), summary);
            output.commit(FINAL);
            return new Result(r.weights(), r.history(), r.stopReason(), r.finalLoss(), p.out(), summary);
        } catch (IOException e) {
            output.abort(FINAL);
            throw Storage.unchecked("--out " + Storage.display(p.out()), e);
        } catch (RuntimeException | Error e) {
            output.abort(FINAL);
            throw e;
        }
    }

    private static Map<String, Object> summary(JavaSparkContext jsc, Prepared p, Evaluator evaluator, Fitter.Result r, double wall) {
        FitSettings s = p.config().settings();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("optimizer", s.optimizer().cli());
        m.put("settings", s.trajectory());
        m.put("iterations_asked", s.iterations());
        m.put("iterations", r.history().isEmpty() ? 0 : r.history().get(r.history().size() - 1).iteration());
        m.put("stop_reason", r.stopReason());
        m.put("initial_loss", r.history().isEmpty() ? null : r.history().get(0).loss());
        m.put("final_loss", r.finalLoss());
        m.put("final_grad_norm", r.history().isEmpty() ? null : r.history().get(r.history().size() - 1).gradNorm());
        if (s.dp() != null) m.put("dp_sgd", dpSummary(s, r.history()));
        m.put("evaluations", r.evaluations());
        m.put("problem", p.problem());
        m.put("partitions", evaluator.partitions());
        m.put("master", jsc.master());
        m.put("resumed_from", p.resumeDir() == null ? null : Map.of("checkpoint", p.resumeDir(), "iteration", p.resume().state().iteration()));
        m.put("checkpoints", r.checkpoints().stream().map(Storage::name).toList());
        m.put("wall_s", wall);
        m.put("optimisation_s", r.history().isEmpty() ? 0 : r.history().get(r.history().size() - 1).elapsed());
        return m;
    }

    /** ε for the console: 4 significant digits, "inf" where σ = 0. */
    public static String epsilonText(double epsilon) {
        return Double.isInfinite(epsilon) ? "inf" : String.format(java.util.Locale.ROOT, "%.4g", epsilon);
    }

    /**
     * DP-SGD's line in summary.json: its settings, and the ε spent by the last step at δ (null where
     * infinite, σ = 0; 0 before any step) with the RDP order that gives it.
     */
    private static Map<String, Object> dpSummary(FitSettings s, List<IterationRecord> history) {
        DpSgd dp = s.dp();
        int steps = history.isEmpty() ? 0 : history.get(history.size() - 1).iteration();
        RdpAccountant.Epsilon e = dp.accountant(s.minibatchFraction()).epsilon(steps, dp.delta());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clip", dp.clip());
        m.put("noise_multiplier", dp.noiseMultiplier());
        m.put("sampling_rate", s.minibatchFraction());
        m.put("steps", steps);
        m.put("delta", dp.delta());
        m.put("epsilon", Double.isInfinite(e.epsilon()) ? null : e.epsilon());
        m.put("rdp_order", Double.isNaN(e.order()) ? null : e.order());
        m.put("accountant", "RDP of the Poisson-sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019), to (epsilon, delta) by Balle et al. 2020 Theorem 21");
        return m;
    }

    private static void writeJson(Storage storage, String file, Object value) throws IOException {
        try (OutputStream o = storage.create(file)) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(o, value);
        }
    }

    private static String qualify(Storage storage, String option, String path) {
        try {
            return storage.qualify(path);
        } catch (BadInputException e) {
            throw new BadInputException(option + " " + e.getMessage(), e);
        }
    }

}
