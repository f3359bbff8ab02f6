package org.gradspark.job.yarn;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * {@code submit-scripts/local-cluster start N --yarn}'s YARN: Hadoop's MiniYARNCluster (a ResourceManager and
 * N NodeManagers in this JVM, their containers real processes) on this machine, run as a daemon until TERM.
 * Once every NodeManager has registered it writes the clients' {@code yarn-site.xml} (the settings that differ
 * from YARN's defaults: the ResourceManager's addresses above all) into the directory given, and then
 * {@code yarn.ready} there, which the script waits for.
 *
 * <p>Arguments: {@code NODEMANAGERS NODEMANAGER_MEMORY_MB CONF_DIR}. The scheduler is the capacity scheduler with
 * one queue (the minicluster jar has no capacity-scheduler.xml, so its settings are made here, as Spark's own
 * {@code BaseYarnClusterSuite} does), which counts memory only: containers may ask for more cores than a
 * NodeManager announces. The memory checks that kill a container over its size are off: this is one shared
 * machine, where YARN's sizes are bookkeeping, not a limit worth a lost executor.
 */
public final class MiniYarnMain {
    private MiniYarnMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) throw new IllegalArgumentException("usage: MiniYarnMain NODEMANAGERS NODEMANAGER_MEMORY_MB CONF_DIR");
        int nodeManagers = Integer.parseInt(args[0]);
        int memoryMb = Integer.parseInt(args[1]);
        Path confDir = Path.of(args[2]);
        YarnConfiguration conf = settings(memoryMb);
        MiniYARNCluster cluster = new MiniYARNCluster("gradspark-yarn", 1, nodeManagers, 1, 1);
        cluster.init(conf);
        cluster.start();
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::stop, "mini-yarn-stop"));
        if (!cluster.waitForNodeManagersToConnect(120_000)) throw new IllegalStateException("the NodeManagers did not register in 120 s");
        // start() may return before the ResourceManager has put its bound port in the configuration.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (cluster.getConfig().get(YarnConfiguration.RM_ADDRESS).endsWith(":0")) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the ResourceManager has no address after 30 s");
            Thread.sleep(100);
        }
        writeClientConf(cluster.getConfig(), confDir);
        System.out.println("MiniYarnMain: ResourceManager " + cluster.getConfig().get(YarnConfiguration.RM_ADDRESS) + ", web UI "
                + cluster.getConfig().get(YarnConfiguration.RM_WEBAPP_ADDRESS) + ", " + nodeManagers + " NodeManager(s) of " + memoryMb + " MB");
        Files.writeString(confDir.resolve("yarn.ready"), "ready\n");
        Thread.currentThread().join();   // until TERM: the shutdown hook stops the cluster
    }

    private static YarnConfiguration settings(int memoryMb) {
        YarnConfiguration conf = new YarnConfiguration();
        conf.set("yarn.scheduler.capacity.root.queues", "default");
        conf.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
        conf.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
        conf.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
        conf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
        conf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
        conf.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
        conf.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
        // The application masters may take the whole queue (the default, 10%, would leave a cluster-mode driver waiting).
        conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 1.0f);
        conf.set("yarn.resourcemanager.hostname", "127.0.0.1");
        conf.set("yarn.nodemanager.hostname", "127.0.0.1");
        conf.setInt(YarnConfiguration.NM_PMEM_MB, memoryMb);
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, memoryMb);
        conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
        conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
        conf.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
        return conf;
    }

    /**
     * The client's yarn-site.xml: only what differs from YARN's defaults (all of the running configuration would
     * also carry core-default's fs.defaultFS, which, read after core-site.xml, would hide the HDFS's).
     */
    private static void writeClientConf(Configuration running, Path confDir) throws IOException {
        YarnConfiguration defaults = new YarnConfiguration();
        Configuration client = new Configuration(false);
        for (Map.Entry<String, String> e : running) {
            String key = e.getKey();
            if (key.startsWith("yarn.") && !Objects.equals(defaults.get(key), running.get(key))) client.set(key, running.get(key));
        }
        Files.createDirectories(confDir);
        Path tmp = confDir.resolve("yarn-site.xml.tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            client.writeXml(out);
        }
        Files.move(tmp, confDir.resolve("yarn-site.xml"), StandardCopyOption.ATOMIC_MOVE);
    }
}
