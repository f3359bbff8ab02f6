package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/** The README's code, as a reader finds it: a section's fenced blocks and the commands it shows. */
final class ReadmeBlocks {
    private ReadmeBlocks() {}

    /** Quick start's "What the main command prints": the first build's lines, then the job's. */
    static List<String> quickStart() {
        List<String> blocks = fenced("### What the main command prints", "");
        assertTrue(blocks.size() == 2, "README.md's Quick start shows the first build's lines and the job's, in two blocks: " + blocks);
        return blocks;
    }

    /** The section under {@code heading} (a whole line), up to the next heading of any level outside a fenced block. */
    static String section(String heading) {
        List<String> lines = readme().lines().toList();
        int start = lines.indexOf(heading);
        assertTrue(start >= 0, "README.md has no section " + heading);
        StringBuilder body = new StringBuilder();
        boolean fenced = false;
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("```")) fenced = !fenced;
            if (!fenced && line.matches("#{1,6} .*")) break;
            body.append(line).append('\n');
        }
        return body.toString();
    }

    /** The section's blocks fenced with ``` and {@code language} ("" for plain ones), without their fences. */
    static List<String> fenced(String heading, String language) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        boolean inOther = false;
        for (String line : section(heading).lines().toList()) {
            if (block != null) {
                if (line.equals("```")) {
                    blocks.add(block.toString());
                    block = null;
                } else {
                    block.append(line).append('\n');
                }
            } else if (line.startsWith("```")) {
                if (inOther) inOther = false;
                else if (line.equals("```" + language)) block = new StringBuilder();
                else inOther = true;
            }
        }
        return blocks;
    }

    /**
     * The section's commands that start with {@code start}, in fenced or indented blocks: continued
     * lines joined, a trailing {@code # comment} dropped, split into words (the README's commands
     * quote nothing).
     */
    static List<List<String>> commands(String heading, String start) {
        List<List<String>> found = new ArrayList<>();
        List<String> lines = section(heading).lines().map(String::strip).toList();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).startsWith(start)) continue;
            StringBuilder command = new StringBuilder();
            String line = lines.get(i);
            while (line.endsWith("\\") && i + 1 < lines.size()) {
                command.append(line, 0, line.length() - 1).append(' ');
                line = lines.get(++i);
            }
            command.append(line.replaceAll("\\s+#.*$", ""));
            assertFalse(command.toString().contains("'") || command.toString().contains("\""), "a quoted command: " + command);
            found.add(List.of(command.toString().trim().split("\\s+")));
        }
        return found;
    }

    static String readme() {
        try {
            return Files.readString(LocalCluster.HOME.resolve("README.md"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
