package org.gradspark.job.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The bad-input suites' files on a real HDFS: each case's local file (or directory, or a path
 * that does not exist) copied to a fresh place on a {@link MiniHdfs}, so the same case is read
 * through Hadoop's HDFS client with the same checks and messages (naming the hdfs:// URI). A JUnit
 * extension: the HDFS runs for the test class that registers it.
 */
final class HdfsCopies implements BeforeAllCallback, AfterAllCallback {
    private MiniHdfs hdfs;
    private Storage storage;
    private final AtomicInteger cases = new AtomicInteger();

    @Override public void beforeAll(ExtensionContext context) {
        hdfs = MiniHdfs.start();
        storage = Storage.of(hdfs.fileSystem().getConf());
    }

    @Override public void afterAll(ExtensionContext context) {
        if (hdfs != null) hdfs.close();
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
