package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the scripts print while they build the project on first use (lib/project-spark.sh's
 * gradspark_build_if_missing), with a stand-in {@code mvn} that prints a build's lines: the log file the
 * first line names is there afterwards, with Maven's output; and the README's first-build block has
 * the lines the build prints, numbers and paths aside.
 */
class FirstBuildTest {
    @TempDir
    Path dir;

    @Test
    void theBuildLogTheFirstLineNamesIsKeptAndTheReadmeShowsTheBuildsLines() throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin")), marker = dir.resolve("built"), tmp = Files.createDirectories(dir.resolve("tmp"));
        Path mvn = Files.writeString(bin.resolve("mvn"), "#!/usr/bin/env bash\n" + mavenOutput() + "touch \"$GRADSPARK_TEST_MARKER\"\n");
        assertTrue(mvn.toFile().setExecutable(true));
        LocalCluster.Run r = LocalCluster.run(Duration.ofMinutes(1), Map.of("PATH", bin + ":" + System.getenv("PATH"), "TMPDIR", tmp.toString(),
                "GRADSPARK_TEST_MARKER", marker.toString()), dir.resolve("run"), "bash", "-c",
                ". \"$0\" && gradspark_build_if_missing gradspark-submit \"$GRADSPARK_TEST_MARKER\"",
                LocalCluster.HOME.resolve("submit-scripts/lib/project-spark.sh").toString());
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> printed = r.stderr().lines().toList();
        Matcher named = Pattern.compile("Maven's output: (\\S+)\\)$").matcher(printed.get(0));
        assertTrue(named.find(), printed.get(0));
        Path log = Path.of(named.group(1));
        assertTrue(Files.exists(log), "the build log the first line names is gone: " + log);
        assertTrue(Files.readString(log).contains("[INFO] BUILD SUCCESS"), Files.readString(log));

        // The README's block: the same kinds of lines (digits, the project's directory and the log's path masked).
        assertEquals(new TreeSet<>(masked(printed)), new TreeSet<>(masked(ReadmeBlocks.quickStart().get(0).lines().toList())),
                "README.md's first-build block against what the build prints:\n" + r.stderr());
    }

    /** Maven's lines that the progress shows: one per module of the reactor (the poms' names), downloads past 50 MB, the success. */
    private static String mavenOutput() throws IOException {
        List<String> modules = new ArrayList<>(List.of(nameIn(LocalCluster.HOME.resolve("pom.xml"))));
        Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(Files.readString(LocalCluster.HOME.resolve("pom.xml")));
        while (m.find()) modules.add(nameIn(LocalCluster.HOME.resolve(m.group(1)).resolve("pom.xml")));
        StringBuilder b = new StringBuilder("echo '[INFO] Scanning for projects...'\n");
        for (int i = 0; i < modules.size(); i++) {
            b.append(String.format("echo '[INFO] Building %s 0.1.0-SNAPSHOT                                [%d/%d]'%n", modules.get(i), i + 1, modules.size()));
            if (i == 3) {
                for (String size : List.of("30 MB", "45.5 MB", "900 kB", "120 MB")) {
                    b.append("echo 'Downloaded from central: https://repo.maven.apache.org/maven2/org/example/a.jar (").append(size).append(" at 9.1 MB/s)'\n");
                }
            }
        }
        return b.append("echo '[INFO] BUILD SUCCESS'\n").toString();
    }

    private static String nameIn(Path pom) throws IOException {
        Matcher m = Pattern.compile("<name>([^<]+)</name>").matcher(Files.readString(pom));
        assertTrue(m.find(), pom.toString());
        return m.group(1);
    }

    /** The lines with the project's directory, the log's path and every number masked. */
    private static List<String> masked(List<String> lines) {
        return lines.stream().map(l -> l.replaceAll(" in /\\S+; ", " in HOME; ").replaceAll("Maven's output: \\S+\\)$", "Maven's output: LOG)")
                .replaceAll("[0-9]+(\\.[0-9]+)?", "N")).toList();
    }
}
