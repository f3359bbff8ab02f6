package org.gradspark.job;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.UnaryOp;

/**
 * Starts the JIT warm-up of the job's float32 kernels ({@code spark.gradspark.warmUp}, e.g.
 * {@code tanh} or {@code exp,log}) on each executor as it starts, in a daemon thread, so that it
 * overlaps the executor's (and, in local mode, the SparkContext's) start instead of slowing the
 * first chunks. gradspark-submit's CLI turns it on ({@code spark.plugins}) with the kernels of the
 * job's activation and loss. On a cluster it also sizes the CPU backend's thread pool to the
 * executor's cores ({@link #limitThreads}). Changes no result.
 */
public final class GradSparkPlugin implements SparkPlugin {
    static final String KEY = "spark.gradspark.warmUp";

    @Override public DriverPlugin driverPlugin() { return null; }

    @Override public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override public void init(PluginContext ctx, Map<String, String> extraConf) {
                limitThreads(ctx.conf());
                Set<UnaryOp> ops = parse(ctx.conf().get(KEY, ""));
                if (ops.isEmpty()) return;
                Thread t = new Thread(() -> {
                    long t0 = System.nanoTime();
                    try {
                        Backends.current().warmUp(ops);
                    } catch (RuntimeException e) {
                        // A backend that cannot start (no OpenCL device) fails the job's tasks, with one line; not here.
                        System.getLogger("org.gradspark.warmup").log(System.Logger.Level.DEBUG, "GradSpark: no warm-up: " + e, e);
                        return;
                    }
                    System.getLogger("org.gradspark.warmup").log(System.Logger.Level.INFO,
                            String.format(Locale.ROOT, "GradSpark: kernels %s warmed up in %.1f s", ops, (System.nanoTime() - t0) / 1e9));
                }, "gradspark-warm-up");
                t.setDaemon(true);
                t.start();
            }
        };
    }

    /**
     * On a cluster, the CPU backend's elementwise kernels use the executor's cores
     * ({@code spark.executor.cores}), not every core of the machine it shares with other executors;
     * an explicit {@code -Dgradspark.cpu.threads} wins. Local mode keeps all the cores it was given.
     */
    static void limitThreads(org.apache.spark.SparkConf conf) {
        String cores = conf.get("spark.executor.cores", null), master = conf.get("spark.master", "");
        boolean local = master.equals("local") || master.startsWith("local[");   // local-cluster[...] has executor JVMs
        if (cores == null || local || System.getProperty(org.gradspark.ad.backend.BackendSettings.CPU_THREADS) != null) return;
        System.setProperty(org.gradspark.ad.backend.BackendSettings.CPU_THREADS, cores);
    }

    /** {@code tanh,exp} → the ops; empty or {@code none}: none. */
    static Set<UnaryOp> parse(String list) {
        Set<UnaryOp> ops = EnumSet.noneOf(UnaryOp.class);
        for (String s : list.split(",")) {
            String name = s.trim().toUpperCase(Locale.ROOT);
            if (!name.isEmpty() && !name.equals("NONE")) ops.add(UnaryOp.valueOf(name));
        }
        return ops;
    }

    /** The float32 kernels a job spends its elementwise time in: its activation's, and its loss's. */
    static String kernelsOf(JobConfig cfg) {
        if (cfg.dtype() != org.gradspark.ad.DType.FLOAT32 || cfg.modelClass() != null) return "none";
        Set<UnaryOp> ops = EnumSet.noneOf(UnaryOp.class);
        switch (cfg.activation()) {
            case TANH -> ops.add(UnaryOp.TANH);
            case SIGMOID -> ops.add(UnaryOp.SIGMOID);
            case SIN -> { ops.add(UnaryOp.SIN); ops.add(UnaryOp.COS); }
            default -> { }
        }
        if (cfg.loss() == JobConfig.Loss.SOFTMAX_CROSS_ENTROPY) { ops.add(UnaryOp.EXP); ops.add(UnaryOp.LOG); }
        return ops.isEmpty() ? "none" : String.join(",", ops.stream().map(o -> o.name().toLowerCase(Locale.ROOT)).toList());
    }
}
