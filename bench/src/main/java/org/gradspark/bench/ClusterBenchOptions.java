package org.gradspark.bench;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.job.io.BadInputException;

/**
 * The options of {@code gradspark-bench --master URL --out DIR ...} ({@link ClusterBench}), checked before
 * anything runs: a wrong one is a {@link BadInputException} naming it, which the launcher prints as one line
 * with exit status 2. Sizes default to a sweep of a few minutes on a small cluster; {@code --smoke} to tiny ones.
 *
 * @param master the Spark master the sweep runs on (its kind decides how the executor count is set: {@link MasterKind})
 * @param out the report's directory (local, {@code hdfs://}, {@code s3a://}); it must not exist
 * @param data where the input files are written and read back (null: {@code OUT/data}, removed afterwards)
 * @param executors the executor counts, increasing
 * @param executorCores cores (task slots) per executor
 * @param layers the MLP's layer sizes
 * @param rowsPerExecutor rows per executor: weak scaling's n executors get n times these, strong scaling always
 *     the largest count's
 * @param reductionParams parameter counts of the reduction runs
 * @param repeats timed evaluations per application (after one warm-up evaluation)
 * @param note a sentence for the report's head (what the cluster is), or null
 * @param submitArgs what follows {@code --}: given to every {@code gradspark-submit} (memory, properties files, deploy mode)
 */
record ClusterBenchOptions(String master, MasterKind kind, String out, String data, List<Integer> executors, int executorCores,
                           String layers, long rowsPerExecutor, List<Long> reductionParams, int repeats, boolean smoke,
                           String note, List<String> submitArgs) {

    /** How each kind of master is told the number of executors (README, "Cluster benchmark"). */
    enum MasterKind {
        /** {@code --num-executors n --executor-cores c}, dynamic allocation off. */
        YARN,
        /** Standalone {@code spark://}: {@code spark.cores.max = n * c} with {@code spark.executor.cores = c}. */
        STANDALONE,
        /** {@code k8s://}: {@code spark.executor.instances = n}, dynamic allocation off. */
        KUBERNETES,
        /** {@code local[...]}: one JVM; "n executors" become {@code local[n * c]}, n times the task slots. */
        LOCAL;

        private static final Pattern LOCAL_MASTER = Pattern.compile("local(\\[(\\d+|\\*)(,\\d+)?])?");

        static MasterKind of(String master) {
            if (master.equals("yarn")) return YARN;
            if (master.matches("spark://[^/\\s]+")) return STANDALONE;
            if (master.matches("k8s://\\S+")) return KUBERNETES;
            if (LOCAL_MASTER.matcher(master).matches()) return LOCAL;
            throw new BadInputException("--master " + master + ": not a master the benchmark can size"
                    + " (yarn, spark://HOST:PORT, k8s://URL, local[N]; local-cluster's is spark://127.0.0.1:PORT)");
        }
    }

    static final String DEFAULT_LAYERS = "256,1024,1024,10";

    /** gradspark-submit options the sweep sets itself for each run, which {@code -- ...} must not set. */
    private static final List<String> SET_BY_SWEEP = List.of("--master", "--num-executors", "--executor-cores", "--total-executor-cores",
            "spark.executor.instances", "spark.cores.max", "spark.executor.cores", "spark.dynamicAllocation.enabled");

    static ClusterBenchOptions parse(List<String> args) {
        Map<String, String> given = new LinkedHashMap<>();
        List<String> submit = new ArrayList<>();
        boolean smoke = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                submit.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (a.equals("--smoke")) {
                smoke = true;
                continue;
            }
            if (!OPTIONS.contains(a)) {
                throw new BadInputException("unknown option '" + a + "' (expected " + String.join(", ", OPTIONS) + ", --smoke, or -- and gradspark-submit options)");
            }
            if (i + 1 >= args.size()) throw new BadInputException(a + " needs a value");
            if (given.put(a, args.get(++i)) != null) throw new BadInputException(a + " is given twice");
        }
        String master = required(given, "--master");
        String out = required(given, "--out");
        for (String s : submit) {
            for (String key : SET_BY_SWEEP) {
                if (s.equals(key) || s.startsWith(key + "=")) {
                    throw new BadInputException("-- " + s + ": the sweep sets the master and the executors itself (--executors, --executor-cores)");
                }
            }
        }
        List<Integer> executors = new ArrayList<>();
        for (long n : positives(given.getOrDefault("--executors", smoke ? "1" : "1,2,4"), "--executors", false)) {
            if (n > 10_000) throw new BadInputException("--executors " + n + ": more than 10000 executors");
            if (!executors.isEmpty() && n <= executors.get(executors.size() - 1)) {
                throw new BadInputException("--executors " + given.get("--executors") + ": the counts must increase");
            }
            executors.add((int) n);
        }
        String layers = given.getOrDefault("--layers", smoke ? "16,32,32,4" : DEFAULT_LAYERS);
        if (positives(layers, "--layers", false).size() < 2) throw new BadInputException("--layers " + layers + ": at least two sizes (inputs, outputs)");
        long rows = one(given.getOrDefault("--rows", smoke ? "256" : "16384"), "--rows");
        return new ClusterBenchOptions(master, MasterKind.of(master), out, given.get("--data"), List.copyOf(executors),
                (int) Math.min(Integer.MAX_VALUE, one(given.getOrDefault("--executor-cores", "1"), "--executor-cores")), layers, rows,
                positives(given.getOrDefault("--reduction", smoke ? "10k" : "10M,50M"), "--reduction", true),
                (int) Math.min(1000, one(given.getOrDefault("--repeat", smoke ? "1" : "3"), "--repeat")), smoke,
                given.get("--note"), List.copyOf(submit));
    }

    private static final List<String> OPTIONS = List.of("--master", "--out", "--data", "--executors", "--executor-cores", "--layers",
            "--rows", "--reduction", "--repeat", "--note");

    private static String required(Map<String, String> given, String name) {
        String v = given.get(name);
        if (v == null || v.isBlank()) throw new BadInputException(name + " is required (gradspark-bench --master URL --out DIR [options])");
        return v;
    }

    private static long one(String value, String name) {
        List<Long> v = positives(value, name, false);
        if (v.size() != 1) throw new BadInputException(name + " " + value + ": one number");
        return v.get(0);
    }

    private static final Pattern COUNT = Pattern.compile("(\\d+)([kKmM]?)");

    /** Comma-separated counts, each > 0; with {@code suffixes}, 10k and 50M stand for 10 000 and 50 000 000. */
    static List<Long> positives(String value, String name, boolean suffixes) {
        List<Long> out = new ArrayList<>();
        for (String part : value.split(",", -1)) {
            Matcher m = COUNT.matcher(part.trim());
            if (!m.matches() || (!suffixes && !m.group(2).isEmpty()) || m.group(1).length() > 12) {
                throw new BadInputException(name + " " + value + ": '" + part + "' is not a whole number > 0" + (suffixes ? " (10k, 50M allowed)" : ""));
            }
            long n = Long.parseLong(m.group(1)) * switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "k" -> 1_000L;
                case "m" -> 1_000_000L;
                default -> 1L;
            };
            if (n <= 0) throw new BadInputException(name + " " + value + ": '" + part + "' is not > 0");
            out.add(n);
        }
        return out;
    }

    /** The largest executor count: strong scaling's rows are rowsPerExecutor times it. */
    int maxExecutors() {
        return executors.get(executors.size() - 1);
    }

    /** The MLP's input width. */
    int inputs() {
        return Integer.parseInt(layers.split(",")[0].trim());
    }

    /**
     * The {@code spark.hadoop.*} settings the jobs get from the files and {@code --conf}s of {@code -- ...}
     * ({@code --properties-file}, {@code --extra-properties-file}) and, on YARN, from local-cluster's
     * {@code YARN_CONF_DIR/gradspark-client.conf}: the benchmark's own reads and writes (the input, the
     * report) use the same filesystem settings as the jobs.
     */
    Map<String, String> sparkHadoopSettings(String yarnConfDir) {
        Map<String, String> conf = new LinkedHashMap<>();
        if (kind == MasterKind.YARN && yarnConfDir != null) {
            Path client = Path.of(yarnConfDir, "gradspark-client.conf");
            if (Files.isRegularFile(client)) readSettings(client, conf);
        }
        for (int i = 0; i + 1 < submitArgs.size(); i++) {
            String a = submitArgs.get(i), v = submitArgs.get(i + 1);
            if (a.equals("--properties-file") || a.equals("--extra-properties-file")) {
                Path p = Path.of(v);
                if (!Files.isRegularFile(p)) throw new BadInputException("-- " + a + " " + v + ": no such file");
                readSettings(p, conf);
            } else if (a.equals("--conf") && v.contains("=")) {
                conf.put(v.substring(0, v.indexOf('=')), v.substring(v.indexOf('=') + 1));
            }
        }
        conf.keySet().removeIf(k -> !k.startsWith("spark.hadoop."));
        return conf;
    }

    private static void readSettings(Path file, Map<String, String> into) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new BadInputException(file + ": cannot be read as Spark properties (" + e.getMessage() + ")");
        }
        for (String k : p.stringPropertyNames()) into.put(k, p.getProperty(k).trim());
    }
}
