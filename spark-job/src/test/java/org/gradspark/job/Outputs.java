package org.gradspark.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.job.api.GradientJob;
import org.gradspark.job.io.Npy;

/** What a job wrote under a local {@code --out}, read as a user would with NumPy. */
final class Outputs {
    private Outputs() {}

    /** {@code out/input_grads/part-*.npy}, in name order. */
    static List<Path> inputGradParts(Path out) {
        return parts(out, GradientJob.INPUT_GRADS);
    }

    /** {@code out/DIR/part-*.npy}, in name order. */
    static List<Path> parts(Path out, String dir) {
        try (Stream<Path> s = Files.list(out.resolve(dir))) {
            return s.filter(p -> p.getFileName().toString().matches("part-\\d{5}\\.npy")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The parts concatenated: {@code np.concatenate([np.load(f) for f in sorted(glob("out/input_grads/part-*.npy"))])}. */
    static Tensor inputGrads(Path out) {
        return Ops.concat(0, inputGradParts(out).stream().map(Npy::read).toArray(Tensor[]::new));
    }

    /** The parts of {@code out/DIR} concatenated. */
    static Tensor concatenated(Path out, String dir) {
        return Ops.concat(0, parts(out, dir).stream().map(Npy::read).toArray(Tensor[]::new));
    }

    /** The parts' bytes, one after the other (for byte-for-byte comparisons). */
    static byte[] inputGradBytes(Path out) {
        try (java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream()) {
            for (Path p : inputGradParts(out)) b.write(Files.readAllBytes(p));
            return b.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
