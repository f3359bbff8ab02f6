package org.gradspark.job.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Which runs count as gone: the lock and the leftovers of a run are taken over only then. */
class RunIdTest {
    @Test
    void aRunningProcessIsNotGoneAndAnExitedOneIs() throws Exception {
        assertFalse(RunId.fresh().goneFromThisHost(), "this JVM");
        Process p = new ProcessBuilder("sleep", "0").start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertTrue(new RunId(RunId.thisHost(), p.pid(), "00000000").goneFromThisHost(), "a reaped process");
        assertFalse(new RunId("another-host", p.pid(), "00000000").goneFromThisHost(), "another host's run cannot be checked");
    }

    /**
     * A driver killed with SIGKILL is a zombie until its parent waits for it; Java's isAlive calls
     * it alive, and a resume started at that moment was refused as if the killed run still held
     * --out (FitSubmittedTest failed so in CI).
     */
    @Test
    void anExitedProcessNotYetReapedIsGone() throws Exception {
        // bash starts a short sleep and becomes a long one (exec): the long sleep never waits for its child.
        Process parent = new ProcessBuilder("bash", "-c", "sleep 0.05 & exec sleep 30").start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            List<ProcessHandle> children;
            do {
                children = parent.children().toList();
                Thread.sleep(10);
            } while ((children.size() != 1 || !RunId.exited(children.get(0).pid())) && System.nanoTime() < deadline);
            assertEquals(1, children.size(), "the short sleep");
            ProcessHandle zombie = children.get(0);
            assertTrue(RunId.exited(zombie.pid()), "the short sleep has exited and is not reaped");
            assertTrue(zombie.isAlive(), "what Java says of a zombie (the case under test)");
            assertTrue(new RunId(RunId.thisHost(), zombie.pid(), "00000000").goneFromThisHost());
            assertFalse(RunId.exited(parent.pid()), "the long sleep runs");
            assertFalse(new RunId(RunId.thisHost(), parent.pid(), "00000000").goneFromThisHost());
        } finally {
            parent.destroyForcibly();
        }
    }
}
