package org.gradspark.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A JVM that asks for the cpu backend (a Spark task with --backend cpu, CoreEndToEnd, the Java API)
 * gets it without the default (auto) starting first: no OpenCL class is loaded, so no OpenCL driver,
 * whose LLVM (PoCL's) would take over the JVM's signal handlers in a JVM started without libjsig.
 */
class RequireBackendTest {
    @Test
    void requiringTheCpuBackendLoadsNoOpenCL() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector", "-verbose:class",
                "-cp", System.getProperty("java.class.path"), RequireCpuProbe.class.getName());
        pb.environment().remove("LD_PRELOAD");
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        List<String> lines = List.of(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n"));
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        assertEquals(0, p.exitValue(), String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size())));
        assertEquals(List.of("backend=cpu", "current=cpu"), lines.stream().filter(l -> l.startsWith("backend=") || l.startsWith("current=")).toList());
        List<String> loaded = lines.stream().filter(l -> l.contains("[class,load]")).toList();
        assertTrue(loaded.stream().anyMatch(l -> l.contains("org.gradspark.gpu.cpu.CpuBackend ")), "the probe must see class loading");
        assertEquals(List.of(), loaded.stream().filter(l -> l.contains("com.aparapi") || l.contains("org.gradspark.gpu.opencl")
                || l.contains("org.gradspark.gpu.AutoBackend ")).toList());
    }
}
