package org.gradspark.job.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The watch's handler in this JVM, without Spark and without its exit (DriverFatalErrorTest runs it
 * whole in JVMs of their own): what it records, what it passes on, and what it puts back.
 */
class FatalErrorWatchTest {
    /** Long enough that the watch never exits this JVM while a case runs. */
    private static final Duration NEVER = Duration.ofHours(1);

    @Test
    void recordsTheFirstFatalErrorWithItsThreadAndPassesOtherExceptionsOn() throws Exception {
        List<String> passedOn = new ArrayList<>();
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> passedOn.add(t.getName() + ": " + e));
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        try (FatalErrorWatch watch = FatalErrorWatch.install(new PrintStream(console, true, StandardCharsets.UTF_8), NEVER, NEVER)) {
            dies("plain", new IllegalStateException("not fatal"));
            assertFalse(watch.fired());
            dies("first", new OutOfMemoryError("Java heap space"));
            dies("second", new StackOverflowError());
            assertTrue(watch.fired());
            assertEquals("Java heap space", watch.error().getMessage());
            assertEquals(2, watch.exitCode());
            assertTrue(watch.line().matches("out of memory in the driver \\(heap \\d+ MiB\\) in the driver's thread first: raise --driver-memory"),
                    watch.line());
            assertTrue(watch.takeReport(), "the job's thread reports the recorded error");
            assertFalse(watch.takeReport(), "once");
            assertFalse(watch.exiting());
        } finally {
            Thread.UncaughtExceptionHandler mine = Thread.getDefaultUncaughtExceptionHandler();
            Thread.setDefaultUncaughtExceptionHandler(before);
            assertTrue(mine != null && !(mine instanceof FatalErrorWatch), "close puts the previous handler back");
        }
        assertEquals(List.of("plain: java.lang.IllegalStateException: not fatal", "second: java.lang.StackOverflowError"), passedOn);
        assertEquals("", console.toString(StandardCharsets.UTF_8), "the watch prints nothing while the job's thread reports");
    }

    @Test
    void anyOtherFatalErrorIsExitCodeOneAndNothingRecordedReportsNothing() throws Exception {
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        try (FatalErrorWatch watch = FatalErrorWatch.install(System.err, NEVER, NEVER)) {
            assertFalse(watch.takeReport());
            assertNull(watch.error());
            dies("deep", new StackOverflowError());
            assertEquals(1, watch.exitCode());
            assertTrue(watch.line().startsWith("a fatal error in the driver (java.lang.StackOverflowError) in the driver's thread deep"), watch.line());
        }
        assertSame(before, Thread.getDefaultUncaughtExceptionHandler());
    }

    /**
     * Without a previous handler, an ordinary exception goes where the JVM's own default would put it: System.err as it
     * is at that moment (Launcher sends it to the driver's log while the context closes, where Spark's shutdown races
     * end threads), never the watch's console stream.
     */
    @Test
    void anOrdinaryExceptionGoesToSystemErrAsItIsNotToTheConsole() throws Exception {
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        PrintStream systemErr = System.err;
        ByteArrayOutputStream console = new ByteArrayOutputStream(), log = new ByteArrayOutputStream();
        Thread.setDefaultUncaughtExceptionHandler(null);
        try (FatalErrorWatch watch = FatalErrorWatch.install(new PrintStream(console, true, StandardCharsets.UTF_8), NEVER, NEVER)) {
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            dies("closing", new IllegalStateException("a race as Spark stops"));
            assertFalse(watch.fired());
        } finally {
            System.setErr(systemErr);
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
        assertEquals("", console.toString(StandardCharsets.UTF_8), "printed on the console");
        assertTrue(log.toString(StandardCharsets.UTF_8).startsWith("Exception in thread \"closing\" java.lang.IllegalStateException: a race as Spark stops"),
                log.toString(StandardCharsets.UTF_8));
    }

    /** A thread named {@code name} that ends with {@code e} uncaught (its handler is the JVM's default). */
    private static void dies(String name, Throwable e) throws InterruptedException {
        Thread t = new Thread(() -> {
            if (e instanceof Error err) throw err;
            throw (RuntimeException) e;
        }, name);
        t.start();
        t.join();
    }
}
