package org.gradspark.ad;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.gradspark.ad.backend.Backends;

/**
 * The reverse-mode engine: records primitives applied to tracked tensors, and runs the backward
 * pass (topological order from the outputs, cotangent accumulation, pruning of branches that do
 * not reach the requested variables).
 *
 * <p>Gradients are returned values, never accumulated into the tensors, so a gradient taken inside
 * another sees only its own variables (no perturbation confusion). The backward pass is itself
 * recorded only when an enclosing gradient is active; otherwise nothing of the graph outlives the
 * call. All state is per thread, so task threads can share Cells and weights.
 */
final class Engine {
    private Engine() {}

    /** Per-thread state: whether recording is paused, and the open gradient levels' parameter bindings (one map per level). */
    private static final class State {
        boolean paused;
        boolean watchFinite;
        final Deque<Map<Parameter, Tensor>> bindings = new ArrayDeque<>();
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    // ------------------------------------------------------------ recording

    /** Applies a primitive: forward on the values, plus a node when recording and an input is tracked. */
    static Tensor apply(Primitive p, Object attrs, Tensor[] inputs) {
        State st = STATE.get();
        Tensor[] in = new Tensor[inputs.length];
        boolean tracked = false;
        for (int i = 0; i < inputs.length; i++) {
            in[i] = resolve(inputs[i], st);
            tracked |= in[i].isTracked();
        }
        Tensor out = p.forward(in, attrs);
        if (st.watchFinite) checkFinite(p, in, out);
        if (tracked && !st.paused) return out.withNode(new Node(p, attrs, in));
        return out.detached();
    }

    /** The tensor a Parameter stands for inside the innermost gradient that binds it, else itself. */
    static Tensor resolve(Tensor t) {
        return resolve(t, STATE.get());
    }

    private static Tensor resolve(Tensor t, State st) {
        if (t instanceof Parameter p) {
            for (Map<Parameter, Tensor> level : st.bindings) {
                Tensor bound = level.get(p);
                if (bound != null) return bound;
            }
        }
        return t;
    }

    /**
     * A fresh variable standing for {@code x} in a new gradient: a leaf, or, when x is itself tracked
     * by an enclosing gradient, an identity of x (so the enclosing gradient still flows through it).
     */
    static Tensor variable(Tensor x) {
        Tensor r = resolve(x);
        if (r.isTracked() && !STATE.get().paused) return Primitives.IDENTITY.call(null, r);
        return r.detached().withNode(Node.leaf());
    }

    /** Runs {@code body} with every primitive's output checked: the first to turn finite inputs non-finite throws. */
    static <T> T watchingFinite(Supplier<T> body) {
        State st = STATE.get();
        boolean was = st.watchFinite;
        st.watchFinite = true;
        try {
            return body.get();
        } finally {
            st.watchFinite = was;
        }
    }

    private static void checkFinite(Primitive p, Tensor[] in, Tensor out) {
        int bad = out.firstNonFinite();
        if (bad < 0) return;
        StringBuilder shapes = new StringBuilder();
        for (Tensor t : in) {
            if (t.firstNonFinite() >= 0) return;   // it came in: an earlier op (or the data) made it
            shapes.append(shapes.length() == 0 ? "" : ", ").append(t.shape());
        }
        throw new NonFiniteException(p.name(), "op '" + p.name() + "' turned finite inputs (" + shapes + ") into " + out.getDouble(bad)
                + " at " + out.indexText(bad) + " of its output " + out.shape());
    }

    /** Runs {@code body} with recording paused: its results carry no graph. */
    static <T> T noGrad(Supplier<T> body) {
        State st = STATE.get();
        boolean was = st.paused;
        st.paused = true;
        try {
            return body.get();
        } finally {
            st.paused = was;
        }
    }

    /**
     * Runs {@code body} with recording on even inside {@link #noGrad}: for the rules the engine derives
     * (a JVP from a VJP rule, a second-order term from a JVP rule), which differentiate a small graph
     * of their own while a forward sweep runs unrecorded.
     */
    static <T> T recordingLocally(Supplier<T> body) {
        State st = STATE.get();
        boolean was = st.paused;
        st.paused = false;
        try {
            return body.get();
        } finally {
            st.paused = was;
        }
    }

    // ------------------------------------------------------------ levels

    /** Opens a gradient level binding the given parameters to variables; close it with {@link #closeLevel}. */
    static Map<Parameter, Tensor> openLevel(List<Parameter> params) {
        State st = STATE.get();
        Map<Parameter, Tensor> vars = new IdentityHashMap<>();
        for (Parameter p : params) vars.put(p, variable(p));
        st.bindings.push(vars);
        return vars;
    }

    static void closeLevel() {
        State st = STATE.get();
        st.bindings.pop();
    }

    /** True when some gradient level is open: a backward pass run now must be recorded. */
    static boolean enclosingGradientActive() {
        State st = STATE.get();
        return !st.bindings.isEmpty() && !st.paused;
    }

    // ------------------------------------------------------------ backward

    /**
     * Cotangents of {@code targets} for outputs {@code outputs} weighted by cotangents {@code cts}:
     * {@code sum_i cts_i . d outputs_i / d target}. A target the outputs do not depend on gets zeros.
     * The pass is recorded (differentiable again) iff {@code record}.
     */
    static Tensor[] backward(List<Tensor> outputs, List<Tensor> cts, Tensor[] targets, boolean record) {
        return backward(outputs, cts, targets, record, null);
    }

    /**
     * {@link #backward}, also putting into {@code observed} the full cotangent of each of its keys (an
     * intermediate tensor on a path to a target; null where none arrived): what per-example rules
     * read from one pass, such as a dense layer's output cotangent.
     */
    static Tensor[] backward(List<Tensor> outputs, List<Tensor> cts, Tensor[] targets, boolean record, Map<Tensor, Tensor> observed) {
        State st = STATE.get();
        boolean was = st.paused;
        st.paused = !record;
        try {
            return backwardPass(outputs, cts, targets, observed, false);
        } finally {
            st.paused = was;
        }
    }

    /**
     * The full cotangents of {@code observed}'s keys alone (intermediate tensors; null where none
     * arrives), put into it: the pass runs through them down to the deepest key and forms no other
     * cotangent, so a layer's weight gradient is not computed when only its output cotangent is read.
     */
    static void cotangents(List<Tensor> outputs, List<Tensor> cts, Map<Tensor, Tensor> observed, boolean record) {
        State st = STATE.get();
        boolean was = st.paused;
        st.paused = !record;
        try {
            backwardPass(outputs, cts, observed.keySet().toArray(new Tensor[0]), observed, true);
        } finally {
            st.paused = was;
        }
    }

    /** With {@code throughTargets}, the pass goes on below the targets (their cotangents are then read from {@code observed}). */
    private static Tensor[] backwardPass(List<Tensor> outputs, List<Tensor> cts, Tensor[] targets, Map<Tensor, Tensor> observed, boolean throughTargets) {
        Set<Tensor> targetSet = Collections.newSetFromMap(new IdentityHashMap<>());
        Collections.addAll(targetSet, targets);
        List<Tensor> order = reachingTopologicalOrder(outputs, targetSet, throughTargets);
        Set<Tensor> onPath = Collections.newSetFromMap(new IdentityHashMap<>());
        onPath.addAll(order);
        Map<Tensor, Tensor> grad = new IdentityHashMap<>();
        for (int i = 0; i < outputs.size(); i++) {
            if (onPath.contains(outputs.get(i))) accumulate(grad, outputs.get(i), cts.get(i));
        }
        for (int k = order.size() - 1; k >= 0; k--) {
            Tensor t = order.get(k);
            if (targetSet.contains(t) && !throughTargets) continue;
            Tensor g = grad.remove(t);
            if (observed != null && observed.containsKey(t)) observed.put(t, g);
            Node n = t.node();
            if (g == null || n.isLeaf()) continue;
            Tensor[] in = n.inputs();
            boolean[] needed = new boolean[in.length];
            boolean any = false;
            for (int i = 0; i < in.length; i++) any |= needed[i] = onPath.contains(in[i]);
            if (!any) continue;
            Tensor[] gin = n.primitive().vjp(g, in, t, n.attrs(), needed);
            for (int i = 0; i < in.length; i++) {
                if (needed[i] && gin[i] != null) accumulate(grad, in[i], gin[i]);
            }
        }
        if (throughTargets) return null;
        Tensor[] result = new Tensor[targets.length];
        for (int i = 0; i < targets.length; i++) {
            Tensor g = grad.get(targets[i]);
            result[i] = g != null ? g : Backends.current().full(0, targets[i].dtype(), targets[i].shape());
        }
        return result;
    }

    private static void accumulate(Map<Tensor, Tensor> grad, Tensor t, Tensor g) {
        Tensor prev = grad.get(t);
        grad.put(t, prev == null ? g : Ops.add(prev, g));
    }

    /**
     * The tracked tensors from which a target can be reached, in topological order (inputs before
     * the tensors computed from them). Iterative, so deep graphs do not overflow the stack.
     */
    static List<Tensor> reachingTopologicalOrder(List<Tensor> outputs, Set<Tensor> targets) {
        return reachingTopologicalOrder(outputs, targets, false);
    }

    /** {@link #reachingTopologicalOrder(List, Set)}, going on below the targets when {@code throughTargets}. */
    static List<Tensor> reachingTopologicalOrder(List<Tensor> outputs, Set<Tensor> targets, boolean throughTargets) {
        Map<Tensor, Boolean> reaches = new IdentityHashMap<>();
        List<Tensor> order = new ArrayList<>();
        Deque<Tensor> stack = new ArrayDeque<>();
        Deque<Integer> next = new ArrayDeque<>();
        for (Tensor root : outputs) {
            if (!root.isTracked() || reaches.containsKey(root)) continue;
            stack.push(root);
            next.push(0);
            reaches.put(root, Boolean.FALSE);
            while (!stack.isEmpty()) {
                Tensor t = stack.peek();
                int i = next.pop();
                Tensor[] in = targets.contains(t) && !throughTargets ? new Tensor[0] : t.node().inputs();
                if (i < in.length) {
                    next.push(i + 1);
                    Tensor c = in[i];
                    if (c.isTracked() && !reaches.containsKey(c)) {
                        reaches.put(c, Boolean.FALSE);
                        stack.push(c);
                        next.push(0);
                    }
                    continue;
                }
                stack.pop();
                boolean r = targets.contains(t);
                for (Tensor c : in) r |= reaches.getOrDefault(c, Boolean.FALSE);
                reaches.put(t, r);
                if (r) order.add(t);
            }
        }
        return order;
    }
}
