package org.gradspark.ad;

import java.util.Arrays;
import java.util.List;

/**
 * MindSpore's {@code GradOperation(get_all, get_by_list, sens_param)}: turns a network into the
 * network that computes its gradient. {@link #apply} returns a {@link Cell}, so it nests to any order.
 *
 * <table>
 * <caption>What the gradient cell returns</caption>
 * <tr><th>getAll</th><th>getByList</th><th>called as</th><th>returns</th></tr>
 * <tr><td>false</td><td>false</td><td>{@code apply(net)}</td><td>the gradient w.r.t. the first input</td></tr>
 * <tr><td>true</td><td>false</td><td>{@code apply(net)}</td><td>a tuple: one gradient per input</td></tr>
 * <tr><td>false</td><td>true</td><td>{@code apply(net, params)}</td><td>a tuple: one gradient per parameter</td></tr>
 * <tr><td>true</td><td>true</td><td>{@code apply(net, params)}</td><td>(input gradients, parameter gradients)</td></tr>
 * </table>
 *
 * <p>The gradient is of the sum of the output's elements, or, with {@code sensParam}, of
 * {@code sum(out * sens)} where the caller passes {@code sens} after the inputs (the vector-Jacobian
 * product). A tuple output is differentiated as the sum of its parts, with one sens per part: trailing
 * tensors, or one tuple ({@code g.call(x, y, TensorTuple.of(s1, s2))}, MindSpore's form).
 *
 * <pre>{@code
 * Tensor dx = new GradOperation().apply(new Net()).call(x, y);
 * Cell second = new GradOperation().apply(new GradOperation().apply(new SinNet()));   // -sin(x)
 * }</pre>
 */
public final class GradOperation implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final boolean getAll, getByList, sensParam;

    public GradOperation() {
        this(false, false, false);
    }

    public GradOperation(boolean getAll, boolean getByList, boolean sensParam) {
        this.getAll = getAll;
        this.getByList = getByList;
        this.sensParam = sensParam;
    }

    /** The gradient cell of {@code net} with respect to its inputs. */
    public Cell apply(Cell net) {
        if (getByList) throw new IllegalArgumentException("GradOperation(getByList=true) needs the ParameterTuple: apply(net, params)");
        return new GradCell(net, null, getAll, sensParam);
    }

    /** The gradient cell of {@code net} with respect to {@code params} (and its inputs if getAll). */
    public Cell apply(Cell net, ParameterTuple params) {
        if (!getByList) throw new IllegalArgumentException("GradOperation(getByList=false) takes no ParameterTuple: apply(net)");
        return new GradCell(net, params, getAll, sensParam);
    }

    /** The cell a GradOperation returns. */
    private static final class GradCell extends Cell {
        private static final long serialVersionUID = 1L;
        private final Cell net;
        private final ParameterTuple params;
        private final boolean getAll, sensParam;

        GradCell(Cell net, ParameterTuple params, boolean getAll, boolean sensParam) {
            this.net = net;
            this.params = params;
            this.getAll = getAll;
            this.sensParam = sensParam;
        }

        @Override public int inputCount() {
            int n = net.inputCount();
            return n < 0 || sensParam ? -1 : n;
        }

        @Override public Value construct(Tensor... args) {
            int declared = net.inputCount();
            int nInputs = declared >= 0 ? declared : sensParam ? args.length - 1 : args.length;
            if (nInputs < 0 || nInputs > args.length || (nInputs == 0 && !getAll && params == null)) {
                throw new IllegalArgumentException(describe() + " needs " + (sensParam ? "the inputs and the sensitivity" : "at least one input")
                        + ", got " + args.length + " argument(s)");
            }
            if (sensParam && args.length == nInputs) {
                throw new IllegalArgumentException(describe() + " (sensParam=true) expects the output sensitivity after the "
                        + nInputs + " input(s): got " + args.length + " argument(s)");
            }
            Tensor[] inputs = Arrays.copyOf(args, nInputs);
            return gradient(inputs, sensParam ? Arrays.asList(Arrays.copyOfRange(args, nInputs, args.length)) : null);
        }

        /** MindSpore's {@code grad(net)(x, y, (s1, s2))}: the sens of a tuple output as one tuple, last. */
        @Override protected Value callWithTuples(Value[] args) {
            int n = args.length - 1;
            boolean ok = sensParam && n >= 0 && args[n] instanceof TensorTuple;
            for (int i = 0; ok && i < n; i++) ok = args[i] instanceof Tensor;
            if (!ok) {
                throw new IllegalArgumentException(describe() + " takes Tensors" + (sensParam ? ", and the sens of a tuple output as one tuple after them" : "")
                        + ": got a tuple elsewhere");
            }
            int declared = net.inputCount();
            if (declared >= 0 && declared != n) {
                throw new IllegalArgumentException(describe() + " takes " + declared + " input(s) and the sens, got " + n + " input(s) before the sens tuple");
            }
            if (n == 0 && !getAll && params == null) throw new IllegalArgumentException(describe() + " needs at least one input before the sens");
            return gradient(Arrays.copyOf(args, n, Tensor[].class), args[n].leaves());
        }

        /** The gradient at {@code inputs}, for the sens {@code sens} (null: ones). */
        private Value gradient(Tensor[] inputs, List<Tensor> sens) {
            int nInputs = inputs.length;
            boolean[] wrt = getAll ? Recording.all(nInputs) : params == null ? Recording.only(nInputs, 0) : new boolean[nInputs];
            List<Parameter> ps = params == null ? List.of() : params.asList();
            Recording rec = Recording.of(net, inputs, wrt, ps);

            List<Tensor> outs = rec.outputs();
            List<Tensor> cts;
            if (sens != null) {
                cts = sens;
                Recording.checkSens(outs, cts, describe());
            } else {
                cts = Recording.onesLike(outs);
            }
            Tensor[] targets = new Tensor[rec.inputVars.length + rec.paramVars.length];
            System.arraycopy(rec.inputVars, 0, targets, 0, rec.inputVars.length);
            System.arraycopy(rec.paramVars, 0, targets, rec.inputVars.length, rec.paramVars.length);
            Tensor[] g = rec.pullback(outs, cts, targets);

            Tensor[] inputGrads = Arrays.copyOf(g, rec.inputVars.length);
            Tensor[] paramGrads = Arrays.copyOfRange(g, rec.inputVars.length, g.length);
            if (params == null) return getAll ? Recording.tuple(inputGrads) : inputGrads[0];
            if (!getAll) return Recording.tuple(paramGrads);
            return TensorTuple.of(Recording.tuple(inputGrads), Recording.tuple(paramGrads));
        }

        @Override protected String describe() {
            return "GradOperation(getAll=" + getAll + ", getByList=" + (params != null) + ", sensParam=" + sensParam + ") of " + net.describe();
        }
    }
}
