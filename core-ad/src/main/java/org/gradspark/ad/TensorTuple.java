package org.gradspark.ad;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;

/** An immutable tuple of values (Tensors or nested tuples), printed as Python prints a tuple. */
public final class TensorTuple implements Value, Iterable<Value>, Serializable {
    private static final long serialVersionUID = 1L;
    private final List<Value> parts;

    public TensorTuple(List<? extends Value> parts) {
        this.parts = List.copyOf(parts);
    }

    public static TensorTuple of(Value... parts) {
        return new TensorTuple(List.of(parts));
    }

    public int size() { return parts.size(); }

    public Value get(int i) { return parts.get(i); }

    /** Part {@code i}, which must be a Tensor. */
    public Tensor tensor(int i) { return parts.get(i).asTensor(); }

    public List<Value> parts() { return parts; }

    @Override public List<Tensor> leaves() {
        List<Tensor> out = new ArrayList<>();
        for (Value v : parts) out.addAll(v.leaves());
        return out;
    }

    @Override public Iterator<Value> iterator() { return parts.iterator(); }

    @Override public String toString() {
        String body = parts.stream().map(Object::toString).collect(Collectors.joining(",\n "));
        return "(" + body + (parts.size() == 1 ? ",)" : ")");
    }
}
