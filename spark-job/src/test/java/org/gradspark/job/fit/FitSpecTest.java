package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The fit command's spec (issue 25, item 1): every fit option through {@link FitConfig#builder}
 * and through the CLI ({@link FitOptions#parse}) gives equal specs, and the builder refuses what the
 * CLI refuses with the same line.
 */
class FitSpecTest {
    /** The job fit's CLI makes of no job options: --reduction mean is fit's default. */
    private static JobConfig.Builder job() {
        return JobConfig.builder().reduction(JobConfig.Reduction.MEAN);
    }

    private static Map<List<String>, Supplier<FitConfig.Builder>> cases() {
        Map<List<String>, Supplier<FitConfig.Builder>> c = new LinkedHashMap<>();
        c.put(List.of("--optimizer", "adam"), () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.ADAM));
        c.put(List.of("--iterations", "7"), () -> FitConfig.builder(job().build()).iterations(7));
        c.put(List.of("--lbfgs-memory", "5"), () -> FitConfig.builder(job().build()).lbfgsMemory(5));
        c.put(List.of("--tolerance", "1e-6"), () -> FitConfig.builder(job().build()).tolerance(1e-6));
        c.put(List.of("--learning-rate", "0.01"), () -> FitConfig.builder(job().build()).learningRate(0.01));
        c.put(List.of("--beta1", "0.8"), () -> FitConfig.builder(job().build()).beta1(0.8));
        c.put(List.of("--beta2", "0.99"), () -> FitConfig.builder(job().build()).beta2(0.99));
        c.put(List.of("--epsilon", "1e-6"), () -> FitConfig.builder(job().build()).epsilon(1e-6));
        c.put(List.of("--optimizer", "sgd", "--minibatch-fraction", "0.5"),
                () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.SGD).minibatchFraction(0.5));
        c.put(List.of("--optimizer", "gauss-newton", "--loss", "mse", "--labels", "y.npy"),
                () -> FitConfig.builder(job().loss(JobConfig.Loss.MSE).labels("y.npy").build()).optimizer(FitSettings.Optimizer.GAUSS_NEWTON));
        c.put(List.of("--cg-iterations", "7"), () -> FitConfig.builder(job().build()).secondOrder(new FitSettings.SecondOrder(7, 1e-4, 1e-3)));
        c.put(List.of("--cg-tolerance", "0.01"), () -> FitConfig.builder(job().build()).secondOrder(new FitSettings.SecondOrder(50, 0.01, 1e-3)));
        c.put(List.of("--damping", "0.5"), () -> FitConfig.builder(job().build()).secondOrder(new FitSettings.SecondOrder(50, 1e-4, 0.5)));
        c.put(List.of("--optimizer", "gauss-newton", "--loss", "mse", "--labels", "y.npy", "--solve", "dense"),
                () -> FitConfig.builder(job().loss(JobConfig.Loss.MSE).labels("y.npy").build()).optimizer(FitSettings.Optimizer.GAUSS_NEWTON)
                        .secondOrder(new FitSettings.SecondOrder(50, 1e-4, 1e-3, FitSettings.Solve.DENSE)));
        c.put(List.of("--l2", "0.1"), () -> FitConfig.builder(job().build()).l2(0.1));
        c.put(List.of("--checkpoint-every", "0"), () -> FitConfig.builder(job().build()).checkpointEvery(0));
        c.put(List.of("--resume", "ck"), () -> FitConfig.builder(job().build()).resume("ck"));
        c.put(List.of("--reduction", "sum"), () -> FitConfig.builder(job().reduction(JobConfig.Reduction.SUM).build()));
        c.put(List.of("--seed", "9", "--layers", "4,1"), () -> FitConfig.builder(job().seed(9).layers(4, 1).build()));
        c.put(List.of("--optimizer", "sgd", "--minibatch-fraction", "0.1", "--dp-clip", "1.5", "--dp-noise-multiplier", "1.1"),
                () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.SGD).minibatchFraction(0.1).dp(new DpSgd(1.5, 1.1, Double.NaN)));
        c.put(List.of("--optimizer", "adam", "--minibatch-fraction", "0.1", "--dp-clip", "1", "--dp-noise-multiplier", "0", "--dp-delta", "1e-6"),
                () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.ADAM).minibatchFraction(0.1).dp(new DpSgd(1, 0, 1e-6)));
        return c;
    }

    @Test
    void everyFitOptionThroughTheBuilderAndThroughTheCliGivesEqualSpecs() {
        FitConfig defaults = FitOptions.parse(Map.of());
        assertEquals(defaults, FitConfig.builder(job().build()).build(), "the builder's defaults are the CLI's");
        Set<String> covered = new TreeSet<>();
        for (Map.Entry<List<String>, Supplier<FitConfig.Builder>> e : cases().entrySet()) {
            FitConfig built = e.getValue().get().build();
            assertEquals(FitOptions.parse(Map.of(), e.getKey().toArray(new String[0])), built, e.getKey().toString());
            assertNotEquals(defaults, built, e.getKey() + " changes nothing");
            e.getKey().stream().filter(a -> a.startsWith("--")).forEach(covered::add);
        }
        Set<String> options = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : new CommandLine(new FitOptions()).getCommandSpec().options()) options.add(o.longestName());
        covered.retainAll(options);
        assertEquals(options, covered, "every fit option has a case");
    }

    @Test
    void theBuilderRefusesWhatTheCliRefusesWithTheSameLine() {
        Map<List<String>, Supplier<FitConfig.Builder>> bad = new LinkedHashMap<>();
        bad.put(List.of("--wrt", "inputs"), () -> FitConfig.builder(job().wrt(JobConfig.Wrt.INPUTS).build()));
        bad.put(List.of("--mode", "hvp", "--vector", "v.npz"), () -> FitConfig.builder(job().mode(JobConfig.Mode.HVP).vector("v.npz").build()));
        bad.put(List.of("--repeat", "2"), () -> FitConfig.builder(job().repeat(2).build()));
        bad.put(List.of("--clip", "1"), () -> FitConfig.builder(job().statistics(new org.gradspark.job.exec.StatisticsSpec(null, false, false, 1)).build()));
        bad.put(List.of("--lbfgs-memory", "0"), () -> FitConfig.builder(job().build()).lbfgsMemory(0));
        bad.put(List.of("--minibatch-fraction", "0.5"), () -> FitConfig.builder(job().build()).minibatchFraction(0.5));
        bad.put(List.of("--iterations", "-1"), () -> FitConfig.builder(job().build()).iterations(-1));
        bad.put(List.of("--minibatch-fraction", "0.5", "--dp-clip", "1", "--dp-noise-multiplier", "1"),
                () -> FitConfig.builder(job().build()).minibatchFraction(0.5).dp(new DpSgd(1, 1, Double.NaN)));
        bad.put(List.of("--optimizer", "sgd", "--minibatch-fraction", "0.1", "--dp-clip", "0", "--dp-noise-multiplier", "1"),
                () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.SGD).minibatchFraction(0.1).dp(new DpSgd(0, 1, Double.NaN)));
        bad.put(List.of("--optimizer", "sgd", "--minibatch-fraction", "0.1", "--dp-clip", "1", "--dp-noise-multiplier", "1", "--reduction", "sum"),
                () -> FitConfig.builder(job().reduction(JobConfig.Reduction.SUM).build()).optimizer(FitSettings.Optimizer.SGD).minibatchFraction(0.1)
                        .dp(new DpSgd(1, 1, Double.NaN)));
        bad.put(List.of("--optimizer", "gauss-newton"), () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.GAUSS_NEWTON));
        bad.put(List.of("--optimizer", "newton-cg"), () -> FitConfig.builder(job().build()).optimizer(FitSettings.Optimizer.NEWTON_CG));
        bad.put(List.of("--solve", "dense"), () -> FitConfig.builder(job().build())
                .secondOrder(new FitSettings.SecondOrder(50, 1e-4, 1e-3, FitSettings.Solve.DENSE)));
        bad.put(List.of("--damping", "0"), () -> FitConfig.builder(job().build()).secondOrder(new FitSettings.SecondOrder(50, 1e-4, 0)));
        for (Map.Entry<List<String>, Supplier<FitConfig.Builder>> e : bad.entrySet()) {
            String cli = assertThrows(BadInputException.class, () -> FitOptions.parse(Map.of(), e.getKey().toArray(new String[0])), e.getKey().toString()).getMessage();
            String built = assertThrows(BadInputException.class, () -> e.getValue().get().build(), e.getKey().toString()).getMessage();
            assertEquals(cli, built, e.getKey().toString());
        }
    }
}
