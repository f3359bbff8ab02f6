package org.gradspark.ad;

import java.util.Objects;

/**
 * A differentiable primitive: a forward kernel on constants and a vector-Jacobian rule.
 *
 * <p>The rule receives the output cotangent {@code g}, the inputs, the output and the attributes,
 * and returns one cotangent per input, shaped like that input (null where {@code needed} is false
 * or the input is not differentiable). <b>A rule is written with the public ops of {@link Ops}</b>,
 * never with raw buffers: when a gradient is itself being differentiated, the rule's ops are
 * recorded and can be differentiated again, which is all that higher-order derivatives need.
 *
 * <p>The built-in primitives live in one table, {@link Primitives}. Users may define their own
 * with {@link #define}; one defined without a rule fails loudly, naming itself, when differentiated.
 */
public final class Primitive {

    /** Computes the output from constant inputs. */
    @FunctionalInterface
    public interface Forward {
        Tensor apply(Tensor[] inputs, Object attrs);
    }

    /** The vector-Jacobian product: cotangents of the inputs from the cotangent {@code g} of the output. */
    @FunctionalInterface
    public interface Vjp {
        Tensor[] apply(Tensor g, Tensor[] inputs, Tensor out, Object attrs, boolean[] needed);
    }

    private final String name;
    private final int arity;
    private final Forward forward;
    private final Vjp vjp;

    private Primitive(String name, int arity, Forward forward, Vjp vjp) {
        this.name = Objects.requireNonNull(name);
        this.arity = arity;
        this.forward = Objects.requireNonNull(forward);
        this.vjp = vjp;
    }

    /**
     * A new primitive. {@code arity} is its number of inputs, or -1 for any number;
     * {@code vjp} may be null for an op that must never be differentiated.
     */
    public static Primitive define(String name, int arity, Forward forward, Vjp vjp) {
        return new Primitive(name, arity, forward, vjp);
    }

    public String name() { return name; }

    /** Number of inputs, or -1 for variadic. */
    public int arity() { return arity; }

    public boolean hasVjp() { return vjp != null; }

    /** Applies this primitive to tensors (recording it when a gradient is being taken). */
    public Tensor call(Object attrs, Tensor... inputs) {
        if (arity >= 0 && inputs.length != arity) {
            throw new IllegalArgumentException(name + ": expects " + arity + " inputs, got " + inputs.length);
        }
        return Engine.apply(this, attrs, inputs);
    }

    Tensor forward(Tensor[] inputs, Object attrs) {
        return forward.apply(inputs, attrs);
    }

    Tensor[] vjp(Tensor g, Tensor[] inputs, Tensor out, Object attrs, boolean[] needed) {
        if (vjp == null) {
            throw new UnsupportedOperationException("primitive '" + name + "' has no VJP rule: it cannot be differentiated");
        }
        Tensor[] grads = vjp.apply(g, inputs, out, attrs, needed);
        if (grads.length != inputs.length) {
            throw new IllegalStateException("VJP rule of '" + name + "' returned " + grads.length + " cotangents for " + inputs.length + " inputs");
        }
        for (int i = 0; i < grads.length; i++) {
            if (needed[i] && grads[i] != null && !grads[i].shape().equals(inputs[i].shape())) {
                throw new IllegalStateException("VJP rule of '" + name + "' returned a cotangent of shape " + grads[i].shape()
                        + " for input " + i + " of shape " + inputs[i].shape());
            }
        }
        return grads;
    }

    @Override public String toString() { return name; }
}
