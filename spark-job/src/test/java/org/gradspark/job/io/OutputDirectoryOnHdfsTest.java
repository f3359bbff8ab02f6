package org.gradspark.job.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The output rules through Hadoop's FileSystem API on a real HDFS (issue 23, items 1 and 2): a
 * fit's lock is an exclusive create at the NameNode (a second taker is refused, a dead run's lock
 * of this host is taken over), a planted manifest leaving --out is refused, and an earlier output
 * is inspected and removed file by file.
 */
class OutputDirectoryOnHdfsTest {
    static MiniHdfs hdfs;
    static Storage storage;

    @BeforeAll
    static void start() {
        hdfs = MiniHdfs.start();
        storage = Storage.of(hdfs.fileSystem().getConf());
    }

    @AfterAll
    static void stop() {
        hdfs.close();
    }

    @Test
    void theLockIsAnExclusiveCreate() throws Exception {
        String out = hdfs.uriOf("/lock/out");
        hdfs.fileSystem().mkdirs(new Path(hdfs.uriOf("/lock")));
        OutputLock first = OutputLock.acquire(storage, out, RunId.fresh(), "fit");
        BadInputException e = assertThrows(BadInputException.class, () -> OutputLock.acquire(storage, out, RunId.fresh(), "fit"));
        assertTrue(e.getMessage().startsWith("--out " + out + ": another GradSpark run is writing it (a fit run, pid " + ProcessHandle.current().pid()), e.getMessage());
        first.release();
        assertFalse(hdfs.fileSystem().exists(new Path(OutputLock.path(out))));

        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        write(OutputLock.path(out), "{\"committer\":\"gradspark\",\"run\":\"" + new RunId(RunId.thisHost(), p.pid(), "0123abcd").tag() + "\"}");
        OutputLock.acquire(storage, out, RunId.fresh(), "fit").release();
        assertEquals(0, hdfs.fileSystem().listStatus(new Path(hdfs.uriOf("/lock"))).length, "the stale lock and the taken-over one are gone");
    }

    /**
     * A task's part of the input derivatives is created only in the temporary directory as it is:
     * once the driver has removed it (a failed job), a task starting late fails instead of bringing
     * it back (ClusterFailuresTest found one left under an HDFS quota). Also on the local filesystem.
     */
    @Test
    void aFileCreatedInARemovedDirectoryDoesNotBringItBack() throws IOException {
        java.nio.file.Path local = java.nio.file.Files.createTempDirectory("in-existing");
        try {
            for (String root : List.of(hdfs.uriOf("/gone"), local.toUri().toString())) {
                String dir = Storage.child(root, ".out.gradspark-tmp-x/input_grads");
                storage.mkdirs(dir);
                try (OutputStream o = storage.createInExisting(Storage.child(dir, ".part-00000.attempt-1"))) {
                    o.write(1);
                }
                storage.delete(Storage.child(root, ".out.gradspark-tmp-x"), true);
                assertThrows(java.io.FileNotFoundException.class, () -> storage.createInExisting(Storage.child(dir, ".part-00001.attempt-2")).close(), root);
                assertEquals(List.of(), storage.entries(root).stream().map(Storage.Entry::name).toList(), root);
            }
        } finally {
            org.apache.commons.io.FileUtils.deleteQuietly(local.toFile());
        }
    }

    @Test
    void aPlantedManifestIsRefusedAndAnEarlierOutputRemoved() throws IOException {
        FileSystem fs = hdfs.fileSystem();
        write(hdfs.uriOf("/m/victim.txt"), "keep");
        write(hdfs.uriOf("/m/out/_SUCCESS"), "{\"committer\":\"gradspark\",\"files\":[\"../victim.txt\"]}");
        BadInputException e = assertThrows(BadInputException.class, () -> OutputDirectory.inspect(storage, hdfs.uriOf("/m/out"), null));
        assertTrue(e.getMessage().contains("lists \"../victim.txt\", a '..' component"), e.getMessage());

        write(hdfs.uriOf("/m/out/_SUCCESS"), "{\"committer\":\"gradspark\",\"files\":[\"grads.npz\",\"input_grads/part-00000.npy\"]}");
        write(hdfs.uriOf("/m/out/grads.npz"), "g");
        write(hdfs.uriOf("/m/out/input_grads/part-00000.npy"), "p");
        OutputDirectory.Findings found = OutputDirectory.inspect(storage, hdfs.uriOf("/m/out"), null);
        assertEquals(OutputDirectory.Kind.EARLIER_OUTPUT, found.kind());
        assertEquals(List.of("grads.npz", "input_grads/part-00000.npy"), found.listed());
        write(hdfs.uriOf("/m/out/input_grads/notes.txt"), "mine");
        BadInputException added = assertThrows(BadInputException.class, () -> OutputDirectory.inspect(storage, hdfs.uriOf("/m/out"), null));
        assertTrue(added.getMessage().contains("holds input_grads/notes.txt, which no earlier GradSpark run wrote"), added.getMessage());
        fs.delete(new Path(hdfs.uriOf("/m/out/input_grads/notes.txt")), false);
        assertTrue(OutputDirectory.removeEarlier(storage, hdfs.uriOf("/m/out")));
        assertTrue(fs.exists(new Path(hdfs.uriOf("/m/victim.txt"))));
    }

    /** grad's whole cycle on HDFS: an earlier output is moved aside and removed file by file; a planted manifest deletes nothing. */
    @Test
    void gradReplacesItsEarlierOutputOnHdfs() throws IOException {
        FileSystem fs = hdfs.fileSystem();
        String out = hdfs.uriOf("/g/out");
        org.apache.spark.SparkConf conf = org.gradspark.job.api.GradientJob.configure(new org.apache.spark.SparkConf().setMaster("local[1]").setAppName("OutputDirectoryOnHdfsTest"))
                .set("spark.ui.enabled", "false").set("spark.gradspark.warmUp", "none");
        try (org.apache.spark.api.java.JavaSparkContext jsc = new org.apache.spark.api.java.JavaSparkContext(conf)) {
            jsc.hadoopConfiguration().addResource(fs.getConf());
            org.gradspark.job.api.GradientJob.run(jsc, org.gradspark.job.cli.JobOptions.parse(java.util.Map.of(), "--layers", "4,2,1", "--synthetic", "32", "--wrt", "all",
                    "--backend", "reference", "--out", out));
            assertTrue(fs.exists(new Path(out + "/input_grads")));
            org.gradspark.job.api.GradientJob.run(jsc, org.gradspark.job.cli.JobOptions.parse(java.util.Map.of(), "--layers", "4,2,1", "--synthetic", "32",
                    "--backend", "reference", "--out", out));
            assertFalse(fs.exists(new Path(out + "/input_grads")), "the earlier output's input derivatives went with it");
            assertEquals(1, fs.listStatus(new Path(hdfs.uriOf("/g"))).length, "nothing left beside --out");

            write(hdfs.uriOf("/g/victim.txt"), "keep");
            write(out + "/_SUCCESS", "{\"committer\":\"gradspark\",\"files\":[\"grads.npz\",\"summary.json\",\"" + hdfs.uriOf("/g/victim.txt") + "\"]}");
            BadInputException e = assertThrows(BadInputException.class, () -> org.gradspark.job.api.GradientJob.run(jsc,
                    org.gradspark.job.cli.JobOptions.parse(java.util.Map.of(), "--layers", "4,2,1", "--synthetic", "32", "--backend", "reference", "--out", out)));
            assertTrue(e.getMessage().contains("a ':' (a scheme"), e.getMessage());
            assertTrue(fs.exists(new Path(hdfs.uriOf("/g/victim.txt"))));
        }
    }

    private static void write(String uri, String text) throws IOException {
        try (OutputStream o = hdfs.fileSystem().create(new Path(uri), true)) {
            o.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
