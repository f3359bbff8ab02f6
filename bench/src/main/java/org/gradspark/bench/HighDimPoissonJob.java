package org.gradspark.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.examples.HighDimPoissonResidual;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;

/**
 * The files around {@code fit --model-class org.gradspark.ad.examples.HighDimPoissonResidual$D100} (or
 * {@code $D1000}), the high-dimensional Poisson PINN trained through the job (issue 28):
 *
 * <pre>
 * # rows.npy: 4096 interior points uniform in the unit ball of R^100, then 1024 on its sphere, each with its
 * # mark (0 interior, 1 boundary), [5120, 101] float64; zeros.npy: the residuals' target, [5120, 1]
 * java @bench/target/bench-java.args org.gradspark.bench.HighDimPoissonJob rows --d 100 --interior 4096 --boundary 1024 --seed 1 --dir pinn
 * # the relative L2 error ||u - u*|| / ||u*|| of a fit's weights on 2048 held-out points of the ball (seed -7)
 * java @bench/target/bench-java.args org.gradspark.bench.HighDimPoissonJob error --d 100 --weights pinn-100/weights.npz
 * </pre>
 */
public final class HighDimPoissonJob {
    private HighDimPoissonJob() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !(args[0].equals("rows") || args[0].equals("error"))) {
            throw new IllegalArgumentException("usage: HighDimPoissonJob rows --d D --interior N --boundary M --seed S --dir DIR | error --d D --weights W.npz");
        }
        int d = 0, interior = 4096, boundary = 1024;
        long seed = 1;
        String dir = null, weights = null;
        for (int i = 1; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--d" -> d = Integer.parseInt(v);
                case "--interior" -> interior = Integer.parseInt(v);
                case "--boundary" -> boundary = Integer.parseInt(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--dir" -> dir = v;
                case "--weights" -> weights = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (d < 1) throw new IllegalArgumentException("--d: the dimension, >= 1");
        if (args[0].equals("rows")) {
            if (dir == null) throw new IllegalArgumentException("rows needs --dir");
            Files.createDirectories(Path.of(dir));
            Npy.write(Path.of(dir, "rows.npy"), HighDimPoissonResidual.rows(d, interior, boundary, seed));
            Npy.write(Path.of(dir, "zeros.npy"), Tensor.zeros(DType.FLOAT64, interior + boundary, 1));
            System.out.printf(Locale.ROOT, "wrote %s/rows.npy [%d, %d] and %s/zeros.npy%n", dir, interior + boundary, d + 1, dir);
            return;
        }
        if (weights == null) throw new IllegalArgumentException("error needs --weights");
        System.out.printf(Locale.ROOT, "{\"d\": %d, \"rel_l2\": %.4g}%n", d, relativeError(d, Npz.read(Path.of(weights))));
    }

    /** The relative L2 error of the PINN with {@code weights} (a fit's weights.npz) on 2048 held-out points of the ball. */
    static double relativeError(int d, Map<String, Tensor> weights) {
        HighDimPoissonResidual pinn = new HighDimPoissonResidual(d);
        pinn.assignParameters(weights);
        Tensor heldOut = HighDimPoissonResidual.rows(d, 2048, 0, -7);
        return pinn.relativeError(Ops.slice(heldOut, new int[] {0, 0}, new int[] {2048, d}));
    }
}
