package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;

/**
 * Operators' per-example Jacobian, Hessian diagonal, Laplacian and Hessian: against Functional.hessian
 * and jacrev on each row alone and against finite differences, for a cell per primitive of the table
 * (the count of primitives covered must be the table's size), and against PyTorch's values
 * (operators_reference.txt, made by make_operators_reference.py) on MLPs of every activation and on a
 * user cell with mul, div, pow, exp, log, sin and a softmax.
 */
class OperatorsTest {
    private static final DType F64 = DType.FLOAT64;
    private static final int N = 4, IN = 3;
    private static final Tensor W = Tensor.uniform(21, -1, 1, F64, IN, 2);

    private static Tensor scalar(double v) {
        return Tensor.scalar(v, F64);
    }

    /** A row-wise cell for each primitive: x [N, 3] -> [N, out], each using its primitive on every row. */
    static Map<Primitive, Fn> cells() {
        Map<Primitive, Fn> m = new LinkedHashMap<>();
        m.put(Primitives.NEG, x -> neg(square(x[0])));
        m.put(Primitives.EXP, x -> exp(x[0]));
        m.put(Primitives.LOG, x -> log(add(x[0], 3)));
        m.put(Primitives.SIN, x -> sin(mul(x[0], 2.0)));
        m.put(Primitives.COS, x -> cos(x[0]));
        m.put(Primitives.TANH, x -> tanh(mul(x[0], 1.5)));
        m.put(Primitives.SIGMOID, x -> sigmoid(mul(x[0], 2.0)));
        m.put(Primitives.RELU, x -> mul(relu(x[0]), x[0]));
        m.put(Primitives.SQRT, x -> sqrt(add(square(x[0]), 1)));
        m.put(Primitives.ADD, x -> add(sin(x[0]), square(x[0])));
        m.put(Primitives.MUL, x -> mul(x[0], sin(x[0])));
        m.put(Primitives.DIV, x -> div(sin(x[0]), add(square(x[0]), 1)));
        m.put(Primitives.POW, x -> pow(add(x[0], 2), cos(x[0])));
        m.put(Primitives.TANH_BACKWARD, x -> tanhBackward(sin(x[0]), cos(x[0])));
        m.put(Primitives.SIGMOID_BACKWARD, x -> sigmoidBackward(sin(x[0]), sigmoid(x[0])));
        m.put(Primitives.GREATER, x -> mul(square(x[0]), Primitives.GREATER.call(null, x[0], scalar(0.1))));
        m.put(Primitives.EQUAL, x -> mul(sin(x[0]), Primitives.EQUAL.call(null, x[0], x[0])));
        m.put(Primitives.WHERE, x -> where(greater(x[0], 0), sin(x[0]), square(x[0])));
        m.put(Primitives.CAST, x -> Primitives.CAST.call(F64, sin(x[0])));
        m.put(Primitives.IDENTITY, x -> Primitives.IDENTITY.call(null, square(x[0])));
        // x x^T per row (both factors vary: the bilinear second-order term), and a layer.
        m.put(Primitives.MATMUL, x -> add(reshape(matMul(reshape(sin(x[0]), -1, IN, 1), reshape(x[0], -1, 1, IN)), -1, IN * IN),
                sum(matMul(tanh(x[0]), W), 1, true)));
        m.put(Primitives.SUM, x -> sum(square(x[0]), 1, true));
        m.put(Primitives.MAX, x -> max(mul(sin(x[0]), Tensor.of(new double[] {1.0, 0.7, 0.4})), 1, true));
        m.put(Primitives.SUM_TO, x -> sumTo(mul(x[0], sin(x[0])), Shape.of(x[0].shape().dim(0), 1)));
        m.put(Primitives.BROADCAST_TO, x -> reshape(square(broadcastTo(reshape(x[0], -1, IN, 1), x[0].shape().dim(0), IN, 2)), -1, 2 * IN));
        m.put(Primitives.RESHAPE, x -> reshape(sin(reshape(x[0], -1, 1, IN)), -1, IN));
        m.put(Primitives.PERMUTE, x -> reshape(permute(reshape(square(x[0]), -1, IN, 1), 0, 2, 1), -1, IN));
        m.put(Primitives.SLICE, x -> slice(mul(x[0], exp(x[0])), new int[] {0, 1}, new int[] {x[0].shape().dim(0), 2}));
        m.put(Primitives.PAD, x -> pad(square(x[0]), new int[] {0, 1}, new int[] {0, 2}));
        m.put(Primitives.CONCAT, x -> concat(1, sin(x[0]), square(x[0])));
        return m;
    }

    /** Rows away from 0 and from relu's, where's and max's switching points. */
    private static Tensor rows() {
        Tensor mag = Tensor.uniform(5, 0.2, 1.2, F64, N, IN), sign = Tensor.uniform(6, -1, 1, F64, N, IN);
        return Tensor.fromFunction(F64, mag.shape(), i -> Math.copySign(mag.getDouble(i), sign.getDouble(i)));
    }

    /** f on one row alone, as a function of a vector [in] to a vector [out]. */
    private static Fn row(Fn f, int in) {
        return a -> {
            Tensor y = f.apply(reshape(a[0], 1, in)).asTensor();
            return reshape(y, y.shape().dim(1));
        };
    }

    /** Rows of x with the input coordinate i moved by eps. */
    private static Tensor moved(Tensor x, int i, double eps) {
        int in = x.shape().dim(1);
        return Tensor.fromFunction(F64, x.shape(), e -> x.getDouble(e) + (e % in == i ? eps : 0));
    }

    /** Checks all four operators against Functional on every row alone and against finite differences. */
    private static void checkOperators(String what, Fn f, Tensor x, double rtol) {
        int n = x.shape().dim(0), in = x.shape().dim(1);
        Tensor y = f.apply(x).asTensor();
        int out = y.shape().dim(1);
        Tensor jac = Operators.jacobian(f, x), diag = Operators.hessianDiagonal(f, x), lap = Operators.laplacian(f, x), hess = Operators.hessian(f, x);
        assertEquals(Shape.of(n, out, in), jac.shape(), what);
        assertEquals(Shape.of(n, out, in), diag.shape(), what);
        assertEquals(Shape.of(n, out), lap.shape(), what);
        assertEquals(Shape.of(n, out, in, in), hess.shape(), what);
        Operators.Derivatives all = Operators.valueJacobianLaplacian(f, x);
        assertTrue(all.value().allClose(y, 0, 0) && all.jacobian().allClose(jac, 0, 0) && all.laplacian().allClose(lap, 0, 0), what + ": one sweep");
        for (int r = 0; r < n; r++) {
            Tensor xr = reshape(slice(x, new int[] {r, 0}, new int[] {1, in}), in);
            Tensor h = Functional.hessian(row(f, in), 0).apply(xr).asTensor();     // [out, in, in]
            Tensor jr = Functional.jacrev(row(f, in), 0).apply(xr).asTensor();     // [out, in]
            for (int j = 0; j < out; j++) {
                double trace = 0;
                for (int i = 0; i < in; i++) {
                    trace += h.get(j, i, i);
                    close(h.get(j, i, i), diag.get(r, j, i), rtol, what + ": d²/dx_" + i + "² of out " + j + " at row " + r);
                    close(jr.get(j, i), jac.get(r, j, i), rtol, what + ": d/dx_" + i + " of out " + j + " at row " + r);
                    for (int k = 0; k < in; k++) close(h.get(j, i, k), hess.get(r, j, i, k), rtol, what + ": hessian " + j + "," + i + "," + k + " at row " + r);
                }
                close(trace, lap.get(r, j), rtol, what + ": laplacian of out " + j + " at row " + r);
            }
        }
        // Finite differences: central first and second differences along each coordinate, all rows at once.
        double eps1 = 1e-6, eps2 = 1e-4;
        for (int i = 0; i < in; i++) {
            Tensor p1 = f.apply(moved(x, i, eps1)).asTensor(), m1 = f.apply(moved(x, i, -eps1)).asTensor();
            Tensor p2 = f.apply(moved(x, i, eps2)).asTensor(), m2 = f.apply(moved(x, i, -eps2)).asTensor();
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < out; j++) {
                    double d1 = (p1.get(r, j) - m1.get(r, j)) / (2 * eps1);
                    double d2 = (p2.get(r, j) - 2 * y.get(r, j) + m2.get(r, j)) / (eps2 * eps2);
                    assertTrue(Math.abs(d1 - jac.get(r, j, i)) <= 1e-6 + 1e-5 * Math.abs(d1), what + ": jacobian vs finite differences " + d1 + " vs " + jac.get(r, j, i));
                    assertTrue(Math.abs(d2 - diag.get(r, j, i)) <= 1e-5 + 1e-4 * Math.abs(d2), what + ": hessian diagonal vs finite differences " + d2 + " vs " + diag.get(r, j, i));
                }
            }
        }
    }

    private static void close(double expected, double actual, double rtol, String what) {
        assertTrue(Math.abs(expected - actual) <= rtol * (1 + Math.abs(expected)), what + ": expected " + expected + " got " + actual);
    }

    @Test
    void everyPrimitiveOfTheTableInACellAgreesWithFunctionalHessianAndFiniteDifferences() {
        Map<Primitive, Fn> cells = cells();
        Tensor x = rows();
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Primitive p : Primitives.ALL) {
            Fn f = cells.get(p);
            if (f == null) {
                failures.add(p.name() + ": no cell in OperatorsTest");
                continue;
            }
            try {
                assertTrue(records(f, x, p), "the cell for " + p.name() + " does not record it");
                checkOperators(p.name(), f, x, 1e-10);
                checked++;
            } catch (AssertionError | RuntimeException e) {
                failures.add(p.name() + ": " + e);
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(Primitives.ALL.size(), checked, "primitives checked in a cell vs the table's size");
    }

    /** True if running f on a variable x records primitive p. */
    private static boolean records(Fn f, Tensor x, Primitive p) {
        Recording rec = Recording.of(f, new Tensor[] {x}, new boolean[] {true}, List.of());
        java.util.Deque<Tensor> todo = new java.util.ArrayDeque<>(rec.outputs());
        java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            if (!seen.add(t) || t.node() == null || t.node().isLeaf()) continue;
            if (t.node().primitive() == p) return true;
            for (Tensor in : t.node().inputs()) todo.push(in);
        }
        return false;
    }

    // ------------------------------------------------------------ against PyTorch

    /** The user cell of make_operators_reference.py: mul, div, pow (variable base and exponent), exp, log, sin, softmax. */
    static final class UserCell extends Cell {
        private static final long serialVersionUID = 1L;
        final Parameter w1, b1, w2;

        UserCell(Tensor w1, Tensor b1, Tensor w2) {
            this.w1 = new Parameter(w1, "w1");
            this.b1 = new Parameter(b1, "b1");
            this.w2 = new Parameter(w2, "w2");
        }

        @Override public int inputCount() { return 1; }

        @Override public Tensor construct(Tensor... in) {
            Tensor z = add(matMul(in[0], w1), b1);
            Tensor p = pow(add(mul(z, z), 1), add(mul(sin(z), 0.25), 0.5));
            Tensor q = div(sin(z), add(exp(mul(z, 0.5)), 1));
            Tensor r = log(add(mul(q, q), 2));
            Tensor s = softmax(mul(add(p, r), q), -1);
            return matMul(s, w2);
        }
    }

    static Map<String, Tensor> reference() throws IOException {
        Map<String, Tensor> m = new HashMap<>();
        try (var in = OperatorsTest.class.getResourceAsStream("operators_reference.txt");
             var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) continue;
                String[] halves = line.split(" : ");
                String[] head = halves[0].split(" ");
                int[] dims = new int[head.length - 1];
                for (int i = 1; i < head.length; i++) dims[i - 1] = Integer.parseInt(head[i]);
                double[] v = java.util.Arrays.stream(halves[1].trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
                m.put(head[0], Tensor.of(v, dims));
            }
        }
        return m;
    }

    private static void agrees(String what, Tensor torch, Tensor ours) {
        assertEquals(torch.shape(), ours.shape(), what);
        for (int i = 0; i < torch.size(); i++) {
            double a = torch.getDouble(i), b = ours.getDouble(i);
            assertTrue(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)), what + " element " + i + ": PyTorch " + a + " vs " + b);
        }
    }

    @Test
    void laplacianHessianDiagonalAndJacobianAgreeWithPyTorch() throws IOException {
        Map<String, Tensor> ref = reference();
        Tensor x = ref.get("x");
        Map<String, Cell> models = new LinkedHashMap<>();
        for (String act : new String[] {"tanh", "sigmoid", "relu", "sin", "identity"}) {
            String p = "mlp_" + act + ".";
            Activation.Kind kind = Activation.Kind.parse(act);
            models.put("mlp_" + act, new Sequential(new Dense(ref.get(p + "w0"), ref.get(p + "b0")), new Activation(kind),
                    new Dense(ref.get(p + "w1"), ref.get(p + "b1")), new Activation(kind), new Dense(ref.get(p + "w2"), ref.get(p + "b2"))));
        }
        models.put("user", new UserCell(ref.get("user.w1"), ref.get("user.b1"), ref.get("user.w2")));
        assertEquals(6, models.size());
        for (Map.Entry<String, Cell> e : models.entrySet()) {
            String name = e.getKey();
            agrees(name + " jacobian", ref.get(name + ".jacobian"), Operators.jacobian(e.getValue(), x));
            agrees(name + " hessianDiagonal", ref.get(name + ".hessianDiagonal"), Operators.hessianDiagonal(e.getValue(), x));
            agrees(name + " laplacian", ref.get(name + ".laplacian"), Operators.laplacian(e.getValue(), x));
            checkOperators(name, e.getValue(), x, 1e-10);
        }
    }

    // ------------------------------------------------------------ differentiable again, float32, errors

    /** A PINN's loss on the Laplacian, differentiated w.r.t. the weights (reverse over the forward sweep), against finite differences. */
    @Test
    void theLaplacianIsDifferentiableWithRespectToTheWeights() {
        Tensor x = rows();
        Tensor w = Tensor.uniform(31, -1, 1, F64, IN * 4 + 4);
        Fn loss = a -> {
            Tensor w1 = reshape(slice(a[0], new int[] {0}, new int[] {IN * 4}), IN, 4);
            Tensor w2 = reshape(slice(a[0], new int[] {IN * 4}, new int[] {4}), 4, 1);
            Fn u = b -> matMul(tanh(matMul(b[0], w1)), w2);
            return sum(square(Operators.laplacian(u, x)));
        };
        GradCheck.gradcheck(loss, w);
    }

    /** sin with a custom bprop: a primitive with a VJP rule only, whose JVP and second-order rules the engine derives. */
    static final class SinWithBprop extends Cell {
        private static final long serialVersionUID = 1L;

        @Override public int inputCount() { return 1; }

        @Override public Tensor construct(Tensor... in) { return sin(in[0]); }

        @Override protected Tensor[] bprop(Tensor[] in, Tensor out, Tensor dout) { return new Tensor[] {mul(dout, cos(in[0]))}; }
    }

    @Test
    void aCellWithACustomBpropGetsDerivedForwardAndSecondOrderRules() {
        Dense d1 = new Dense(IN, 5, F64, 8), d2 = new Dense(5, 2, F64, 9);
        Cell custom = new Sequential(d1, new SinWithBprop(), d2), plain = new Sequential(d1, Activation.sin(), d2);
        Tensor x = rows();
        assertTrue(Operators.jacobian(custom, x).allClose(Operators.jacobian(plain, x), 1e-12, 1e-13));
        assertTrue(Operators.hessianDiagonal(custom, x).allClose(Operators.hessianDiagonal(plain, x), 1e-12, 1e-13));
        assertTrue(Operators.laplacian(custom, x).allClose(Operators.laplacian(plain, x), 1e-12, 1e-13));
    }

    @Test
    void float32RowsGiveFloat32ResultsCloseToFloat64() {
        Dense d1 = new Dense(IN, 16, F64, 3), d2 = new Dense(16, 2, F64, 4);
        Cell net = new Sequential(d1, Activation.tanh(), d2);
        Cell net32 = new Sequential(new Dense(d1.weight().astype(DType.FLOAT32), d1.bias().astype(DType.FLOAT32)), Activation.tanh(),
                new Dense(d2.weight().astype(DType.FLOAT32), d2.bias().astype(DType.FLOAT32)));
        Tensor x = rows();
        Tensor l64 = Operators.laplacian(net, x), l32 = Operators.laplacian(net32, x.astype(DType.FLOAT32));
        assertEquals(DType.FLOAT32, l32.dtype());
        assertTrue(l32.allClose(l64, 1e-4, 1e-5), l32 + " vs " + l64);
    }

    @Test
    void badShapesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Operators.laplacian(x -> sin(x[0]), Tensor.zeros(F64, 3)));
        assertTrue(e.getMessage().contains("laplacian") && e.getMessage().contains("[3]"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Operators.jacobian(x -> sum(x[0]), Tensor.zeros(F64, 2, 3)));
        assertTrue(e2.getMessage().contains("rows"), e2.getMessage());
    }
}
