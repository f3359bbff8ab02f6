package org.gradspark.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import one.profiler.AsyncProfiler;

/**
 * async-profiler over a stretch of a benchmark: CPU samples of every thread of this JVM (Java, JVM,
 * native and kernel frames), per thread, written as collapsed stacks ("[thread];frame;...;leaf count").
 */
final class Profiler {
    /** Sampling interval: 2 ms of CPU time per sample, a few thousand samples over a few seconds. */
    private static final String START = "start,event=cpu,interval=2ms,threads";
    private final String file;
    private final AsyncProfiler profiler;

    Profiler(String file) {
        this.file = file;
        this.profiler = AsyncProfiler.getInstance();
    }

    void start() {
        execute(START);
    }

    void stop() {
        execute("stop,collapsed,file=" + file);
    }

    private void execute(String command) {
        try {
            String reply = profiler.execute(command);
            if (reply != null && !reply.isBlank()) System.err.println("async-profiler: " + reply.strip());
        } catch (IOException e) {
            throw new UncheckedIOException("async-profiler: " + command, e);
        }
    }
}
