package org.gradspark.job;

import java.nio.file.Files;
import java.nio.file.Path;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Tensor;

/** Classes a user may name with --model-class by mistake: each records whether any of its code ran. */
final class UserCells {
    private UserCells() {}

    /** Where the classes below leave a mark when their code runs (a system property names the file). */
    static final String MARK = "gradspark.test.mark";

    static void mark(String what) {
        String file = System.getProperty(MARK);
        if (file == null) return;
        try {
            Files.writeString(Path.of(file), what + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Not a Cell; its constructor and static initialiser mark. */
    public static final class NotACell {
        static {
            mark("NotACell static");
        }

        public NotACell() {
            mark("NotACell constructor");
        }
    }

    /** A Cell whose static initialiser throws. */
    public static final class ThrowingStatic extends Cell {
        private static final long serialVersionUID = 1L;

        static {
            if (Boolean.parseBoolean("true")) throw new IllegalStateException("no licence server");
        }

        @Override public Tensor construct(Tensor... in) { return in[0]; }
    }

    /** A Cell whose constructor throws. */
    public static final class ThrowingConstructor extends Cell {
        private static final long serialVersionUID = 1L;

        public ThrowingConstructor() {
            throw new IllegalArgumentException("weights file /models/net.bin not found");
        }

        @Override public Tensor construct(Tensor... in) { return in[0]; }
    }

    /** A Cell without a no-argument constructor; its static initialiser marks. */
    public static final class NeedsArguments extends Cell {
        private static final long serialVersionUID = 1L;

        static {
            mark("NeedsArguments static");
        }

        public NeedsArguments(int width) {
            mark("NeedsArguments constructor " + width);
        }

        @Override public Tensor construct(Tensor... in) { return in[0]; }
    }
}
