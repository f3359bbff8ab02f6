package org.gradspark.ad;

import java.io.Serializable;
import java.util.Iterator;
import java.util.List;

/** An ordered tuple of parameters: what {@code GradOperation(getByList=true)} differentiates with respect to. */
public final class ParameterTuple implements Iterable<Parameter>, Serializable {
    private static final long serialVersionUID = 1L;
    private final List<Parameter> params;

    public ParameterTuple(List<Parameter> params) {
        this.params = List.copyOf(params);
    }

    public static ParameterTuple of(Parameter... params) {
        return new ParameterTuple(List.of(params));
    }

    public int size() { return params.size(); }

    public Parameter get(int i) { return params.get(i); }

    public List<Parameter> asList() { return params; }

    @Override public Iterator<Parameter> iterator() { return params.iterator(); }
}
