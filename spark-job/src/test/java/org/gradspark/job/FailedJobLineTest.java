package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.gradspark.job.cli.ApplicationWatch;
import org.gradspark.job.cli.Launcher;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;

/**
 * A failed job's one line is alone on its line, also when a user has turned Spark's console progress
 * bar on ({@code spark.ui.showConsoleProgress=true}; GradSpark's console leaves it off) and the stage
 * that failed left its bar on screen: Spark clears the bar when a job ends, not when it fails, and a
 * line shorter than the bar, written over it, kept the bar's end.
 */
class FailedJobLineTest {
    @Test
    void theErrorLineIsNotWrittenOverAProgressBar() {
        PrintStream saved = System.err;
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(console, true, StandardCharsets.UTF_8);
        System.setErr(err);   // before Spark starts: its progress bar writes to the System.err it finds then
        try (JavaSparkContext jsc = new JavaSparkContext(new SparkConf().setMaster("local[1]").setAppName("FailedJobLineTest")
                .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "true"))) {
            jsc.setLogLevel("WARN");
            ApplicationWatch watch = ApplicationWatch.attach(jsc, java.time.Duration.ZERO);
            Exception failure = assertThrows(Exception.class, () -> jsc.parallelize(List.of(1), 1).foreach(i -> {
                Thread.sleep(1500);   // the bar shows once a stage has run for 0.5 s
                throw new BadInputException("row 3 is bad");
            }));
            assertTrue(console.toString(StandardCharsets.UTF_8).contains("[Stage 0:"), "no progress bar was drawn: the case is not under test");
            assertEquals(2, Launcher.failed(err, watch, failure));
        } finally {
            System.setErr(saved);
        }
        String text = console.toString(StandardCharsets.UTF_8);
        assertEquals(List.of("gradspark: row 3 is bad"), Terminal.screen(text).stream().filter(l -> l.contains("gradspark")).toList(),
                text.replace("\r", "<CR>"));
    }
}
