package org.gradspark.ad;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One forward pass of a function recorded with respect to parameters and to one input whose leading
 * axis is the examples (the rows), kept so that its graph can be read and pulled back more than once:
 * which ops read each parameter ({@link #uses}), whether every op keeps the rows apart
 * ({@link #keepsRowsApart}), and cotangents that also report those of chosen intermediate tensors
 * ({@link #pullback}). Per-example rules (a dense layer's gradient of example n is its input row
 * times its output cotangent row) need exactly these; the graph lives as long as this object.
 */
public final class RecordedForward {
    private final Recording recording;
    private final Tensor rowVariable;
    private final int rows;

    private RecordedForward(Recording recording, int rows) {
        this.recording = recording;
        this.rowVariable = recording.inputVars[0];
        this.rows = rows;
    }

    /** Records {@code f(inputs)} with {@code inputs[rowInput]} (one row per example) and the parameters as variables. */
    public static RecordedForward of(Fn f, Tensor[] inputs, int rowInput, List<Parameter> params) {
        Tensor x = inputs[rowInput];
        if (x.rank() < 1) throw new IllegalArgumentException("RecordedForward: the row input must have a leading axis of rows, got shape " + x.shape());
        return new RecordedForward(Recording.of(f, inputs, Recording.only(inputs.length, rowInput), params), x.shape().dim(0));
    }

    /** The outputs (a tuple's parts flattened), still recorded: pass one of them to {@link #pullback}. */
    public List<Tensor> outputs() {
        return recording.outputs();
    }

    /**
     * An op reading a parameter: the primitive (null when the parameter is itself an output), its
     * attributes, the parameter's operand position, the operands' values, whether each operand is
     * computed from the row input, and the op's result (recorded: a key for {@link #pullback}'s observed
     * cotangents).
     */
    public record Use(Primitive primitive, Object attrs, int position, List<Tensor> operands, List<Boolean> fromRows, Tensor result) {}

    /** Every op that reads parameter {@code index} (one entry per operand position it fills). */
    public List<Use> uses(int index) {
        Tensor var = recording.paramVars[index];
        List<Use> found = new ArrayList<>();
        for (Tensor out : outputs()) if (out == var) found.add(new Use(null, null, 0, List.of(), List.of(), out));
        Set<Tensor> rowed = identitySet(reaching(rowVariable));
        for (Tensor t : reaching(recording.paramVars)) {
            if (t.node().isLeaf()) continue;
            Tensor[] in = t.node().inputs();
            for (int i = 0; i < in.length; i++) {
                if (in[i] != var) continue;
                List<Tensor> values = new ArrayList<>();
                List<Boolean> fromRows = new ArrayList<>();
                for (Tensor operand : in) {
                    values.add(operand.detached());
                    fromRows.add(rowed.contains(operand));
                }
                found.add(new Use(t.node().primitive(), t.node().attrs(), i, List.copyOf(values), List.copyOf(fromRows), t));
            }
        }
        return found;
    }

    /**
     * True when row n of every recorded tensor computed from the row input depends on row n of the
     * row input alone: each such op is elementwise, a matMul {@code [rows, in] @ W} with W not computed
     * from the rows, a reduction, reshape, permutation, slice, pad or concat that leaves the row axis
     * alone. A primitive outside the table, or one that mixes rows, makes it false.
     */
    public boolean keepsRowsApart() {
        List<Tensor> rowed = reaching(rowVariable);
        Set<Tensor> rowedSet = identitySet(rowed);
        for (Tensor t : rowed) {
            if (t.rank() < 1 || t.shape().dim(0) != rows) return false;
            if (t.node().isLeaf()) continue;
            if (!keepsRowsApart(t, rowedSet)) return false;
        }
        return true;
    }

    private boolean keepsRowsApart(Tensor t, Set<Tensor> rowed) {
        Primitive p = t.node().primitive();
        Object attrs = t.node().attrs();
        Tensor[] in = t.node().inputs();
        for (Tensor i : in) {
            if (rowed.contains(i) && (i.rank() < 1 || i.shape().dim(0) != rows)) return false;
        }
        if (ELEMENTWISE.contains(p) || p == Primitives.SUM_TO || p == Primitives.BROADCAST_TO) {
            for (Tensor i : in) if (rowed.contains(i) && i.rank() != t.rank()) return false;
            return true;
        }
        if (p == Primitives.MATMUL) {
            return !((MatMulFlags) attrs).transA() && in[0].rank() == 2 && !rowed.contains(in[1]);
        }
        if (p == Primitives.SUM || p == Primitives.MAX) {
            for (int a : ((Primitives.Axes) attrs).axes()) if (a == 0) return false;
            return true;
        }
        if (p == Primitives.RESHAPE) return true;
        if (p == Primitives.PERMUTE) return ((int[]) attrs)[0] == 0;
        if (p == Primitives.SLICE) return ((Primitives.SliceSpec) attrs).begin()[0] == 0 && ((Primitives.SliceSpec) attrs).size()[0] == rows;
        if (p == Primitives.PAD) return ((Primitives.PadSpec) attrs).before()[0] == 0 && ((Primitives.PadSpec) attrs).after()[0] == 0;
        if (p == Primitives.CONCAT) return (Integer) attrs != 0;
        return false;
    }

    private static final Set<Primitive> ELEMENTWISE = identitySet(List.of(
            Primitives.NEG, Primitives.EXP, Primitives.LOG, Primitives.SIN, Primitives.COS, Primitives.TANH, Primitives.SIGMOID,
            Primitives.RELU, Primitives.SQRT, Primitives.ADD, Primitives.MUL, Primitives.DIV, Primitives.POW, Primitives.TANH_BACKWARD,
            Primitives.SIGMOID_BACKWARD, Primitives.GREATER, Primitives.EQUAL, Primitives.WHERE, Primitives.CAST, Primitives.IDENTITY));

    /**
     * The cotangents of the parameters for cotangent {@code cotangent} of {@code output} (one of
     * {@link #outputs}); each key of {@code observed} (a recorded tensor, such as a {@link Use#result})
     * gets its own full cotangent, or null when none reaches it (keys are compared by identity).
     */
    public Tensor[] pullback(Tensor output, Tensor cotangent, Map<Tensor, Tensor> observed) {
        Map<Tensor, Tensor> keys = new IdentityHashMap<>();
        for (Tensor k : observed.keySet()) keys.put(k, null);
        Tensor[] g = Engine.backward(List.of(output), List.of(cotangent), recording.paramVars, Engine.enclosingGradientActive(), keys);
        observed.replaceAll((k, v) -> keys.get(k));
        return g;
    }

    /**
     * Only the cotangents of {@code observed}'s keys (recorded tensors, compared by identity; null where
     * none reaches one) for cotangent {@code cotangent} of {@code output}: no parameter's cotangent is
     * formed, so a dense layer's weight gradient (one matMul) is skipped when only its output cotangent is read.
     */
    public void cotangents(Tensor output, Tensor cotangent, Map<Tensor, Tensor> observed) {
        Map<Tensor, Tensor> keys = new IdentityHashMap<>();
        for (Tensor k : observed.keySet()) keys.put(k, null);
        Engine.cotangents(List.of(output), List.of(cotangent), keys, Engine.enclosingGradientActive());
        observed.replaceAll((k, v) -> keys.get(k));
    }

    private List<Tensor> reaching(Tensor... targets) {
        return Engine.reachingTopologicalOrder(outputs(), identitySet(List.of(targets)));
    }

    private static <T> Set<T> identitySet(List<T> items) {
        Set<T> s = Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(items);
        return s;
    }
}
