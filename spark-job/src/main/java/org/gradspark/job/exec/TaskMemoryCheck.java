package org.gradspark.job.exec;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.DType;
import org.gradspark.ad.Tensor;

/**
 * Before any task runs, with the partitions Spark chose ({@link HeapEstimate}): the built-in MLP's tasks, with their
 * chunks' activations, fit in the heap that runs them ({@link JobModel#checkTaskSize}), the driver's in local mode
 * (local[N]: N tasks at once, with the driver's own part), else {@code spark.executor.memory} with
 * spark.executor.cores / spark.task.cpus tasks at once (1 when unset); on a cluster the driver's own part is checked
 * again ({@link DriverMemoryCheck}), now that the partitions are known, for a user Cell too.
 */
final class TaskMemoryCheck {
    private TaskMemoryCheck() {}

    /**
     * Returns the driver's estimate (with its tasks in local mode: what {@code summary.json} reports beside the heap
     * measured).
     *
     * @throws org.gradspark.job.io.BadInputException naming the memory option to raise when the tasks do not fit
     */
    static HeapEstimate check(JavaSparkContext jsc, JobInputs checked, long rows, int partitions) {
        JobConfig cfg = checked.cfg();
        SparkConf conf = jsc.getConf();
        MasterUrl master = new MasterUrl(jsc.master());
        DriverMemoryCheck.Setting s = DriverMemoryCheck.Setting.of(jsc.master(), conf, Runtime.getRuntime().maxMemory());
        s = new DriverMemoryCheck.Setting(s.heapBytes(), s.inProcessSlots(), partitions, ShardThreshold.of(jsc), s.resultGetters(), s.maxDirectResult(), s.state());
        long weights = 0;
        int item = 4;
        for (Tensor t : checked.weights().values()) {
            weights += t.size();
            if (t.dtype() == DType.FLOAT64) item = 8;
        }
        if (cfg.modelClass() == null) item = cfg.dtype().bytes();
        HeapEstimate.Load load = DriverMemoryCheck.load(cfg, weights, item, s, partitions, 0);
        if (!master.inProcess()) {
            DriverMemoryCheck.require(cfg, model(cfg), weights, item == 4 ? DType.FLOAT32 : DType.FLOAT64, s);
        }
        int slots = master.inProcess() ? master.inProcessTaskSlots() : 0;
        if (cfg.modelClass() != null) return HeapEstimate.driver(load, slots);   // a Cell's activations are its own: not counted
        // PartitionRows splits the rows evenly: no partition holds more than this.
        long partitionRows = (rows + partitions - 1) / partitions;
        if (master.inProcess()) {
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), partitionRows, directions(cfg), Runtime.getRuntime().maxMemory(),
                    master.inProcessTaskSlots(), "--driver-memory", load);
        } else {
            int tasks = Math.max(1, conf.getInt("spark.executor.cores", 1) / Math.max(1, conf.getInt("spark.task.cpus", 1)));
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), partitionRows, directions(cfg), conf.getSizeAsBytes("spark.executor.memory", "1g"),
                    tasks, "--executor-memory (spark.executor.memory)", load);
        }
        double acts = JobModel.activationBytes(cfg.layers(), cfg.dtype(), Math.min(cfg.chunkRows(), partitionRows), directions(cfg));
        return HeapEstimate.driver(slots > 0 ? load.withActivations(acts) : load, slots);
    }

    /** How a message names the model: its layers, or its Cell. */
    static String model(JobConfig cfg) {
        return cfg.modelClass() != null ? "--model-class " + cfg.modelClass() : "--layers " + String.join(",",
                java.util.Arrays.stream(cfg.layers()).mapToObj(String::valueOf).toList());
    }

    /** Values an activation carries in a task: 1, or with a per-example operator its tangents along the in directions (and second-order terms). */
    private static long directions(JobConfig cfg) {
        return cfg.inputsWanted() ? cfg.derivative().memoryFactor(cfg.layers()[0]) : 1;
    }
}
