package org.gradspark.examples;

import static org.gradspark.ad.Ops.matMul;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sin;

import org.gradspark.ad.Cell;
import org.gradspark.ad.GradOperation;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.ParameterTuple;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;

/** MindSpore's GradOperation in Java: gradients w.r.t. an input, a weight, with sensitivities, and of a gradient. */
public final class CoreAdExample {
    /** out = (x * z) @ y, with a weight z. */
    static final class Net extends Cell {
        final Parameter z = new Parameter(Tensor.of(new float[] {1f}), "z");
        @Override public int inputCount() { return 2; }
        @Override public Tensor construct(Tensor... in) { return matMul(mul(in[0], z), in[1]); }
    }

    static final class SinNet extends Cell {
        @Override public Tensor construct(Tensor... in) { return sin(in[0]); }
    }

    public static void main(String[] args) {
        Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
        Tensor y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}});
        Tensor sens = Tensor.of(new float[][] {{0.1f, 0.6f, 0.2f}, {0.8f, 1.3f, 1.1f}});

        Tensor dx = new GradOperation().apply(new Net()).call(x, y);                          // d(sum out)/dx
        Net net = new Net();
        TensorTuple dz = new GradOperation(false, true, false)
                .apply(net, new ParameterTuple(net.trainableParams())).call(x, y);              // d(sum out)/dz
        Tensor vjp = new GradOperation(false, false, true).apply(new Net()).call(x, y, sens); // d(sum out*sens)/dx
        Cell second = new GradOperation().apply(new GradOperation().apply(new SinNet()));    // x -> -sin(x)
        Tensor d2 = second.call(Tensor.of(new double[] {Math.PI / 2}));

        System.out.println("dx =\n" + dx);
        System.out.println("dz = " + dz.get(0));
        System.out.println("vjp =\n" + vjp);
        System.out.println("sin''(pi/2) = " + d2);
    }
}
