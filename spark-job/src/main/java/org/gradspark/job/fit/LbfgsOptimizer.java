package org.gradspark.job.fit;

import breeze.linalg.DenseVector;
import breeze.math.MutableFiniteCoordinateField;
import breeze.optimize.CachedDiffFunction;
import breeze.optimize.DiffFunction;
import breeze.optimize.FirstOrderMinimizer;
import breeze.optimize.LBFGS;
import java.lang.invoke.CallSite;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gradspark.job.io.BadInputException;
import scala.Option;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Breeze's {@code LBFGS} (what Spark MLlib runs), driven one iteration at a time through its own
 * iterator, so every step is Breeze's: the two-loop recursion, the strong Wolfe line search, the
 * default convergence check (max iterations, function values over the last 20 iterations, gradient
 * norm, failed search) that MLlib's {@code new LBFGS(maxIter, m, tol)} gets.
 *
 * <p>Resume, bit for bit: Breeze's iterator is {@code Iterator.iterate(state)(step)}, a function of
 * its {@code State} alone, and every part of that state is a value we can write and rebuild: the
 * position, value and gradient, the iteration, the starting value, the (s, y) history, the search
 * flag, and the convergence check's memory, which is rebuilt by replaying the check's own
 * {@code update} over the values of iterations 1..k (it keeps the last 20; the other checks keep
 * nothing). The line search keeps nothing between iterations. Two things live outside the state:
 * Breeze's evaluation cache, which only saves work (our {@link DriverObjective} caches the same point,
 * primed on resume, so the evaluation counts agree too), and the "failed once" flag of a history
 * reset after a failed line search, which is why a state that comes from such a reset is never
 * checkpointed (the next regular iteration clears the flag).
 */
final class LbfgsOptimizer implements Optimizer {
    private static final MutableFiniteCoordinateField<DenseVector<Object>, Object, Object> SPACE = DenseVector.space_Double();

    private final DriverObjective objective;
    private final LBFGS<DenseVector<Object>> lbfgs;
    private final scala.collection.Iterator<FirstOrderMinimizer.State<DenseVector<Object>, Object, LBFGS.ApproximateInverseHessian<DenseVector<Object>>>> states;
    private final boolean checkedByIterator;   // iterations() stops at a converged state itself; infiniteIterations() does not
    private final List<Double> values = new ArrayList<>();   // values of iterations 1..k (the convergence check's input)
    private FirstOrderMinimizer.State<DenseVector<Object>, Object, LBFGS.ApproximateInverseHessian<DenseVector<Object>>> current;
    private final double elapsedBefore;
    private long evaluationsAtLast;
    private String stopReason;
    private final long startNanos = System.nanoTime();
    private long lastNanos = startNanos;

    private LbfgsOptimizer(DriverObjective objective, FitSettings s, double elapsedBefore) {
        this.objective = objective;
        this.lbfgs = new LBFGS<>(s.iterations(), s.lbfgsMemory(), s.tolerance(), SPACE);
        this.elapsedBefore = elapsedBefore;
        this.states = null;
        this.checkedByIterator = true;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private LbfgsOptimizer(DriverObjective objective, FitSettings s, double[] x0, Checkpoint.OptimizerState resume, double elapsedBefore) {
        this.objective = objective;
        this.lbfgs = new LBFGS<>(s.iterations(), s.lbfgsMemory(), s.tolerance(), SPACE);
        this.elapsedBefore = elapsedBefore;
        DiffFunction<DenseVector<Object>> f = function(objective);
        this.evaluationsAtLast = objective.evaluations();   // before iterations(), which evaluates x0 at once
        if (resume == null) {
            this.states = (scala.collection.Iterator) lbfgs.iterations(f, vector(x0));
            this.checkedByIterator = true;
        } else {
            this.current = restore(resume, s);
            for (double v : resume.arrays().get("values")) values.add(v);
            objective.prime(resume.x(), current.value(), array(current.grad()), (long) resume.arrays().get("rows")[0]);
            this.states = (scala.collection.Iterator) lbfgs.infiniteIterations(f, (FirstOrderMinimizer.State) current);
            this.states.next();   // Iterator.iterate yields its seed first: the checkpoint's own state
            this.checkedByIterator = false;
            if (converged(current) != null) stopReason = converged(current);
        }
    }

    /** A fresh run from {@code x0} (its first record, iteration 0, evaluates x0). */
    static LbfgsOptimizer start(DriverObjective objective, FitSettings s, double[] x0) {
        return new LbfgsOptimizer(objective, s, x0, null, 0);
    }

    /** The run a checkpoint stopped, continued. */
    static LbfgsOptimizer resume(DriverObjective objective, FitSettings s, Checkpoint.OptimizerState state, double elapsedBefore) {
        return new LbfgsOptimizer(objective, s, state.x(), state, elapsedBefore);
    }

    @Override
    public IterationRecord next() {
        while (stopReason == null && states.hasNext()) {
            var previous = current;
            var s = states.next();
            if (previous != null && s.iter() == previous.iter()) {
                // A failed line search: Breeze drops the history and tries again from the same point,
                // and after a second failure marks the state searchFailed (which the check ends on).
                current = s;
                String why = checkedByIterator ? reasonSet(s) : converged(s);
                if (why != null) {
                    stopReason = why;
                    return null;
                }
                continue;
            }
            current = s;
            if (s.iter() > 0) values.add(s.adjustedValue());
            long now = System.nanoTime();
            long evals = objective.evaluations();
            double[] x = array(s.x());
            IterationRecord r = new IterationRecord(s.iter(), s.adjustedValue(), DriverObjective.norm(array(s.adjustedGradient())),
                    previous == null ? 0 : DriverObjective.distance(x, array(previous.x())), (int) (evals - evaluationsAtLast), objective.lastRows(),
                    (now - lastNanos) / 1e9, elapsedBefore + (now - startNanos) / 1e9);
            evaluationsAtLast = evals;
            lastNanos = now;
            String why = checkedByIterator ? reasonSet(s) : converged(s);
            if (why != null) stopReason = why;
            return r;
        }
        if (stopReason == null) stopReason = current == null ? "no iterations" : reasonOr(current, "max iterations reached");
        return null;
    }

    @Override
    public double[] position() {
        return array(current.x());
    }

    @Override
    public String stopReason() {
        return stopReason;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Checkpoint.OptimizerState state() {
        if (current == null) return null;
        Map<String, double[]> a = new LinkedHashMap<>();
        a.put("grad", array(current.grad()));
        a.put("value", new double[] {current.value()});
        a.put("initial_value", new double[] {current.initialAdjVal()});
        a.put("search_failed", new double[] {current.searchFailed() ? 1 : 0});
        a.put("rows", new double[] {objective.lastRows()});
        a.put("values", values.stream().mapToDouble(Double::doubleValue).toArray());
        LBFGS.ApproximateInverseHessian<DenseVector<Object>> h = current.history();
        List<DenseVector<Object>> steps = CollectionConverters.asJava(h.memStep());
        List<DenseVector<Object>> deltas = CollectionConverters.asJava(h.memGradDelta());
        a.put("history_length", new double[] {steps.size()});
        for (int i = 0; i < steps.size(); i++) {
            a.put("s" + i, array(steps.get(i)));
            a.put("y" + i, array(deltas.get(i)));
        }
        return new Checkpoint.OptimizerState(FitSettings.Optimizer.LBFGS.cli(), current.iter(), array(current.x()), a);
    }

    /**
     * Refuses a state that {@link #state} would not have written after this history: the arrays and
     * their lengths ({@code history_length} pairs s_i, y_i, at most the memory and the iterations),
     * and the values both record, bit for bit: {@code value}, {@code grad}'s norm and {@code rows}
     * are the last iteration's, {@code values} the losses of iterations 1..k, {@code initial_value}
     * iteration 0's.
     *
     * @param where how messages name optimizer.npz
     */
    static void requireState(Checkpoint.OptimizerState st, int memory, List<IterationRecord> history, String where) {
        double[] h = st.arrays().get("history_length");
        if (h == null || h.length != 1) throw new BadInputException(where + ": no array 'history_length' of one value");
        int pairs = (int) h[0];
        if (pairs != h[0] || pairs < 0 || pairs > Math.min(memory, st.iteration())) {
            throw new BadInputException(where + ": 'history_length' is " + h[0] + ", expected a whole number 0.." + Math.min(memory, st.iteration()));
        }
        int n = st.x().length;
        Map<String, Integer> lengths = new LinkedHashMap<>();
        lengths.put("grad", n);
        for (String scalar : List.of("value", "initial_value", "search_failed", "rows", "history_length")) lengths.put(scalar, 1);
        lengths.put("values", st.iteration());
        for (int i = 0; i < pairs; i++) {
            lengths.put("s" + i, n);
            lengths.put("y" + i, n);
        }
        st.requireArrays(lengths, where);
        Map<String, double[]> a = st.arrays();
        IterationRecord last = history.get(history.size() - 1);
        double[] values = history.stream().skip(1).mapToDouble(IterationRecord::loss).toArray();
        if (a.get("search_failed")[0] != 0 && a.get("search_failed")[0] != 1) throw new BadInputException(where + ": 'search_failed' is neither 0 nor 1");
        if (a.get("value")[0] != last.loss() || !java.util.Arrays.equals(a.get("values"), values) || a.get("initial_value")[0] != history.get(0).loss()) {
            throw new BadInputException(where + ": 'value', 'values' or 'initial_value' differ from the losses of state.json's history");
        }
        if (DriverObjective.norm(a.get("grad")) != last.gradNorm() || a.get("rows")[0] != last.rows()) {
            throw new BadInputException(where + ": 'grad' or 'rows' differ from state.json's last iteration (gradient norm " + last.gradNorm() + ", rows "
                    + last.rows() + ")");
        }
    }

    /** Breeze's State from a checkpoint: every field as it was, the convergence memory replayed. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private FirstOrderMinimizer.State<DenseVector<Object>, Object, LBFGS.ApproximateInverseHessian<DenseVector<Object>>> restore(Checkpoint.OptimizerState st,
                                                                                                                                   FitSettings s) {
        Map<String, double[]> a = st.arrays();
        int h = (int) a.get("history_length")[0];
        List<DenseVector<Object>> steps = new ArrayList<>(), deltas = new ArrayList<>();
        for (int i = 0; i < h; i++) {
            steps.add(vector(a.get("s" + i)));
            deltas.add(vector(a.get("y" + i)));
        }
        var history = new LBFGS.ApproximateInverseHessian<DenseVector<Object>>(s.lbfgsMemory(), CollectionConverters.asScala(steps).toIndexedSeq(),
                CollectionConverters.asScala(deltas).toIndexedSeq(), SPACE);
        DenseVector<Object> x = vector(st.x()), g = vector(a.get("grad"));
        double value = a.get("value")[0];
        boolean failed = a.get("search_failed")[0] != 0;
        FirstOrderMinimizer.ConvergenceCheck check = lbfgs.convergenceCheck();
        FirstOrderMinimizer.State bare = new FirstOrderMinimizer.State(x, value, g, value, g, st.iteration(), a.get("initial_value")[0], history, null,
                failed, Option.empty());
        Object info = check.initialInfo();
        for (double v : a.get("values")) info = check.update(x, g, v, bare, info);
        return new FirstOrderMinimizer.State(x, value, g, value, g, st.iteration(), a.get("initial_value")[0], history, info, failed, Option.empty());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private String converged(FirstOrderMinimizer.State s) {
        Option<FirstOrderMinimizer.ConvergenceReason> r = ((FirstOrderMinimizer.ConvergenceCheck) lbfgs.convergenceCheck()).apply(s, s.convergenceInfo());
        return r.isDefined() ? r.get().reason() : null;
    }

    private static String reasonSet(FirstOrderMinimizer.State<?, ?, ?> s) {
        return s.convergenceReason().isDefined() ? s.convergenceReason().get().reason() : null;
    }

    private static String reasonOr(FirstOrderMinimizer.State<?, ?, ?> s, String otherwise) {
        String r = reasonSet(s);
        return r != null ? r : otherwise;
    }

    /**
     * The objective as Breeze's DiffFunction: value and gradient in one evaluation. javac cannot
     * compile a class that implements the Scala trait, nor one that extends a Scala class mixing it in
     * (the trait's {@code double apply(T)} clashes with Function1's {@code Object apply(T)}, which only
     * scalac's bridge methods reconcile). So the JDK's LambdaMetafactory makes the instance, as javac
     * does for a lambda: a class implementing DiffFunction's one abstract method, {@code calculate}.
     * It is wrapped in Breeze's own {@code CachedDiffFunction} (a complete Scala class), which is what
     * LBFGS would wrap it in anyway, so Breeze only ever calls {@code calculate} on it.
     */
    @SuppressWarnings("unchecked")
    static DiffFunction<DenseVector<Object>> function(DriverObjective objective) {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            MethodHandle impl = lookup.findStatic(LbfgsOptimizer.class, "calculate", MethodType.methodType(Tuple2.class, DriverObjective.class, DenseVector.class));
            CallSite site = LambdaMetafactory.metafactory(lookup, "calculate", MethodType.methodType(DiffFunction.class, DriverObjective.class),
                    MethodType.methodType(Tuple2.class, Object.class), impl, MethodType.methodType(Tuple2.class, DenseVector.class));
            DiffFunction<DenseVector<Object>> f = (DiffFunction<DenseVector<Object>>) site.getTarget().invoke(objective);
            return new CachedDiffFunction<>(f, DenseVector.canCopyDenseVector(scala.reflect.ClassTag$.MODULE$.Double()));
        } catch (Throwable e) {
            throw new IllegalStateException("cannot make Breeze's DiffFunction of the objective", e);
        }
    }

    private static Tuple2<Object, DenseVector<Object>> calculate(DriverObjective objective, DenseVector<Object> x) {
        DriverObjective.Eval e = objective.at(array(x), null);
        return new Tuple2<>(e.value(), vector(e.grad()));
    }

    static DenseVector<Object> vector(double[] v) {
        return new DenseVector<>(v.clone());
    }

    static double[] array(DenseVector<Object> v) {
        double[] d = (double[]) v.data();
        if (v.offset() == 0 && v.stride() == 1 && v.length() == d.length) return d.clone();
        double[] out = new double[v.length()];
        for (int i = 0; i < out.length; i++) out[i] = d[v.offset() + i * v.stride()];
        return out;
    }
}
