package org.gradspark.ad.nn;

import java.util.Locale;
import java.util.function.UnaryOperator;
import org.gradspark.ad.Cell;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;

/** An elementwise activation as a Cell: {@code tanh}, {@code sigmoid}, {@code relu}, {@code sin} or {@code identity}. */
public final class Activation extends Cell {
    private static final long serialVersionUID = 1L;

    /** The activations by name. */
    public enum Kind {
        TANH(Ops::tanh), SIGMOID(Ops::sigmoid), RELU(Ops::relu), SIN(Ops::sin), IDENTITY(x -> x);

        private final UnaryOperator<Tensor> f;

        Kind(UnaryOperator<Tensor> f) {
            this.f = f;
        }

        /** Parses {@code tanh|sigmoid|relu|sin|identity}, naming the choices on error. */
        public static Kind parse(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown activation '" + name + "'; expected one of tanh, sigmoid, relu, sin, identity");
            }
        }
    }

    private final Kind kind;

    public Activation(Kind kind) {
        this.kind = kind;
    }

    public static Activation tanh() { return new Activation(Kind.TANH); }

    public static Activation sigmoid() { return new Activation(Kind.SIGMOID); }

    public static Activation relu() { return new Activation(Kind.RELU); }

    public static Activation sin() { return new Activation(Kind.SIN); }

    public Kind kind() { return kind; }

    @Override public int inputCount() { return 1; }

    @Override public Tensor construct(Tensor... in) {
        return kind.f.apply(in[0]);
    }

    @Override protected String describe() {
        return kind.name().toLowerCase(Locale.ROOT);
    }
}
