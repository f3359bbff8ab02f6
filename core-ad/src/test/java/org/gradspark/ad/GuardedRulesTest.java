package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The table's guarded rules at their guards (issue 23, item 7): pow's masks (b a^(b-1) is 0 * inf at
 * a = b = 0, log a is -inf at a = 0, and the second-order rule's own masks), relu's kink, max's ties and
 * where's condition. Each is checked at the value where its guard switches and just beside it, at first
 * and second order, through every path that reaches it: reverse over reverse ({@code grad(grad)},
 * {@code jacrev(jacrev)}, nested {@link GradOperation}), forward over forward ({@code jacfwd(jacfwd)},
 * a jvp of a jvp, {@link Operators#hessian}), both mixed ({@code hessian}, {@code jacrev(jacfwd)},
 * {@code hvp}), and the Taylor rules ({@link Operators#hessianDiagonal}, {@link Operators#laplacian}, and
 * the second-order term along sums of directions for the mixed entries). Expected values are closed
 * forms, and JAX's where its tests state them (tests/lax_autodiff_test.py, tests/nn_test.py).
 */
class GuardedRulesTest {
    private static final DType F64 = DType.FLOAT64;
    private static final double LN4 = Math.log(4);

    // ------------------------------------------------------------ pow at the exponent's guard (b = 0)

    /**
     * jax LaxAutodiffTest.testPowSecondDerivative: the Hessian of x^y at (4, 0) is
     * [[0, 1/x], [1/x, ln(x)^2]] by jacfwd(jacfwd) and jacrev(jacrev) (and so by every other path).
     * A mask over every b = 0, to make d/da = 0 there, would cut the derivative in b too: the mixed
     * entry would be 0.
     */
    @Test
    void powsHessianAtExponentZeroIsJaxs() {
        Fn pow = x -> pow(x[0], x[1]);
        assertValue(pow, new double[] {4, 0}, 1);
        assertGradientEverywhere("pow at (4, 0)", pow, new double[] {4, 0}, new double[] {0, LN4});
        assertHessianEverywhere("pow at (4, 0)", pow, new double[] {4, 0}, new Double[][] {{0.0, 0.25}, {0.25, LN4 * LN4}});
        // The same in float32, through the backend's float32 kernels.
        Tensor a = Tensor.scalar(4, DType.FLOAT32), b = Tensor.scalar(0, DType.FLOAT32);
        TensorTuple h = Functional.hessian(pow, new int[] {0, 1}, false).apply(a, b).asTuple();
        double[][] expected = {{0, 0.25}, {0.25, LN4 * LN4}};
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                Tensor hij = h.get(i).asTuple().get(j).asTensor();
                assertEquals(DType.FLOAT32, hij.dtype());
                assertEquals(expected[i][j], hij.item(), 1e-6, "float32 hessian[" + i + "][" + j + "]");
            }
        }
    }

    /**
     * Beside the exponent's guard, and at the inner guard of the second derivative (b = 1, where
     * d/da a^(b-1) meets its own mask): the closed forms of a^b for a > 0.
     */
    @Test
    void powMatchesItsClosedFormsBesideTheExponentsGuards() {
        Fn pow = x -> pow(x[0], x[1]);
        double[][] points = {{4, 1e-3}, {4, -1e-3}, {0.5, 0}, {0.5, 1e-3}, {4, 1}, {4, 1 + 1e-3}, {4, 1 - 1e-3}, {4, 2}, {1e-3, 0}};
        for (double[] p : points) {
            String what = "pow at (" + p[0] + ", " + p[1] + ")";
            assertValue(pow, p, Math.pow(p[0], p[1]));
            assertGradientEverywhere(what, pow, p, new double[] {fa(p[0], p[1]), fb(p[0], p[1])});
            double fab = fab(p[0], p[1]);
            assertHessianEverywhere(what, pow, p, new Double[][] {{faa(p[0], p[1]), fab}, {fab, fbb(p[0], p[1])}});
        }
    }

    /**
     * The second-order rule's masks must not cut derivatives either: differentiated in the exponent
     * (reverse over the Taylor sweep, and forward over it), d/db f_aa = f_aab, and along s of
     * (a + s)^(b + s), d/db (f_aa + 2 f_ab + f_bb) = f_aab + 2 f_abb + f_bbb, at b = 0 and beside it.
     */
    @Test
    void powsTaylorRuleIsDifferentiableInTheExponentAtItsGuard() {
        double a = 4;
        Tensor rows = Tensor.of(new double[][] {{0}});
        for (double b : new double[] {0, 1e-3, -1e-3, 1}) {
            Fn diag = e -> sum(Operators.hessianDiagonal(x -> pow(add(x[0], a), e[0]), rows));
            Fn lap = e -> sum(Operators.laplacian(x -> pow(add(x[0], a), add(x[0], e[0])), rows));
            Tensor at = Tensor.scalar(b, F64), one = Tensor.scalar(1, F64);
            double faab = faab(a, b), mixed = faab + 2 * fabb(a, b) + fbbb(a, b);
            String what = " at (" + a + ", " + b + ")";
            assertClose(faa(a, b), diag.apply(at).asTensor().item(), "f_aa by the Taylor rule" + what);
            assertClose(faab, Functional.grad(diag).apply(at).asTensor().item(), "d/db f_aa, reverse over Taylor" + what);
            assertClose(faab, Functional.jvp(diag, new Tensor[] {at}, new Tensor[] {one}).tensor(1).item(), "d/db f_aa, forward over Taylor" + what);
            assertClose(faa(a, b) + 2 * fab(a, b) + fbb(a, b), lap.apply(at).asTensor().item(), "laplacian of (a+s)^(b+s)" + what);
            assertClose(mixed, Functional.grad(lap).apply(at).asTensor().item(), "d/db of the laplacian, reverse over Taylor" + what);
            assertClose(mixed, Functional.jvp(lap, new Tensor[] {at}, new Tensor[] {one}).tensor(1).item(),
                    "d/db of the laplacian, forward over Taylor" + what);
        }
    }

    // ------------------------------------------------------------ pow at the base's guard (a = 0)

    /**
     * x^y at x = 0 for a constant y, first and second order: y = 0 gives 0 and 0 (jax
     * testPowIntPowerAtZero: d(x^0)/dx at 0 is 0, not 0 * 0^-1), y = 1 gives 1 and 0, y = 2 gives 0
     * and 2, y = 1/2 gives +inf and -inf (the closed forms y x^(y-1), y (y-1) x^(y-2)); 0^0 is 1. Beside
     * the guard, at x = +-1e-3 (+1e-3 only for y = 1/2), the closed forms.
     */
    @Test
    void powOfAZeroBaseHasJaxsDerivativesForEachExponent() {
        double[][] atZero = {{0, 1, 0, 0}, {1, 0, 1, 0}, {2, 0, 0, 2}, {0.5, 0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}};
        for (double[] c : atZero) {
            double y = c[0];
            Fn pow = x -> pow(x[0], y);
            String what = "x^" + y + " at 0";
            assertValue(pow, new double[] {0}, c[1]);
            assertGradientEverywhere(what, pow, new double[] {0}, new double[] {c[2]});
            assertHessianEverywhere(what, pow, new double[] {0}, new Double[][] {{c[3]}});
            for (double x : y == 0.5 ? new double[] {1e-3} : new double[] {1e-3, -1e-3}) {
                String beside = "x^" + y + " at " + x;
                assertGradientEverywhere(beside, pow, new double[] {x}, new double[] {fa(x, y)});
                assertHessianEverywhere(beside, pow, new double[] {x}, new Double[][] {{faa(x, y)}});
            }
        }
        // jax testPowIntPowerAtZero2: d/dz of z^0 + z, and of sum(z^[0, 1]), at 3.14 is 1.
        Tensor z = Tensor.scalar(3.14, F64);
        assertEquals(1.0, Functional.grad(x -> add(pow(x[0], 0.0), x[0])).apply(z).asTensor().item(), 1e-15);
        assertEquals(1.0, Functional.grad(x -> sum(pow(x[0], Tensor.of(new double[] {0, 1})))).apply(z).asTensor().item(), 1e-15);
    }

    /**
     * Both arguments differentiated at a = 0, where the closed forms have limits: for b = 2 the
     * Hessian is [[2, 0], [0, 0]], for b = 3 zero. At 0^0 every derivative is taken as 0 (PyTorch's
     * test_pow_zero_tensor_gradient; JAX's float pow gives NaN there, with a TODO in
     * testPowSecondDerivative asking for 0). For b = 1 the mixed entry is infinite in truth (1 + ln a as
     * a -> 0): only the diagonal is asserted. (At b = 1/2, f_a is infinite, and a direction with a zero
     * component along a gives 0 * inf = NaN in forward mode, as in JAX: the constant-exponent test
     * above takes x^(1/2) at 0.)
     */
    @Test
    void powOfAZeroBaseWithBothArgumentsDifferentiated() {
        Fn pow = x -> pow(x[0], x[1]);
        assertGradientEverywhere("pow at (0, 0)", pow, new double[] {0, 0}, new double[] {0, 0});
        assertHessianEverywhere("pow at (0, 0)", pow, new double[] {0, 0}, new Double[][] {{0.0, 0.0}, {0.0, 0.0}});
        assertGradientEverywhere("pow at (0, 2)", pow, new double[] {0, 2}, new double[] {0, 0});
        assertHessianEverywhere("pow at (0, 2)", pow, new double[] {0, 2}, new Double[][] {{2.0, 0.0}, {0.0, 0.0}});
        assertHessianEverywhere("pow at (0, 3)", pow, new double[] {0, 3}, new Double[][] {{0.0, 0.0}, {0.0, 0.0}});
        assertGradientEverywhere("pow at (0, 1)", pow, new double[] {0, 1}, new double[] {1, 0});
        assertHessianEverywhere("pow at (0, 1)", pow, new double[] {0, 1}, new Double[][] {{0.0, null}, {null, 0.0}});
        for (double b : new double[] {0, 1, 2}) {
            double[] p = {1e-3, b};
            double fab = fab(p[0], b);
            assertHessianEverywhere("pow at (1e-3, " + b + ")", pow, p, new Double[][] {{faa(p[0], b), fab}, {fab, fbb(p[0], b)}});
        }
    }

    // ------------------------------------------------------------ relu, max and where at their switch

    /**
     * jax NNFunctionsTest.testReluGradAtZero: relu'(0) = 0; relu'' = 0. Through x relu(x) (= x^2 for
     * x > 0), whose second derivative 2 [x > 0] needs relu's mask at first order inside a second one.
     */
    @Test
    void reluAtItsKinkAndBeside() {
        double[][] cases = {{0, 0, 0, 0}, {1e-3, 1, 2e-3, 2}, {-1e-3, 0, 0, 0}};
        for (double[] c : cases) {
            double[] at = {c[0]};
            assertGradientEverywhere("relu at " + c[0], x -> relu(x[0]), at, new double[] {c[1]});
            assertHessianEverywhere("relu at " + c[0], x -> relu(x[0]), at, new Double[][] {{0.0}});
            assertGradientEverywhere("x relu(x) at " + c[0], x -> mul(x[0], relu(x[0])), at, new double[] {c[2]});
            assertHessianEverywhere("x relu(x) at " + c[0], x -> mul(x[0], relu(x[0])), at, new Double[][] {{c[3]}});
        }
    }

    /**
     * max(v)^2 at a tie shares max's derivative equally (PyTorch's amax, JAX's reduce_max JVP): the
     * gradient is 2 m s and the Hessian 2 s s^T for the shares s = (1/2, 1/2, 0); beside the tie s = (1, 0, 0).
     */
    @Test
    void maxAtATieAndBeside() {
        Fn squaredMax = x -> square(max(concat(0, reshape(x[0], 1), reshape(x[1], 1), reshape(x[2], 1)), 0, false));
        for (double[] c : new double[][] {{1, 1, 0.5, 0.5, 0.5}, {1 + 1e-3, 1, 0.5, 1, 0}, {1, 1 + 1e-3, 0.5, 0, 1}}) {
            double[] at = {c[0], c[1], c[2]}, s = {c[3], c[4], 0};
            double m = Math.max(c[0], c[1]);
            Double[][] h = new Double[3][3];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) h[i][j] = 2 * s[i] * s[j];
            String what = "max(v)^2 at " + java.util.Arrays.toString(at);
            assertGradientEverywhere(what, squaredMax, at, new double[] {2 * m * s[0], 2 * m * s[1], 0});
            assertHessianEverywhere(what, squaredMax, at, h);
        }
    }

    /** where(x > 0, x^2 + x, sin x): at 0 the sin branch (1, 0), beside it each branch's own derivatives. */
    @Test
    void whereAtItsConditionAndBeside() {
        Fn piecewise = x -> where(greater(x[0], 0), add(square(x[0]), x[0]), sin(x[0]));
        for (double x : new double[] {0, 1e-3, -1e-3}) {
            boolean right = x > 0;
            assertValue(piecewise, new double[] {x}, right ? x * x + x : Math.sin(x));
            assertGradientEverywhere("where at " + x, piecewise, new double[] {x}, new double[] {right ? 2 * x + 1 : Math.cos(x)});
            assertHessianEverywhere("where at " + x, piecewise, new double[] {x}, new Double[][] {{right ? 2 : -Math.sin(x)}});
        }
    }

    // ------------------------------------------------------------ closed forms of a^b (a > 0)

    private static double fa(double a, double b) { return b == 0 ? 0 : b * Math.pow(a, b - 1); }

    private static double fb(double a, double b) { return Math.pow(a, b) * Math.log(a); }

    private static double faa(double a, double b) { return b == 0 || b == 1 ? 0 : b * (b - 1) * Math.pow(a, b - 2); }

    private static double fab(double a, double b) { return Math.pow(a, b - 1) * (1 + b * Math.log(a)); }

    private static double fbb(double a, double b) { return Math.pow(a, b) * Math.log(a) * Math.log(a); }

    private static double faab(double a, double b) { return Math.pow(a, b - 2) * (2 * b - 1 + b * (b - 1) * Math.log(a)); }

    private static double fabb(double a, double b) { return Math.pow(a, b - 1) * Math.log(a) * (2 + b * Math.log(a)); }

    private static double fbbb(double a, double b) { return Math.pow(a, b) * Math.pow(Math.log(a), 3); }

    // ------------------------------------------------------------ every path to a gradient and a Hessian

    private static Tensor[] scalars(double... at) {
        Tensor[] xs = new Tensor[at.length];
        for (int i = 0; i < at.length; i++) xs[i] = Tensor.scalar(at[i], F64);
        return xs;
    }

    private static Tensor[] basis(int n, int i) {
        Tensor[] e = new Tensor[n];
        for (int k = 0; k < n; k++) e[k] = Tensor.scalar(k == i ? 1 : 0, F64);
        return e;
    }

    private static int[] all(int n) {
        return java.util.stream.IntStream.range(0, n).toArray();
    }

    /** f of n scalars as a function of rows [1, n] to [1, 1] (for {@link Operators}). */
    private static Fn onRows(Fn f, int n) {
        return x -> {
            Tensor[] cols = new Tensor[n];
            for (int i = 0; i < n; i++) cols[i] = slice(x[0], new int[] {0, i}, new int[] {1, 1});
            return reshape(f.apply(cols).asTensor(), 1, 1);
        };
    }

    private static Cell cellOf(Fn f) {
        return new Cell() {
            @Override public Value construct(Tensor... in) { return f.apply(in); }
        };
    }

    private static void assertValue(Fn f, double[] at, double expected) {
        assertClose(expected, f.apply(scalars(at)).asTensor().item(), "value at " + java.util.Arrays.toString(at));
    }

    /** The gradient of f (n scalars to a scalar) at {@code at}, by each path that computes one. */
    private static Map<String, Supplier<double[]>> gradientPaths(Fn f, double[] at) {
        int n = at.length;
        Tensor[] xs = scalars(at);
        Map<String, Supplier<double[]>> paths = new LinkedHashMap<>();
        paths.put("grad", () -> components(Functional.grad(f, all(n)).apply(xs), n));
        paths.put("GradOperation(getAll)", () -> components(new GradOperation(true, false, false).apply(cellOf(f)).call(xs), n));
        paths.put("jacrev", () -> components(Functional.jacrev(f, all(n), false).apply(xs), n));
        paths.put("jacfwd", () -> components(Functional.jacfwd(f, all(n), false).apply(xs), n));
        paths.put("jvp", () -> {
            double[] g = new double[n];
            for (int i = 0; i < n; i++) g[i] = Functional.jvp(f, xs, basis(n, i)).tensor(1).item();
            return g;
        });
        paths.put("Operators.jacobian", () -> Operators.jacobian(onRows(f, n), Tensor.of(new double[][] {at})).toDoubleArray());
        return paths;
    }

    /** H[i][j] = d/dx_j d/dx_i f, by each path; a path leaves null the entries it does not compute. */
    private static Map<String, Supplier<Double[][]>> hessianPaths(Fn f, double[] at) {
        int n = at.length;
        Tensor[] xs = scalars(at);
        int[] all = all(n);
        Map<String, Supplier<Double[][]>> paths = new LinkedHashMap<>();
        paths.put("grad(grad)", () -> matrix(n, (i, j) -> Functional.grad(Functional.grad(f, i), j).apply(xs).asTensor().item()));
        paths.put("GradOperation(getAll)(GradOperation)", () -> {
            Value row = new GradOperation(true, false, false).apply(new GradOperation().apply(cellOf(f))).call(xs);
            double[] r = components(row, n);
            return matrix(n, (i, j) -> i == 0 ? r[j] : null);
        });
        paths.put("jacfwd(jacfwd)", () -> blocks(Functional.jacfwd(Functional.jacfwd(f, all, false), all, false).apply(xs), n));
        paths.put("jacrev(jacrev)", () -> blocks(Functional.jacrev(Functional.jacrev(f, all, false), all, false).apply(xs), n));
        paths.put("jacrev(jacfwd)", () -> blocks(Functional.jacrev(Functional.jacfwd(f, all, false), all, false).apply(xs), n));
        paths.put("hessian", () -> blocks(Functional.hessian(f, all, false).apply(xs), n));
        paths.put("jvp(jvp)", () -> matrix(n, (i, j) -> Functional.jvp(
                y -> Functional.jvp(f, y, basis(n, i)).tensor(1), xs, basis(n, j)).tensor(1).item()));
        paths.put("hvp", () -> matrix(n, (i, j) -> Functional.hvp(f, xs, basis(n, j)).tensor(i).item()));
        paths.put("Operators.hessian", () -> {
            Tensor h = Operators.hessian(onRows(f, n), Tensor.of(new double[][] {at}));
            return matrix(n, (i, j) -> h.get(0, 0, i, j));
        });
        paths.put("Operators.hessianDiagonal", () -> {
            Tensor d = Operators.hessianDiagonal(onRows(f, n), Tensor.of(new double[][] {at}));
            return matrix(n, (i, j) -> i == j ? d.get(0, 0, i) : null);
        });
        paths.put("Taylor rule along e_i and e_i + e_j", () -> taylorHessian(f, xs));
        return paths;
    }

    /** The second-order (Taylor) terms along e_i and e_i + e_j, one sweep: H_ij = (D²[e_i + e_j] - D²[e_i] - D²[e_j]) / 2. */
    private static Double[][] taylorHessian(Fn f, Tensor[] xs) {
        int n = xs.length;
        List<int[]> dirs = new ArrayList<>();
        int[][] along = new int[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                along[i][j] = along[j][i] = dirs.size();
                dirs.add(new int[] {i, j});
            }
        }
        int k = dirs.size();
        ForwardMode.Jet[] start = new ForwardMode.Jet[n];
        for (int v = 0; v < n; v++) {
            int var = v;
            start[v] = new ForwardMode.Jet(Tensor.fromFunction(F64, Shape.of(k), d -> dirs.get(d)[0] == var || dirs.get(d)[1] == var ? 1 : 0), null);
        }
        Recording rec = Recording.of(f, xs, Recording.all(n), List.of());
        Tensor s = ForwardMode.taylor(rec.outputs(), rec.inputVars, start, true, false)[0].second();
        Tensor d2 = s == null ? Tensor.zeros(F64, k) : broadcastTo(s, Shape.of(k));
        return matrix(n, (i, j) -> i == j ? d2.getDouble(along[i][i])
                : (d2.getDouble(along[i][j]) - d2.getDouble(along[i][i]) - d2.getDouble(along[j][j])) / 2);
    }

    @FunctionalInterface
    private interface Entry {
        Double at(int i, int j);
    }

    private static Double[][] matrix(int n, Entry e) {
        Double[][] m = new Double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) m[i][j] = e.at(i, j);
        return m;
    }

    /** A Jacobian of a Jacobian for n scalar inputs: a scalar (n = 1) or ((H_00, H_01), (H_10, H_11)). */
    private static Double[][] blocks(Value v, int n) {
        return matrix(n, (i, j) -> n == 1 ? v.asTensor().item() : v.asTuple().get(i).asTuple().get(j).asTensor().item());
    }

    private static double[] components(Value v, int n) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) g[i] = (v instanceof TensorTuple t ? t.get(i).asTensor() : v.asTensor()).item();
        return g;
    }

    private static void assertGradientEverywhere(String what, Fn f, double[] at, double[] expected) {
        List<String> wrong = new ArrayList<>();
        gradientPaths(f, at).forEach((path, g) -> {
            double[] got = g.get();
            for (int i = 0; i < expected.length; i++) {
                if (!close(expected[i], got[i])) wrong.add(path + ": d/dx" + i + " = " + got[i] + ", expected " + expected[i]);
            }
        });
        assertTrue(wrong.isEmpty(), what + ", first order:\n" + String.join("\n", wrong));
    }

    private static void assertHessianEverywhere(String what, Fn f, double[] at, Double[][] expected) {
        List<String> wrong = new ArrayList<>();
        hessianPaths(f, at).forEach((path, h) -> {
            Double[][] got = h.get();
            for (int i = 0; i < expected.length; i++) {
                for (int j = 0; j < expected.length; j++) {
                    if (expected[i][j] == null || got[i][j] == null) continue;
                    if (!close(expected[i][j], got[i][j])) {
                        wrong.add(path + ": H[" + i + "][" + j + "] = " + got[i][j] + ", expected " + expected[i][j]);
                    }
                }
            }
        });
        assertTrue(wrong.isEmpty(), what + ", second order:\n" + String.join("\n", wrong));
    }

    /** Equal for infinities, within 1e-9 relative (1e-12 absolute) for finite values. */
    private static boolean close(double expected, double actual) {
        if (Double.isInfinite(expected) || Double.isNaN(expected)) return Double.compare(expected, actual) == 0;
        return Math.abs(expected - actual) <= 1e-12 + 1e-9 * Math.abs(expected);
    }

    private static void assertClose(double expected, double actual, String what) {
        assertTrue(close(expected, actual), what + ": expected " + expected + " got " + actual);
    }
}
