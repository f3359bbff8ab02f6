package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * GradOperation's four flag combinations, with a single and a tuple output, with and without
 * sens, against closed forms. f1 = x*y*z, f2 = sin(x)*z (elementwise, z a weight of shape [1]):
 * d(sum s1 f1 + s2 f2)/dx = s1 y z + s2 cos(x) z, /dy = s1 x z, /dz = sum(s1 x y) + sum(s2 sin x).
 */
class GradOperationTest {
    static final Tensor X = Tensor.uniform(1, -1, 1, DType.FLOAT64, 2, 3);
    static final Tensor Y = Tensor.uniform(2, -1, 1, DType.FLOAT64, 2, 3);
    static final Tensor S1 = Tensor.uniform(3, -1, 1, DType.FLOAT64, 2, 3);
    static final Tensor S2 = Tensor.uniform(4, -1, 1, DType.FLOAT64, 2, 3);
    static final double Z = 1.7;

    static final class Net extends Cell {
        final Parameter z = new Parameter(Tensor.of(new double[] {Z}), "z");
        final boolean tuple;

        Net(boolean tuple) { this.tuple = tuple; }

        @Override public int inputCount() { return 2; }

        @Override public Value construct(Tensor... in) {
            Tensor f1 = mul(mul(in[0], in[1]), z);
            return tuple ? TensorTuple.of(f1, mul(sin(in[0]), z)) : f1;
        }
    }

    private static void close(Tensor expected, Value actual) {
        Tensor a = actual.asTensor();
        assertTrue(a.allClose(expected, 1e-12, 1e-12), "expected " + expected + " got " + a);
    }

    @Test
    void allFlagCombinationsWithSingleAndTupleOutputsWithAndWithoutSens() {
        int checked = 0;
        for (boolean getAll : new boolean[] {false, true}) {
            for (boolean getByList : new boolean[] {false, true}) {
                for (boolean sensParam : new boolean[] {false, true}) {
                    for (boolean tuple : new boolean[] {false, true}) {
                        Net net = new Net(tuple);
                        GradOperation op = new GradOperation(getAll, getByList, sensParam);
                        Cell g = getByList ? op.apply(net, new ParameterTuple(net.trainableParams())) : op.apply(net);
                        List<Tensor> args = new ArrayList<>(List.of(X, Y));
                        Tensor s1 = sensParam ? S1 : Tensor.full(1, DType.FLOAT64, X.shape());
                        Tensor s2 = sensParam && tuple ? S2 : tuple ? Tensor.full(1, DType.FLOAT64, X.shape()) : Tensor.zeros(DType.FLOAT64, 2, 3);
                        if (sensParam) {
                            args.add(S1);
                            if (tuple) args.add(S2);
                        }
                        Value out = g.call(args.toArray(new Tensor[0]));

                        Tensor dx = add(mul(mul(s1, Y), Z), mul(mul(s2, cos(X)), Z));
                        Tensor dy = mul(mul(s1, X), Z);
                        Tensor dz = reshape(add(sum(mul(mul(s1, X), Y)), sum(mul(s2, sin(X)))), 1);
                        String where = "getAll=" + getAll + " getByList=" + getByList + " sens=" + sensParam + " tuple=" + tuple;
                        if (!getAll && !getByList) {
                            assertInstanceOf(Tensor.class, out, where);
                            close(dx, out);
                        } else if (getAll && !getByList) {
                            TensorTuple t = out.asTuple();
                            assertEquals(2, t.size(), where);
                            close(dx, t.get(0));
                            close(dy, t.get(1));
                        } else if (!getAll) {
                            TensorTuple t = out.asTuple();
                            assertEquals(1, t.size(), where);
                            close(dz, t.get(0));
                        } else {
                            TensorTuple t = out.asTuple();
                            assertEquals(2, t.size(), where);
                            close(dx, t.get(0).asTuple().get(0));
                            close(dy, t.get(0).asTuple().get(1));
                            close(dz, t.get(1).asTuple().get(0));
                        }
                        checked++;
                    }
                }
            }
        }
        assertEquals(16, checked);
    }

    @Test
    void inputThatDoesNotReachTheOutputGetsZeros() {
        Cell net = new Cell() {
            @Override public Tensor construct(Tensor... in) { return sin(in[0]); }
        };
        TensorTuple g = new GradOperation(true, false, false).apply(net).call(X, Y);
        assertTrue(g.tensor(1).allClose(Tensor.zeros(DType.FLOAT64, 2, 3), 0, 0));
    }

    @Test
    void stopGradientOnOnePartOfATupleOutput() {
        Cell net = new Cell() {
            @Override public Value construct(Tensor... in) {
                return TensorTuple.of(mul(in[0], in[1]), stopGradient(sin(in[0])));
            }
        };
        Tensor dx = new GradOperation().apply(net).call(X, Y);
        close(Y, dx);
    }

    @Test
    void hasAuxDifferentiatesOnlyTheFirstPart() {
        Fn f = a -> TensorTuple.of(sum(mul(a[0], a[0])), sin(a[0]));
        TensorTuple r = Functional.grad(f, new int[] {0}, null, true).apply(X).asTuple();
        close(mul(X, 2.0), r.get(0));
        close(sin(X), r.get(1));
        assertTrue(!r.get(1).asTensor().isTracked());

        TensorTuple vg = Functional.valueAndGrad(f, new int[] {0}, null, true).apply(X).asTuple();
        close(sum(mul(X, X)), vg.get(0).asTuple().get(0));
        close(mul(X, 2.0), vg.get(1));
    }

    @Test
    void functionalGradWithPositionsAndWeightsFollowsMindSpore() {
        Net net = new Net(false);
        ParameterTuple w = new ParameterTuple(net.trainableParams());
        Tensor dx = mul(Y, Z), dy = mul(X, Z), dz = reshape(sum(mul(X, Y)), 1);
        close(dx, Functional.grad(net).apply(X, Y));
        TensorTuple both = Functional.grad(net, 0, 1).apply(X, Y).asTuple();
        close(dx, both.get(0));
        close(dy, both.get(1));
        TensorTuple onlyW = Functional.grad(net, new int[0], w, false).apply(X, Y).asTuple();
        close(dz, onlyW.get(0));
        TensorTuple posAndW = Functional.grad(net, new int[] {1}, w, false).apply(X, Y).asTuple();
        close(dy, posAndW.get(0));
        close(dz, posAndW.get(1).asTuple().get(0));
    }

    @Test
    void nestedGradientsDoNotConfuseTheirVariables() {
        // d/dx [ x * (d/dy (x + y)) ] = d/dx [x * 1] = 1: the inner derivative must not see x.
        Fn inner = a -> add(a[0], a[1]);
        Fn outer = a -> mul(a[0], Functional.grad(inner, 1).apply(a[0], a[1]).asTensor());
        Tensor x = Tensor.of(new double[] {2.0}), y = Tensor.of(new double[] {3.0});
        close(Tensor.of(new double[] {1.0}), Functional.grad(outer, 0).apply(x, y));
        // And with the same tensor passed twice: d/dx [x * d/dy (x*y)|y=x] = d/dx x^2 = 2x.
        Fn inner2 = a -> mul(a[0], a[1]);
        Fn outer2 = a -> mul(a[0], Functional.grad(inner2, 1).apply(a[0], a[0]).asTensor());
        close(Tensor.of(new double[] {4.0}), Functional.grad(outer2, 0).apply(x));
    }

    @Test
    void gradientCellsNestWithParameters() {
        // Second derivative w.r.t. the weight: d2/dz2 sum(x*y*z) = 0, and of sum(sin(x)*z^2)... via a tuple net.
        Net net = new Net(false);
        ParameterTuple w = new ParameterTuple(net.trainableParams());
        Cell dzCell = new GradOperation(false, true, false).apply(net, w);
        Cell dxOfDz = new GradOperation().apply(new Cell() {
            @Override public Tensor construct(Tensor... in) { return dzCell.<TensorTuple>call(in).tensor(0); }
        });
        // d/dx sum(x*y) = y
        close(Y, dxOfDz.call(X, Y));
    }

    @Test
    void threadsShareCellsSafely() throws Exception {
        Net net = new Net(false);
        Cell second = new GradOperation().apply(new GradOperation().apply(new HigherOrderTest.SinNet()));
        Cell first = new GradOperation(true, false, false).apply(net);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                try {
                    for (int i = 0; i < 200; i++) {
                        close(neg(sin(X)), second.call(X));
                        close(mul(Y, Z), first.<TensorTuple>call(X, Y).get(0));
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) th.join();
        assertTrue(errors.isEmpty(), errors.toString());
    }
}
