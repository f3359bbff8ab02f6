package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every primitive of the table, checked against finite differences at first order (gradcheck)
 * and second order (gradgradcheck) with fresh random float64 inputs. The number of primitives
 * checked must equal the table's size: a primitive added without a sample here fails the build.
 */
class PrimitiveTableTest {
    private static final DType F64 = DType.FLOAT64;
    private static long seed = 1;

    /** One use of a primitive: a function, its inputs, and which inputs to differentiate. */
    record Case(String what, Fn f, Tensor[] inputs, int[] wrt) {}

    private static Tensor u(double lo, double hi, int... shape) {
        return Tensor.uniform(seed++, lo, hi, F64, shape);
    }

    /** Values in ±[0.2, 2]: away from relu's kink. */
    private static Tensor awayFromZero(int... shape) {
        Tensor mag = u(0.2, 2, shape), sign = u(-1, 1, shape);
        return Tensor.fromFunction(F64, mag.shape(), i -> Math.copySign(mag.getDouble(i), sign.getDouble(i)));
    }

    private static Case unary(String what, Fn f, Tensor x) {
        return new Case(what, f, new Tensor[] {x}, new int[] {0});
    }

    private static Case binary(String what, Fn f, Tensor a, Tensor b) {
        return new Case(what, f, new Tensor[] {a, b}, new int[] {0, 1});
    }

    static Map<Primitive, List<Case>> samples() {
        Map<Primitive, List<Case>> m = new IdentityHashMap<>();
        put(m, Primitives.NEG, unary("neg", x -> neg(x[0]), u(-2, 2, 3, 4)));
        put(m, Primitives.EXP, unary("exp", x -> exp(x[0]), u(-2, 2, 3, 4)));
        put(m, Primitives.LOG, unary("log", x -> log(x[0]), u(0.5, 2, 3, 4)));
        put(m, Primitives.SIN, unary("sin", x -> sin(x[0]), u(-3, 3, 3, 4)));
        put(m, Primitives.COS, unary("cos", x -> cos(x[0]), u(-3, 3, 3, 4)));
        put(m, Primitives.TANH, unary("tanh", x -> tanh(x[0]), u(-2, 2, 3, 4)));
        put(m, Primitives.SIGMOID, unary("sigmoid", x -> sigmoid(x[0]), u(-3, 3, 3, 4)));
        put(m, Primitives.RELU, unary("relu", x -> relu(x[0]), awayFromZero(3, 4)));
        put(m, Primitives.SQRT, unary("sqrt", x -> sqrt(x[0]), u(0.5, 2, 3, 4)));
        put(m, Primitives.ADD, binary("add broadcast [3,4]+[4]", x -> add(x[0], x[1]), u(-2, 2, 3, 4), u(-2, 2, 4)));
        put(m, Primitives.ADD, binary("add broadcast [3,1]+[1,4]", x -> add(x[0], x[1]), u(-2, 2, 3, 1), u(-2, 2, 1, 4)));
        put(m, Primitives.MUL, binary("mul broadcast [3,4]*[3,1]", x -> mul(x[0], x[1]), u(-2, 2, 3, 4), u(-2, 2, 3, 1)));
        put(m, Primitives.DIV, binary("div broadcast [3,4]/[4]", x -> div(x[0], x[1]), u(-2, 2, 3, 4), u(0.5, 2, 4)));
        put(m, Primitives.POW, binary("pow [3,4]^[3,4]", x -> pow(x[0], x[1]), u(0.5, 2, 3, 4), u(-1.5, 1.5, 3, 4)));
        put(m, Primitives.TANH_BACKWARD, binary("tanhBackward [3,4],[3,4]", x -> tanhBackward(x[0], x[1]), u(-2, 2, 3, 4), u(-1, 1, 3, 4)));
        put(m, Primitives.TANH_BACKWARD, binary("tanhBackward broadcast [3,4],[4]", x -> tanhBackward(x[0], x[1]), u(-2, 2, 3, 4), u(-1, 1, 4)));
        put(m, Primitives.SIGMOID_BACKWARD, binary("sigmoidBackward [3,4],[3,4]", x -> sigmoidBackward(x[0], x[1]), u(-2, 2, 3, 4), u(0, 1, 3, 4)));
        // Comparisons are steps: zero derivative, which finite differences confirm away from ties.
        put(m, Primitives.GREATER, binary("greater [3,4]>[4]", x -> Primitives.GREATER.call(null, x[0], x[1]), awayFromZero(3, 4), u(-0.1, 0.1, 4)));
        Tensor ties = Tensor.fromFunction(F64, Shape.of(3, 4), i -> i % 2 == 0 ? 0.5 : 1.5);
        put(m, Primitives.EQUAL, binary("equal [3,4]==[]", x -> Primitives.EQUAL.call(null, x[0], x[1]), ties, Tensor.scalar(1.0, F64)));
        Tensor cond = Tensor.fromFunction(F64, Shape.of(3, 4), i -> i % 3 == 0 ? 1 : 0);
        put(m, Primitives.WHERE, new Case("where(cond, [3,4], [4])", x -> where(x[0], x[1], x[2]),
                new Tensor[] {cond, u(-2, 2, 3, 4), u(-2, 2, 4)}, new int[] {1, 2}));
        put(m, Primitives.CAST, unary("cast float64->float64", x -> Primitives.CAST.call(DType.FLOAT64, x[0]), u(-2, 2, 3)));
        put(m, Primitives.IDENTITY, unary("identity", x -> Primitives.IDENTITY.call(null, x[0]), u(-2, 2, 3)));
        put(m, Primitives.MATMUL, binary("matMul [3,4]@[4,2]", x -> matMul(x[0], x[1]), u(-1, 1, 3, 4), u(-1, 1, 4, 2)));
        put(m, Primitives.MATMUL, binary("matMul [4,3]^T@[4,2]", x -> matMul(x[0], x[1], true, false), u(-1, 1, 4, 3), u(-1, 1, 4, 2)));
        put(m, Primitives.MATMUL, binary("matMul [3,4]@[2,4]^T", x -> matMul(x[0], x[1], false, true), u(-1, 1, 3, 4), u(-1, 1, 2, 4)));
        put(m, Primitives.MATMUL, binary("matMul [4,3]^T@[2,4]^T", x -> matMul(x[0], x[1], true, true), u(-1, 1, 4, 3), u(-1, 1, 2, 4)));
        put(m, Primitives.MATMUL, binary("batched matMul [2,3,4]@[2,4,2]", x -> matMul(x[0], x[1]), u(-1, 1, 2, 3, 4), u(-1, 1, 2, 4, 2)));
        put(m, Primitives.MATMUL, binary("batched matMul [2,4,3]^T@[2,2,4]^T", x -> matMul(x[0], x[1], true, true), u(-1, 1, 2, 4, 3), u(-1, 1, 2, 2, 4)));
        put(m, Primitives.SUM, unary("sum axis 1", x -> sum(x[0], 1, false), u(-2, 2, 3, 4)));
        put(m, Primitives.SUM, unary("sum axes 0,2 keepDims", x -> sum(x[0], new int[] {0, 2}, true), u(-2, 2, 2, 3, 4)));
        put(m, Primitives.MAX, unary("max axis 1", x -> max(x[0], 1, false), u(-2, 2, 3, 4)));
        put(m, Primitives.MAX, unary("max axis 0 keepDims", x -> max(x[0], 0, true), u(-2, 2, 3, 4)));
        put(m, Primitives.SUM_TO, unary("sumTo [3,4]->[1,4]", x -> sumTo(x[0], Shape.of(1, 4)), u(-2, 2, 3, 4)));
        put(m, Primitives.SUM_TO, unary("sumTo [2,3,4]->[3,1]", x -> sumTo(x[0], Shape.of(3, 1)), u(-2, 2, 2, 3, 4)));
        put(m, Primitives.BROADCAST_TO, unary("broadcastTo [4]->[3,4]", x -> broadcastTo(x[0], 3, 4), u(-2, 2, 4)));
        put(m, Primitives.BROADCAST_TO, unary("broadcastTo [3,1]->[2,3,4]", x -> broadcastTo(x[0], 2, 3, 4), u(-2, 2, 3, 1)));
        put(m, Primitives.RESHAPE, unary("reshape [3,4]->[2,6]", x -> reshape(x[0], 2, 6), u(-2, 2, 3, 4)));
        put(m, Primitives.PERMUTE, unary("permute [2,3,4] by [2,0,1]", x -> permute(x[0], 2, 0, 1), u(-2, 2, 2, 3, 4)));
        put(m, Primitives.SLICE, unary("slice [3,4] at [1,1] size [2,2]", x -> slice(x[0], new int[] {1, 1}, new int[] {2, 2}), u(-2, 2, 3, 4)));
        put(m, Primitives.PAD, unary("pad [2,3] by [1,0]/[0,2]", x -> pad(x[0], new int[] {1, 0}, new int[] {0, 2}), u(-2, 2, 2, 3)));
        put(m, Primitives.CONCAT, new Case("concat axis 1 of [2,3],[2,2],[2,1]", x -> concat(1, x[0], x[1], x[2]),
                new Tensor[] {u(-2, 2, 2, 3), u(-2, 2, 2, 2), u(-2, 2, 2, 1)}, new int[] {0, 1, 2}));
        return m;
    }

    private static void put(Map<Primitive, List<Case>> m, Primitive p, Case c) {
        m.computeIfAbsent(p, k -> new ArrayList<>()).add(c);
    }

    @Test
    void everyPrimitivePassesGradcheckAndGradgradcheck() {
        Map<Primitive, List<Case>> samples = samples();
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Primitive p : Primitives.ALL) {
            List<Case> cases = samples.get(p);
            if (cases == null) {
                failures.add(p.name() + ": no sample in PrimitiveTableTest");
                continue;
            }
            boolean ok = true;
            for (Case c : cases) {
                try {
                    GradCheck.gradcheck(c.f(), c.inputs(), c.wrt(), GradCheck.Options.DEFAULT);
                    GradCheck.gradgradcheck(c.f(), c.inputs(), c.wrt(), GradCheck.Options.DEFAULT);
                } catch (AssertionError | RuntimeException e) {
                    ok = false;
                    failures.add(p.name() + " (" + c.what() + "): " + e);
                }
            }
            if (ok) checked++;
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(Primitives.ALL.size(), checked, "primitives checked vs the table's size");
        assertEquals(Primitives.ALL.size(), samples.size(), "samples for primitives outside the table");
    }

    @Test
    void theTableListsEveryPrimitiveDeclaredInPrimitives() throws IllegalAccessException {
        java.util.Set<Primitive> declared = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (java.lang.reflect.Field f : Primitives.class.getDeclaredFields()) {
            int mod = f.getModifiers();
            if (f.getType() == Primitive.class && java.lang.reflect.Modifier.isPublic(mod) && java.lang.reflect.Modifier.isStatic(mod)
                    && java.lang.reflect.Modifier.isFinal(mod)) {
                Primitive p = (Primitive) f.get(null);
                assertTrue(Primitives.ALL.contains(p), "Primitives." + f.getName() + " is missing from Primitives.ALL");
                declared.add(p);
            }
        }
        assertEquals(declared.size(), Primitives.ALL.size(), "Primitives.ALL vs the public static final Primitive fields");
        assertEquals(Primitives.ALL.size(), new java.util.HashSet<>(Primitives.ALL).size(), "a primitive listed twice in Primitives.ALL");
    }

    @Test
    void everySampleReallyRecordsItsPrimitive() {
        // A sample that short-circuits (e.g. a reshape to the same shape) would check nothing.
        for (Map.Entry<Primitive, List<Case>> e : samples().entrySet()) {
            for (Case c : e.getValue()) {
                Functional.Vjp v = Functional.vjp(c.f(), c.inputs());
                Tensor out = v.output().leaves().get(0);
                Recorded r = Recorded.of(c.f(), c.inputs());
                assertTrue(r.primitives.contains(e.getKey().name()), c.what() + " does not apply " + e.getKey().name() + ": " + r.primitives);
                assertTrue(out.size() > 0);
            }
        }
    }

    /** The primitive names recorded while running f on fresh variables. */
    private record Recorded(List<String> primitives) {
        static Recorded of(Fn f, Tensor[] inputs) {
            Recording rec = Recording.of(f, inputs, Recording.all(inputs.length), List.of());
            List<String> names = new ArrayList<>();
            java.util.Deque<Tensor> todo = new java.util.ArrayDeque<>(rec.outputs());
            java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
            while (!todo.isEmpty()) {
                Tensor t = todo.pop();
                if (!seen.add(t) || t.node() == null || t.node().isLeaf()) continue;
                names.add(t.node().primitive().name());
                for (Tensor in : t.node().inputs()) todo.push(in);
            }
            return new Recorded(names);
        }
    }

    // ------------------------------------------------------------ forward and second-order rules

    private static double dot(Tensor a, Tensor b) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) s += a.getDouble(i) * b.getDouble(i);
        return s;
    }

    /** The sample as a function of its differentiated inputs alone (the others fixed). */
    private static Fn ofDifferentiated(Case c) {
        return xs -> {
            Tensor[] args = c.inputs().clone();
            for (int k = 0; k < c.wrt().length; k++) args[c.wrt()[k]] = xs[k];
            return c.f().apply(args);
        };
    }

    private static Tensor[] differentiated(Case c) {
        Tensor[] xs = new Tensor[c.wrt().length];
        for (int k = 0; k < xs.length; k++) xs[k] = c.inputs()[c.wrt()[k]];
        return xs;
    }

    private static Tensor moved(Tensor x, Tensor t, int j, double eps) {
        int n = x.size();
        return Tensor.fromFunction(F64, x.shape(), i -> x.getDouble(i) + eps * t.getDouble(j * n + i));
    }

    private static void assertClose(double expected, double actual, double atol, double rtol, String what) {
        assertTrue(Math.abs(expected - actual) <= atol + rtol * Math.abs(expected), what + ": expected " + expected + " got " + actual);
    }

    /**
     * Every primitive's JVP rule, for a batch of K = 3 random directions: {@code <jvp(x; t), u> = <t, vjp(x; u)>}
     * for a random u, and {@code jvp(x; t) = (f(x + eps t) - f(x - eps t)) / 2 eps}; its second-order rule
     * against {@code (f(x + eps t) - 2 f(x) + f(x - eps t)) / eps^2}; and, node by node, the declared rules
     * against those the engine would derive (the JVP from the VJP rule, the second-order term from the
     * JVP rule). The number of primitives checked must be the table's size.
     */
    @Test
    void everyPrimitivesForwardRulesAgreeWithItsVjpAndWithFiniteDifferences() {
        Map<Primitive, List<Case>> samples = samples();
        List<String> failures = new ArrayList<>();
        int checked = 0, k = 3;
        for (Primitive p : Primitives.ALL) {
            if (!p.hasJvp() || !p.hasSecondOrder()) failures.add(p.name() + ": no JVP or no second-order rule of its own");
            boolean ok = true;
            for (Case c : samples.getOrDefault(p, List.of())) {
                try {
                    Fn f = ofDifferentiated(c);
                    Tensor[] xs = differentiated(c);
                    Tensor[] ts = new Tensor[xs.length];
                    for (int i = 0; i < xs.length; i++) ts[i] = Tensor.normal(seed++, F64, TangentAlgebra.withBatch(k, xs[i].shape()).dims());
                    Tensor y = f.apply(xs).asTensor();
                    Tensor jt = Functional.jvpBatch(f, xs, ts).tensor(1);
                    assertEquals(TangentAlgebra.withBatch(k, y.shape()), jt.shape(), c.what() + ": batched tangent's shape");
                    Recording rec = Recording.of(f, xs, Recording.all(xs.length), List.of());
                    ForwardMode.Jet[] start = new ForwardMode.Jet[xs.length];
                    for (int i = 0; i < xs.length; i++) start[i] = new ForwardMode.Jet(ts[i], null);
                    Tensor second = ForwardMode.taylor(rec.outputs(), rec.inputVars, start, true, false)[0].second();
                    for (int j = 0; j < k; j++) {
                        Tensor tj = Tangents.direction(jt, j);
                        Tensor u = Tensor.normal(seed++, F64, y.shape().dims());
                        TensorTuple g = Functional.vjp(f, xs).pullback(u);
                        double lhs = dot(tj, u), rhs = 0;
                        for (int i = 0; i < xs.length; i++) rhs += dot(Tangents.direction(ts[i], j), g.tensor(i));
                        assertClose(lhs, rhs, 1e-12, 1e-10, c.what() + ": <jvp t, u> vs <t, vjp u>, direction " + j);
                        double eps = 1e-6, eps2 = 1e-4;
                        Tensor[] plus = new Tensor[xs.length], minus = new Tensor[xs.length], plus2 = new Tensor[xs.length], minus2 = new Tensor[xs.length];
                        for (int i = 0; i < xs.length; i++) {
                            plus[i] = moved(xs[i], ts[i], j, eps);
                            minus[i] = moved(xs[i], ts[i], j, -eps);
                            plus2[i] = moved(xs[i], ts[i], j, eps2);
                            minus2[i] = moved(xs[i], ts[i], j, -eps2);
                        }
                        Tensor fp = f.apply(plus).asTensor(), fm = f.apply(minus).asTensor(), fp2 = f.apply(plus2).asTensor(), fm2 = f.apply(minus2).asTensor();
                        Tensor sj = second == null ? null : Ops.broadcastTo(Tangents.direction(second, j), TangentAlgebra.withBatch(1, y.shape()));
                        for (int e = 0; e < y.size(); e++) {
                            double fd = (fp.getDouble(e) - fm.getDouble(e)) / (2 * eps);
                            assertClose(fd, tj.getDouble(e), 1e-6, 1e-5, c.what() + ": jvp vs finite differences, direction " + j + " element " + e);
                            double fd2 = (fp2.getDouble(e) - 2 * y.getDouble(e) + fm2.getDouble(e)) / (eps2 * eps2);
                            assertClose(fd2, sj == null ? 0 : sj.getDouble(e), 1e-5, 1e-4, c.what() + ": second order vs finite differences, direction " + j + " element " + e);
                        }
                    }
                    checkAgainstDerivedRules(p, rec, k, c.what());
                } catch (AssertionError | RuntimeException e) {
                    ok = false;
                    failures.add(p.name() + " (" + c.what() + "): " + e);
                }
            }
            if (ok && samples.containsKey(p)) checked++;
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(Primitives.ALL.size(), checked, "primitives whose forward rules were checked vs the table's size");
    }

    /** At every node of p in the recording: the declared JVP = the one transposed from the VJP, the declared second-order term = the one derived from the JVP. */
    private static void checkAgainstDerivedRules(Primitive p, Recording rec, int k, String what) {
        java.util.Deque<Tensor> todo = new java.util.ArrayDeque<>(rec.outputs());
        java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        int found = 0;
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            if (!seen.add(t) || t.node() == null || t.node().isLeaf()) continue;
            Node n = t.node();
            for (Tensor in : n.inputs()) todo.push(in);
            if (n.primitive() != p) continue;
            found++;
            Tensor[] in = n.inputs(), u = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) u[i] = Tensor.normal(seed++, F64, TangentAlgebra.withBatch(k, in[i].shape()).dims());
            if (p == Primitives.WHERE) u[0] = null;   // the condition carries no tangent
            Shape full = TangentAlgebra.withBatch(k, t.shape());
            Tensor declared = p.jvp(u, in, t, n.attrs());
            Tensor derived = Tangents.jvpByTransposingVjp(p, u, in, t, n.attrs(), k);
            assertSameTangent(declared, derived, full, what + ": declared JVP vs the VJP transposed");
            Tensor s = p.secondOrder(u, u, in, t, n.attrs(), false);
            Tensor sDerived = Tangents.secondOrderFromJvp(p, u, u, in, n.attrs(), false);
            assertSameTangent(s, sDerived, full, what + ": declared second-order rule vs the JVP rule differentiated");
            Tensor summed = p.secondOrder(u, u, in, t, n.attrs(), true);
            assertSameTangent(summed, sDerived == null ? null : Ops.sum(Ops.broadcastTo(sDerived, full), 0, true), TangentAlgebra.withBatch(1, t.shape()),
                    what + ": second-order rule summed over the directions");
        }
        assertTrue(found > 0, what + " records no " + p.name());
    }

    private static void assertSameTangent(Tensor a, Tensor b, Shape full, String what) {
        Tensor fa = a == null ? Tensor.full(0, F64, full) : Ops.broadcastTo(a, full);
        Tensor fb = b == null ? Tensor.full(0, F64, full) : Ops.broadcastTo(b, full);
        assertTrue(fa.allClose(fb, 1e-10, 1e-12), what + ": " + fa + " vs " + fb);
    }

    @Test
    void castFromFloat32IsDifferentiable() {
        Tensor x = Tensor.of(new float[] {0.5f, -1.25f, 2f});
        Tensor g = Functional.grad(a -> sum(mul(cast(a[0], DType.FLOAT64), 3.0))).apply(x).asTensor();
        assertEquals(DType.FLOAT32, g.dtype());
        assertTrue(g.allClose(Tensor.of(new float[] {3f, 3f, 3f}), 0, 0));
    }
}
