package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.exec.PerExampleOutput;
import org.junit.jupiter.api.Test;

/** Each per-example output kind's directory, row shape, memory factor, core call and summary entry, as the job used them before they were one object. */
class PerExampleOutputTest {

    @Test
    void everyNameGivesItsKindBack() {
        for (String name : PerExampleOutput.names()) assertEquals(name, PerExampleOutput.named(name, 1).name());
        assertEquals(new PerExampleOutput.Nested(3), PerExampleOutput.named("nested", 3));
        assertThrows(IllegalArgumentException.class, () -> PerExampleOutput.named("hessian_diagonal", 1));
    }

    @Test
    void directoriesRowShapesAndMemoryFactors() {
        Map<String, String> dirs = Map.of("nested", "input_grads", "grad", "input_grads", "laplacian", "laplacian",
                "hessian-diagonal", "hessian_diagonal", "jacobian", "jacobian");
        for (Map.Entry<String, String> e : dirs.entrySet()) assertEquals(e.getValue(), PerExampleOutput.named(e.getKey(), 2).dir(), e.getKey());
        assertArrayEquals(new int[] {5}, new PerExampleOutput.Nested(2).rowShape(5, 3));
        assertArrayEquals(new int[] {3}, new PerExampleOutput.Laplacian().rowShape(5, 3));
        assertArrayEquals(new int[] {3, 5}, new PerExampleOutput.HessianDiagonal().rowShape(5, 3));
        assertArrayEquals(new int[] {3, 5}, new PerExampleOutput.Jacobian().rowShape(5, 3));
        // The values per activation of the sweeps (the task-size estimate's factors before this class).
        assertEquals(List.of(1L, 1L, 66L, 129L, 65L), PerExampleOutput.names().stream().limit(5).map(n -> PerExampleOutput.named(n, 4).memoryFactor(64)).toList());
        // A randomised Laplacian carries K tangents, not in.
        assertEquals(10L, new PerExampleOutput.Laplacian(new org.gradspark.ad.LaplacianEstimator.Hutchinson(8), 1).memoryFactor(1000));
    }

    @Test
    void coreCallsAndSummaryEntries() {
        BatchGradient.Request nested = new PerExampleOutput.Nested(3).request(true, null, 0.5);
        assertEquals(3, nested.inputOrder());
        assertNull(nested.operator());
        BatchGradient.Request lap = new PerExampleOutput.Laplacian().request(false, null, 1);
        assertEquals(1, lap.inputOrder());
        assertEquals(false, lap.weights());
        assertEquals("{derivative=nested, order=3, path=input_grads, format=npy, shape=[10, 4], parts=2}",
                new PerExampleOutput.Nested(3).summaryEntry("npy", List.of(10L, 4L), 2).toString());
        assertEquals("{derivative=grad, order=1, path=input_grads, format=npy, shape=[10, 4], parts=2}",
                new PerExampleOutput.Grad().summaryEntry("npy", List.of(10L, 4L), 2).toString());
        assertEquals("{derivative=laplacian, path=laplacian, format=npy, shape=[10, 1], parts=2, estimator=stde:3, seed=7}",
                new PerExampleOutput.Laplacian(new org.gradspark.ad.LaplacianEstimator.Stde(3), 7).summaryEntry("npy", List.of(10L, 1L), 2).toString());
        assertEquals("{derivative=laplacian, path=laplacian, format=npy, shape=[10, 1], parts=2}",
                new PerExampleOutput.Laplacian().summaryEntry("npy", List.of(10L, 1L), 2).toString());
        assertEquals("{derivative=jacobian, path=jacobian, format=parquet, shape=[10, 1, 4], parts=2}",
                new PerExampleOutput.Jacobian().summaryEntry("parquet", List.of(10L, 1L, 4L), 2).toString());
    }
}
