package org.gradspark.job.io;

import java.nio.file.Path;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every case of {@link NpyBadInputTest} again, with the file read from a real HDFS: the same checks, the same messages. */
class NpyBadInputOnHdfsTest extends NpyBadInputTest {
    @RegisterExtension
    static final HdfsCopies HDFS = new HdfsCopies();

    @Override Storage storage() {
        return HDFS.storage();
    }

    @Override String locate(Path p) {
        return HDFS.locate(p);
    }
}
