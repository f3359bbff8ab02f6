package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.job.exec.DriverMemoryCheck;
import org.gradspark.job.exec.HeapEstimate;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.fit.FitSettings;
import org.gradspark.job.fit.OptimizerMemory;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;

/**
 * The terms of what an evaluation makes the driver hold ({@link HeapEstimate}), as its javadoc states them, and the
 * check built on them ({@link DriverMemoryCheck}): issue 26's 50M-parameter gradient, which the old check (weights and
 * summed gradient, 8 bytes a parameter) let through at 1 GiB, measured 1340 MiB live on a standalone driver.
 */
class HeapEstimateTest {
    private static final double MIB = 1 << 20, GIB = 1 << 30;
    private static final long FIFTY_M = 5000L * 10_000 + 10_000;
    private static final long DEFAULT_DIRECT = 128L << 20;

    /** A standalone master's driver (no tasks in its heap) of {@code heap} bytes, 4 partitions, the default threshold. */
    private static DriverMemoryCheck.Setting cluster(long heap) {
        return new DriverMemoryCheck.Setting(heap, 0, 4, 1L << 25, 4, DEFAULT_DIRECT, w -> List.of());
    }

    private static JobConfig mlp(String layers) {
        int[] widths = java.util.Arrays.stream(layers.split(",")).mapToInt(Integer::parseInt).toArray();
        return JobConfig.builder().layers(widths).synthetic(32).partitions(4).out("/tmp/unused").build();
    }

    @Test
    void fiftyMillionFloat32AreRefusedAtOneGibibyteAndPassAtTwo() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> DriverMemoryCheck.require(mlp("5000,10000"), "--layers 5000,10000", FIFTY_M, DType.FLOAT32, cluster(1L << 30)));
        assertTrue(e.getMessage().startsWith("--layers 5000,10000: 50010000 parameters (float32, 4 partitions, sharded reduction) need 0.99 GiB"), e.getMessage());
        assertTrue(e.getMessage().endsWith("more than the 80% usable of the 1.00 GiB heap of the driver: raise --driver-memory"), e.getMessage());
        assertDoesNotThrow(() -> DriverMemoryCheck.require(mlp("5000,10000"), "--layers 5000,10000", FIFTY_M, DType.FLOAT32, cluster(2L << 30)));
    }

    /**
     * Sharded, the driver holds Spark's own, the weights, their blocks and the gradient (P·4 each) and one shard of P/4
     * float64 values with its 3 serialized copies; collected, the 4 partitions' partial sums (4·P·8) and 4 results
     * arriving at once with 3 copies each (the RPC message's, the status's, the value's bytes).
     */
    @Test
    void shardedAndCollectedReductionsCountTheirOwnTerms() {
        long p = 1_000_000;
        HeapEstimate.Load sharded = new HeapEstimate.Load(p, 4, p, false, 4, true, 4, DEFAULT_DIRECT, 0);
        assertEquals(64 * MIB + 3 * p * 4 + (p / 4) * 8 * 4, HeapEstimate.driver(sharded, 0).need(), 1e-6);
        HeapEstimate.Load collected = new HeapEstimate.Load(p, 4, p, false, 4, false, 4, DEFAULT_DIRECT, 0);
        assertEquals(64 * MIB + 2 * p * 4 + 4 * p * 8 + 4 * p * 8 * 3, HeapEstimate.driver(collected, 0).need(), 1e-6);
        // A result above spark.task.maxDirectResultSize waits in the block manager: in local mode the driver's, all 4 at once,
        // beside the 2 tasks' partial sums and the 2 serialized copies each makes of its result.
        HeapEstimate.Load indirect = new HeapEstimate.Load(p, 4, p, false, 4, false, 4, p * 8 - 1, 0);
        double tasks = 2 * (p * 8 + 2 * p * 8);
        assertEquals(64 * MIB + 2 * p * 4 + 4 * p * 8 + 4 * p * 8 * 3 + tasks, HeapEstimate.driver(indirect, 2).need(), 1e-6);
        // A vector (--mode hvp) is broadcast too, and a task's chunk carries the product's tangent.
        HeapEstimate.Load hvp = new HeapEstimate.Load(p, 4, p, true, 4, true, 4, DEFAULT_DIRECT, 0);
        assertEquals(2 * p * 4, HeapEstimate.driver(hvp, 0).need() - HeapEstimate.driver(sharded, 0).need(), 1e-6);
        // An executor with one task at once: Spark's own, weights and blocks, the partial sums and 3 serialized copies of its result;
        // sharded, its reduce task is larger: the 4 slices of its shard (P·8 in all), their sum and its 3 copies.
        assertEquals(64 * MIB + 2 * p * 4 + p * 8 + 3 * p * 8, HeapEstimate.executor(collected, 1).need(), 1e-6);
        assertEquals(64 * MIB + 2 * p * 4 + p * 8 + (p / 4) * 8 * 4, HeapEstimate.executor(sharded, 1).need(), 1e-6);
    }

    /**
     * A fit adds its optimiser's state to the evaluation's: L-BFGS's 2·m pairs and Breeze's 16 vectors, Adam's moments, the
     * dense Gauss-Newton matrices; and, checkpointing, the copy a checkpoint takes (L-BFGS: every pair, x and the gradient).
     */
    @Test
    void fitAddsItsOptimisersState() {
        long p = 1_000_000;
        double common = 4 * p * 8 + p * 4;
        FitSettings lbfgs = FitSettings.lbfgs(10);   // no checkpoints
        assertEquals(common + (2 * 10 + 16) * p * 8.0, sum(OptimizerMemory.terms(lbfgs, 4, p, 4)), 1e-6);
        assertEquals(common + (2 * 10 + 16) * p * 8.0 + (2 * 10 + 2) * p * 8.0, sum(OptimizerMemory.terms(lbfgs.withCheckpointEvery(10), 4, p, 4)), 1e-6);
        assertEquals(common + 3 * p * 8.0, sum(OptimizerMemory.terms(FitSettings.adam(10, 0.01), 4, p, 4)), 1e-6);
        FitSettings dense = FitSettings.gaussNewton(10).withSecondOrder(new FitSettings.SecondOrder(50, 1e-4, 1e-3, FitSettings.Solve.DENSE));
        long q = 2000;
        assertEquals(4 * q * 8 + q * 4 + 5 * q * 8 + 3 * q * 4 + (4 + 4.0) * q * q * 8, sum(OptimizerMemory.terms(dense, 4, q, 4)), 1e-6);
        // 10M float32 on a cluster's driver: a gradient fits 1 GiB, L-BFGS's state (36 vectors of 80 MB) does not.
        long ten = 1000L * 10_000 + 10_000;
        assertDoesNotThrow(() -> DriverMemoryCheck.require(mlp("1000,10000"), "--layers 1000,10000", ten, DType.FLOAT32, cluster(1L << 30)));
        DriverMemoryCheck.Setting fit = cluster(1L << 30).withState(w -> OptimizerMemory.terms(lbfgs, 4, w, 4));
        BadInputException e = assertThrows(BadInputException.class,
                () -> DriverMemoryCheck.require(mlp("1000,10000"), "--layers 1000,10000", ten, DType.FLOAT32, fit));
        assertTrue(e.getMessage().contains("L-BFGS's 10 (s, y) pairs and its state 2749 MiB"), e.getMessage());
    }

    private static double sum(List<HeapEstimate.Term> terms) {
        return terms.stream().mapToDouble(HeapEstimate.Term::bytes).sum();
    }
}
