package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.job.fit.FitOptions;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The options as the command line reads them (no Spark): a value starting with {@code @} is that value
 * (not a file's contents), and {@code --csv-header} reads true or false from a flag or its key.
 */
class CliOptionsTest {
    @TempDir
    Path dir;

    /** picocli would replace "@FILE" by FILE's contents: "--out @evil" wrote to the path written in evil (issue 23, item 5). */
    @Test
    void aValueStartingWithAnAtSignIsThatValue() throws IOException {
        Path evil = Files.writeString(dir.resolve("evil"), dir.resolve("hijacked").toString());
        String at = "@" + evil;
        JobConfig grad = JobOptions.parse(Map.of(JobOptions.KEY_PREFIX + "weights", at), "--out", at);
        assertEquals(at, grad.out());
        assertEquals(at, grad.weights());
        FitOptions.FitConfig fit = FitOptions.parse(Map.of(FitOptions.KEY_PREFIX + "resume", at, JobOptions.KEY_PREFIX + "sens", at), "--out", at);
        assertEquals(at, fit.resume());
        assertEquals(at, fit.job().out());
        assertEquals(at, fit.job().sens());
    }

    @Test
    void csvHeaderFromAFlagOrItsKey() {
        assertTrue(JobOptions.parse(Map.of(), "--input", "x.csv").csvHeader());
        assertFalse(JobOptions.parse(Map.of(), "--input", "x.csv", "--csv-header", "false").csvHeader());
        assertFalse(JobOptions.parse(Map.of(JobOptions.KEY_PREFIX + "csv-header", "false"), "--input", "x.csv").csvHeader());
        assertTrue(JobOptions.parse(Map.of(JobOptions.KEY_PREFIX + "csv-header", "false"), "--input", "x.csv", "--csv-header=true").csvHeader());
        BadInputException notABoolean = assertThrows(BadInputException.class, () -> JobOptions.parse(Map.of(), "--input", "x.csv", "--csv-header", "no"));
        assertTrue(notABoolean.getMessage().contains("--csv-header") && notABoolean.getMessage().contains("'no' is not a boolean"), notABoolean.getMessage());
        BadInputException notACsv = assertThrows(BadInputException.class, () -> JobOptions.parse(Map.of(), "--input", "x.npy", "--csv-header", "false"));
        assertEquals("--csv-header false: only used with a .csv --input", notACsv.getMessage());
    }
}
