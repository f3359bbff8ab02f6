package org.gradspark.ad;

/**
 * A trainable weight of a {@link Cell}: a named tensor that gradients can be taken with respect to
 * ({@code GradOperation(getByList=true)}, {@link Functional#grad(Fn, int[], ParameterTuple, boolean)}).
 * Used in ops like any tensor; inside such a gradient it stands for that gradient's variable.
 */
public final class Parameter extends Tensor {
    private static final long serialVersionUID = 1L;
    private final String name;

    public Parameter(Tensor value, String name) {
        super(value);
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a Parameter needs a name");
        this.name = name;
    }

    public String name() { return name; }

    /** The current value as a plain tensor. */
    public Tensor value() { return detached(); }

    /** As MindSpore prints a Parameter. */
    @Override public String toString() {
        String dims = shape().rank() == 1 ? "(" + shape().dim(0) + ",)" : shape().toString().replace('[', '(').replace(']', ')');
        return "Parameter (name=" + name + ", shape=" + dims + ", dtype=" + (dtype() == DType.FLOAT32 ? "Float32" : "Float64")
                + ", requires_grad=True)";
    }
}
