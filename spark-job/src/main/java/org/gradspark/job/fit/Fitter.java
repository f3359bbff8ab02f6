package org.gradspark.job.fit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.Storage;

/**
 * The fit loop on the driver: runs an {@link Optimizer} over a {@link FitObjective} one iteration at
 * a time, records each iteration, reports it, and every {@code --checkpoint-every} iterations writes
 * a {@link Checkpoint} through the job's {@link Storage}. A run resumed from a checkpoint continues
 * exactly where that one stood: same positions, same values, same history, bit for bit.
 */
public final class Fitter {
    private Fitter() {}

    /** Told each iteration as it ends (the console's progress line), and each checkpoint once written. */
    public interface Progress {
        void iteration(IterationRecord r);

        default void checkpoint(String dir) {}
    }

    /**
     * @param weights     the final weights, in the model's dtype and key order
     * @param finalLoss   the objective at the final weights over all rows (L-BFGS: its last value;
     *                    Adam/SGD: one more full-batch evaluation)
     * @param evaluations objective evaluations in this process (a resumed run's are added to the checkpoint's)
     */
    public record Result(Map<String, Tensor> weights, List<IterationRecord> history, String stopReason, long evaluations, double finalLoss,
                         List<String> checkpoints) {}

    /**
     * Runs the fit.
     *
     * @param problem        what the objective is (checked against a resumed checkpoint's)
     * @param resume         the checkpoint to continue from, or null for a fresh start; refused, before any
     *                       evaluation, when it is not of this objective, these settings and these rows
     * @param checkpointsDir where checkpoints go (null: none, whatever {@code --checkpoint-every} says)
     */
    public static Result run(FitObjective objective, FitSettings s, Map<String, Object> problem, Checkpoint resume, Storage storage,
                             String checkpointsDir, Progress progress) {
        if (s.dp() != null && !(objective instanceof ClippedObjective)) {
            throw new IllegalArgumentException("DP-SGD (--dp-clip) clips each row's gradient: " + objective.getClass().getName() + " is no ClippedObjective");
        }
        if (s.dp() != null && !s.dp().deltaResolved()) throw new IllegalArgumentException("DP-SGD's delta is unset (FitJob.prepare makes the default 1/N)");
        Map<String, Tensor> initial = objective.initialWeights();
        ParamLayout layout = ParamLayout.of(objective.keys(), initial);
        DriverObjective f = new DriverObjective(objective, layout, s.l2(), s.overflowAdvice());
        Map<String, Object> trajectory = trajectory(s, objective.evaluationSettings());
        List<IterationRecord> history = new ArrayList<>();
        long evaluationsBefore = 0;
        Map<String, String> rows = null;   // the rows' digest, asked once: when resuming, or at the first checkpoint
        Optimizer opt;
        if (resume == null) {
            double[] x0 = layout.flatten(initial);
            opt = s.optimizer() == FitSettings.Optimizer.LBFGS ? LbfgsOptimizer.start(f, s, x0)
                    : s.optimizer().secondOrder() ? SecondOrderOptimizer.start(f, s, x0) : AdamOptimizer.start(f, s, x0);
        } else {
            resume.requireMatches(s.optimizer().cli(), problem, trajectory, List.of());
            resume.requireLayout(layout);
            rows = objective.rowsDigest();
            resume.requireRows(rows);
            history.addAll(resume.history());
            evaluationsBefore = resume.evaluations();
            opt = s.optimizer() == FitSettings.Optimizer.LBFGS ? LbfgsOptimizer.resume(f, s, resume.state(), resume.elapsed())
                    : s.optimizer().secondOrder() ? SecondOrderOptimizer.resume(f, s, resume.state(), resume.elapsed())
                    : AdamOptimizer.resume(f, s, resume.state(), resume.elapsed());
        }
        List<String> written = new ArrayList<>();
        for (IterationRecord r = opt.next(); r != null; r = opt.next()) {
            history.add(r);
            progress.iteration(r);
            if (checkpointsDir != null && s.checkpointEvery() > 0 && r.iteration() > 0 && r.iteration() % s.checkpointEvery() == 0) {
                Checkpoint.OptimizerState st = opt.state();
                if (st != null && st.iteration() == r.iteration()) {
                    if (rows == null) rows = objective.rowsDigest();
                    Checkpoint c = new Checkpoint(st, problem, trajectory, rows, layout, List.copyOf(history), evaluationsBefore + f.evaluations(),
                            r.elapsed(), null);
                    String dir = c.write(storage, checkpointsDir);
                    written.add(dir);
                    progress.checkpoint(dir);
                }
            }
        }
        double[] x = opt.position();
        double finalLoss;
        if (s.optimizer() == FitSettings.Optimizer.LBFGS || s.optimizer().secondOrder() || s.minibatchFraction() == 1 && history.isEmpty()) {
            finalLoss = history.isEmpty() ? f.at(x, null).value() : history.get(history.size() - 1).loss();
        } else {
            finalLoss = f.at(x, null).value();
        }
        Map<String, Tensor> weights = layout.finiteWeights(x, "fit --optimizer " + s.optimizer().cli() + ": the final weights are not written");
        return new Result(weights, List.copyOf(history), opt.stopReason(), evaluationsBefore + f.evaluations(), finalLoss, written);
    }

    /**
     * Every setting a resumed run must keep, by option: the optimiser's ({@link FitSettings#trajectory})
     * and the objective's ({@link FitObjective#evaluationSettings}).
     */
    public static Map<String, Object> trajectory(FitSettings s, Map<String, Object> evaluationSettings) {
        Map<String, Object> t = new LinkedHashMap<>(s.trajectory());
        t.putAll(evaluationSettings);
        return t;
    }
}
