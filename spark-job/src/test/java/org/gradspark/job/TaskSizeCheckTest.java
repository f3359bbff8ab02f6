package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.DType;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;

/**
 * The check that a task fits in its heap ({@link JobModel#checkTaskSize}) counts the activations of the rows a
 * chunk really holds: no more than the largest partition's. gradspark-bench's 50M-parameter reduction (32 rows
 * over 8 partitions, 4 rows a task) was refused for the activations of 4096 rows (0.92 of the 1.47 GiB it
 * said a task needed; issue 26, item 5). The evaluator's side: EvaluatorTest.smallPartitionsAreSizedByTheirRows.
 */
class TaskSizeCheckTest {
    /** Where the partitions' rows are what overflow the heap, the line names them instead of --chunk-rows. */
    @Test
    void theRefusalNamesTheRowsAChunkHolds() {
        BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(BadInputException.class, () -> JobModel.checkTaskSize(new int[] {8, 512, 512, 3},
                DType.FLOAT32, 100_000, 50_000, 1, 1L << 30, 4, "--executor-memory (spark.executor.memory)", null));
        assertTrue(e.getMessage().startsWith("--layers 8,512,512,3 with chunks of 50000 rows (a partition's): 4 tasks at once need 3.16 GiB"),
                e.getMessage());
    }
}
