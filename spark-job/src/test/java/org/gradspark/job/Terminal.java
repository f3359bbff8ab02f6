package org.gradspark.job;

import java.util.ArrayList;
import java.util.List;

/** What a terminal shows of a program's output: a carriage return starts the line over, writing over what it held. */
final class Terminal {
    private Terminal() {}

    /** The lines on screen for {@code text}, each without the blanks it ends with. */
    static List<String> screen(String text) {
        List<String> shown = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            StringBuilder row = new StringBuilder();
            for (String part : line.split("\r", -1)) row.replace(0, Math.min(part.length(), row.length()), part);
            shown.add(row.toString().stripTrailing());
        }
        if (!shown.isEmpty() && shown.get(shown.size() - 1).isEmpty()) shown.remove(shown.size() - 1);
        return shown;
    }
}
