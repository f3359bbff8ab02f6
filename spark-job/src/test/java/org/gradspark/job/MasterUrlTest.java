package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.job.exec.MasterUrl;
import org.junit.jupiter.api.Test;

class MasterUrlTest {
    @Test
    void localMastersRunTheirTasksInTheDriverWithTheirSlots() {
        assertEquals(1, new MasterUrl("local").inProcessTaskSlots());
        assertEquals(2, new MasterUrl("local[2]").inProcessTaskSlots());
        assertEquals(4, new MasterUrl("local[4,3]").inProcessTaskSlots());   // Spark's local[N, maxFailures]
        assertEquals(4, new MasterUrl("local[4, 3]").inProcessTaskSlots());
        assertEquals(Runtime.getRuntime().availableProcessors(), new MasterUrl("local[*]").inProcessTaskSlots());
        assertEquals(Runtime.getRuntime().availableProcessors(), new MasterUrl("local[*,2]").inProcessTaskSlots());
    }

    /** local-cluster starts executor JVMs: the old rule startsWith("local") took it for in-process. */
    @Test
    void localClusterAndClusterManagersRunTasksInExecutors() {
        for (String m : new String[] {"local-cluster[2,1,1024]", "spark://127.0.0.1:7077", "yarn", "k8s://https://host:6443", "localhost", "local[x]"}) {
            MasterUrl url = new MasterUrl(m);
            assertFalse(url.inProcess(), m);
            assertThrows(IllegalStateException.class, url::inProcessTaskSlots, m);
        }
        assertTrue(new MasterUrl("local").inProcess());
    }
}
