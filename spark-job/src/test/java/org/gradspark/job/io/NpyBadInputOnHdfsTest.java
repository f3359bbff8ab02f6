package org.gradspark.job.io;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Every case of {@link NpyBadInputTest} again, with the file read from a real HDFS: the same checks, the same messages. */
class NpyBadInputOnHdfsTest extends NpyBadInputTest {
    static MiniHdfs hdfs;
    static HdfsCopies copies;

    @BeforeAll
    static void startHdfs() {
        hdfs = MiniHdfs.start();
        copies = new HdfsCopies(hdfs);
    }

    @AfterAll
    static void stopHdfs() {
        if (hdfs != null) hdfs.close();
    }

    @Override Storage storage() {
        return copies.storage();
    }

    @Override String locate(Path p) {
        return copies.locate(p);
    }
}
