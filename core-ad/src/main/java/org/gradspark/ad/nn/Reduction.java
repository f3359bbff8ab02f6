package org.gradspark.ad.nn;

import java.util.Locale;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;

/** How a loss combines per-element (or per-example) values: {@code none}, {@code sum} or {@code mean}. */
public enum Reduction {
    NONE, SUM, MEAN;

    Tensor apply(Tensor perElement) {
        return switch (this) {
            case NONE -> perElement;
            case SUM -> Ops.sum(perElement);
            case MEAN -> Ops.mean(perElement);
        };
    }

    public static Reduction parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown reduction '" + name + "'; expected none, sum or mean");
        }
    }
}
