package org.gradspark.job.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real HDFS in this JVM (Hadoop's MiniDFSCluster: a NameNode and one DataNode on 127.0.0.1,
 * replication 1, permissions off), for tests that run the same case on local and HDFS files:
 *
 * <pre>{@code
 * try (MiniHdfs hdfs = MiniHdfs.start()) {
 *     String x = hdfs.put(localNpy, "/in/x.npy");   // "hdfs://127.0.0.1:PORT/in/x.npy"
 *     ... "--input", x ...
 * }
 * }</pre>
 *
 * Spark in this JVM (local mode) reads and writes its {@code hdfs://} paths through the same
 * Hadoop client. Starting one takes a few seconds (measured: see {@code MiniHdfsTest}): share one per
 * test class. The test class path has the HDFS's web apps unpacked (spark-job/pom.xml), which
 * spares Jetty digging them out of the minicluster jar.
 */
public final class MiniHdfs implements AutoCloseable {
    private final MiniDFSCluster cluster;
    private final FileSystem fs;
    private final URI uri;
    private final Path baseDir;
    private final boolean ownsBaseDir;

    private MiniHdfs(Path baseDir, boolean ownsBaseDir) throws IOException {
        this.baseDir = baseDir;
        this.ownsBaseDir = ownsBaseDir;
        Configuration conf = new Configuration();
        conf.setBoolean("dfs.permissions.enabled", false);
        conf.setInt("dfs.replication", 1);
        MiniDFSCluster started = null;
        try {
            // Binds 127.0.0.1 only: the NameNode's RPC and HTTP (port 0: free ones), the DataNode's.
            started = new MiniDFSCluster.Builder(conf, baseDir.toFile()).numDataNodes(1).nameNodePort(0).nameNodeHttpPort(0)
                    .format(true).build();
            started.waitActive();   // out of safe mode, the DataNode registered
            this.uri = URI.create("hdfs://127.0.0.1:" + started.getNameNodePort());
            this.fs = FileSystem.newInstance(uri, conf);
            this.cluster = started;
        } catch (IOException | RuntimeException e) {
            if (started != null) started.shutdown(true);
            throw e;
        }
    }

    /** Starts an HDFS with its data under a new temporary directory, deleted by {@link #close()}. */
    public static MiniHdfs start() {
        try {
            return new MiniHdfs(Files.createTempDirectory("gradspark-minihdfs"), true);
        } catch (IOException e) {
            throw new UncheckedIOException("MiniHdfs did not start", e);
        }
    }

    /** Starts an HDFS with its data under {@code baseDir} (e.g. a JUnit {@code @TempDir}). */
    public static MiniHdfs start(Path baseDir) {
        try {
            return new MiniHdfs(baseDir, false);
        } catch (IOException e) {
            throw new UncheckedIOException("MiniHdfs did not start", e);
        }
    }

    /** {@code hdfs://127.0.0.1:PORT}, the NameNode's URI. */
    public URI uri() {
        return uri;
    }

    /** A client of this HDFS (closed by {@link #close()}). */
    public FileSystem fileSystem() {
        return fs;
    }

    /** The full URI of {@code hdfsPath} ("/a/b" or "a/b", from the root) on this HDFS. */
    public String uriOf(String hdfsPath) {
        return uri + (hdfsPath.startsWith("/") ? "" : "/") + hdfsPath;
    }

    /** Copies local file {@code local} to {@code hdfsPath} (parents made, overwriting); returns its full hdfs:// URI. */
    public String put(Path local, String hdfsPath) {
        String target = uriOf(hdfsPath);
        try {
            fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(local.toAbsolutePath().toUri()), new org.apache.hadoop.fs.Path(target));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot put " + local + " to " + target, e);
        }
        return target;
    }

    /**
     * Stops the NameNode only (the DataNode keeps running), as when it crashes: clients' calls are
     * refused until {@link #restartNameNode()}.
     */
    public void stopNameNode() {
        cluster.shutdownNameNode(0);
    }

    /** Starts the NameNode again on the same port, with the same data; returns once it is active and its DataNode registered. */
    public void restartNameNode() {
        try {
            cluster.restartNameNode(0, true);
            cluster.waitActive();
        } catch (IOException e) {
            throw new UncheckedIOException("the NameNode did not restart", e);
        }
    }

    /**
     * Sets HDFS's space quota on {@code hdfsPath} (a directory): a block is charged in full (block
     * size × replication) when it is allocated, so a quota smaller than a block refuses the first
     * byte written under it.
     */
    public void setSpaceQuota(String hdfsPath, long bytes) {
        try {
            ((org.apache.hadoop.hdfs.DistributedFileSystem) fs).setQuota(new org.apache.hadoop.fs.Path(uriOf(hdfsPath)),
                    org.apache.hadoop.hdfs.protocol.HdfsConstants.QUOTA_DONT_SET, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set the space quota of " + hdfsPath, e);
        }
    }

    /** Stops the DataNode and the NameNode and deletes their data. */
    @Override
    public void close() {
        try {
            fs.close();
        } catch (IOException e) {
            // the cluster goes anyway
        } finally {
            cluster.shutdown(true);
            if (ownsBaseDir) deleteTree(baseDir);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
