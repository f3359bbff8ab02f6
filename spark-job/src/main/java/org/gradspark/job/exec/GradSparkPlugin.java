package org.gradspark.job.exec;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.job.io.RowSource;

/**
 * Warms up each executor as it starts, in a daemon thread, so that it overlaps the executor's (and,
 * in local mode, the SparkContext's) start instead of slowing the first chunks: the job's backend
 * is made ({@link Backends#require}) and, on it (as the tasks run, {@link Backends#scoped}), a tiny gradient of the job's own
 * model (16 synthetic rows, its depth, activation and loss, widths capped at 64) runs until the JIT
 * has compiled its kernels (2,000 times, or 4 seconds). {@code spark.gradspark.warmUp} holds the job's model ({@link JobConfig.Model#text}), which
 * gradspark-submit's CLI sets ({@code none}: no warm-up). On a cluster it also sizes the CPU
 * backend's thread pool to the executor's cores ({@link #executorThreads}). Changes no result.
 */
public final class GradSparkPlugin implements SparkPlugin {
    public static final String KEY = "spark.gradspark.warmUp";
    private static final int ROWS = 16, REPEATS = 2000, MAX_WIDTH = 64;
    private static final long SECONDS = 4;

    @Override public DriverPlugin driverPlugin() { return null; }

    @Override public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override public void init(PluginContext ctx, Map<String, String> extraConf) {
                limitThreads(ctx.conf());
                String spec = ctx.conf().get(KEY, "none").trim();
                if (spec.isEmpty() || spec.equals("none")) return;
                List<String> gpus = TaskDevice.gpus(ctx.resources());
                Thread t = new Thread(() -> warmUp(spec, gpus), "gradspark-warm-up");
                t.setDaemon(true);
                t.start();
            }
        };
    }

    /** The job's model as the warm-up takes it ({@link JobConfig.Model#text}), or none for a user Cell. */
    public static String specOf(JobConfig cfg) {
        return cfg.modelClass() != null ? "none" : cfg.model().text();   // a user Cell's input width is the data's, unknown here
    }

    /** What a warm-up did: how many gradients it ran, on which backend (null: none started). */
    public record WarmUp(int gradients, String backend) {}

    /** Runs the tiny gradient on the JVM's device. */
    public static WarmUp warmUp(String spec) {
        return warmUp(spec, List.of());
    }

    /**
     * Runs the tiny gradient, in turn on each of the executor's {@code gpus} (its tasks' devices, as
     * {@link TaskDevice} picks them; each device compiles its own kernels), or on the JVM's device when
     * there are none. A backend or device that cannot start fails the job's tasks, with one line; not here.
     */
    public static WarmUp warmUp(String spec, List<String> gpus) {
        System.Logger log = System.getLogger("org.gradspark.warmup");
        long t0 = System.nanoTime();
        int done = 0;
        String ranOn = null;
        try {
            JobConfig.Model job = JobConfig.Model.ofText(spec);
            // The job's depth, activation, loss, dtype and backend at widths of at most 64: the same kernels
            // (the JIT compiles code paths, not sizes; BLAS is native), without the big layers' matrix products.
            int[] widths = java.util.Arrays.stream(job.layers()).map(w -> Math.min(w, MAX_WIDTH)).toArray();
            JobConfig.Model cfg = job.withLayers(widths);
            JobModel m = JobModel.build(cfg, JobModel.initialWeights(widths, cfg.dtype(), 0));
            Cell loss = JobModel.loss(cfg.loss());
            int out = widths[widths.length - 1];
            Tensor x = new RowSource.Synthetic(ROWS, widths[0], 1).read(0, ROWS, cfg.dtype());
            Tensor labels = loss == null ? null : Tensor.fromFunction(cfg.dtype(), Shape.of(ROWS, out), i -> i % out == 0 ? 1 : 0);
            Shape outShape = loss == null ? Shape.of(ROWS, out) : Shape.of(ROWS);
            BatchGradient.Request what = new BatchGradient.Request(true, null, 0, 1.0);
            long deadline = t0 + SECONDS * 1_000_000_000L;
            List<org.gradspark.ad.backend.Backend> devices = new java.util.ArrayList<>();
            for (String gpu : gpus.isEmpty() ? java.util.Collections.<String>singletonList(null) : gpus) {
                devices.add(TaskDevice.of(Backends.require(cfg.backend()), gpu == null ? List.of() : List.of(gpu)).backend());
            }
            ranOn = devices.get(0).name();
            while (done < REPEATS && System.nanoTime() < deadline) {
                try (Backends.Scope onTheTasksDevice = Backends.scoped(devices.get(done % devices.size()))) {
                    BatchGradient.chunk(m.network(), loss, m.params(), x, null, labels, null, outShape, what);
                }
                done++;
            }
        } catch (RuntimeException e) {
            log.log(System.Logger.Level.DEBUG, "GradSpark: no warm-up: " + e, e);
            return new WarmUp(done, ranOn);
        }
        log.log(System.Logger.Level.INFO, String.format(Locale.ROOT, "GradSpark: warmed up (%s, widths at most %d) with %d gradients of %d rows in %.1f s",
                spec, MAX_WIDTH, done, ROWS, (System.nanoTime() - t0) / 1e9));
        return new WarmUp(done, ranOn);
    }

    /**
     * On a cluster, the CPU backend's elementwise kernels use the executor's cores, not every core of
     * the machine it shares with other executors (an explicit {@code -Dgradspark.cpu.threads} wins;
     * local mode keeps all the cores it was given). See {@link #executorThreads}.
     */
    static void limitThreads(org.apache.spark.SparkConf conf) {
        if (System.getProperty(org.gradspark.ad.backend.BackendSettings.CPU_THREADS) != null) return;
        List<String> launch = ProcessHandle.current().info().arguments().map(List::of).orElse(List.of());
        int threads = executorThreads(conf, launch);
        if (threads > 0) System.setProperty(org.gradspark.ad.backend.BackendSettings.CPU_THREADS, String.valueOf(threads));
    }

    /**
     * The CPU backend's threads in an executor JVM launched with {@code launchArguments}: the cores the
     * cluster manager gave it, which is the {@code --cores N} of its launch command (every cluster
     * manager starts executors so; a standalone worker gives all of its own cores when
     * {@code spark.executor.cores} is unset), else {@code spark.executor.cores}; 0 (keep the default,
     * the machine's cores) in local mode or when neither says. The pool is the executor's, shared by its
     * tasks (cores / spark.task.cpus of them), whose threads wait while it runs their kernels: its size
     * is the executor's cores, so that the tasks' kernels together use the cores the executor has.
     */
    public static int executorThreads(org.apache.spark.SparkConf conf, List<String> launchArguments) {
        String master = conf.get("spark.master", "");
        if (new MasterUrl(master).inProcess()) return 0;   // local-cluster[...] has executor JVMs
        int at = launchArguments.indexOf("--cores");
        if (at >= 0 && at + 1 < launchArguments.size() && launchArguments.get(at + 1).matches("[1-9][0-9]{0,5}")) {
            return Integer.parseInt(launchArguments.get(at + 1));
        }
        String cores = conf.get("spark.executor.cores", null);
        return cores != null && cores.trim().matches("[1-9][0-9]{0,5}") ? Integer.parseInt(cores.trim()) : 0;
    }
}
