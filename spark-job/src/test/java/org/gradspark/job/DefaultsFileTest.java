package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.job.cli.JobOptions;
import org.gradspark.job.exec.ShardThreshold;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * conf/gradspark-defaults.conf and the options' built-in defaults are one truth: every option has its
 * key in the file (commented out when it has no default), every uncommented value is the option's
 * built-in default, and the settings that are not options are the ones the job reads.
 */
class DefaultsFileTest {
    private static final Pattern KEY = Pattern.compile("^(#?)spark\\.gradspark\\.([\\w-]+)\\s+(.*)$");

    @Test
    void theDefaultsFileListsEveryOptionWithItsBuiltInDefault() throws IOException {
        Map<String, String> set = new LinkedHashMap<>();
        TreeSet<String> mentioned = new TreeSet<>();
        for (String line : Files.readAllLines(LocalCluster.HOME.resolve("conf/gradspark-defaults.conf"))) {
            Matcher m = KEY.matcher(line.strip());
            if (!m.matches()) continue;
            mentioned.add(m.group(2));
            if (m.group(1).isEmpty()) set.put(m.group(2), m.group(3).strip());
        }
        CommandLine.Model.CommandSpec spec = new CommandLine(new JobOptions()).getCommandSpec();
        TreeSet<String> options = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : spec.options()) {
            String name = o.longestName().substring(2);
            options.add(name);
            Object builtIn = o.initialValue();
            if (set.containsKey(name)) {
                assertEquals(String.valueOf(builtIn), set.get(name), "spark.gradspark." + name + " in the defaults file vs the option's default");
            } else {
                assertTrue(mentioned.contains(name), "--" + name + " has no spark.gradspark." + name + " line in conf/gradspark-defaults.conf");
                assertEquals(null, builtIn, "--" + name + " has a built-in default but its key is commented out");
            }
        }
        TreeSet<String> settings = new TreeSet<>(mentioned);
        settings.removeAll(options);
        assertEquals(new TreeSet<>(JobOptions.SETTINGS), settings, "keys that are not options");
        assertEquals(String.valueOf(ShardThreshold.DEFAULT), set.get("shardThreshold"));
    }
}
