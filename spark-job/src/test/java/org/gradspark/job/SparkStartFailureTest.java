package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ConcurrentModificationException;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.gradspark.job.cli.Launcher;
import org.junit.jupiter.api.Test;

/**
 * The exit status of a Spark context that did not start ({@link Launcher#cannotStart}): 2 where the
 * user's master or settings are at fault, 1 for a race inside Spark (issue 26, item 5: the web UI's Jetty
 * threw ConcurrentModificationException as it started on a loaded machine, and the job said "bad input").
 */
class SparkStartFailureTest {
    /** The exception as Spark 4's SparkContext rethrows it when its web UI's Jetty server fails to start. */
    private static RuntimeException jettyRaceAtStart() {
        ConcurrentModificationException e = new ConcurrentModificationException();
        e.setStackTrace(new StackTraceElement[] {
            new StackTraceElement("java.util.ArrayList$Itr", "checkForComodification", "ArrayList.java", 1095),
            new StackTraceElement("org.sparkproject.jetty.server.handler.ContextHandlerCollection", "updateHandlers", "ContextHandlerCollection.java", 120),
            new StackTraceElement("org.sparkproject.jetty.server.Server", "doStart", "Server.java", 428),
            new StackTraceElement("org.apache.spark.ui.JettyUtils$", "startJettyServer", "JettyUtils.scala", 305),
            new StackTraceElement("org.apache.spark.ui.WebUI", "bind", "WebUI.scala", 153),
            new StackTraceElement("org.apache.spark.SparkContext", "<init>", "SparkContext.scala", 578)});
        return e;
    }

    @Test
    void aRaceInSparksWebUiIsAFailureNotBadInput() {
        Line l = cannotStart("yarn", jettyRaceAtStart());
        assertEquals(1, l.code(), l.text());
        assertEquals(1, l.text().lines().count(), l.text());
        assertTrue(l.text().startsWith("gradspark: Spark failed as it started, in a race of its own (ConcurrentModificationException in"
                + " java.util.ArrayList$Itr.checkForComodification, while its web UI started), not because of the job or its input: run it again"
                + " (the web UI can be left off: --conf spark.ui.enabled=false)"), l.text());
    }

    /** The same race outside the web UI: still exit 1, without the advice about the UI. */
    @Test
    void aRaceElsewhereInSparksStartIsAFailureToo() {
        Line l = cannotStart("local[2]", new IllegalStateException("wrapped", new ConcurrentModificationException("listeners")));
        assertEquals(1, l.code(), l.text());
        assertTrue(l.text().startsWith("gradspark: Spark failed as it started, in a race of its own (ConcurrentModificationException: listeners"), l.text());
        assertTrue(!l.text().contains("web UI"), l.text());
    }

    /** A master URL Spark cannot parse is the user's to fix: exit 2, as before. */
    @Test
    void aMasterSparkCannotParseIsBadInput() {
        Line l = cannotStart("nonsense://x", new RuntimeException(new SparkException("Could not parse Master URL: 'nonsense://x'")));
        assertEquals(2, l.code(), l.text());
        assertEquals("gradspark: cannot start Spark with --master nonsense://x: SparkException: Could not parse Master URL: 'nonsense://x'", l.text().strip());
    }

    private record Line(int code, String text) {}

    private static Line cannotStart(String master, RuntimeException e) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Launcher.cannotStart(new PrintStream(err, true, StandardCharsets.UTF_8), new SparkConf(false).setMaster(master), e);
        return new Line(code, err.toString(StandardCharsets.UTF_8));
    }
}
