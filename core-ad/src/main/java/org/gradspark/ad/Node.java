package org.gradspark.ad;

/**
 * The autodiff link of a recorded tensor: the primitive that produced it, its attributes and its
 * inputs. A leaf (a variable a gradient is taken with respect to) has no primitive and no inputs.
 */
record Node(Primitive primitive, Object attrs, Tensor[] inputs) {
    static Node leaf() {
        return new Node(null, null, new Tensor[0]);
    }

    boolean isLeaf() {
        return primitive == null;
    }
}
