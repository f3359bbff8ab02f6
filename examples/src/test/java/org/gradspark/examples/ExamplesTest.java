package org.gradspark.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Java examples compile, run and print what the README says; the README shows them as they are. */
class ExamplesTest {
    static final Path HOME = Path.of(System.getProperty("user.dir")).getParent();

    @TempDir
    Path dir;

    /** What main prints on System.out. */
    private static String run(Runnable main) {
        PrintStream saved = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            main.run();
        } finally {
            System.setOut(saved);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        saved.print(out);
        return out;
    }

    /** The numbers MindSpore's GradOperation tutorial prints (In [2], [3], [4]), and -sin(pi/2). */
    @Test
    void coreAdExamplePrintsMindSporesTutorialNumbers() {
        String out = run(() -> CoreAdExample.main(new String[0]));
        assertEquals(String.join("\n",
                "dx =",
                "[[4.5099998 2.7       3.6000001]",
                " [4.5099998 2.7       3.6000001]]",
                "dz = [21.536]",
                "vjp =",
                "[[2.211     0.51      1.4900001]",
                " [5.588     2.68      4.07     ]]",
                "sin''(pi/2) = [-1.]",
                ""), out);
    }

    @Test
    void javaApiExampleRunsTheJobOnLocalSpark() throws Exception {
        Path out = dir.resolve("out");
        String printed = run(() -> JavaApiExample.main(new String[] {out.toString()}));
        List<String> lines = printed.lines().toList();
        assertEquals(List.of("w0 [3, 16]", "b0 [16]", "w1 [16, 2]", "b1 [2]"), lines.subList(0, 4));
        assertTrue(lines.get(4).matches("10000 rows, sum of outputs -?[0-9.E-]+, input derivatives of 10000 rows, row 0: \\[.+, .+, .+\\]"),
                lines.get(4));
        assertTrue(Files.exists(out.resolve("grads.npz")) && Files.exists(out.resolve("input_grads/part-00000.npy")));
    }

    /** The README's ```java blocks hold the examples' files whole, so what a reader copies compiles and runs. */
    @Test
    void readmeShowsTheExamplesAsTheyAre() throws Exception {
        String readme = Files.readString(HOME.resolve("README.md"));
        Path src = HOME.resolve("examples/src/main/java/org/gradspark/examples");
        try (Stream<Path> files = Files.list(src)) {
            List<Path> java = files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
            assertEquals(2, java.size());
            for (Path f : java) {
                assertTrue(readme.contains("```java\n" + Files.readString(f) + "```\n"), "README.md lacks " + f.getFileName() + " as it is");
            }
        }
    }
}
