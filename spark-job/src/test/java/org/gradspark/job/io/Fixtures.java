package org.gradspark.job.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import org.gradspark.ad.DType;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;

/** The NumPy-made files under {@code src/test/resources/io} and the values they hold. */
final class Fixtures {
    private Fixtures() {}

    static Path path(String name) {
        URL url = Fixtures.class.getResource("/io/" + name);
        if (url == null) throw new IllegalStateException("missing fixture io/" + name + ": run make_fixtures.py");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** value(i) = (i - 5.5) / 3 at flat row-major index i, in float64 and then cast: what make_fixtures.py writes. */
    static Tensor values(DType dtype, int... shape) {
        return Tensor.fromFunction(dtype, Shape.of(shape), i -> (i - 5.5) / 3);
    }

    /** Same dtype, shape and bits. */
    static void assertSameTensor(Tensor expected, Tensor actual) {
        assertEquals(expected.dtype(), actual.dtype(), "dtype");
        assertEquals(expected.shape(), actual.shape(), "shape");
        if (expected.dtype() == DType.FLOAT32) assertArrayEquals(expected.rawFloats(), actual.rawFloats());
        else assertArrayEquals(expected.rawDoubles(), actual.rawDoubles());
    }
}
