package org.gradspark.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every benchmark entry point the directories hold has a smoke in {@link BenchSmokeTest#SMOKE_OF}, and every
 * entry there still exists: a new script, Java main, JMH class or Python program under bench/ without a smoke
 * fails here (issue 23, item 13).
 */
class BenchEntryPointsTest {
    static final Path HOME = BenchSmokeTest.HOME;

    @Test
    void everyEntryPointHasASmoke() throws IOException {
        assertEquals(new TreeSet<>(entryPoints()), new TreeSet<>(BenchSmokeTest.SMOKE_OF.keySet()),
                "the benchmark entry points (left) and those with a smoke in BenchSmokeTest.SMOKE_OF (right) differ: give a new one a --smoke "
                        + "and an entry there, or remove the entry of one that is gone");
    }

    /** An entry point whose smoke does not name it is run by another entry point: an orphan has no smoke in fact. */
    @Test
    void everyEntryPointIsReachedFromItsSmoke() throws IOException {
        for (var e : BenchSmokeTest.SMOKE_OF.entrySet()) {
            if (e.getValue().command().contains(e.getKey())) continue;
            String name = Path.of(e.getKey()).getFileName().toString().replaceAll("\\.(java|py)$", "");
            assertTrue(namedByAnother(e.getKey(), name), e.getKey() + ": no script, Python program or class under bench/ or submit-scripts/ runs it");
        }
    }

    /**
     * The entry points as the directories hold them now: executable files under bench/ (results and build
     * output aside) and the executable *bench* scripts of submit-scripts/; classes under bench/src/main/java
     * with a main or JMH benchmarks; Python programs under bench/ (the peers, and those with a __main__).
     */
    static Set<String> entryPoints() throws IOException {
        Set<String> found = new LinkedHashSet<>();
        for (Path p : sources()) {
            String rel = HOME.relativize(p).toString();
            String text = rel.endsWith(".java") || rel.endsWith(".py") ? Files.readString(p) : "";
            boolean javaMain = rel.startsWith("bench/src/main/java/") && (text.contains("public static void main(") || text.contains("@Benchmark"));
            boolean python = rel.endsWith(".py") && (text.contains("__main__") || rel.startsWith("bench/peers/"));
            boolean script = Files.isExecutable(p) && (rel.startsWith("bench/") || p.getFileName().toString().contains("bench"));
            if (javaMain || python || script) found.add(rel);
        }
        return found;
    }

    /** Whether a source other than the entry point itself (and the tests, which name them all) names it. */
    private static boolean namedByAnother(String entryPoint, String name) throws IOException {
        for (Path p : sources()) {
            String rel = HOME.relativize(p).toString();
            if (!rel.equals(entryPoint) && !rel.startsWith("bench/src/test/") && Files.readString(p).contains(name)) return true;
        }
        return false;
    }

    /** The files under bench/ and submit-scripts/ but results, build output, documentation and caches. */
    private static List<Path> sources() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String dir : List.of("bench", "submit-scripts")) {
            try (Stream<Path> walk = Files.walk(HOME.resolve(dir))) {
                walk.filter(Files::isRegularFile).filter(p -> {
                    String rel = HOME.relativize(p).toString();
                    return !rel.startsWith("bench/results/") && !rel.startsWith("bench/target/") && !rel.contains("__pycache__")
                            && !rel.endsWith(".md") && !rel.endsWith(".pyc");
                }).forEach(files::add);
            }
        }
        return files;
    }
}
