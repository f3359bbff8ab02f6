package org.gradspark.job.io;

import static org.gradspark.job.io.Fixtures.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.gradspark.ad.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NumPy reads back what we write, value for value. Needs python3 with numpy and is skipped
 * without it; the fixture tests cover the other direction unconditionally.
 */
class NumpyInteropTest {
    /** Loads each file and compares it with make_fixtures.py's value(i) for the expected dtype and shape. */
    private static final String CHECK = String.join("\n",
            "import sys, zipfile, numpy as np",
            "def values(shape, dtype):",
            "    n = int(np.prod(shape, dtype=np.int64))",
            "    return ((np.arange(n, dtype=np.float64) - 5.5) / 3).astype(dtype).reshape(shape)",
            "def check(name, a, dtype, shape):",
            "    e = values(shape, dtype)",
            "    if a.dtype != e.dtype or a.shape != e.shape or a.tobytes() != e.tobytes():",
            "        sys.exit(f'{name}: got {a.dtype} {a.shape}, expected {e.dtype} {e.shape}')",
            "args = sys.argv[1:]",
            "for spec in args:",
            "    path, key, dtype, shape = spec.split('|')",
            "    shape = tuple(int(d) for d in shape.split('x')) if shape else ()",
            "    if path.endswith('.npz'):",
            "        if zipfile.ZipFile(path).testzip() is not None: sys.exit(path + ': bad CRC')",
            "        with np.load(path) as z: check(path + ':' + key, z[key], dtype, shape)",
            "    else:",
            "        check(path, np.load(path), dtype, shape)",
            "print('ok', len(args))");

    @TempDir static Path dir;

    @BeforeAll
    static void needsNumpy() {
        assumeTrue(run(List.of("python3", "-c", "import numpy")).exitCode == 0, "python3 with numpy is not installed");
    }

    @Test
    void numpyReadsOurNpyFiles() {
        List<String> specs = new ArrayList<>();
        for (DType dtype : DType.values()) {
            for (int[] shape : new int[][] {{}, {7}, {3, 4}, {2, 3, 4}, {0, 3}}) {
                Path p = dir.resolve(dtype + "-" + shape.length + "-" + shape.length + (shape.length > 0 ? shape[0] : 0) + ".npy");
                Npy.write(p, values(dtype, shape));
                specs.add(spec(p, "", dtype, shape));
            }
        }
        check(specs);
    }

    @Test
    void numpyReadsRowsWrittenConcurrently() {
        Path p = dir.resolve("input_grads.npy");
        int n = 1000, width = 6, chunk = 64;
        Npy.Header h = Npy.allocate(p, DType.FLOAT32, n, width);
        var all = values(DType.FLOAT32, n, width);
        IntStream.range(0, (n + chunk - 1) / chunk).parallel().forEach(c -> {
            int first = c * chunk, k = Math.min(chunk, n - first);
            Npy.writeRows(p, h, first, NpyRowsTest.rowsOf(all, first, k));
        });
        check(List.of(spec(p, "", DType.FLOAT32, n, width)));
    }

    @Test
    void numpyReadsOurNpzFiles() {
        List<String> specs = new ArrayList<>();
        for (Npz.Compression c : Npz.Compression.values()) {
            Path p = dir.resolve("weights-" + c + ".npz");
            Npz.write(p, NpzTest.weights(), c);
            specs.add(spec(p, "w0", DType.FLOAT32, 8, 32));
            specs.add(spec(p, "b0", DType.FLOAT32, 32));
            specs.add(spec(p, "w1", DType.FLOAT64, 32, 3));
            specs.add(spec(p, "empty", DType.FLOAT32, 0, 5));
            specs.add(spec(p, "cube", DType.FLOAT32, 2, 3, 4));
        }
        check(specs);
    }

    private static String spec(Path p, String key, DType dtype, int... shape) {
        StringBuilder s = new StringBuilder();
        for (int d : shape) s.append(s.length() > 0 ? "x" : "").append(d);
        return p + "|" + key + "|" + dtype.numpyName() + "|" + s;
    }

    private static void check(List<String> specs) {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", CHECK));
        cmd.addAll(specs);
        Result r = run(cmd);
        assertEquals(0, r.exitCode, r.output);
        assertEquals("ok " + specs.size(), r.output.strip());
    }

    private record Result(int exitCode, String output) {}

    private static Result run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + out);
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, e.toString());
        }
    }
}
