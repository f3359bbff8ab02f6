package org.gradspark.ad;

import java.io.Serializable;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A network, as MindSpore's {@code nn.Cell}: {@link #construct} computes the output from the inputs,
 * and the {@link Parameter}s held in its fields (and in sub-cells' fields, arrays and lists, and
 * captured by an anonymous cell or by a lambda held in a field) are its trainable weights. Cells are {@link Serializable}, so they travel to Spark executors.
 *
 * <pre>{@code
 * class Net extends Cell {
 *     final Parameter z = new Parameter(Tensor.of(new float[] {1f}), "z");
 *     @Override public Tensor construct(Tensor... in) { return matMul(mul(in[0], z), in[1]); }
 * }
 * }</pre>
 *
 * A cell may define its own backward by overriding {@link #bprop} (MindSpore's custom bprop).
 */
public abstract class Cell implements Fn, Serializable {
    private static final long serialVersionUID = 1L;

    /** The forward computation. */
    public abstract Value construct(Tensor... inputs);

    /**
     * How many inputs {@link #construct} takes, or -1 if it does not say. Declaring it gives clear
     * errors on a wrong number of arguments, and tells a {@code sensParam} gradient how many of its
     * arguments are sensitivities when the output is a tuple.
     */
    public int inputCount() {
        return -1;
    }

    /**
     * Calls {@link #construct} (with the custom {@link #bprop} attached if the cell defines one),
     * checking the number of arguments. The result type is chosen by the caller:
     * {@code Tensor dx = gradCell.call(x, y)} or {@code TensorTuple g = gradAll.call(x, y)}.
     */
    @SuppressWarnings("unchecked")
    public final <T extends Value> T call(Tensor... args) {
        int n = inputCount();
        if (n >= 0 && args.length != n) {
            throw new IllegalArgumentException(describe() + " takes " + n + " input(s), got " + args.length);
        }
        try {
            return (T) (hasCustomBprop() ? callWithBprop(args) : construct(args));
        } catch (ArrayIndexOutOfBoundsException e) {
            StackTraceElement top = e.getStackTrace().length > 0 ? e.getStackTrace()[0] : null;
            if (top != null && top.getClassName().equals(getClass().getName()) && top.getMethodName().equals("construct")) {
                throw new IllegalArgumentException(describe() + ".construct read an argument it was not given: called with "
                        + args.length + " argument(s) (" + e.getMessage() + ")", e);
            }
            throw e;
        }
    }

    /**
     * {@link #call(Tensor...)} where an argument may be a tuple: MindSpore's form
     * {@code grad(net)(x, y, (s1, s2))} of the sens of a tuple output. Tensors only is the same as
     * {@code call(Tensor...)}; a tuple is accepted only by cells that say so ({@link #callWithTuples}).
     */
    @SuppressWarnings("unchecked")
    public final <T extends Value> T call(Value... args) {
        boolean tensors = true;
        for (Value v : args) tensors &= v instanceof Tensor;
        if (tensors) return call(java.util.Arrays.copyOf(args, args.length, Tensor[].class));
        return (T) callWithTuples(args);
    }

    /** A call with a tuple among the arguments: refused, naming it, unless the cell overrides this. */
    protected Value callWithTuples(Value[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof TensorTuple t) {
                throw new IllegalArgumentException(describe() + " takes Tensors: argument " + i + " is a tuple of " + t.size() + " values"
                        + " (a tuple is accepted only as the sens of a GradOperation(sensParam=true) cell)");
            }
        }
        throw new IllegalStateException("no tuple among the arguments");
    }

    @Override
    public final Value apply(Tensor... args) {
        return call(args);
    }

    /**
     * A custom backward: the cotangents of the inputs given the inputs, the output and the output's
     * cotangent {@code dout}. Write it with {@link Ops} to keep it differentiable. Not overridden by
     * default, in which case the recorded forward is differentiated.
     */
    protected Tensor[] bprop(Tensor[] inputs, Tensor out, Tensor dout) {
        throw new UnsupportedOperationException(describe() + " defines no bprop");
    }

    private static final ClassValue<Boolean> OVERRIDES_BPROP = new ClassValue<>() {
        @Override protected Boolean computeValue(Class<?> c) {
            for (Class<?> k = c; k != Cell.class; k = k.getSuperclass()) {
                try {
                    k.getDeclaredMethod("bprop", Tensor[].class, Tensor.class, Tensor.class);
                    return true;
                } catch (NoSuchMethodException e) {
                    // keep looking in the superclass
                }
            }
            return false;
        }
    };

    private boolean hasCustomBprop() {
        return OVERRIDES_BPROP.get(getClass());
    }

    private Value callWithBprop(Tensor[] args) {
        Value out = Engine.noGrad(() -> construct(args));
        if (!(out instanceof Tensor y)) throw new IllegalStateException(describe() + " has a bprop, so construct must return one Tensor");
        Primitive rule = Primitive.define("bprop of " + describe(), args.length,
                (in, attrs) -> y,
                (g, in, o, attrs, needed) -> bprop(in, o, g));
        return rule.call(null, args);
    }

    // ------------------------------------------------------------ parameters

    /** The trainable parameters, found recursively in fields, in declaration order, each once. */
    public List<Parameter> trainableParams() {
        return new ArrayList<>(namedParameters().values());
    }

    /**
     * The parameters by stable path name: {@code z} for a field {@code z}, {@code layers.0.weight}
     * for the field {@code weight} of the first cell in a list field {@code layers}.
     */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect(this, "", out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    /**
     * Gives each named parameter ({@link #namedParameters}) the value of the same name in
     * {@code values}, cast to the parameter's dtype: a fresh {@link Parameter} of the same name
     * replaces the old one where the cell holds it (a field, an array or list element). The keys must
     * be exactly the parameters' names and the shapes theirs. A trained cell's weights, put back into a
     * newly created cell of the same class (a job's tasks build the user's Cell by its class).
     *
     * @throws IllegalArgumentException naming the key whose name or shape does not fit
     * @throws IllegalStateException    when a parameter is held where it cannot be replaced (a final field
     *                                  of a lambda, an unmodifiable list)
     */
    public final void assignParameters(Map<String, ? extends Tensor> values) {
        Map<String, Parameter> current = namedParameters();
        if (!current.keySet().equals(values.keySet())) {
            throw new IllegalArgumentException(describe() + ": parameters " + current.keySet() + ", but values for " + values.keySet());
        }
        Map<Parameter, Parameter> replacement = new IdentityHashMap<>();
        for (Map.Entry<String, Parameter> e : current.entrySet()) {
            Parameter old = e.getValue();
            Tensor v = values.get(e.getKey());
            if (!v.shape().equals(old.shape())) {
                throw new IllegalArgumentException(describe() + ", parameter " + e.getKey() + ": shape " + old.shape() + ", but the value's is " + v.shape());
            }
            replacement.put(old, new Parameter(v.convertedOnHost(old.dtype()), old.name()));
        }
        replace(this, replacement, Collections.newSetFromMap(new IdentityHashMap<>()));
        Map<String, Parameter> now = namedParameters();
        for (Map.Entry<String, Parameter> e : current.entrySet()) {
            if (now.get(e.getKey()) != replacement.get(e.getValue())) throw new IllegalStateException(describe() + ": cannot replace parameter " + e.getKey());
        }
    }

    /** Replaces, wherever {@link #collect} finds them, the parameters that {@code r} maps. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void replace(Object o, Map<Parameter, Parameter> r, Set<Object> seen) {
        if (o == null || o instanceof Parameter || !seen.add(o)) return;
        if (o instanceof Cell || o instanceof Fn || o instanceof ParameterTuple) {
            for (Class<?> k = o.getClass(); k != null && k != Object.class && k != Cell.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (Modifier.isStatic(f.getModifiers()) || f.getName().startsWith("this$")) continue;
                    try {
                        f.setAccessible(true);
                        Object v = f.get(o);
                        if (v instanceof Parameter p && r.containsKey(p)) f.set(o, r.get(p));
                        else replace(v, r, seen);
                    } catch (IllegalAccessException | RuntimeException e) {
                        throw new IllegalStateException("cannot replace the parameters in field " + f, e);
                    }
                }
            }
        } else if (o instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                Object e = list.get(i);
                if (e instanceof Parameter p && r.containsKey(p)) ((List) list).set(i, r.get(p));
                else replace(e, r, seen);
            }
        } else if (o instanceof Collection<?> c) {
            for (Object e : c) replace(e, r, seen);
        } else if (o.getClass().isArray() && !o.getClass().getComponentType().isPrimitive()) {
            for (int i = 0; i < Array.getLength(o); i++) {
                Object e = Array.get(o, i);
                if (e instanceof Parameter p && r.containsKey(p)) Array.set(o, i, r.get(p));
                else replace(e, r, seen);
            }
        }
    }

    private static void collect(Object o, String prefix, Map<String, Parameter> out, Set<Object> seen) {
        if (o == null || !seen.add(o)) return;
        if (o instanceof Parameter p) {
            out.put(prefix.isEmpty() ? p.name() : prefix, p);
        } else if (o instanceof Cell c) {
            for (Class<?> k : hierarchy(c.getClass())) collectFields(c, k, prefix, out, seen);
        } else if (o instanceof Fn fn) {
            // A lambda (or another Fn) held by a cell: the parameters it captured are the cell's too.
            for (Class<?> k = fn.getClass(); k != null && k != Object.class; k = k.getSuperclass()) collectFields(fn, k, prefix, out, seen);
        } else if (o instanceof Collection<?> list) {
            int i = 0;
            for (Object e : list) collect(e, join(prefix, String.valueOf(i++)), out, seen);
        } else if (o.getClass().isArray() && !o.getClass().getComponentType().isPrimitive()) {
            for (int i = 0; i < Array.getLength(o); i++) collect(Array.get(o, i), join(prefix, String.valueOf(i)), out, seen);
        } else if (o instanceof ParameterTuple t) {
            collect(t.asList(), prefix, out, seen);
        }
    }

    /**
     * The fields of {@code o} declared by {@code k}. Locals captured by an anonymous cell ({@code val$w})
     * and by a lambda ({@code arg$1}) count, named by the local or by the parameter's own name; the
     * reference to an enclosing instance ({@code this$0}) does not.
     */
    private static void collectFields(Object o, Class<?> k, String prefix, Map<String, Parameter> out, Set<Object> seen) {
        for (Field f : k.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) || f.getName().startsWith("this$")) continue;
            Object v;
            try {
                f.setAccessible(true);
                v = f.get(o);
            } catch (IllegalAccessException | RuntimeException e) {
                throw new IllegalStateException("cannot read field " + f + " while looking for parameters", e);
            }
            String name = f.getName();
            if (name.startsWith("val$")) {
                name = join(prefix, name.substring(4));
            } else if (f.isSynthetic() || k.isSynthetic() || k.isHidden()) {
                name = v instanceof Parameter p ? join(prefix, p.name()) : prefix;
            } else {
                name = join(prefix, name);
            }
            collect(v, name, out, seen);
        }
    }

    private static List<Class<?>> hierarchy(Class<?> c) {
        List<Class<?>> chain = new ArrayList<>();
        for (Class<?> k = c; k != null && k != Cell.class; k = k.getSuperclass()) chain.add(0, k);
        return chain;
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    /** The cell's name in messages. */
    protected String describe() {
        String s = getClass().getSimpleName();
        return s.isEmpty() ? getClass().getName() : s;
    }
}
