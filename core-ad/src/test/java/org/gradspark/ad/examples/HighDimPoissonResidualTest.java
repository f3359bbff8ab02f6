package org.gradspark.ad.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.LaplacianEstimator;
import org.gradspark.ad.Operators;
import org.gradspark.ad.Ops;
import org.gradspark.ad.RowDraws;
import org.gradspark.ad.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The high-dimensional Poisson residual and its {@link org.gradspark.ad.RowAware} draws: a chunk told its
 * first row gives the whole batch's values for its rows; exact draws give {@code Δu + f} and {@code u − g}
 * from the exact Laplacian; rows that are neither interior nor boundary points are refused by their index.
 */
class HighDimPoissonResidualTest {
    private static final int D = 5;

    @Test
    void aChunkToldItsFirstRowDrawsTheWholeBatchsDirectionsForItsRows() {
        HighDimPoissonResidual cell = new HighDimPoissonResidual(D);
        Tensor rows = HighDimPoissonResidual.rows(D, 16, 4, 2);
        LaplacianEstimator e = LaplacianEstimator.parse("hutchinson:2");
        cell.drawFrom(new RowDraws(e, 7, 0));
        double[] whole = cell.call(rows).asTensor().toDoubleArray();
        Tensor chunk = Ops.slice(rows, new int[] {7, 0}, new int[] {8, D + 1});
        cell.drawFrom(new RowDraws(e, 7, 7));
        double[] fromRow7 = cell.call(chunk).asTensor().toDoubleArray();
        for (int i = 0; i < 8; i++) assertEquals(whole[7 + i], fromRow7[i], 1e-12 * (1 + Math.abs(whole[7 + i])), "row " + (7 + i));
        cell.drawFrom(new RowDraws(e, 7, 0));   // the chunk as if it started the batch: rows 0.. 's directions
        double[] local = cell.call(chunk).asTensor().toDoubleArray();
        boolean differs = false;
        for (int i = 0; i < 8; i++) differs |= Math.abs(local[i] - whole[7 + i]) > 1e-9;
        assertTrue(differs, "the interior rows' draws do not depend on the row index");
    }

    @Test
    void exactDrawsGiveTheInteriorAndBoundaryResiduals() {
        HighDimPoissonResidual cell = new HighDimPoissonResidual(D);
        Tensor rows = HighDimPoissonResidual.rows(D, 6, 3, 4);
        Tensor x = Ops.slice(rows, new int[] {0, 0}, new int[] {9, D});
        double[] r = cell.call(rows).asTensor().toDoubleArray();   // no one set the draws: exact
        double[] lap = Operators.laplacian(a -> cell.solution(a[0]), x).toDoubleArray(), u = cell.solution(x).toDoubleArray();
        double[] exact = HighDimPoissonResidual.exact(x).toDoubleArray();
        for (int i = 0; i < 9; i++) {
            double expected = i < 6 ? lap[i] + Math.PI * Math.PI / 4 * exact[i] : u[i] - exact[i];
            assertEquals(expected, r[i], 1e-12 * (1 + Math.abs(expected)), "row " + i);
        }
    }

    @Test
    void rowsThatAreNeitherInteriorNorBoundaryPointsAreNamedByTheirIndexInTheInput() {
        HighDimPoissonResidual cell = new HighDimPoissonResidual(D);
        double[] v = HighDimPoissonResidual.rows(D, 3, 1, 5).toDoubleArray();
        cell.drawFrom(new RowDraws(LaplacianEstimator.EXACT, 0, 100));
        double[] mark = v.clone();
        mark[1 * (D + 1) + D] = 0.5;
        assertTrue(message(cell, mark).contains("row 101: the last value marks an interior (0) or a boundary (1) point, got 0.5"), message(cell, mark));
        double[] outside = v.clone();
        for (int j = 0; j < D; j++) outside[2 * (D + 1) + j] = 1;
        assertTrue(message(cell, outside).contains("row 102: an interior point (last value 0) must lie in the unit ball"), message(cell, outside));
        double[] inside = v.clone();
        inside[2 * (D + 1) + D] = 1;   // an interior point marked as a boundary one
        assertTrue(message(cell, inside).contains("row 102: a boundary point (last value 1) must lie on the unit sphere"), message(cell, inside));
        String width = assertThrows(IllegalArgumentException.class, () -> cell.call(Tensor.zeros(org.gradspark.ad.DType.FLOAT64, 2, D))).getMessage();
        assertTrue(width.contains("takes rows of 6 values"), width);
    }

    private static String message(HighDimPoissonResidual cell, double[] rows) {
        return assertThrows(IllegalArgumentException.class, () -> cell.call(Tensor.of(rows, rows.length / (D + 1), D + 1))).getMessage();
    }
}
