package org.gradspark.job.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.job.api.FitConfig;
import org.gradspark.job.cli.FitOptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every fit option has its spark.gradspark.fit.* key in conf/gradspark-defaults.conf, with its built-in default. */
class FitDefaultsFileTest {
    private static final Pattern KEY = Pattern.compile("^(#?)spark\\.gradspark\\.fit\\.([\\w-]+)\\s+(.*)$");

    @Test
    void theDefaultsFileListsEveryFitOptionWithItsBuiltInDefault() throws IOException {
        Path home = Path.of(System.getProperty("gradspark.home", "..")).toAbsolutePath().normalize();
        Map<String, String> set = new LinkedHashMap<>();
        TreeSet<String> mentioned = new TreeSet<>();
        for (String line : Files.readAllLines(home.resolve("conf/gradspark-defaults.conf"))) {
            Matcher m = KEY.matcher(line.strip());
            if (!m.matches()) continue;
            mentioned.add(m.group(2));
            if (m.group(1).isEmpty()) set.put(m.group(2), m.group(3).strip());
        }
        TreeSet<String> options = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : new CommandLine(new FitOptions()).getCommandSpec().options()) {
            String name = o.longestName().substring(2);
            options.add(name);
            if (set.containsKey(name)) {
                assertEquals(String.valueOf(o.initialValue()), set.get(name), FitOptions.KEY_PREFIX + name);
            } else {
                assertTrue(mentioned.contains(name), "--" + name + " has no " + FitOptions.KEY_PREFIX + name + " line");
                assertNull(o.initialValue(), "--" + name + " has a built-in default but its key is commented out");
            }
        }
        assertEquals(options, mentioned, "keys that are no fit option");
    }

    @Test
    void fitKeysAreReadAndFlagsWin() {
        Map<String, String> conf = Map.of("spark.gradspark.fit.optimizer", "adam", "spark.gradspark.fit.iterations", "7",
                "spark.gradspark.reduction", "sum", "spark.gradspark.layers", "3,1");
        FitConfig c = FitOptions.parse(conf, "--iterations", "9");
        assertEquals(FitSettings.Optimizer.ADAM, c.settings().optimizer());
        assertEquals(9, c.settings().iterations());
        assertEquals("MEAN", c.job().reduction().name(), "fit's own --reduction default, not grad's key");
        assertEquals(3, c.job().layers()[0]);
        assertEquals("SUM", FitOptions.parse(conf, "--reduction", "sum").job().reduction().name());
    }
}
