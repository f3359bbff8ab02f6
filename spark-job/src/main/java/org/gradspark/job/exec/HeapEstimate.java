package org.gradspark.job.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.gradspark.job.io.BadInputException;

/**
 * What a JVM of a GradSpark job holds at its peak for one evaluation, term by term, from the code path (not
 * a guess: {@code bench/results/driver-memory.md} measures the driver's live heap against it). With P the
 * model's parameters, i their item size (4 for float32, 8 for float64), n the partitions and S the shards
 * ({@code min(n, R)}), the driver holds:
 * <ul>
 *   <li><b>Spark's own</b> heap: {@value #SPARK_OWN_MIB} MiB (a 23-parameter job keeps 39 MiB live after a collection);</li>
 *   <li><b>the weights</b>, P·i: read or initialised once, and the broadcast's value (the same objects);</li>
 *   <li><b>the broadcast's blocks</b>, P·i: TorrentBroadcast keeps the serialized weights in the driver's block
 *       manager beside the value, for the executors to fetch (random weights do not compress);</li>
 *   <li>with a vector ({@code --mode hvp}, {@code --per-example grad-dot:V}), <b>the vector and its blocks</b>, 2·P·i;</li>
 *   <li>the reduction, one of two ({@link GradientReducer}, sharded when n·R reaches {@link ShardThreshold}):
 *     <ul>
 *       <li><b>collected</b> ({@link OrderedSum}): every partition's float64 partial sums, n·R·8, kept until summed; the
 *           float64 sum, R·8, and the gradient cast to the job's dtype, P·i (the statistics stay float64); and the results arriving, each as bytes
 *           besides the value it becomes: a result of up to {@code spark.task.maxDirectResultSize} comes with its task's
 *           status and is deserialized in one of {@code spark.resultGetter.threads} (4) threads, with
 *           {@value #DIRECT_COPIES} serialized copies at once (the task's value bytes and the status that carries them,
 *           made on the executor, which in local mode is this heap; on a cluster, the RPC message's buffer; and the value
 *           bytes read back from it), one result per task finishing at once (the slots in local mode, else the getters);
 *           a larger result waits in a block manager, with {@value #INDIRECT_COPIES} copies (the block, the fetched
 *           bytes, the value bytes): in local mode the blocks are in the driver's heap, all n at once; on a cluster in
 *           the executors', and the driver fetches as many at once as it has getters;</li>
 *       <li><b>sharded</b> ({@link ShardedReduction}): the gradient, P·i, filled in place, and one summed shard at a
 *           time (toLocalIterator runs one reduce task after another), R/S·8 as a value and its serialized copies as
 *           above;</li>
 *     </ul></li>
 *   <li>in local mode, the <b>tasks</b> too (each as on an executor, below), as many at once as the master's slots;
 *       the collected reduction's sum comes after the tasks, so the larger of the two counts, not both.</li>
 * </ul>
 * A task ({@link GradientChunkKernel}, {@link PartitionTask}) holds its float64 partial sums, R·8 (R the values reduced:
 * P, and P more for each per-weight gradient statistic), and the larger of its chunks' work (a chunk's gradient, P·i,
 * two with a vector: the product's tangent; and the chunk's activations: each layer's input, output and their
 * cotangents, times the tangents a per-example operator carries) and what it sends (collected: its result with the
 * copies above, counted on the driver in local mode unless the result goes through the block manager; sharded: one
 * slice of R/S values at a time, which the shuffle streams to disk). An executor also holds the weights (the broadcast's value, deserialized) and their blocks (and the
 * vector's), and Spark's own heap; sharded, a reduce task gathers the n slices of its shard, R·8 in all, sums them
 * and sends the sum with its serialized copies, and the larger of the map and the reduce stages counts (measured on a
 * standalone executor: 1037 MiB live for 50M float32 parameters over 4 partitions, against 1208 counted). Writing {@code grads.npz} streams the gradient in slices: nothing of size P.
 *
 * <p>Where terms may or may not be live at once (the results still in flight while a task runs), the estimate counts
 * them together; only phases that cannot overlap (the tasks, and the collected reduction's sum after them) count
 * the larger. {@code bench/results/driver-memory.md} has the measurements it bounds, and by how much. A fit adds its
 * optimiser's state ({@code org.gradspark.job.fit.OptimizerMemory}).
 */
public final class HeapEstimate {
    /** Spark's own driver heap, beyond GradSpark's arrays. */
    static final long SPARK_OWN_MIB = 64;
    static final int DIRECT_COPIES = 3;
    static final int INDIRECT_COPIES = 3;
    static final int USABLE_PERCENT = 80;
    private static final double MIB = 1 << 20, GIB = 1 << 30;

    /** One named part of the need, in bytes. */
    public record Term(String name, double bytes) {}

    private final List<Term> terms;

    private HeapEstimate(List<Term> terms) {
        this.terms = List.copyOf(terms);
    }

    public List<Term> terms() { return terms; }

    /** The sum of the terms, in bytes. */
    public double need() {
        return terms.stream().mapToDouble(Term::bytes).sum();
    }

    /** This estimate with {@code more} terms (a fit's optimiser state). */
    public HeapEstimate plus(List<Term> more) {
        List<Term> all = new ArrayList<>(terms);
        all.addAll(more);
        return new HeapEstimate(all);
    }

    /**
     * What one evaluation costs where it is computed and reduced.
     *
     * @param weights            P, the weights' values (broadcast to every task)
     * @param itemBytes          i, 4 or 8
     * @param reduced            the values reduced in float64: P, and P more for each per-weight gradient statistic (0
     *                           without weight gradients, {@code --wrt inputs})
     * @param vector             whether a vector of the weights' shapes is broadcast with them
     * @param partitions         n
     * @param sharded            whether the reduction is sharded ({@link GradientReducer#of})
     * @param resultGetters      {@code spark.resultGetter.threads}
     * @param maxDirectResult    {@code spark.task.maxDirectResultSize} in bytes (at most {@code spark.rpc.message.maxSize})
     * @param activationsPerTask a task's chunk activations in bytes (0 when not known: before Spark starts, a user Cell)
     */
    public record Load(long weights, int itemBytes, long reduced, boolean vector, int partitions, boolean sharded, int resultGetters,
                       long maxDirectResult, double activationsPerTask) {
        int shards() {
            return (int) Math.max(1, Math.min(partitions, reduced));
        }

        double weightBytes() {
            return (double) weights * itemBytes;
        }

        /** The reduced gradient in its dtypes: the weights' in the job's, the statistics in float64. */
        double gradientBytes() {
            return reduced == 0 ? 0 : weightBytes() + (reduced - weights) * 8.0;
        }

        /** The same load with {@code bytes} of activations a task. */
        public Load withActivations(double bytes) {
            return new Load(weights, itemBytes, reduced, vector, partitions, sharded, resultGetters, maxDirectResult, bytes);
        }

        /** One partition's float64 partial sums. */
        double partials() {
            return reduced * 8.0;
        }

        /** One summed shard, float64. */
        double shard() {
            return Math.ceil((double) reduced / shards()) * 8;
        }
    }

    /**
     * The driver's need: {@code inProcessSlots} tasks at once run in its heap (local mode), or none (0: a cluster,
     * whose results cross the network).
     */
    public static HeapEstimate driver(Load l, int inProcessSlots) {
        List<Term> t = new ArrayList<>();
        double w = l.weightBytes();
        t.add(new Term("Spark's own", SPARK_OWN_MIB * MIB));
        t.add(new Term("weights", w));
        t.add(new Term("their broadcast blocks", w));
        if (l.vector()) t.add(new Term("the vector and its blocks", 2 * w));
        boolean local = inProcessSlots > 0;
        int slots = local ? Math.min(inProcessSlots, l.partitions()) : 0;
        // A result through the block manager is made (value bytes, the serialized status) while the ones before it wait
        // there: its task's copies count beside the n waiting; a direct one's copies are the arriving ones.
        Term tasks = tasks(l, slots, !l.sharded() && l.partials() > l.maxDirectResult());
        if (l.sharded()) {
            t.add(new Term("the gradient", l.gradientBytes()));
            t.add(new Term("a summed shard arriving", l.shard() * (1 + DIRECT_COPIES)));
            if (local) t.add(larger(tasks, new Term("a reduce task's slices", reduceTask(l, false))));
            return new HeapEstimate(t);
        }
        t.add(new Term(l.partitions() + " partitions' float64 partial sums", l.partitions() * l.partials()));
        Term arriving = new Term("results arriving", arriving(l, local, local ? slots : l.resultGetters()));
        Term summing = new Term("the float64 sum and the gradient", l.partials() + l.gradientBytes());
        // The tasks run, and their results arrive, before the sum: the larger phase counts.
        if (local && arriving.bytes() + tasks.bytes() >= summing.bytes()) {
            t.add(arriving);
            t.add(tasks);
        } else {
            t.add(larger(arriving, summing));
        }
        return new HeapEstimate(t);
    }

    private static Term larger(Term a, Term b) {
        return a.bytes() >= b.bytes() ? a : b;
    }

    /** {@code n} map tasks at once ({@link #task}), named by what they hold. */
    private static Term tasks(Load l, int n, boolean withResult) {
        return new Term(n + " task" + (n == 1 ? "" : "s") + " (partial sums, a chunk's gradient" + (l.activationsPerTask() > 0 ? " and activations" : "")
                + (withResult && !l.sharded() ? ", results serialized" : "") + ")", n * task(l, withResult));
    }

    /**
     * The serialized copies of the collected results that may be in the driver at once, beyond their values: those
     * of up to {@code spark.task.maxDirectResultSize}, one per task finishing at once ({@code inFlight}: the slots in
     * local mode, else the result getters), larger ones all n (they wait in a block manager).
     */
    private static double arriving(Load l, boolean local, int inFlight) {
        double result = l.partials();
        if (result > l.maxDirectResult() && local) return l.partitions() * result * INDIRECT_COPIES;
        // On a cluster the blocks wait in the executors' block managers: the driver fetches as many as it has getters.
        if (result > l.maxDirectResult()) return Math.min(l.partitions(), l.resultGetters()) * result * (INDIRECT_COPIES - 1);
        int atOnce = Math.min(l.partitions(), Math.min(l.resultGetters(), inFlight));
        return atOnce * result * DIRECT_COPIES;
    }

    /**
     * An executor's need with {@code tasks} at once: the weights (and vector) deserialized and their blocks, and the
     * tasks, or a reduce task of the sharded reduction, whichever is larger.
     */
    public static HeapEstimate executor(Load l, int tasks) {
        List<Term> t = new ArrayList<>();
        double w = l.weightBytes();
        t.add(new Term("Spark's own", SPARK_OWN_MIB * MIB));
        t.add(new Term("weights and their broadcast blocks", 2 * w));
        if (l.vector()) t.add(new Term("the vector and its blocks", 2 * w));
        Term running = tasks(l, Math.min(tasks, l.partitions()), true);
        t.add(l.sharded() ? larger(running, new Term("a reduce task's slices and its summed shard", reduceTask(l, true))) : running);
        return new HeapEstimate(t);
    }

    /**
     * One map task: its partial sums, and the larger of its chunks' work (a chunk's gradient, and its tangent with a
     * vector, and activations) and what it sends (sharded: one slice at a time, which the shuffle streams to disk;
     * collected on an executor: {@value #DIRECT_COPIES} serialized copies, or {@value #INDIRECT_COPIES} less the
     * driver's fetched one when it goes through the block manager; in local mode the driver's arriving results count
     * them, {@code withResult} false).
     */
    static double task(Load l, boolean withResult) {
        double chunks = (l.vector() ? 2 : 1) * l.weightBytes() + l.activationsPerTask();
        double result = l.partials();
        double out = l.sharded() ? l.shard() : withResult ? result * (result > l.maxDirectResult() ? INDIRECT_COPIES - 1 : DIRECT_COPIES) : 0;
        return result + Math.max(chunks, out);
    }

    /**
     * The sharded reduction's reduce task: the n slices of its shard (one partition's partial sums in all) and their sum,
     * with, {@code withResult}, the sum's {@value #DIRECT_COPIES} serialized copies as it is sent (on the driver in local
     * mode they are the arriving shard's).
     */
    private static double reduceTask(Load l, boolean withResult) {
        return l.partials() + l.shard() * (1 + (withResult ? DIRECT_COPIES : 0));
    }

    /**
     * Refuses what does not fit: one line naming {@code subject}, the need with its largest parts, the heap of
     * {@code whose} and the {@code remedy}. Only {@value #USABLE_PERCENT}% of a heap counts: G1 keeps
     * {@code G1ReservePercent} (10%) of it free for evacuation, and places each array larger than half a region
     * (0.5 to 16 MiB) in whole contiguous regions, never moved, which a heap full of such arrays cannot always find.
     * At 90%, a 10M-parameter job whose terms came to 1136 MiB ran out of memory once in a 1264 MiB driver (and ran
     * in two other tries), and a 50M-parameter reduction whose terms come to 1018 MiB ran out of memory in a 1 GiB one.
     *
     * @throws BadInputException when the need exceeds the usable part of {@code heapBytes}
     */
    public void requireFits(String subject, long heapBytes, String whose, String remedy) {
        double need = need();
        if (need <= usable(heapBytes)) return;
        throw new BadInputException(String.format(Locale.ROOT, "%s need %.2f GiB of heap at the peak of an evaluation (%s), more than the %d%% usable"
                + " of the %.2f GiB heap of %s: %s", subject, need / GIB, parts(), USABLE_PERCENT, heapBytes / GIB, whose, remedy));
    }

    /** The part of a heap of {@code heapBytes} that an estimate may fill. */
    public static double usable(long heapBytes) {
        return heapBytes * (USABLE_PERCENT / 100.0);
    }

    /** The terms as "name N MiB", largest first. */
    public String parts() {
        return String.join(" + ", terms.stream().sorted((a, b) -> Double.compare(b.bytes(), a.bytes()))
                .map(x -> String.format(Locale.ROOT, "%s %.0f MiB", x.name(), x.bytes() / MIB)).toList());
    }
}
