package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.cli.JobOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradspark-submit --master k8s://...} against fabric8's Kubernetes API server mock (CRUD mode, http on
 * 127.0.0.1): what Spark's Kubernetes client creates there from the project's own Spark home, read back and checked
 * for what GradSpark is responsible for. There is no image and no kubelet: the driver pod of cluster deploy mode
 * never starts, and the executor pods of client deploy mode stay Pending (the case a user meets when their pods
 * cannot be scheduled or pulled), except where the test itself plays the kubelet ({@link Kubelet}) and runs each
 * executor pod's JVM on this machine from its spec.
 */
class KubernetesSubmittedTest {
    static final String IMAGE = "registry.example/gradspark:4.2.0-java17";
    static final Duration TIMEOUT = Duration.ofMinutes(3);

    @TempDir
    Path dir;
    private final ApiServerDispatcher dispatcher = new ApiServerDispatcher();
    private KubernetesMockServer server;
    private NamespacedKubernetesClient client;
    private String master;

    @BeforeEach
    void startTheApiServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
        master = "k8s://http://127.0.0.1:" + server.getPort();
    }

    @AfterEach
    void stopTheApiServer() {
        client.close();
        server.destroy();
    }

    /**
     * Cluster deploy mode: one driver pod with the image and service account given, GradSparkMain as its class and the
     * {@code grad} arguments as given, the application jar uploaded to the upload path (the same bytes), GradSpark's keys
     * and the driver's OPENBLAS_NUM_THREADS in its conf, no path of this machine in its conf or environment, and the
     * service the executors reach it by.
     */
    @Test
    void clusterDeployModeCreatesTheDriverPodWithGradSparksSettings() throws IOException {
        Path uploads = dir.resolve("uploads");
        List<String> job = List.of("--input", "s3a://bucket/rows.npy", "--layers", "4,2,1", "--out", "s3a://bucket/out");
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("logs"), LocalCluster.submitCommand(master,
                List.of("--deploy-mode", "cluster", "--conf", "spark.kubernetes.container.image=" + IMAGE,
                        "--conf", "spark.kubernetes.submission.waitAppCompletion=false",
                        "--conf", "spark.kubernetes.authenticate.driver.serviceAccountName=gradspark-driver",
                        "--conf", "spark.kubernetes.file.upload.path=" + uploads.toUri()),
                job.toArray(new String[0])));
        assertEquals(0, r.exitCode(), r.stderr());
        assertFalse(r.stderr().contains("Exception") || r.stderr().contains(" ERROR "), r.stderr());

        List<Pod> pods = client.pods().inNamespace("default").list().getItems();
        assertEquals(1, pods.size(), "one driver pod");
        Pod driver = pods.get(0);
        // The console names the driver pod, whose log is now the job's console.
        assertTrue(r.stderr().contains("submission ID default:" + driver.getMetadata().getName() + " into Kubernetes"), r.stderr());
        assertEquals("driver", driver.getMetadata().getLabels().get("spark-role"));
        assertEquals("gradspark-driver", driver.getSpec().getServiceAccountName());
        Container container = driver.getSpec().getContainers().get(0);
        assertEquals(IMAGE, container.getImage());
        List<String> args = new ArrayList<>(List.of("driver", "--properties-file", "/opt/spark/conf/spark.properties",
                "--class", "org.gradspark.job.cli.GradSparkMain", "spark-internal", "grad"));
        args.addAll(job);
        assertEquals(args, container.getArgs());
        Map<String, String> env = environment(container);
        assertEquals("1", env.get("OPENBLAS_NUM_THREADS"), "the driver computes with the executors' BLAS threads: " + env);
        assertFalse(env.containsKey("LD_PRELOAD"), "no path of this machine's JDK in the pod: " + env);

        Properties conf = driverConf(driver);
        String jar = conf.getProperty("spark.jars");
        assertTrue(jar.startsWith(uploads.toUri() + "spark-upload-") && jar.endsWith("/gradspark-app.jar"), jar);
        assertArrayEquals(Files.readAllBytes(LocalCluster.HOME.resolve("spark-job/target/gradspark-app.jar")), Files.readAllBytes(Path.of(URI.create(jar))));
        assertEquals("1", conf.getProperty("spark.kubernetes.driverEnv.OPENBLAS_NUM_THREADS"));
        assertEquals("1", conf.getProperty("spark.executorEnv.OPENBLAS_NUM_THREADS"));
        assertEquals(null, conf.getProperty("spark.executorEnv.LD_PRELOAD"));
        Properties defaults = new Properties();
        defaults.load(new StringReader(Files.readString(LocalCluster.HOME.resolve("conf/gradspark-defaults.conf"))));
        for (String key : defaults.stringPropertyNames()) assertEquals(defaults.getProperty(key).strip(), conf.getProperty(key), key);
        String javaHome = Path.of(System.getProperty("java.home")).toRealPath().toString();
        for (String key : conf.stringPropertyNames()) {
            String value = conf.getProperty(key);
            if (key.equals("spark.jars") || key.equals("spark.kubernetes.file.upload.path")) continue;   // the upload path, shared storage
            assertFalse(value.contains(javaHome) || value.contains(LocalCluster.HOME.toString()) || value.contains(dir.toString()), key + "=" + value);
        }

        List<Service> services = client.services().inNamespace("default").list().getItems();
        assertEquals(1, services.size());
        Service service = services.get(0);
        assertEquals(driver.getMetadata().getLabels(), service.getSpec().getSelector());
        assertEquals(service.getMetadata().getName() + ".default.svc", conf.getProperty("spark.driver.host"));
        assertEquals(driver.getMetadata().getName(), service.getMetadata().getOwnerReferences().get(0).getName());
    }

    /**
     * Client deploy mode: the local driver asks for the executor pods (image, environment, memory and cores, the GPU
     * limit from the vendor key); nothing starts them, and after spark.gradspark.executorWait the job ends with one
     * line naming the master, status 2, nothing written, and the pods it asked for deleted.
     */
    @Test
    void clientDeployModeAsksForExecutorPodsAndEndsWithOneLineWhenNoneStarts() throws IOException {
        Path out = dir.resolve("out");
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("logs"), LocalCluster.submitCommand(master,
                List.of("--conf", "spark.kubernetes.container.image=" + IMAGE, "--conf", "spark.executor.instances=2",
                        "--executor-cores", "1", "--executor-memory", "1g",
                        "--conf", "spark.executor.resource.gpu.amount=1", "--conf", "spark.executor.resource.gpu.vendor=nvidia.com",
                        "--conf", "spark.gradspark.executorWait=5s", "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=2s"),
                "--synthetic", "64", "--layers", "4,2,1", "--out", out.toString()));
        SubmittedFailuresTest.assertFailure(r, 2, dir, "no executor joined the Spark application in 5 s (spark.gradspark.executorWait)",
                "did --master " + master + " start the executor pods");
        assertFalse(Files.exists(out));
        assertFalse(r.stderr().contains("io.vertx") || r.stderr().contains("io.fabric8") || r.stderr().contains("BlockedThreadChecker"), r.stderr());

        List<Pod> executors = dispatcher.created.stream().filter(p -> "executor".equals(p.getMetadata().getLabels().get("spark-role"))).toList();
        assertEquals(2, executors.size(), "spark.executor.instances pods");
        String javaHome = Path.of(System.getProperty("java.home")).toRealPath().toString();
        for (Pod executor : executors) {
            Container container = executor.getSpec().getContainers().get(0);
            assertEquals(IMAGE, container.getImage());
            Map<String, String> env = environment(container);
            assertEquals("1", env.get("OPENBLAS_NUM_THREADS"), env.toString());
            assertFalse(env.containsKey("LD_PRELOAD"), "no path of this machine's JDK in the pod: " + env);
            for (Map.Entry<String, String> e : env.entrySet()) {
                assertFalse(e.getValue() != null && (e.getValue().contains(javaHome) || e.getValue().contains(LocalCluster.HOME.toString())), e.toString());
            }
            assertEquals("1", env.get("SPARK_EXECUTOR_CORES"));
            assertEquals("1024m", env.get("SPARK_EXECUTOR_MEMORY"));
            Map<String, Quantity> requests = container.getResources().getRequests();
            Map<String, Quantity> limits = container.getResources().getLimits();
            assertEquals(new Quantity("1"), requests.get("cpu"));
            assertEquals(new Quantity("1408Mi"), requests.get("memory"), "1 GiB and Spark's 384 MiB overhead");
            assertEquals(new Quantity("1"), limits.get("nvidia.com/gpu"), limits.toString());
        }
        assertEquals(List.of(), client.pods().inNamespace("default").list().getItems(), "the executor pods are deleted as the application stops");
    }

    /**
     * Client deploy mode with this test as the kubelet: each executor pod's JVM started here from its spec (its
     * environment and Java options, as Spark's image starts it) and reported Running; the job runs on those
     * executors, and grads.npz has the bytes of a local[2] run of the same job.
     */
    @Test
    void clientDeployModeOnExecutorPodsGivesTheBytesOfLocal2() throws IOException {
        String[] job = {"--layers", "8,16,3", "--dtype", "float64", "--synthetic", "1000", "--partitions", "4", "--chunk-rows", "100",
            "--seed", "7", "--backend", "cpu"};
        Path out = dir.resolve("out");
        List<String> args = new ArrayList<>(List.of(job));
        args.addAll(List.of("--out", out.toString()));
        try (Kubelet kubelet = new Kubelet(client, dir.resolve("pods"))) {
            LocalCluster.succeeded(LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("logs"), LocalCluster.submitCommand(master,
                    List.of("--conf", "spark.kubernetes.container.image=" + IMAGE, "--conf", "spark.executor.instances=2",
                            "--executor-cores", "1", "--executor-memory", "512m", "--conf", "spark.gradspark.warmUp=none"),
                    args.toArray(new String[0]))));
            assertEquals(2, kubelet.started(), "executor pods run");
        }
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(master, summary.get("master").asText());
        List<String> ranOn = new ArrayList<>();
        summary.get("partitions_per_executor").fieldNames().forEachRemaining(ranOn::add);
        assertTrue(!ranOn.isEmpty() && List.of("1", "2").containsAll(ranOn), "the pods' executors ran the partitions: " + summary);
        assertArrayEquals(local2(job), Files.readAllBytes(out.resolve("grads.npz")));
    }

    /** grads.npz of {@code job} on an in-process local[2] context (whose tasks run on this JVM's backend: cpu, as --backend cpu gives executors). */
    private byte[] local2(String... job) throws IOException {
        Backend before;
        try {
            before = Backends.current();
        } catch (IllegalArgumentException e) {
            before = null;   // this JVM's default is not available here: nothing to restore
        }
        Backends.use(Backends.byName("cpu"));
        Path out = dir.resolve("local2");
        List<String> args = new ArrayList<>(List.of(job));
        args.addAll(List.of("--out", out.toString()));
        SparkConf conf = GradientJob.configure(new SparkConf().setMaster("local[2]").setAppName("KubernetesSubmittedTest local[2]"))
                .set("spark.ui.enabled", "false");
        try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
            jsc.setLogLevel("WARN");
            GradientJob.run(jsc, JobOptions.parse(Map.of(), args.toArray(new String[0])));
        } finally {
            if (before != null) Backends.use(before);
        }
        return Files.readAllBytes(out.resolve("grads.npz"));
    }

    private static Map<String, String> environment(Container c) {
        Map<String, String> env = new HashMap<>();
        for (EnvVar v : c.getEnv()) env.put(v.getName(), v.getValue());
        return env;
    }

    /** The spark.properties of the config map mounted in the driver pod. */
    private Properties driverConf(Pod driver) throws IOException {
        String name = driver.getSpec().getVolumes().stream().filter(v -> v.getConfigMap() != null).findFirst().orElseThrow().getConfigMap().getName();
        ConfigMap map = client.configMaps().inNamespace("default").withName(name).get();
        assertNotNull(map, name);
        Properties p = new Properties();
        p.load(new StringReader(map.getData().get("spark.properties")));
        return p;
    }

    /**
     * Plays the kubelet for executor pods on this machine (standing for the image): starts each pod's JVM as the
     * executor entry point of Spark's image does (its SPARK_JAVA_OPT_* options, -Xms/-Xmx SPARK_EXECUTOR_MEMORY,
     * Spark's jars, KubernetesExecutorBackend with the spec's driver URL, executor id, cores and application id), with
     * the pod's environment in place of this machine's for what the pod sets, an emptyDir of its own for
     * SPARK_LOCAL_DIRS, and 127.0.0.1 as its pod IP; then reports the pod Running. Killed at close.
     */
    static final class Kubelet implements AutoCloseable {
        private final NamespacedKubernetesClient client;
        private final Path pods;
        private final Map<String, Process> running = new ConcurrentHashMap<>();
        private final ScheduledExecutorService poll = Executors.newSingleThreadScheduledExecutor();

        Kubelet(NamespacedKubernetesClient client, Path pods) {
            this.client = client;
            this.pods = pods;
            poll.scheduleWithFixedDelay(this::startNewPods, 0, 500, TimeUnit.MILLISECONDS);
        }

        int started() {
            return running.size();
        }

        private void startNewPods() {
            try {
                startPods();
            } catch (RuntimeException e) {
                if (!poll.isShutdown()) e.printStackTrace();   // in the test's output; the next poll tries again
            }
        }

        private void startPods() {
            for (Pod pod : client.pods().inNamespace("default").withLabel("spark-role", "executor").list().getItems()) {
                String name = pod.getMetadata().getName();
                if (running.containsKey(name) || pod.getMetadata().getDeletionTimestamp() != null) continue;
                try {
                    running.put(name, start(pod));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                client.pods().inNamespace("default").withName(name).editStatus(p -> new PodBuilder(p).editOrNewStatus()
                        .withPhase("Running").withPodIP("127.0.0.1").endStatus().build());
            }
        }

        private Process start(Pod pod) throws IOException {
            String name = pod.getMetadata().getName();
            Map<String, String> env = environment(pod.getSpec().getContainers().get(0));
            env.put("SPARK_EXECUTOR_POD_IP", "127.0.0.1");
            env.put("SPARK_EXECUTOR_POD_NAME", name);
            Path local = Files.createDirectories(pods.resolve(name));
            env.put("SPARK_LOCAL_DIRS", Files.createDirectories(local.resolve("local-dir")).toString());
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            env.keySet().stream().filter(k -> k.startsWith("SPARK_JAVA_OPT_"))
                    .sorted(java.util.Comparator.comparingInt(k -> Integer.parseInt(k.substring("SPARK_JAVA_OPT_".length()))))
                    .forEach(k -> cmd.add(env.get(k)));
            cmd.addAll(List.of("-Xms" + env.get("SPARK_EXECUTOR_MEMORY"), "-Xmx" + env.get("SPARK_EXECUTOR_MEMORY"),
                    "-cp", LocalCluster.HOME.resolve("spark-job/target/spark-home/jars") + "/*",
                    "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend", "--driver-url", env.get("SPARK_DRIVER_URL"),
                    "--executor-id", env.get("SPARK_EXECUTOR_ID"), "--cores", env.get("SPARK_EXECUTOR_CORES"),
                    "--app-id", env.get("SPARK_APPLICATION_ID"), "--hostname", "127.0.0.1",
                    "--resourceProfileId", env.get("SPARK_RESOURCE_PROFILE_ID"), "--podName", name));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(local.toFile())
                    .redirectOutput(local.resolve("stdout").toFile()).redirectError(local.resolve("stderr").toFile());
            // What the test JVM has for the job's own settings must not stand in for what the pod was given.
            pb.environment().remove("OPENBLAS_NUM_THREADS");
            pb.environment().remove("LD_PRELOAD");
            env.forEach((k, v) -> {
                if (v != null) pb.environment().put(k, v);
            });
            return pb.start();
        }

        @Override
        public void close() {
            poll.shutdownNow();
            running.values().forEach(Process::destroyForcibly);
            for (Process p : running.values()) {
                try {
                    p.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /**
     * The CRUD mock with two things a real API server does that Spark relies on: server-side apply creates a resource
     * that does not exist yet (Spark 4.2 creates the driver's service and config map by a PATCH of content type
     * application/apply-patch+yaml to the resource's own path; the CRUD dispatcher patches only existing ones), and a
     * new pod's status is phase Pending (Spark reads every pod's phase; the mock leaves status out). It also keeps each
     * pod as created, since Spark deletes its executor pods when the application stops.
     */
    static final class ApiServerDispatcher extends KubernetesCrudDispatcher {
        final List<Pod> created = new CopyOnWriteArrayList<>();

        @Override
        public MockResponse handlePatch(RecordedRequest request) {
            String path = request.getPath().replaceFirst("\\?.*", "");
            String type = request.getHeader("Content-Type");
            if (type != null && type.startsWith("application/apply-patch") && handleGet(path).code() == 404) {
                return handleCreate(request(path.substring(0, path.lastIndexOf('/')), request, request.getUtf8Body()));
            }
            return super.handlePatch(request);
        }

        @Override
        public MockResponse handleCreate(RecordedRequest request) {
            String path = request.getPath().replaceFirst("\\?.*", "");
            if (!path.endsWith("/pods")) return super.handleCreate(request);
            Pod pod = Serialization.unmarshal(request.getUtf8Body(), Pod.class);
            if (pod.getStatus() == null || pod.getStatus().getPhase() == null) pod.setStatus(new PodStatusBuilder().withPhase("Pending").build());
            created.add(pod);
            return super.handleCreate(request(path, request, Serialization.asJson(pod)));
        }

        private static RecordedRequest request(String path, RecordedRequest like, String body) {
            return new RecordedRequest("HTTP/1.1", HttpMethod.POST, path, like.getHeaders(), new Buffer(body.getBytes(StandardCharsets.UTF_8)));
        }
    }
}
