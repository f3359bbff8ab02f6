package org.gradspark.job.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MiniHdfs starts a real HDFS in this JVM; a file put on it reads back byte for byte through its hdfs:// URI. */
class MiniHdfsTest {
    @TempDir
    Path dir;

    @Test
    void putThenReadBackByteForByte() throws IOException {
        byte[] bytes = new byte[3 << 20];   // a few packets; one block
        new Random(7).nextBytes(bytes);
        Path local = Files.write(dir.resolve("x.bin"), bytes);

        long t0 = System.nanoTime();
        try (MiniHdfs hdfs = MiniHdfs.start(dir.resolve("hdfs"))) {
            System.out.printf("MiniHdfsTest: HDFS up at %s in %.1f s%n", hdfs.uri(), (System.nanoTime() - t0) / 1e9);
            assertTrue(hdfs.uri().toString().matches("hdfs://127\\.0\\.0\\.1:\\d+"), hdfs.uri().toString());

            String uri = hdfs.put(local, "/in/x.bin");
            assertEquals(hdfs.uri() + "/in/x.bin", uri);
            assertEquals(bytes.length, hdfs.fileSystem().getFileStatus(new org.apache.hadoop.fs.Path(uri)).getLen());
            // Read through a client of its own, from the URI alone, as a job given the path would.
            try (FileSystem fs = FileSystem.newInstance(URI.create(uri), new Configuration());
                    InputStream in = fs.open(new org.apache.hadoop.fs.Path(uri))) {
                assertArrayEquals(bytes, in.readAllBytes());
            }
        }
    }
}
