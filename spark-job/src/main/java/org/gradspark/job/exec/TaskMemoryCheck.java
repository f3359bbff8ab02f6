package org.gradspark.job.exec;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Before any task runs: the built-in MLP's tasks fit in the heap that runs them ({@link JobModel#checkTaskSize}),
 * the driver's in local mode (local[N]: N tasks at once), else {@code spark.executor.memory} with
 * spark.executor.cores / spark.task.cpus tasks at once (1 when unset).
 */
final class TaskMemoryCheck {
    private TaskMemoryCheck() {}

    /** @throws org.gradspark.job.io.BadInputException naming the memory option to raise when the tasks do not fit */
    static void check(JavaSparkContext jsc, JobConfig cfg, long rows, int partitions) {
        SparkConf conf = jsc.getConf();
        MasterUrl master = new MasterUrl(jsc.master());
        // PartitionRows splits the rows evenly: no partition holds more than this.
        long partitionRows = (rows + partitions - 1) / partitions;
        if (master.inProcess()) {
            int tasks = master.inProcessTaskSlots();
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), partitionRows, directions(cfg), Runtime.getRuntime().maxMemory(), tasks, "--driver-memory");
        } else {
            int tasks = Math.max(1, conf.getInt("spark.executor.cores", 1) / Math.max(1, conf.getInt("spark.task.cpus", 1)));
            JobModel.checkTaskSize(cfg.layers(), cfg.dtype(), cfg.chunkRows(), partitionRows, directions(cfg), conf.getSizeAsBytes("spark.executor.memory", "1g"),
                    tasks, "--executor-memory (spark.executor.memory)");
        }
    }

    /** Values an activation carries in a task: 1, or with a per-example operator its tangents along the in directions (and second-order terms). */
    private static long directions(JobConfig cfg) {
        return cfg.inputsWanted() ? cfg.derivative().memoryFactor(cfg.layers()[0]) : 1;
    }
}
