package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.MSELoss;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;

class CellTest {

    static Sequential mlp() {
        return new Sequential(new Dense(3, 4, DType.FLOAT64, 1), Activation.tanh(), new Dense(4, 2, DType.FLOAT64, 2));
    }

    @Test
    void trainableParamsAreFoundRecursivelyWithStableNames() {
        Sequential net = mlp();
        assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"), List.copyOf(net.namedParameters().keySet()));
        assertEquals(4, net.trainableParams().size());
        assertSame(((Dense) net.layers().get(0)).weight(), net.trainableParams().get(0));
        // A wrapper cell sees the same parameters, once each, under its field's name.
        Cell wrapper = new Cell() {
            final Sequential body = net;
            final Sequential again = net;

            @Override public Tensor construct(Tensor... in) { return body.call(in); }
        };
        assertEquals(List.of("body.layers.0.weight", "body.layers.0.bias", "body.layers.2.weight", "body.layers.2.bias"),
                List.copyOf(wrapper.namedParameters().keySet()));
    }

    @Test
    void denseGradientsMatchTheirClosedForm() {
        // loss = sum((x W + b) * s): dW = x^T s, db = sum over rows of s, dx = s W^T.
        Dense d = new Dense(3, 2, DType.FLOAT64, 5);
        Tensor x = Tensor.uniform(6, -1, 1, DType.FLOAT64, 4, 3), s = Tensor.uniform(7, -1, 1, DType.FLOAT64, 4, 2);
        TensorTuple g = new GradOperation(true, true, true).apply(d, new ParameterTuple(d.trainableParams())).call(x, s);
        assertTrue(g.get(0).asTuple().tensor(0).allClose(matMul(s, d.weight(), false, true), 1e-14, 1e-14));
        assertTrue(g.get(1).asTuple().tensor(0).allClose(matMul(x, s, true, false), 1e-14, 1e-14));
        assertTrue(g.get(1).asTuple().tensor(1).allClose(sum(s, 0, false), 1e-14, 1e-14));
    }

    @Test
    void mseLossGradientIsTwiceTheResidualOverN() {
        Tensor p = Tensor.uniform(8, -1, 1, DType.FLOAT64, 5, 2), y = Tensor.uniform(9, -1, 1, DType.FLOAT64, 5, 2);
        Tensor g = new GradOperation().apply(new MSELoss()).call(p, y);
        assertTrue(g.allClose(mul(sub(p, y), 2.0 / 10), 1e-14, 1e-14));
    }

    @Test
    void cellsSurviveJavaSerialization() throws Exception {
        Sequential net = mlp();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new GradOperation(false, true, false).apply(net, new ParameterTuple(net.trainableParams())));
        }
        Cell copy;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = (Cell) in.readObject();
        }
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT64, 2, 3);
        TensorTuple expected = new GradOperation(false, true, false).apply(net, new ParameterTuple(net.trainableParams())).call(x);
        TensorTuple actual = copy.call(x);
        for (int i = 0; i < 4; i++) assertTrue(actual.tensor(i).allClose(expected.tensor(i), 0, 0));
    }

    /** y = x^3 with a hand-written backward 3 x^2 dout, as MindSpore's custom bprop. */
    static final class Cube extends Cell {
        int bpropCalls;

        @Override public Tensor construct(Tensor... in) { return mul(mul(in[0], in[0]), in[0]); }

        @Override protected Tensor[] bprop(Tensor[] in, Tensor out, Tensor dout) {
            bpropCalls++;
            return new Tensor[] {mul(mul(square(in[0]), 3.0), dout)};
        }
    }

    @Test
    void customBpropIsUsedAndIsItselfDifferentiable() {
        Cube cube = new Cube();
        Tensor x = Tensor.of(new double[] {0.5, -2.0});
        Tensor g = new GradOperation().apply(cube).call(x);
        assertTrue(g.allClose(mul(square(x), 3.0), 1e-15, 1e-15));
        assertEquals(1, cube.bpropCalls);
        Tensor g2 = new GradOperation().apply(new GradOperation().apply(cube)).call(x);
        assertTrue(g2.allClose(mul(x, 6.0), 1e-15, 1e-15));
    }

    @Test
    void customBpropDecidesTheGradient() {
        // A straight-through estimator: forward rounds, backward passes dout through unchanged.
        Cell roundSte = new Cell() {
            @Override public Tensor construct(Tensor... in) {
                return Tensor.fromFunction(in[0].dtype(), in[0].shape(), i -> Math.rint(in[0].getDouble(i)));
            }

            @Override protected Tensor[] bprop(Tensor[] in, Tensor out, Tensor dout) { return new Tensor[] {dout}; }
        };
        Tensor x = Tensor.of(new double[] {0.4, 1.6});
        Fn f = a -> mul(roundSte.<Tensor>call(a[0]), a[0]);   // round(x) * x
        Tensor g = Functional.grad(f).apply(x).asTensor();   // x + round(x)
        assertTrue(g.allClose(Tensor.of(new double[] {0.4, 3.6}), 1e-15, 1e-15), g.toString());
    }

    /** A fresh cell given a trained cell's weights computes what the trained one does; a wrong key or shape is refused by name. */
    @Test
    void assignedParametersReplaceTheCellsOwn() {
        Sequential trained = new Sequential(new Dense(3, 4, DType.FLOAT64, 1), Activation.tanh(), new Dense(4, 2, DType.FLOAT64, 2));
        Sequential fresh = new Sequential(new Dense(3, 4, DType.FLOAT64, 7), Activation.tanh(), new Dense(4, 2, DType.FLOAT64, 8));
        Tensor x = Tensor.uniform(5, -1, 1, DType.FLOAT64, 6, 3);
        assertTrue(!fresh.<Tensor>call(x).allClose(trained.<Tensor>call(x), 0, 0));
        java.util.Map<String, Tensor> w = new java.util.LinkedHashMap<>(trained.namedParameters());
        fresh.assignParameters(w);
        assertTrue(fresh.<Tensor>call(x).allClose(trained.<Tensor>call(x), 0, 0));
        assertEquals(trained.namedParameters().keySet(), fresh.namedParameters().keySet());
        w.put("layers.0.weight", Tensor.zeros(DType.FLOAT64, 4, 3));
        String e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> fresh.assignParameters(w)).getMessage();
        assertTrue(e.contains("layers.0.weight") && e.contains("shape"), e);
        w.remove("layers.0.weight");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> fresh.assignParameters(w)).getMessage().contains("values for"));
    }
}
