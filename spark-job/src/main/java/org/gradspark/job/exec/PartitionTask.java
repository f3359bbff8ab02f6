package org.gradspark.job.exec;

import java.util.Iterator;
import java.util.Map;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.DeviceTraffic;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Storage;

/**
 * The work of one partition: its rows ({@link PartitionRows}) chunk after chunk through a
 * {@link ChunkKernel} (the core call and its partial sums, float64, in chunk order), the kernel's
 * per-example rows written as the partition's own {@code part-NNNNN.npy} ({@link PartWriter}), on the
 * job's backend, killed between chunks when its job fails.
 */
public final class PartitionTask implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private static final java.lang.management.ThreadMXBean THREAD_CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    private final JobConfig cfg;
    private final PartitionRows rows;
    private final String inputGrads;   // the directory of the parts (inside the job's temporary output); null: not wanted
    private final Broadcast<Storage> storage;

    /**
     * @param inputGrads where partition i writes its per-example output, {@code inputGrads/part-0000i.npy}
     *        (a directory the driver made); null when it is not wanted
     */
    public PartitionTask(JobConfig cfg, PartitionRows rows, String inputGrads, Broadcast<Storage> storage) {
        this.cfg = cfg;
        this.rows = rows;
        this.inputGrads = inputGrads;
        this.storage = storage;
    }

    /** The rows this task works on. */
    PartitionRows rows() {
        return rows;
    }

    /**
     * Partition {@code index} over {@code kept} rows in memory (null: read as it goes), the
     * objective scaled by {@code scale} (1/rows used for a mean), only the rows in {@code sample}
     * (null: all), {@code vector} times the {@code curvature} matrix (the Hessian, or the Gauss-Newton
     * matrix; null: no product, the vector if any is grad-dot's V), with the gradient statistics {@code stats} (their partial sums after the gradient's:
     * {@link PartitionStatistics}); bad input gives a {@linkplain PartitionResult#failed failed result}, which is not retried.
     */
    public PartitionResult runOrFailure(int index, PartitionRows.Rows kept, double scale, Map<String, Tensor> weights, Map<String, Tensor> vector,
                                        BatchGradient.Curvature curvature, RowSample sample, StatisticsSpec stats, LongAccumulator rowsDone) {
        if (kept != null && kept.failure() != null) return PartitionResult.failed(index, new BadInputException(kept.failure()));
        try {
            return run(index, kept == null ? rows.chunks(index) : kept.chunks().iterator(), scale, weights, vector, curvature, sample, stats, rowsDone);
        } catch (BadInputException e) {
            return PartitionResult.failed(index, e);
        }
    }

    /** Partition {@code index} over the given chunks of its rows. */
    PartitionResult run(int index, Iterator<PartitionRows.Chunk> chunks, double scale, Map<String, Tensor> weights, Map<String, Tensor> vector,
                        BatchGradient.Curvature curvature, RowSample sample, StatisticsSpec stats, LongAccumulator rowsDone) {
        boolean writesPart = inputGrads != null;
        return onTheTasksDevice(index, chunks, sample, rowsDone, nan -> stats.any()
                ? new StatisticsChunkKernel(cfg, nan, stats, weights, vector, scale, writesPart)
                : new GradientChunkKernel(cfg, nan, weights, vector, curvature, scale, writesPart, ChunkKernel.drawSeed(cfg, sample)));
    }

    /**
     * Partition {@code index}'s share of a dense Gauss-Newton pass over {@code kept} rows in memory: the
     * objective and gradient as {@link #runOrFailure} computes them (the same bits), and the partial
     * Gauss-Newton matrix of {@code --loss mse} ({@link GramianChunkKernel}), through the same chunk loop;
     * bad input gives a failed share.
     */
    public PartitionGramian gramianOrFailure(int index, PartitionRows.Rows kept, double scale, Map<String, Tensor> weights) {
        if (kept.failure() != null) return PartitionGramian.failed(index, new BadInputException(kept.failure()));
        try {
            GramianChunkKernel[] made = new GramianChunkKernel[1];
            PartitionResult r = onTheTasksDevice(index, kept.chunks().iterator(), null, null, nan -> made[0] = new GramianChunkKernel(cfg, nan, weights, scale));
            return made[0].share(index, r.objective());
        } catch (BadInputException e) {
            return PartitionGramian.failed(index, e);
        }
    }

    /** The chunk loop on the GPU Spark gave this task, if it gave one, with the kernel {@code kernelOf} makes. */
    private PartitionResult onTheTasksDevice(int index, Iterator<PartitionRows.Chunk> chunks, RowSample sample, LongAccumulator rowsDone,
                                             java.util.function.Function<NanPolicy, ChunkKernel> kernelOf) {
        long start = System.nanoTime(), cpuStart = THREAD_CPU.getCurrentThreadCpuTime(), startMillis = System.currentTimeMillis();
        TaskDevice device;
        try {
            // On the GPU Spark gave this task, if it gave one (TaskDevice says what is done with it).
            device = TaskDevice.of(Backends.require(cfg.backend()), TaskDevice.ofRunningTask());
            device.backend().device();
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new BadInputException("--backend " + cfg.backend() + " on " + ExecutorIdentity.executorAndHost() + ": " + e.getMessage(), e);
        }
        NanPolicy nan = new NanPolicy(cfg);
        // The job's backend, for this task's thread only: another job's tasks in this JVM keep theirs.
        try (Backends.Scope onTheJobsBackend = Backends.scoped(device.backend())) {
            PartitionResult r = runChunks(index, chunks, sample, rowsDone, device.backend(), start, cpuStart, () -> kernelOf.apply(nan));
            return r.placed(device.placement(startMillis));
        }
    }

    /**
     * The one chunk loop: the kernel (made after the device traffic's snapshot, so its weights' upload counts) on
     * each chunk, its rows appended to the partition's part, the job's progress counted; the part committed
     * at the end, or discarded on a failure.
     */
    private PartitionResult runChunks(int index, Iterator<PartitionRows.Chunk> chunks, RowSample sample, LongAccumulator rowsDone, Backend backend,
                                      long start, long cpuStart, java.util.function.Supplier<ChunkKernel> kernelOf) {
        DeviceTraffic.Snapshot traffic = DeviceTraffic.snapshot();
        ChunkKernel kernel = kernelOf.get();
        long first = rows.first(index), end = rows.end(index);
        double outputSum = 0, objective = 0;
        long skipped = 0;
        PartWriter part = kernel.partDType() == null ? null : new PartWriter(storage.value(), inputGrads, index, end - first, kernel.partDType(), cfg.out());
        try {
            org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
            while (chunks.hasNext()) {
                // A task of a job that has failed is killed (not interrupted): it ends at the next chunk, not at its last.
                if (tc != null) tc.killTaskIfInterrupted();
                PartitionRows.Chunk c = chunks.next();
                ChunkKernel.Outcome o = kernel.add(c.first(), c.x(), c.s(), c.y(), PartitionRows.leftOut(c, sample));
                for (int i = 0; i < o.outputs().size(); i++) outputSum += o.outputs().getDouble(i);
                objective += o.objective();
                skipped += o.skippedRows();
                if (part != null) part.append(o.partRows());
                if (rowsDone != null) rowsDone.add(c.x().shape().dim(0));   // progress, sent with the executor's heartbeats
            }
            if (part != null) part.commit();
        } finally {
            if (part != null) part.discard();
        }
        DeviceTraffic.Snapshot moved = DeviceTraffic.snapshot().minus(traffic);
        return new PartitionResult(index, end - first, skipped, kernel.partials(), outputSum, objective, System.nanoTime() - start,
                THREAD_CPU.getCurrentThreadCpuTime() - cpuStart, ExecutorIdentity.executorId(),
                backend.name() + " on " + backend.device(), moved.bytesIn(), moved.bytesOut(), null, null);
    }
}
