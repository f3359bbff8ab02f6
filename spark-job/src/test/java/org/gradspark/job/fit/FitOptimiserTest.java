package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;
import org.gradspark.job.exec.Evaluator.Value;
import org.gradspark.job.exec.RowSample;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npz;
import org.gradspark.job.io.Storage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The optimisers, checkpoints and resume on a plain least-squares objective (no Spark): L-BFGS
 * reaches the normal equations' solution, a run stopped after a checkpoint and resumed ends with the
 * same bits as one never stopped, and a checkpoint of another problem or settings is refused.
 */
class FitOptimiserTest {
    private static final Map<String, Object> PROBLEM = Map.of("layers", "5,1", "loss", "mse", "dtype", "float64", "rows", 300);

    @TempDir Path dir;

    private static final Fitter.Progress QUIET = r -> {};

    /** Stops the "driver" once iteration k is done (and its checkpoint written), as a kill would. */
    private static final class Lost extends RuntimeException {}

    private static Fitter.Progress stopAfter(int k) {
        return r -> {
            if (r.iteration() == k) throw new Lost();
        };
    }

    @Test
    void lbfgsReachesTheLeastSquaresSolution() {
        LeastSquares ls = new LeastSquares(300, 5, 7, DType.FLOAT64);
        Fitter.Result r = Fitter.run(ls, FitSettings.lbfgs(100), PROBLEM, null, null, null, QUIET);
        double[] ref = ls.solution();
        double[] got = new double[6];
        for (int j = 0; j < 5; j++) got[j] = r.weights().get("w0").getDouble(j);
        got[5] = r.weights().get("b0").getDouble(0);
        double num = 0, den = 0;
        for (int j = 0; j < 6; j++) {
            num += (got[j] - ref[j]) * (got[j] - ref[j]);
            den += ref[j] * ref[j];
        }
        assertTrue(Math.sqrt(num / den) < 1e-5, "relative error " + Math.sqrt(num / den) + " after " + r.history().size() + " iterations (" + r.stopReason() + ")");
        // Every accepted point lowers the loss (the line search's sufficient decrease).
        for (int i = 1; i < r.history().size(); i++) assertTrue(r.history().get(i).loss() <= r.history().get(i - 1).loss());
        assertEquals(ls.evaluations, r.evaluations(), "every evaluation counted");
        // A failed line search's evaluations belong to no accepted iteration.
        assertTrue(r.history().stream().mapToInt(IterationRecord::evaluations).sum() <= r.evaluations());
    }

    @Test
    void lbfgsResumedFromACheckpointEndsWithTheSameBits() {
        FitSettings s = FitSettings.lbfgs(25).withCheckpointEvery(4);
        LeastSquares whole = new LeastSquares(400, 40, 7, DType.FLOAT32);
        String full = Storage.uri(dir.resolve("full/checkpoints"));
        Fitter.Result never = Fitter.run(whole, s, PROBLEM, null, Storage.local(), full, QUIET);

        String ck = Storage.uri(dir.resolve("run/checkpoints"));
        assertThrows(Lost.class, () -> Fitter.run(new LeastSquares(400, 40, 7, DType.FLOAT32), s, PROBLEM, null, Storage.local(), ck, stopAfter(10)));
        Checkpoint c = Checkpoint.read(Storage.local(), ck);
        assertEquals(8, c.state().iteration(), "the latest checkpoint before the loss");
        Fitter.Result resumed = Fitter.run(new LeastSquares(400, 40, 7, DType.FLOAT32), s, PROBLEM, c, Storage.local(), ck, QUIET);

        assertTrue(never.history().size() > 12, never.history().size() + " iterations: " + never.stopReason());
        assertSameBits(never.weights(), resumed.weights());
        assertEquals(losses(never.history()), losses(resumed.history()));
        assertEquals(evaluations(never.history()), evaluations(resumed.history()), "the same evaluations, line search included");
        assertEquals(never.evaluations(), resumed.evaluations());
        assertEquals(never.stopReason(), resumed.stopReason());
        // The checkpoints the two runs wrote after the resume point agree too.
        for (int it : List.of(12, 16)) {
            String name = Checkpoint.name(it);
            if (!Files.exists(dir.resolve("full/checkpoints").resolve(name))) continue;
            assertSameBits(Npz.read(dir.resolve("full/checkpoints").resolve(name).resolve("optimizer.npz")),
                    Npz.read(dir.resolve("run/checkpoints").resolve(name).resolve("optimizer.npz")));
        }
    }

    @Test
    void adamOnMinibatchesResumedFromACheckpointEndsWithTheSameBits() {
        FitSettings s = FitSettings.adam(30, 0.05).withMinibatch(0.3, 11).withCheckpointEvery(5).withL2(1e-3);
        Fitter.Result never = Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT32), s, PROBLEM, null, Storage.local(),
                Storage.uri(dir.resolve("full")), QUIET);
        String ck = Storage.uri(dir.resolve("run"));
        assertThrows(Lost.class, () -> Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT32), s, PROBLEM, null, Storage.local(), ck, stopAfter(17)));
        Checkpoint c = Checkpoint.read(Storage.local(), ck);
        assertEquals(15, c.state().iteration());
        Fitter.Result resumed = Fitter.run(new LeastSquares(300, 5, 7, DType.FLOAT32), s, PROBLEM, c, Storage.local(), ck, QUIET);
        assertSameBits(never.weights(), resumed.weights());
        assertEquals(losses(never.history()), losses(resumed.history()));
        assertTrue(never.history().get(29).loss() < never.history().get(0).loss() / 10, "Adam learns: " + losses(never.history()));
        // A minibatch of 30%: each step's rows differ, deterministically.
        assertTrue(never.history().stream().map(IterationRecord::rows).distinct().count() > 1);
    }

    @Test
    void minibatchSamplesDependOnSeedAndStepOnly() {
        FitSettings s = FitSettings.adam(5, 0.05).withMinibatch(0.5, 3);
        Fitter.Result a = Fitter.run(new LeastSquares(200, 3, 1, DType.FLOAT64), s, PROBLEM, null, null, null, QUIET);
        Fitter.Result b = Fitter.run(new LeastSquares(200, 3, 1, DType.FLOAT64), s, PROBLEM, null, null, null, QUIET);
        assertSameBits(a.weights(), b.weights());
        Fitter.Result c = Fitter.run(new LeastSquares(200, 3, 1, DType.FLOAT64), s.withMinibatch(0.5, 4), PROBLEM, null, null, null, QUIET);
        assertTrue(!a.history().get(0).equals(c.history().get(0)) || a.history().get(0).rows() != c.history().get(0).rows());
    }

    @Test
    void sgdDescends() {
        FitSettings s = new FitSettings(FitSettings.Optimizer.SGD, 50, 10, 1e-9, 0.2, 0.9, 0.999, 1e-8, 1, 1, 0, 0);
        Fitter.Result r = Fitter.run(new LeastSquares(200, 3, 1, DType.FLOAT64), s, PROBLEM, null, null, null, QUIET);
        for (int i = 1; i < r.history().size(); i++) assertTrue(r.history().get(i).loss() <= r.history().get(i - 1).loss());
        assertTrue(r.finalLoss() < r.history().get(0).loss() / 10);
    }

    @Test
    void aCheckpointOfAnotherProblemOrOtherSettingsIsRefused() {
        FitSettings s = FitSettings.lbfgs(10).withCheckpointEvery(2);
        String ck = Storage.uri(dir.resolve("ck"));
        Fitter.run(new LeastSquares(100, 3, 1, DType.FLOAT64), s, PROBLEM, null, Storage.local(), ck, QUIET);
        Checkpoint c = Checkpoint.read(Storage.local(), ck);
        Map<String, Object> other = new java.util.HashMap<>(PROBLEM);
        other.put("layers", "3,4,1");
        BadInputException e = assertThrows(BadInputException.class,
                () -> Fitter.run(new LeastSquares(100, 3, 1, DType.FLOAT64), s, other, c, Storage.local(), ck, QUIET));
        assertTrue(e.getMessage().contains("another model") && e.getMessage().contains("layers was 5,1, now 3,4,1"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Fitter.run(new LeastSquares(100, 3, 1, DType.FLOAT64),
                new FitSettings(FitSettings.Optimizer.LBFGS, 10, 5, 1e-9, 1e-3, 0.9, 0.999, 1e-8, 1, 42, 0, 2), PROBLEM, c, Storage.local(), ck, QUIET));
        assertTrue(e.getMessage().contains("--lbfgs-memory was 10, now 5"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Fitter.run(new LeastSquares(100, 3, 1, DType.FLOAT64), FitSettings.adam(10, 0.1), PROBLEM, c,
                Storage.local(), ck, QUIET));
        assertTrue(e.getMessage().contains("--optimizer lbfgs"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Checkpoint.read(Storage.local(), Storage.uri(dir)));
        assertTrue(e.getMessage().contains("holds no checkpoint"), e.getMessage());
    }

    @Test
    void badSettingsNameTheOption() {
        assertTrue(assertThrows(BadInputException.class, () -> FitSettings.lbfgs(-1)).getMessage().startsWith("--iterations: expected >= 0"));
        assertTrue(assertThrows(BadInputException.class, () -> FitSettings.Optimizer.parse("--optimizer", "newton")).getMessage()
                .contains("unknown optimiser 'newton'"));
        assertTrue(assertThrows(BadInputException.class, () -> FitSettings.lbfgs(5).withMinibatch(0.5, 1)).getMessage().contains("L-BFGS needs the full batch"));
    }

    private static List<Double> losses(List<IterationRecord> h) {
        List<Double> l = new ArrayList<>();
        for (IterationRecord r : h) l.add(r.loss());
        return l;
    }

    private static List<Integer> evaluations(List<IterationRecord> h) {
        return h.stream().map(IterationRecord::evaluations).toList();
    }

    static void assertSameBits(Map<String, Tensor> a, Map<String, Tensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            assertEquals(a.get(k).dtype(), b.get(k).dtype(), k);
            double[] x = a.get(k).toDoubleArray(), y = b.get(k).toDoubleArray();
            long[] bx = new long[x.length], by = new long[y.length];
            for (int i = 0; i < x.length; i++) bx[i] = Double.doubleToRawLongBits(x[i]);
            for (int i = 0; i < y.length; i++) by[i] = Double.doubleToRawLongBits(y[i]);
            assertArrayEquals(bx, by, k);
        }
    }

    /** A copy of checkpoint {@code from} as {@code name}/iter-NNNNNN, whose files the cases below damage. */
    private Path copy(Path from, String name) throws java.io.IOException {
        Path to = Files.createDirectories(dir.resolve(name).resolve(from.getFileName().toString()));
        for (String f : List.of("state.json", "optimizer.npz", "weights.npz")) Files.copy(from.resolve(f), to.resolve(f));
        return to;
    }

    private static void editState(Path ck, java.util.function.Consumer<ObjectNode> edit) throws java.io.IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        ObjectNode state = (ObjectNode) json.readTree(ck.resolve("state.json").toFile());
        edit.accept(state);
        json.writerWithDefaultPrettyPrinter().writeValue(ck.resolve("state.json").toFile(), state);
    }

    private static void editArrays(Path ck, String file, java.util.function.Consumer<Map<String, Tensor>> edit) {
        Map<String, Tensor> arrays = Npz.read(ck.resolve(file));
        edit.accept(arrays);
        Npz.write(ck.resolve(file), arrays);
    }

    private static Tensor changed(Tensor t, int index, double value) {
        double[] v = t.toDoubleArray();
        v[index] = value;
        return Tensor.wrap(v, t.shape()).astype(t.dtype());
    }

    private static void assertRefused(Path ck, String file, String... named) {
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.read(Storage.local(), Storage.uri(ck)));
        assertTrue(e.getMessage().startsWith("--resume " + ck.resolve(file)), e.getMessage());
        for (String n : named) assertTrue(e.getMessage().contains(n), "'" + n + "' in: " + e.getMessage());
    }

    @Test
    void aCheckpointWhoseFilesDisagreeIsRefusedNamingTheFileAndTheField() throws Exception {
        Fitter.run(new LeastSquares(400, 40, 7, DType.FLOAT32), FitSettings.lbfgs(6).withCheckpointEvery(6), PROBLEM, null, Storage.local(),
                Storage.uri(dir.resolve("lbfgs")), QUIET);
        Path lbfgs = dir.resolve("lbfgs/iter-000006");
        Checkpoint.read(Storage.local(), Storage.uri(lbfgs));   // as written: sound
        Path ck = copy(lbfgs, "gap");
        editState(ck, st -> ((ObjectNode) st.get("history").get(4)).put("iteration", 1));
        assertRefused(ck, "state.json", "'history[4].iteration' is 1, expected 4");
        ck = copy(lbfgs, "evaluations");
        editState(ck, st -> st.put("evaluations", st.get("evaluations").asLong() + 1));
        assertRefused(ck, "state.json", "'evaluations'");
        ck = copy(lbfgs, "loss");
        editState(ck, st -> ((ObjectNode) st.get("history").get(3)).put("loss", 0.5));
        assertRefused(ck, "optimizer.npz", "'values'", "history");
        ck = copy(lbfgs, "short-x");
        editArrays(ck, "optimizer.npz", a -> a.put("x", Tensor.wrap(new double[] {1, 2}, org.gradspark.ad.Shape.of(2))));
        assertRefused(ck, "optimizer.npz", "array 'x' has 2 values");
        ck = copy(lbfgs, "nan");
        editArrays(ck, "optimizer.npz", a -> a.put("value", changed(a.get("value"), 0, Double.NaN)));
        assertRefused(ck, "optimizer.npz", "'value'[0] is NaN");
        ck = copy(lbfgs, "edited-pair");
        editArrays(ck, "optimizer.npz", a -> a.put("s0", changed(a.get("s0"), 0, a.get("s0").getDouble(0) * 2)));
        assertRefused(ck, "optimizer.npz", "optimizer_sha256");
        ck = copy(lbfgs, "weights");
        editArrays(ck, "weights.npz", a -> a.put("w0", changed(a.get("w0"), 1, 7)));
        assertRefused(ck, "weights.npz", "key 'w0' (1, 0) is 7.0");

        Fitter.run(new LeastSquares(100, 3, 1, DType.FLOAT64), FitSettings.adam(4, 0.1).withCheckpointEvery(4), PROBLEM, null, Storage.local(),
                Storage.uri(dir.resolve("adam")), QUIET);
        ck = copy(dir.resolve("adam/iter-000004"), "no-m");
        editArrays(ck, "optimizer.npz", a -> a.remove("m"));
        assertRefused(ck, "optimizer.npz", "no array 'm'");
    }

    @Test
    void lbfgsOverflowingInItsLineSearchAdvisesWhatLbfgsCanChange() {
        // -w, falling for ever, and overflowing past w = 3: the line search walks out to the overflow.
        FitObjective falling = new FitObjective() {
            @Override public List<String> keys() { return List.of("w0"); }

            @Override public Map<String, Tensor> initialWeights() { return Map.of("w0", Tensor.zeros(DType.FLOAT64, 1)); }

            @Override public Value evaluate(Map<String, Tensor> weights, RowSample sample) {
                double w = weights.get("w0").getDouble(0);
                return new Value(w > 3 ? Double.NEGATIVE_INFINITY : -w, Map.of("w0", Tensor.full(-1, DType.FLOAT64, org.gradspark.ad.Shape.of(1))), 1, 0);
            }
        };
        BadInputException e = assertThrows(BadInputException.class, () -> Fitter.run(falling, FitSettings.lbfgs(20), PROBLEM, null, null, null, QUIET));
        assertTrue(e.getMessage().contains("where the optimiser moved the weights") && e.getMessage().contains("--l2")
                && e.getMessage().contains("--dtype float64"), e.getMessage());
        assertTrue(!e.getMessage().contains("--learning-rate"), "L-BFGS has no --learning-rate: " + e.getMessage());
    }

    @Test
    void aCheckpointOfOtherRowsIsRefused() {
        FitSettings s = FitSettings.lbfgs(6).withCheckpointEvery(2);
        String ck = Storage.uri(dir.resolve("rows"));
        Fitter.run(new LeastSquares(100, 3, 1, DType.FLOAT64), s, PROBLEM, null, Storage.local(), ck, QUIET);
        Checkpoint c = Checkpoint.read(Storage.local(), ck);
        BadInputException e = assertThrows(BadInputException.class,
                () -> Fitter.run(new LeastSquares(100, 3, 2, DType.FLOAT64), s, PROBLEM, c, Storage.local(), ck, QUIET));
        assertTrue(e.getMessage().contains("the rows differ") && e.getMessage().contains("rows_digest rows was "), e.getMessage());
    }

    /** What Adam's and SGD's own step check stops first: Checkpoint.write itself never writes a state that cannot be resumed. */
    @Test
    void aStateWithANaNOrAnInfinityIsNeverWritten() throws Exception {
        ParamLayout layout = ParamLayout.of(List.of("w0"), Map.of("w0", Tensor.zeros(DType.FLOAT32, 2)));
        List<IterationRecord> history = List.of(new IterationRecord(1, 0.5, 1, 1, 1, 10, 0, 0));
        String ck = Storage.uri(dir.resolve("never"));
        Checkpoint beyondFloat32 = new Checkpoint(new Checkpoint.OptimizerState("sgd", 1, new double[] {1, 1e39}, Map.of()), PROBLEM, Map.of(), Map.of(),
                layout, history, 1, 0, null);
        BadInputException e = assertThrows(BadInputException.class, () -> beyondFloat32.write(Storage.local(), ck));
        assertTrue(e.getMessage().contains("weight 'w0' (1,) is Infinity (1.0E39 overflows float32)"), e.getMessage());
        Checkpoint nanMoment = new Checkpoint(new Checkpoint.OptimizerState("adam", 1, new double[] {1, 2}, Map.of("m", new double[] {0, Double.NaN},
                "v", new double[] {0, 0})), PROBLEM, Map.of(), Map.of(), layout, history, 1, 0, null);
        e = assertThrows(BadInputException.class, () -> nanMoment.write(Storage.local(), ck));
        assertTrue(e.getMessage().contains("'m'[1] is NaN"), e.getMessage());
        assertEquals(List.of(), Checkpoint.list(Storage.local(), ck), "nothing written");
    }

    /** Past a million iterations a checkpoint's name has seven digits: the latest is the highest iteration, not the last name in order. */
    @Test
    void theLatestCheckpointIsTheHighestIteration() throws Exception {
        for (String it : List.of("iter-999999", "iter-1000000")) {
            Files.createDirectories(dir.resolve("many").resolve(it));
            Files.writeString(dir.resolve("many").resolve(it).resolve("state.json"), "{}");
        }
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.read(Storage.local(), Storage.uri(dir.resolve("many"))));
        assertTrue(e.getMessage().startsWith("--resume " + dir.resolve("many/iter-1000000/state.json")), e.getMessage());
    }
}
