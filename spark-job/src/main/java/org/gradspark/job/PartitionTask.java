package org.gradspark.job;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.RowAware;
import org.gradspark.ad.RowDraws;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.ad.batch.GradientStatistics;
import org.gradspark.job.io.BadInputException;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Storage;
import org.apache.spark.broadcast.Broadcast;

/**
 * The work of one partition: its rows in chunks of {@code chunkRows} (so memory does not grow with
 * the partition), each chunk differentiated by {@link BatchGradient#chunk}; weight gradients summed in
 * float64 in chunk order, input derivatives written as the partition's own
 * {@code input_grads/part-NNNNN.npy}, chunk after chunk, through the job's {@link Storage}.
 */
public final class PartitionTask implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private static final java.lang.management.ThreadMXBean THREAD_CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    private final JobConfig cfg;
    private final RowSource input;
    private final RowSource sens;      // null: ones
    private final RowSource labels;    // null: no loss
    private final String inputGrads;   // the directory of the parts (inside the job's temporary output); null: not wanted
    private final int partitions;
    private final Broadcast<Storage> storage;

    /**
     * @param inputGrads where partition i writes its input derivatives, {@code inputGrads/part-0000i.npy}
     *        (a directory the driver made); null when they are not wanted
     */
    public PartitionTask(JobConfig cfg, RowSource input, RowSource sens, RowSource labels, String inputGrads, int partitions,
                         Broadcast<Storage> storage) {
        this.cfg = cfg;
        this.input = input;
        this.sens = sens;
        this.labels = labels;
        this.inputGrads = inputGrads;
        this.partitions = partitions;
        this.storage = storage;
    }

    /** Where this task's rows come from. */
    RowSource source() {
        return input;
    }

    /** The file partition {@code index} writes its input derivatives to, under {@code dir}. */
    public static String partFile(String dir, int index) {
        return Storage.child(dir, String.format("part-%05d.npy", index));
    }

    /** Rows [first, end) of partition {@code index}: a fixed split of N rows into P ranges. */
    public static long firstRow(long n, int partitions, int index) {
        return n * index / partitions;
    }

    /** One chunk of a partition's rows, read and checked: sensitivities null for ones, labels null for none, bad null when every row is kept. */
    public record Chunk(long first, Tensor x, Tensor s, Tensor y, boolean[] bad) {}

    /** Partition {@code index}'s chunks, each read (and checked for NaN/Inf) only when it is reached. */
    public Iterator<Chunk> chunks(int index) {
        long n = input.rows(), end = firstRow(n, partitions, index + 1);
        return new Iterator<>() {
            long r = firstRow(n, partitions, index);

            @Override public boolean hasNext() { return r < end; }

            @Override public Chunk next() {
                if (r >= end) throw new java.util.NoSuchElementException();
                int count = (int) Math.min(cfg.chunkRows(), end - r);
                Chunk c = read(r, count);
                r += count;
                return c;
            }
        };
    }

    /** A partition's rows kept in memory across evaluations, or the bad input that stopped reading them. */
    public record Rows(List<Chunk> chunks, String failure) implements java.io.Serializable {}

    /** Partition {@code index}'s chunks, all read now (to be kept in memory across evaluations). */
    public Rows readAllOrFailure(int index) {
        List<Chunk> all = new ArrayList<>();
        try {
            chunks(index).forEachRemaining(all::add);
            return new Rows(all, null);
        } catch (BadInputException e) {
            return new Rows(List.of(), e.getMessage());
        }
    }

    private Chunk read(long r, int count) {
        Tensor x = read(input, r, count);
        return new Chunk(r, x, sens == null ? null : finite(read(sens, r, count), "--sens", cfg.sens(), r),
                labels == null ? null : finite(read(labels, r, count), "--labels", cfg.labels(), r), nonFinite(x, r));
    }

    /** Sensitivities and labels must be finite (a NaN there would make every gradient NaN): the first bad one is named. */
    private static Tensor finite(Tensor rows, String option, String file, long firstRow) {
        int bad = rows.firstNonFinite();
        if (bad < 0) return rows;
        throw new BadInputException(option + " " + Storage.display(file) + ", " + badCell(rows, bad, firstRow));
    }

    /** {@code row R: column C is V} for element {@code flat} of a chunk of rows whose first is {@code firstRow}. */
    private static String badCell(Tensor rows, int flat, long firstRow) {
        int width = rows.size() / Math.max(1, rows.shape().dim(0));
        return "row " + (firstRow + flat / width) + ": column " + (flat % width) + " is " + rows.getDouble(flat);
    }

    /**
     * Rows of a source; a file the driver has read (it checked every header) but this executor
     * cannot find is a cluster mistake: a path on the driver's disk only.
     */
    private Tensor read(RowSource source, long r, int count) {
        try {
            return source.read(storage.value(), r, count, cfg.dtype());
        } catch (BadInputException e) {
            if (e.getCause() instanceof java.io.FileNotFoundException && source instanceof RowSource.NpyRows f) {
                throw new BadInputException(Storage.display(f.file()) + ": the driver read it, but " + executorAndHost()
                        + " finds no such file: executors need a filesystem they all reach (HDFS, object storage, or a shared mount), "
                        + "not a path on the driver's disk", e);
            }
            throw e;
        }
    }

    /** {@code executor 1 (host 10.0.0.5)}, or {@code the driver (host ...)} in local mode. */
    static String executorAndHost() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        String host;
        try {
            host = env != null ? env.blockManager().blockManagerId().host() : java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException | RuntimeException e) {
            host = "unknown";
        }
        String id = env == null ? "driver" : env.executorId();
        return (id.equals("driver") ? "the driver" : "executor " + id) + " (host " + host + ")";
    }

    /** How many rows of partition {@code index} an evaluation uses, or the bad input that stopped counting them. */
    public record Kept(int index, long rows, String failure) implements java.io.Serializable {}

    /**
     * Rows of partition {@code index} that are used: without a NaN or an infinity (with --on-nan
     * skip) and in {@code sample} (null: all); what a mean divides by. {@code rows} are the
     * partition's rows kept in memory, or null to read them.
     */
    public Kept keptRows(int index, Rows rows, Evaluator.RowSample sample) {
        if (rows != null && rows.failure() != null) return new Kept(index, 0, rows.failure());
        try {
            Iterator<Chunk> chunks = rows == null ? chunks(index) : rows.chunks().iterator();
            long kept = 0;
            while (chunks.hasNext()) {
                Chunk c = chunks.next();
                boolean[] skip = skipped(c, sample);
                kept += c.x().shape().dim(0);
                if (skip != null) for (boolean b : skip) if (b) kept--;
            }
            return new Kept(index, kept, null);
        } catch (BadInputException e) {
            return new Kept(index, 0, e.getMessage());
        }
    }

    /** The rows of a chunk left out: non-finite ones (--on-nan skip) and those not in the sample; null when none. */
    private static boolean[] skipped(Chunk c, Evaluator.RowSample sample) {
        if (sample == null) return c.bad();
        int rows = c.x().shape().dim(0);
        boolean[] skip = c.bad() == null ? new boolean[rows] : c.bad().clone();
        for (int i = 0; i < rows; i++) if (!sample.keeps(c.first() + i)) skip[i] = true;
        return skip;
    }

    /**
     * Partition {@code index} over {@code rows} kept in memory (null: read as it goes), the
     * objective scaled by {@code scale} (1/rows used for a mean), only the rows in {@code sample}
     * (null: all), {@code vector} times the {@code curvature} matrix (the Hessian, or the Gauss-Newton
     * matrix; null: no product, the vector if any is grad-dot's V), with the gradient statistics {@code stats} (their partial sums after the gradient's:
     * {@link PartitionStatistics}); bad input gives a {@linkplain PartitionResult#failed failed result}, which is not retried.
     */
    public PartitionResult runOrFailure(int index, Rows rows, double scale, Map<String, Tensor> weights, Map<String, Tensor> vector,
                                        BatchGradient.Curvature curvature, Evaluator.RowSample sample, StatisticsSpec stats,
                                        org.apache.spark.util.LongAccumulator rowsDone) {
        if (rows != null && rows.failure() != null) return PartitionResult.failed(index, new BadInputException(rows.failure()));
        try {
            return run(index, rows == null ? chunks(index) : rows.chunks().iterator(), scale, weights, vector, curvature, sample, stats, rowsDone);
        } catch (BadInputException e) {
            return PartitionResult.failed(index, e);
        }
    }

    /** Partition {@code index} over the given chunks of its rows. */
    PartitionResult run(int index, Iterator<Chunk> chunks, double scale, Map<String, Tensor> weights, Map<String, Tensor> vector,
                        BatchGradient.Curvature curvature, Evaluator.RowSample sample, StatisticsSpec stats, org.apache.spark.util.LongAccumulator rowsDone) {
        long start = System.nanoTime(), cpuStart = THREAD_CPU.getCurrentThreadCpuTime(), startMillis = System.currentTimeMillis();
        TaskDevice device;
        try {
            // On the GPU Spark gave this task, if it gave one (TaskDevice says what is done with it).
            device = TaskDevice.of(Backends.require(cfg.backend()), TaskDevice.ofRunningTask());
            device.backend().device();
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new BadInputException("--backend " + cfg.backend() + " on " + executorAndHost() + ": " + e.getMessage(), e);
        }
        // The job's backend, for this task's thread only: another job's tasks in this JVM keep theirs.
        try (Backends.Scope onTheJobsBackend = Backends.scoped(device.backend())) {
            PartitionResult r = stats.any() ? runStatistics(index, chunks, scale, weights, vector, sample, stats, rowsDone, device.backend(), start, cpuStart)
                    : run(index, chunks, scale, weights, vector, curvature, sample, rowsDone, device.backend(), start, cpuStart);
            return r.placed(device.placement(startMillis));
        }
    }

    private PartitionResult run(int index, Iterator<Chunk> chunks, double scale, Map<String, Tensor> weights, Map<String, Tensor> vector,
                                BatchGradient.Curvature curvature, Evaluator.RowSample sample, org.apache.spark.util.LongAccumulator rowsDone,
                                Backend backend, long start, long cpuStart) {
        org.gradspark.ad.backend.DeviceTraffic.Snapshot traffic = org.gradspark.ad.backend.DeviceTraffic.snapshot();
        JobModel model = JobModel.build(cfg, weights);
        Cell net = model.network(), loss = JobModel.loss(cfg.loss());
        List<Parameter> params = model.params();
        Tensor[] v = vector == null ? null : model.keys().stream().map(k -> vector.get(k).convertedOnHost(cfg.dtype())).toArray(Tensor[]::new);
        if (curvature == null) v = null;   // no product asked: the vector, if any, is --per-example grad-dot's, not a direction
        long n = input.rows();
        long first = firstRow(n, partitions, index), end = firstRow(n, partitions, index + 1);
        double[][] partials = cfg.weightsWanted() ? params.stream().map(p -> new double[p.size()]).toArray(double[][]::new) : new double[0][];
        double outputSum = 0, objective = 0;
        long skipped = 0;
        PartWriter part = inputGrads == null ? null : new PartWriter(index, end - first, cfg.dtype());
        BatchGradient.Request what = part == null ? new BatchGradient.Request(cfg.weightsWanted(), v, 0, scale, null, curvature)
                : cfg.derivative().request(cfg.weightsWanted(), v, scale);
        try {
            org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
            while (chunks.hasNext()) {
                // A task of a job that has failed is killed (not interrupted): it ends at the next chunk, not at its last.
                if (tc != null) tc.killTaskIfInterrupted();
                Chunk c = chunks.next();
                drawFor(net, c, sample);
                BatchGradient.ChunkResult r = chunk(net, loss, params, c, skipped(c, sample), what);
                if (r.weightGradients() != null) add(partials, r.weightGradients());
                for (int i = 0; i < r.outputs().size(); i++) outputSum += r.outputs().getDouble(i);
                objective += r.objective();
                skipped += r.skipped();
                if (part != null) part.append(finiteInputDerivative(r.inputDerivative(), c.first()));
                if (rowsDone != null) rowsDone.add(c.x().shape().dim(0));   // progress, sent with the executor's heartbeats
            }
            if (part != null) part.commit();
        } finally {
            if (part != null) part.discard();
        }
        org.gradspark.ad.backend.DeviceTraffic.Snapshot moved = org.gradspark.ad.backend.DeviceTraffic.snapshot().minus(traffic);
        return new PartitionResult(index, end - first, skipped, partials, outputSum, objective, System.nanoTime() - start,
                THREAD_CPU.getCurrentThreadCpuTime() - cpuStart, executorId(),
                backend.name() + " on " + backend.device(), moved.bytesIn(), moved.bytesOut(), null, null);
    }

    /**
     * The gradient statistics' run ({@link GradientStatistics}): the gradient (clipped with --clip) and the
     * statistics' partial sums ({@link PartitionStatistics}), the per-example values written as the partition's part (float64).
     */
    private PartitionResult runStatistics(int index, Iterator<Chunk> chunks, double scale, Map<String, Tensor> weights, Map<String, Tensor> vector,
                                          Evaluator.RowSample sample, StatisticsSpec stats, org.apache.spark.util.LongAccumulator rowsDone, Backend backend,
                                          long start, long cpuStart) {
        org.gradspark.ad.backend.DeviceTraffic.Snapshot traffic = org.gradspark.ad.backend.DeviceTraffic.snapshot();
        JobModel model = JobModel.build(cfg, weights);
        Cell net = model.network(), loss = JobModel.loss(cfg.loss());
        Tensor[] v = vector == null ? null : model.keys().stream().map(k -> vector.get(k).convertedOnHost(cfg.dtype())).toArray(Tensor[]::new);
        GradientStatistics.Request what = PartitionStatistics.request(stats, cfg.loss(), v);
        PartitionStatistics sums = new PartitionStatistics(stats, model.params().stream().map(Parameter::shape).toList());
        long n = input.rows();
        long first = firstRow(n, partitions, index), end = firstRow(n, partitions, index + 1);
        double outputSum = 0, objective = 0;
        long skipped = 0;
        PartWriter part = inputGrads == null || stats.perExample() == null ? null : new PartWriter(index, end - first, org.gradspark.ad.DType.FLOAT64);
        try {
            org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
            while (chunks.hasNext()) {
                if (tc != null) tc.killTaskIfInterrupted();
                Chunk c = chunks.next();
                boolean[] skip = skipped(c, sample);
                GradientStatistics.Result r = guarded(c, () -> GradientStatistics.compute(net, loss, model.params(), c.x(), c.s(), c.y(), skip, what));
                Tensor perRow = sums.add(r, skip, scale);
                for (int i = 0; i < r.outputs().size(); i++) outputSum += r.outputs().getDouble(i);
                objective += scale * r.objective();
                if (skip != null) for (boolean b : skip) if (b) skipped++;
                if (part != null) part.append(finitePerExample(perRow, skip, c.first(), stats.perExample()));
                if (rowsDone != null) rowsDone.add(c.x().shape().dim(0));
            }
            if (part != null) part.commit();
        } finally {
            if (part != null) part.discard();
        }
        org.gradspark.ad.backend.DeviceTraffic.Snapshot moved = org.gradspark.ad.backend.DeviceTraffic.snapshot().minus(traffic);
        return new PartitionResult(index, end - first, skipped, sums.partials(), outputSum, objective, System.nanoTime() - start,
                THREAD_CPU.getCurrentThreadCpuTime() - cpuStart, executorId(),
                backend.name() + " on " + backend.device(), moved.bytesIn(), moved.bytesOut(), null, null);
    }

    /** A chunk's per-example statistic, refused when a kept row's is NaN or infinite (unless --check-finite none). */
    private Tensor finitePerExample(Tensor values, boolean[] skip, long firstRow, PerExampleOutput kind) {
        if (cfg.checkFinite() == JobConfig.CheckFinite.NONE) return values;
        int width = values.size() / Math.max(1, values.shape().dim(0));
        for (int i = 0; i < values.size(); i++) {
            double x = values.getDouble(i);
            if (!Double.isFinite(x) && (skip == null || !skip[i / width])) {
                throw new BadInputException("--per-example " + kind.name() + " of " + cfg.inputWhere() + ", row " + (firstRow + i / width)
                        + " would be " + x + (cfg.checkFinite() == JobConfig.CheckFinite.OPS ? "" : "; --check-finite ops names the op that produced it")
                        + "; --check-finite none writes it anyway");
            }
        }
        return values;
    }

    /**
     * A {@link RowAware} Cell's draws for chunk {@code c}: --estimator, --seed and the chunk's first row in the input,
     * so a row's directions do not depend on the partitioning. A step over a sample of the rows (Adam, SGD with
     * --minibatch-fraction below 1) mixes its step into the seed: fresh directions with its fresh rows, as a
     * stochastic PINN step draws them; a full-batch evaluation (L-BFGS, the second-order solvers, full-batch Adam)
     * keeps them fixed, so the objective is one function of the weights, as line searches and CG need.
     */
    private void drawFor(Cell net, Chunk c, Evaluator.RowSample sample) {
        if (!(net instanceof RowAware cell)) return;
        long seed = sample == null ? cfg.seed() : org.gradspark.ad.LaplacianEstimator.rowSeed(cfg.seed(), sample.step());
        cell.drawFrom(new RowDraws(cfg.estimator(), seed, c.first()));
    }

    /** One chunk; with --check-finite ops, the first op that turns finite values into NaN or an infinity is named. */
    private BatchGradient.ChunkResult chunk(Cell net, Cell loss, List<Parameter> params, Chunk c, boolean[] skip, BatchGradient.Request what) {
        // A randomised operator draws each row's directions from the row's index in the whole input, not in the chunk.
        return guarded(c, () -> BatchGradient.chunk(net, loss, params, c.x(), c.s(), c.y(), skip, outputShape(c.x().shape().dim(0)), what.fromRow(c.first())));
    }

    /**
     * A chunk's core call: a user Cell that does not fit the rows is named in one line; with --check-finite ops,
     * the first op that turns finite values into NaN or an infinity is named.
     */
    private <T> T guarded(Chunk c, java.util.function.Supplier<T> call) {
        java.util.function.Supplier<T> work = () -> {
            try {
                return call.get();
            } catch (IllegalArgumentException e) {
                // A user Cell that does not fit the rows (a width, a shape) is the user's mistake: one line naming it.
                if (cfg.modelClass() == null) throw e;
                throw new BadInputException("--model-class " + cfg.modelClass() + " on rows of " + c.x().shape().dim(1) + " values from "
                        + cfg.inputWhere() + (cfg.input() == null && cfg.inputName() == null ? " (--layers' first width)" : "") + ": " + e.getMessage(), e);
            }
        };
        if (cfg.checkFinite() != JobConfig.CheckFinite.OPS) return work.get();
        try {
            return org.gradspark.ad.Functional.detectAnomaly(work);
        } catch (org.gradspark.ad.NonFiniteException e) {
            throw new BadInputException(cfg.inputWhere() + ", rows " + c.first() + ".." + (c.first() + c.x().shape().dim(0) - 1) + ": " + e.getMessage(), e);
        }
    }

    /** The chunk's input derivatives, refused when one is NaN or infinite (unless --check-finite none). */
    private Tensor finiteInputDerivative(Tensor g, long firstRow) {
        if (cfg.checkFinite() == JobConfig.CheckFinite.NONE) return g;
        int bad = g.firstNonFinite();
        if (bad < 0) return g;
        int width = g.size() / Math.max(1, g.shape().dim(0));
        throw new BadInputException("the input derivative of " + cfg.inputWhere() + ", row " + (firstRow + bad / width) + ", column " + (bad % width)
                + " would be " + g.getDouble(bad) + (cfg.checkFinite() == JobConfig.CheckFinite.OPS ? "" : "; --check-finite ops names the op that produced it")
                + "; --check-finite none writes it anyway");
    }

    /** The per-example outputs' shape for the built-in MLP: [rows, out], or [rows] with a loss; null for a user Cell. */
    private Shape outputShape(int rows) {
        if (cfg.modelClass() != null) return null;
        return cfg.loss() == JobConfig.Loss.NONE ? Shape.of(rows, cfg.layers()[cfg.layers().length - 1]) : Shape.of(rows);
    }

    private static String executorId() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return env == null ? "driver" : env.executorId();
    }

    /** Rows with a NaN or an infinity: an error naming the first, or a mask with --on-nan skip. */
    private boolean[] nonFinite(Tensor x, long firstRow) {
        int rows = x.shape().dim(0), width = x.size() / Math.max(1, rows);
        boolean[] bad = null;
        for (int i = 0; i < x.size(); i++) {
            if (!Double.isFinite(x.getDouble(i))) {
                if (cfg.onNan() == JobConfig.OnNan.FAIL) {
                    throw new BadInputException(cfg.inputWhere() + ", " + badCell(x, i, firstRow) + " (use --on-nan skip to leave such rows out)");
                }
                if (bad == null) bad = new boolean[rows];
                bad[i / width] = true;
            }
        }
        return bad;
    }

    /**
     * This task attempt's part of the input derivatives: written sequentially (any filesystem,
     * object stores too) to a hidden attempt file, renamed to {@code part-NNNNN.npy} when
     * complete. A retried or speculative attempt writes the same bytes, so whichever rename wins,
     * the part is the same. On an object store ({@link Storage#renameCopies}) the part is written
     * at its final key: the object appears when its upload completes at {@code commit}, and a failed
     * attempt's upload is aborted, never completed.
     */
    private final class PartWriter {
        private final String attempt, file;
        private final long rows;
        private java.io.OutputStream stream;   // opened with the task, before any chunk: the attempt file exists from the start
        private Npy.RowWriter writer;
        private boolean done;

        private final org.gradspark.ad.DType dtype;

        PartWriter(int index, long rows, org.gradspark.ad.DType dtype) {
            file = partFile(inputGrads, index);
            this.rows = rows;
            this.dtype = dtype;
            org.apache.spark.TaskContext tc = org.apache.spark.TaskContext.get();
            attempt = Storage.renameCopies(inputGrads) ? file
                    : Storage.child(inputGrads, String.format(".part-%05d.attempt-%d", index, tc == null ? 0 : tc.taskAttemptId()));
            try {
                if (!storage.value().exists(inputGrads)) {
                    throw new BadInputException("--out " + Storage.display(cfg.out()) + ": " + executorAndHost() + " cannot see the driver's temporary output "
                            + Storage.display(inputGrads) + ": executors need a filesystem they all reach (HDFS, object storage, or a shared mount)");
                }
                // Now, not at the first chunk, and only in the directory as it is: a job that failed or was stopped
                // meanwhile has its temporary output removed by the driver, and a file created after that must not
                // bring the directory back (an HDFS quota test found one left so).
                stream = storage.value().createInExisting(attempt);
            } catch (java.io.IOException e) {
                throw Storage.unchecked("cannot write " + Storage.display(attempt), e);
            }
        }

        /** Appends a chunk's derivatives; the first chunk's row shape (a user Cell's output width shows only then) makes the header. */
        void append(Tensor chunk) {
            try {
                if (writer == null) {
                    int[] d = chunk.shape().dims();
                    writer = new Npy.RowWriter(stream, Storage.display(file), dtype, rows, java.util.Arrays.copyOfRange(d, 1, d.length));
                }
                writer.append(chunk);
            } catch (java.io.IOException e) {
                throw Storage.unchecked("cannot write " + Storage.display(attempt), e);
            }
        }

        void commit() {
            Storage st = storage.value();
            try {
                writer.close();
                writer = null;
                if (attempt.equals(file)) {
                    done = true;
                    return;
                }
                if (!st.rename(attempt, file)) {
                    if (!st.exists(file)) throw new java.io.IOException("cannot rename " + attempt + " to " + file);
                    st.delete(attempt, false);   // another attempt's identical part is in place
                }
                done = true;
            } catch (java.io.IOException e) {
                throw Storage.unchecked("cannot write " + Storage.display(file), e);
            }
        }

        /** After a failure: the attempt file goes (the driver also removes any a killed executor left). */
        void discard() {
            if (done) return;
            if (attempt.equals(file)) {
                try {
                    Storage.abandon(stream);
                } catch (java.io.IOException | IllegalStateException ignored) {
                    // nothing was published
                }
                return;
            }
            try {
                if (writer != null) writer.close();
                else if (stream != null) stream.close();
            } catch (java.io.IOException | IllegalStateException ignored) {
                // incomplete on purpose
            }
            try {
                storage.value().delete(attempt, false);
            } catch (java.io.IOException ignored) {
                // the driver's clean-up removes it
            }
        }
    }

    private static void add(double[][] acc, Tensor[] g) {
        for (int k = 0; k < acc.length; k++) {
            for (int i = 0; i < acc[k].length; i++) acc[k][i] += g[k].getDouble(i);
        }
    }
}
