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
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.cli.FitOptions;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.JobConfig;
import org.gradspark.job.io.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The options as the command line reads them (no Spark): every option of {@code grad} and {@code fit}
 * has a description and names its default in the help, a value starting with {@code @} is that value
 * (not a file's contents), and {@code --csv-header} reads true or false from a flag or its key.
 */
class CliOptionsTest {
    @TempDir
    Path dir;

    /** An option's line in a usage text: at most 6 spaces in (the descriptions' wrapped lines are indented further). */
    private static final Pattern OPTION_LINE = Pattern.compile("^ {0,6}(?:-\\w, )?(--[\\w-]+)");

    /** Each option's help, from its line to the next option's, by name (the first, where a name comes twice). */
    private static Map<String, String> helpByOption(String usage) {
        Map<String, String> blocks = new LinkedHashMap<>();
        String current = null;
        StringBuilder block = new StringBuilder();
        for (String line : usage.lines().toList()) {
            Matcher m = OPTION_LINE.matcher(line);
            if (m.find()) {
                if (current != null) blocks.putIfAbsent(current, block.toString());
                current = m.group(1);
                block.setLength(0);
            }
            if (current != null) block.append(line).append('\n');
        }
        if (current != null) blocks.putIfAbsent(current, block.toString());
        return blocks;
    }

    /** Every option of {@code spec} in {@code usage}, with a description and "Default: VALUE" (the built-in value), or for one without "Default: none" or the rule that gives it. */
    private static void assertEveryOptionNamesItsDefault(CommandLine.Model.CommandSpec spec, String usage, List<String> leftOut) {
        Map<String, String> help = helpByOption(usage);
        int checked = 0;
        for (CommandLine.Model.OptionSpec o : spec.options()) {
            String name = o.longestName();
            if (leftOut.contains(name)) continue;
            assertTrue(String.join(" ", o.description()).strip().length() > 0, name + " has no description");
            String block = help.get(name);
            assertNotNull(block, name + " is not in the help:\n" + usage);
            // An option without a built-in value says "Default: none", or the rule that gives its value (--dp-delta: "Default: 1/N, ...").
            String shown = o.initialValue() == null ? "Default: " : "Default: " + o.initialValue();
            assertTrue(block.contains(shown), name + "'s help does not say '" + shown + "':\n" + block);
            if (o.initialValue() == null) assertTrue(block.matches("(?s).*Default: \\S.*"), name + "'s help names no default:\n" + block);
            checked++;
        }
        assertTrue(checked > 10, "only " + checked + " options checked");
    }

    @Test
    void everyGradOptionHasADescriptionAndNamesItsDefault() {
        assertEveryOptionNamesItsDefault(new CommandLine(new JobOptions()).getCommandSpec(), JobOptions.usage(), List.of());
    }

    /** fit's own options, then the grad options fit takes; those it refuses or replaces are left out of its help. */
    @Test
    void everyFitOptionHasADescriptionAndNamesItsDefault() {
        String usage = FitOptions.usage();
        assertEveryOptionNamesItsDefault(new CommandLine(new FitOptions()).getCommandSpec(), usage, List.of());
        String jobPart = usage.substring(usage.indexOf("and the grad job's options"));
        List<String> notFit = List.of("--wrt", "--mode", "--order", "--derivative", "--vector", "--repeat", "--input-grads-format",
                "--check-finite", "--features-col", "--csv-header", "--reduction", "--per-example", "--grad-stats", "--clip");
        assertEveryOptionNamesItsDefault(new CommandLine(new JobOptions()).getCommandSpec(), jobPart, notFit);
        for (String name : notFit) assertFalse(helpByOption(jobPart).containsKey(name), name + " is in fit's help:\n" + jobPart);
        assertTrue(helpByOption(usage).get("--reduction").contains("Default: mean"), usage);
    }

    /** picocli would replace "@FILE" by FILE's contents: "--out @evil" wrote to the path written in evil (issue 23, item 5). */
    @Test
    void aValueStartingWithAnAtSignIsThatValue() throws IOException {
        Path evil = Files.writeString(dir.resolve("evil"), dir.resolve("hijacked").toString());
        String at = "@" + evil;
        JobConfig grad = JobOptions.parse(Map.of(JobOptions.KEY_PREFIX + "weights", at), "--out", at);
        assertEquals(at, grad.out());
        assertEquals(at, grad.weights());
        FitConfig fit = FitOptions.parse(Map.of(FitOptions.KEY_PREFIX + "resume", at, JobOptions.KEY_PREFIX + "sens", at), "--out", at);
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
