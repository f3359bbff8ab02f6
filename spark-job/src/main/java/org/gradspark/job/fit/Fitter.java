package org.gradspark.job.fit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.Tensor;
import org.gradspark.job.io.BadInputException;
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
     * @param resume         the checkpoint to continue from, or null for a fresh start
     * @param checkpointsDir where checkpoints go (null: none, whatever {@code --checkpoint-every} says)
     */
    public static Result run(FitObjective objective, FitSettings s, Map<String, Object> problem, Checkpoint resume, Storage storage,
                             String checkpointsDir, Progress progress) {
        Map<String, Tensor> initial = objective.initialWeights();
        ParamLayout layout = ParamLayout.of(objective.keys(), initial);
        DriverObjective f = new DriverObjective(objective, layout, s.l2());
        List<IterationRecord> history = new ArrayList<>();
        long evaluationsBefore = 0;
        Optimizer opt;
        if (resume == null) {
            double[] x0 = layout.flatten(initial);
            opt = s.optimizer() == FitSettings.Optimizer.LBFGS ? LbfgsOptimizer.start(f, s, x0) : AdamOptimizer.start(f, s, x0);
        } else {
            if (!resume.state().optimizer().equals(s.optimizer().cli())) {
                throw new BadInputException("--resume: a checkpoint of --optimizer " + resume.state().optimizer() + ", not " + s.optimizer().cli());
            }
            resume.requireMatches(problem, s.trajectory(), "--resume");
            if (resume.state().x().length != layout.size()) {
                throw new BadInputException("--resume: a checkpoint of another model (" + resume.state().x().length + " parameters, this one has " + layout.size() + ")");
            }
            history.addAll(resume.history());
            evaluationsBefore = resume.evaluations();
            opt = s.optimizer() == FitSettings.Optimizer.LBFGS ? LbfgsOptimizer.resume(f, s, resume.state(), resume.elapsed())
                    : AdamOptimizer.resume(f, s, resume.state(), resume.elapsed());
        }
        List<String> written = new ArrayList<>();
        for (IterationRecord r = opt.next(); r != null; r = opt.next()) {
            history.add(r);
            progress.iteration(r);
            if (checkpointsDir != null && s.checkpointEvery() > 0 && r.iteration() > 0 && r.iteration() % s.checkpointEvery() == 0) {
                Checkpoint.OptimizerState st = opt.state();
                if (st != null && st.iteration() == r.iteration()) {
                    String dir = new Checkpoint(st, problem, s.trajectory(), List.copyOf(history), evaluationsBefore + f.evaluations(), r.elapsed())
                            .write(storage, checkpointsDir, layout);
                    written.add(dir);
                    progress.checkpoint(dir);
                }
            }
        }
        double[] x = opt.position();
        double finalLoss;
        if (s.optimizer() == FitSettings.Optimizer.LBFGS || s.minibatchFraction() == 1 && history.isEmpty()) {
            finalLoss = history.isEmpty() ? f.at(x, null).value() : history.get(history.size() - 1).loss();
        } else {
            finalLoss = f.at(x, null).value();
        }
        return new Result(layout.weights(x), List.copyOf(history), opt.stopReason(), evaluationsBefore + f.evaluations(), finalLoss, written);
    }
}
