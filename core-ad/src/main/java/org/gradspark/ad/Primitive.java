package org.gradspark.ad;

import java.util.Objects;

/**
 * A differentiable primitive: a forward kernel on constants, a vector-Jacobian rule (reverse mode),
 * a Jacobian-vector rule (forward mode) and a second-order rule (Taylor mode).
 *
 * <p>The VJP rule receives the output cotangent {@code g}, the inputs, the output and the attributes,
 * and returns one cotangent per input, shaped like that input (null where {@code needed} is false
 * or the input is not differentiable). <b>A rule is written with the public ops of {@link Ops}</b>,
 * never with raw buffers: when a gradient is itself being differentiated, the rule's ops are
 * recorded and can be differentiated again, which is all that higher-order derivatives need.
 *
 * <p>The forward rule (JAX's {@code defjvp}) maps tangents of the inputs to the tangent of the output.
 * A tangent carries a leading batch of directions: for an input of shape {@code s} it has shape
 * {@code [k] ++ s'}, where {@code s'} has the rank of {@code s} and broadcasts to it (a size-1 axis is a
 * tangent that is the same along that axis, such as a direction shared by every row); null is a zero
 * tangent. The rule returns the output's tangent in the same form, or null for zero. Because it is
 * written with public ops too, forward-over-reverse and reverse-over-forward work to any order.
 *
 * <p>The second-order rule gives {@code D²f(x)[u_j, v_j]} for each direction j (u, v tangents as
 * above), the term by which a Taylor sweep (forward Laplacian, Hessian diagonal) differs from two
 * first-order sweeps: {@code d²/dε² f(x + ε t) = Df(x)[t''] + D²f(x)[t', t']}. {@link #LINEAR} says it
 * is zero.
 *
 * <p>The built-in primitives live in one table, {@link Primitives}. Users may define their own
 * with {@link #define}; one defined without a VJP rule fails loudly, naming itself, when
 * differentiated; without a JVP rule its forward mode is derived from the VJP rule (transposed, one
 * direction at a time), and without a second-order rule that term is derived from the JVP rule by
 * forward mode over it.
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

    /**
     * The Jacobian-vector product: the output's tangent from the inputs' tangents (each
     * {@code [k] ++ shape} broadcastable, or null for zero), or null when it is zero.
     */
    @FunctionalInterface
    public interface Jvp {
        Tensor apply(Tensor[] tangents, Tensor[] inputs, Tensor out, Object attrs);
    }

    /**
     * The second derivative along pairs of directions: {@code D²f(x)[u_j, v_j]} for each direction j,
     * of shape {@code [k] ++ out} (broadcastable), or, with {@code sumDirections}, their sum over j as
     * {@code [1] ++ out}; null when it is zero. {@code u} and {@code v} are tangents as for {@link Jvp}.
     */
    @FunctionalInterface
    public interface SecondOrder {
        Tensor apply(Tensor[] u, Tensor[] v, Tensor[] inputs, Tensor out, Object attrs, boolean sumDirections);
    }

    /** The second-order rule of a primitive that is linear in its inputs taken together: zero. */
    public static final SecondOrder LINEAR = (u, v, in, y, attrs, sum) -> null;

    private final String name;
    private final int arity;
    private final Forward forward;
    private final Vjp vjp;
    private final Jvp jvp;
    private final SecondOrder secondOrder;

    private Primitive(String name, int arity, Forward forward, Vjp vjp, Jvp jvp, SecondOrder secondOrder) {
        this.name = Objects.requireNonNull(name);
        this.arity = arity;
        this.forward = Objects.requireNonNull(forward);
        this.vjp = vjp;
        this.jvp = jvp;
        this.secondOrder = secondOrder;
    }

    /**
     * A new primitive with a reverse rule only. {@code arity} is its number of inputs, or -1 for any
     * number; {@code vjp} may be null for an op that must never be differentiated. Forward mode
     * derives its JVP from the VJP rule (one transposition per direction: correct, not fast).
     */
    public static Primitive define(String name, int arity, Forward forward, Vjp vjp) {
        return new Primitive(name, arity, forward, vjp, null, null);
    }

    /**
     * A new primitive with both rules and, optionally, its second-order rule ({@link #LINEAR} for a
     * linear op; null to derive it from the JVP rule).
     */
    public static Primitive define(String name, int arity, Forward forward, Vjp vjp, Jvp jvp, SecondOrder secondOrder) {
        return new Primitive(name, arity, forward, vjp, Objects.requireNonNull(jvp, "jvp"), secondOrder);
    }

    public String name() { return name; }

    /** Number of inputs, or -1 for variadic. */
    public int arity() { return arity; }

    public boolean hasVjp() { return vjp != null; }

    /** True when the primitive declares its own JVP rule (not one derived from its VJP rule). */
    public boolean hasJvp() { return jvp != null; }

    /** True when the primitive declares its own second-order rule (not one derived from its JVP rule). */
    public boolean hasSecondOrder() { return secondOrder != null; }

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

    /** The output's tangent, or null for zero; tangents are {@code [k] ++ shape} (broadcastable) or null. */
    Tensor jvp(Tensor[] tangents, Tensor[] inputs, Tensor out, Object attrs) {
        int k = Tangents.batch(tangents);
        if (k < 0) return null;
        Tensor t;
        if (jvp != null) {
            t = jvp.apply(tangents, inputs, out, attrs);
        } else if (vjp != null) {
            t = Tangents.jvpByTransposingVjp(this, tangents, inputs, out, attrs, k);
        } else {
            throw new UnsupportedOperationException("primitive '" + name + "' has no JVP or VJP rule: it cannot be differentiated");
        }
        if (t != null) Tangents.check(t, k, out.shape(), "JVP rule of '" + name + "'");
        return t;
    }

    /** {@code D²f[u_j, v_j]} per direction, or summed ([1] ++ out); null for zero. */
    Tensor secondOrder(Tensor[] u, Tensor[] v, Tensor[] inputs, Tensor out, Object attrs, boolean sumDirections) {
        int k = Tangents.batch(u);
        if (k < 0 || Tangents.batch(v) < 0) return null;
        Tensor s = secondOrder != null ? secondOrder.apply(u, v, inputs, out, attrs, sumDirections)
                : Tangents.secondOrderFromJvp(this, u, v, inputs, attrs, sumDirections);
        if (s != null) Tangents.check(s, sumDirections ? 1 : k, out.shape(), "second-order rule of '" + name + "'");
        return s;
    }

    @Override public String toString() { return name; }
}
