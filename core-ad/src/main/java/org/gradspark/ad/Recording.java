package org.gradspark.ad;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.gradspark.ad.backend.Backends;

/**
 * One recorded forward pass of a function, ready to be pulled back: the shared core of
 * {@link GradOperation} and the {@link Functional} transforms.
 *
 * <p>The inputs chosen by {@code wrt} and the given parameters are replaced by fresh variables of
 * a new gradient level while the function runs; {@link #pullback} then returns cotangents with
 * respect to exactly those variables. The pullback is recorded (so it can be differentiated again)
 * iff it runs inside another gradient.
 */
final class Recording {
    final Value output;
    final Tensor[] inputVars;
    final Tensor[] paramVars;

    private Recording(Value output, Tensor[] inputVars, Tensor[] paramVars) {
        this.output = output;
        this.inputVars = inputVars;
        this.paramVars = paramVars;
    }

    static Recording of(Fn f, Tensor[] inputs, boolean[] wrt, List<Parameter> params) {
        Map<Parameter, Tensor> bound = Engine.openLevel(params);
        try {
            Tensor[] args = new Tensor[inputs.length];
            List<Tensor> vars = new ArrayList<>();
            for (int i = 0; i < inputs.length; i++) {
                args[i] = wrt[i] ? Engine.variable(inputs[i]) : inputs[i];
                if (wrt[i]) vars.add(args[i]);
            }
            // A parameter returned as it is stands for its variable too, so its share of the output counts.
            Value out = resolveParameters(f.apply(args));
            Tensor[] pv = params.stream().map(bound::get).toArray(Tensor[]::new);
            return new Recording(out, vars.toArray(new Tensor[0]), pv);
        } finally {
            Engine.closeLevel();
        }
    }

    private static Value resolveParameters(Value v) {
        if (v instanceof Tensor t) return Engine.resolve(t);
        if (v == null) throw new IllegalArgumentException("the function returned null instead of a Tensor or a tuple");
        return new TensorTuple(((TensorTuple) v).parts().stream().map(Recording::resolveParameters).toList());
    }

    static boolean[] only(int n, int... positions) {
        boolean[] m = new boolean[n];
        for (int p : positions) {
            if (p < 0 || p >= n) throw new IllegalArgumentException("position " + p + " is out of range for " + n + " input(s)");
            m[p] = true;
        }
        return m;
    }

    static boolean[] all(int n) {
        boolean[] m = new boolean[n];
        Arrays.fill(m, true);
        return m;
    }

    /** The output's tensors (a tuple's parts flattened): what is differentiated, as their sum. */
    List<Tensor> outputs() {
        return output.leaves();
    }

    /** Cotangents of {@code targets} for cotangents {@code cts} of {@code outputs} (each the shape and dtype of its output). */
    Tensor[] pullback(List<Tensor> outputs, List<Tensor> cts, Tensor[] targets) {
        return Engine.backward(outputs, cts, targets, Engine.enclosingGradientActive());
    }

    /** Ones for every output: MindSpore's default sensitivity. */
    static List<Tensor> onesLike(List<Tensor> outputs) {
        return outputs.stream().map(o -> Backends.current().full(1, o.dtype(), o.shape())).toList();
    }

    /** Checks caller-given sensitivities against the outputs: count, shape and dtype. */
    static void checkSens(List<Tensor> outputs, List<Tensor> sens, String who) {
        checkCotangents(outputs, sens, who, "sens", "sensitivity tensor(s)");
    }

    /**
     * Checks cotangents (sens, vjp cotangents) against the outputs, one line naming the part and
     * both shapes or both dtypes: as JAX, a cotangent of another dtype is refused, never computed in it.
     */
    static void checkCotangents(List<Tensor> outputs, List<Tensor> cts, String who, String noun, String plural) {
        if (cts.size() != outputs.size()) {
            throw new IllegalArgumentException(who + ": the output has " + outputs.size() + " part(s) but " + cts.size() + " " + plural + " were given");
        }
        for (int i = 0; i < cts.size(); i++) {
            Tensor o = outputs.get(i), s = cts.get(i);
            String part = cts.size() > 1 ? i + " " : "";
            if (!o.shape().equals(s.shape())) {
                throw new IllegalArgumentException(who + ": " + noun + " " + part + "has shape " + s.shape() + " but the output " + part
                        + "has shape " + o.shape());
            }
            if (o.dtype() != s.dtype()) {
                throw new IllegalArgumentException(who + ": " + noun + " " + part + "has dtype " + s.dtype().numpyName() + " but the output "
                        + part + "has dtype " + o.dtype().numpyName());
            }
        }
    }

    /** A value handed back to the caller: cut from the graph unless an enclosing gradient needs it. */
    static Value release(Value v) {
        if (Engine.enclosingGradientActive()) return v;
        if (v instanceof Tensor t) return t.detached();
        return new TensorTuple(((TensorTuple) v).parts().stream().map(Recording::release).toList());
    }

    static TensorTuple tuple(Tensor[] ts) {
        return new TensorTuple(Arrays.asList(ts));
    }
}
