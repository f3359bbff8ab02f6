package org.gradspark.gpu.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Shape;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;
import org.gradspark.ad.backend.DeviceTraffic;
import org.gradspark.ad.batch.BatchGradient;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What crosses the bus for one chunk of the job on the resident opencl backend, through
 * {@link BatchGradient#chunk} (what the job's partition task calls): the rows and sensitivities
 * once, the weights (and an HVP's vector) once, and back only the results the host reads (the
 * weight gradients or HVP, the per-example outputs and Laplacian). Each bound within 3% (the
 * scalar constants of the rules, uploaded once each, and the objective read back); the results
 * equal the cpu backend's to the parity tests' tolerance.
 */
class ResidentTrafficTest {
    private static final int ROWS = 512, IN = 8, HIDDEN = 16, OUT = 2;
    private static final double SLACK = 1.03;
    /** The resident backend with no op kept on the host for its size: this chunk's layers are small. */
    private static final Backend EVERY_OP_ON_DEVICE = new OpenCLBackend(null, 0);

    @BeforeAll
    static void device() {
        OpenCLAvailability.requireDeviceOrSkip();
    }

    enum Job { GRAD, HVP, LAPLACIAN }

    /** The results of one chunk, read on the host, and the bytes the read and the work moved. */
    private record Run(Tensor[] results, DeviceTraffic.Snapshot moved) {}

    private static Run run(Backend backend, Job job, DType dtype) {
        Dense d0 = new Dense(IN, HIDDEN, dtype, 1), d1 = new Dense(HIDDEN, OUT, dtype, 2);
        Sequential net = new Sequential(d0, Activation.tanh(), d1);
        List<Parameter> params = net.trainableParams();
        Tensor x = Tensor.uniform(3, -1, 1, dtype, ROWS, IN), s = Tensor.uniform(4, -1, 1, dtype, ROWS, OUT);
        Tensor[] v = params.stream().map(p -> Tensor.uniform(5, -1, 1, dtype, p.shape().dims())).toArray(Tensor[]::new);
        BatchGradient.Request what = switch (job) {
            case GRAD -> new BatchGradient.Request(true, null, 0, 1.0);
            case HVP -> new BatchGradient.Request(true, v, 0, 1.0);
            case LAPLACIAN -> new BatchGradient.Request(false, null, 1, 1.0, org.gradspark.ad.Operators::laplacian);
        };
        try (Backends.Scope ignored = Backends.scoped(backend)) {
            DeviceTraffic.Snapshot before = DeviceTraffic.snapshot();
            BatchGradient.ChunkResult r = BatchGradient.chunk(net, null, params, x, s, null, null, Shape.of(ROWS, OUT), what);
            Tensor[] results = job == Job.LAPLACIAN ? new Tensor[] {r.outputs(), r.inputDerivative()}
                    : concat(r.weightGradients(), r.outputs());
            for (Tensor t : results) t.toDoubleArray();   // the host reads every result
            return new Run(results, DeviceTraffic.snapshot().minus(before));
        }
    }

    private static Tensor[] concat(Tensor[] a, Tensor b) {
        Tensor[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = b;
        return r;
    }

    @ParameterizedTest
    @EnumSource(Job.class)
    void float32ChunkMovesRowsAndWeightsInAndResultsOutOnce(Job job) {
        checkJob(job, DType.FLOAT32, 1e-5);
    }

    @ParameterizedTest
    @EnumSource(Job.class)
    void float64ChunkMovesRowsAndWeightsInAndResultsOutOnce(Job job) {
        checkJob(job, DType.FLOAT64, 1e-12);
    }

    private static void checkJob(Job job, DType dtype, double relTol) {
        Run onDevice = run(EVERY_OP_ON_DEVICE, job, dtype);
        Run onCpu = run(Backends.require("cpu"), job, dtype);
        long size = dtype.bytes();
        long weights = (long) IN * HIDDEN + HIDDEN + (long) HIDDEN * OUT + OUT;
        long perExample = (long) ROWS * OUT;
        long vector = job == Job.HVP ? weights : 0;   // the HVP's direction crosses like the weights
        long inBound = ((long) ROWS * IN + perExample + weights + vector) * size;
        long outBound = ((job == Job.LAPLACIAN ? 0 : weights) + perExample * (job == Job.LAPLACIAN ? 2 : 1)) * size;
        String moved = job + " " + dtype + ": moved in " + onDevice.moved().bytesIn() + " (bound " + inBound + "), out "
                + onDevice.moved().bytesOut() + " (bound " + outBound + ")";
        assertTrue(onDevice.moved().bytesIn() <= inBound * SLACK, moved);
        assertTrue(onDevice.moved().bytesOut() <= outBound * SLACK, moved);
        assertTrue(onDevice.moved().bytesIn() >= inBound * 0.97, "the rows, sensitivities and weights are counted: " + moved);
        assertTrue(onCpu.moved().bytesIn() == 0 && onCpu.moved().bytesOut() == 0, "the cpu backend moves nothing");
        for (int i = 0; i < onCpu.results().length; i++) {
            assertTrue(relativeDistance(onCpu.results()[i], onDevice.results()[i]) <= relTol,
                    job + " result " + i + " differs from the cpu backend's by " + relativeDistance(onCpu.results()[i], onDevice.results()[i]));
        }
    }

    /** ||a - b|| / ||a|| (Frobenius), or ||b|| when a is 0. */
    private static double relativeDistance(Tensor a, Tensor b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.size(); i++) {
            double d = a.getDouble(i) - b.getDouble(i);
            num += d * d;
            den += a.getDouble(i) * a.getDouble(i);
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
