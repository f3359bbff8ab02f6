package org.gradspark.ad.tutorial;

import static org.gradspark.ad.Ops.add;
import static org.gradspark.ad.Ops.matMul;
import static org.gradspark.ad.Ops.mul;
import static org.gradspark.ad.Ops.sin;
import static org.gradspark.ad.Ops.stopGradient;

import org.gradspark.ad.Cell;
import org.gradspark.ad.GradOperation;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.ParameterTuple;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.TensorTuple;

/**
 * The six examples of MindSpore's GradOperation tutorial, in Java, in the tutorial's order.
 * {@link #main} prints what the tutorial prints.
 */
public final class TutorialExamples {
    private TutorialExamples() {}

    public static final Tensor X = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});
    public static final Tensor Y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}});

    /** x * z @ y with a weight z = [1.0]. */
    public static final class Net extends Cell {
        final Parameter z = new Parameter(Tensor.of(new float[] {1f}), "z");

        @Override public int inputCount() { return 2; }

        @Override public Tensor construct(Tensor... in) {
            Tensor x = mul(in[0], z);
            return matMul(x, in[1]);
        }
    }

    /** out1 + stop_gradient(out2), both x @ y. */
    public static final class StopNet extends Cell {
        @Override public Tensor construct(Tensor... in) {
            Tensor out1 = matMul(in[0], in[1]);
            Tensor out2 = stopGradient(matMul(in[0], in[1]));
            return add(out1, out2);
        }
    }

    /** out1 + out2, both x @ y. */
    public static final class TwoMatMulNet extends Cell {
        @Override public Tensor construct(Tensor... in) {
            return add(matMul(in[0], in[1]), matMul(in[0], in[1]));
        }
    }

    /** sin(x). */
    public static final class SinNet extends Cell {
        @Override public Tensor construct(Tensor... in) {
            return sin(in[0]);
        }
    }

    /** In [2]: the gradient with respect to the first input x. */
    public static Tensor gradWrtX() {
        return new GradOperation().apply(new Net()).call(X, Y);
    }

    /** In [3]: the gradient with respect to the weight z. */
    public static TensorTuple gradWrtZ() {
        Net net = new Net();
        return new GradOperation(false, true, false).apply(net, new ParameterTuple(net.trainableParams())).call(X, Y);
    }

    /** In [4]: the gradient with respect to x, with output sensitivities. */
    public static Tensor gradWithSens() {
        Tensor sens = Tensor.of(new float[][] {{0.1f, 0.6f, 0.2f}, {0.8f, 1.3f, 1.1f}});
        return new GradOperation(false, false, true).apply(new Net()).call(X, Y, sens);
    }

    /** In [5]: stop_gradient on one of two equal products. */
    public static Tensor gradWithStopGradient() {
        return new GradOperation().apply(new StopNet()).call(X, Y);
    }

    /** In [6]: the same without stop_gradient: twice the gradient. */
    public static Tensor gradWithoutStopGradient() {
        return new GradOperation().apply(new TwoMatMulNet()).call(X, Y);
    }

    /** In [7]: the second derivative of sin at 3.1415926 in float64, by nesting GradOperation. */
    public static Tensor secondDerivativeOfSin() {
        var firstGrad = new GradOperation().apply(new SinNet());
        var secondGrad = new GradOperation().apply(firstGrad);
        return secondGrad.call(Tensor.of(new double[] {3.1415926}));
    }

    /**
     * Prints each example with its result, the result computed before its heading is printed: the
     * backend's log line, which the first computation writes (to stderr), cannot come between them.
     */
    public static void main(String[] args) {
        print("In [2] gradient w.r.t. x:", gradWrtX());
        print("In [3] gradient w.r.t. the weight z (output[0]):", gradWrtZ().get(0));
        print("In [4] gradient w.r.t. x with sens:", gradWithSens());
        print("In [5] with stop_gradient(out2):", gradWithStopGradient());
        print("In [6] without stop_gradient:", gradWithoutStopGradient());
        print("In [7] second derivative of sin at 3.1415926:", secondDerivativeOfSin());
    }

    private static void print(String heading, Object result) {
        System.out.println(heading + System.lineSeparator() + result);
    }
}
