package org.gradspark.job.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bad-input suites' files on a real HDFS: each case's local file (or directory, or a path
 * that does not exist) copied to a fresh place on a {@link MiniHdfs}, so the same case is read
 * through Hadoop's HDFS client with the same checks and messages (naming the hdfs:// URI).
 */
final class HdfsCopies {
    private final MiniHdfs hdfs;
    private final Storage storage;
    private final AtomicInteger cases = new AtomicInteger();

    HdfsCopies(MiniHdfs hdfs) {
        this.hdfs = hdfs;
        this.storage = Storage.of(hdfs.fileSystem().getConf());
    }

    Storage storage() {
        return storage;
    }

    /** The HDFS copy of {@code local} (a file is copied, a directory made, a missing path left missing). */
    String locate(Path local) {
        String target = "/case-" + cases.incrementAndGet() + "/" + local.getFileName();
        try {
            if (Files.isDirectory(local)) {
                hdfs.fileSystem().mkdirs(new org.apache.hadoop.fs.Path(hdfs.uriOf(target)));
                return hdfs.uriOf(target);
            }
            return Files.exists(local) ? hdfs.put(local, target) : hdfs.uriOf(target);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
