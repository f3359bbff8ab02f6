package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.tutorial.TutorialExamples;
import org.junit.jupiter.api.Test;

/** A user mistake gets a message naming the op, the shapes or the dtypes at fault. */
class ErrorMessagesTest {
    static final Tensor A23 = Tensor.zeros(DType.FLOAT32, 2, 3);
    static final Tensor B42 = Tensor.zeros(DType.FLOAT32, 4, 2);

    private static void assertMentions(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
    }

    @Test
    void matMulOfMisalignedShapesNamesTheOpAndBothShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> matMul(A23, B42));
        assertMentions(e, "matMul", "[2, 3]", "[4, 2]", "3 != 4");
        var t = assertThrows(IllegalArgumentException.class, () -> matMul(A23, A23, false, false));
        assertMentions(t, "matMul", "[2, 3]");
        var r = assertThrows(IllegalArgumentException.class, () -> matMul(Tensor.zeros(DType.FLOAT32, 3), A23));
        assertMentions(r, "matMul", "[3]", "[2, 3]");
    }

    @Test
    void broadcastingMismatchNamesTheOpAndBothShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> add(A23, Tensor.zeros(DType.FLOAT32, 4)));
        assertMentions(e, "add", "[2, 3]", "[4]", "broadcast");
        var m = assertThrows(IllegalArgumentException.class, () -> mul(A23, B42));
        assertMentions(m, "mul", "[2, 3]", "[4, 2]");
        var w = assertThrows(IllegalArgumentException.class, () -> where(A23, A23, B42));
        assertMentions(w, "where");
    }

    @Test
    void shapeOpsNameWhatIsWrong() {
        assertMentions(assertThrows(IllegalArgumentException.class, () -> reshape(A23, 4, 2)), "reshape", "[2, 3]", "[4, 2]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> sum(A23, 2, false)), "sum", "axis 2", "[2, 3]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> slice(A23, new int[] {1, 1}, new int[] {2, 2})), "slice", "[2, 3]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> permute(A23, 0, 0)), "permute", "[2, 3]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> broadcastTo(A23, 3, 3)), "broadcastTo", "[2, 3]", "[3, 3]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> concat(0, A23, B42)), "concat", "[4, 2]", "[2, 3]");
    }

    @Test
    void sensOfTheWrongShapeOrDtype() {
        Cell g = new GradOperation(false, false, true).apply(new TutorialExamples.Net());
        Tensor x = TutorialExamples.X, y = TutorialExamples.Y;
        var shape = assertThrows(IllegalArgumentException.class, () -> g.call(x, y, Tensor.zeros(DType.FLOAT32, 3, 2)));
        assertMentions(shape, "sens", "[3, 2]", "[2, 3]");
        var dtype = assertThrows(IllegalArgumentException.class, () -> g.call(x, y, Tensor.zeros(DType.FLOAT64, 2, 3)));
        assertMentions(dtype, "sens", "float64", "float32");
        var missing = assertThrows(IllegalArgumentException.class, () -> g.call(x, y));
        assertMentions(missing, "sensitivity", "2 argument");
        var extra = assertThrows(IllegalArgumentException.class, () -> g.call(x, y, Tensor.zeros(DType.FLOAT32, 2, 3), Tensor.zeros(DType.FLOAT32, 2, 3)));
        assertMentions(extra, "1 part", "2 sensitivity");
    }

    @Test
    void wrongNumberOfArgumentsToAGradientCell() {
        Cell declared = new GradOperation().apply(new TutorialExamples.Net());
        var e = assertThrows(IllegalArgumentException.class, () -> declared.call(TutorialExamples.X));
        assertMentions(e, "takes 2 input", "got 1");
        // A cell that does not declare its input count still gets a clear message, not a bare index error.
        Cell undeclared = new GradOperation().apply(new TutorialExamples.StopNet());
        var u = assertThrows(IllegalArgumentException.class, () -> undeclared.call(TutorialExamples.X));
        assertMentions(u, "StopNet", "called with 1 argument");
        var none = assertThrows(IllegalArgumentException.class, () -> undeclared.call());
        assertMentions(none, "at least one input");
    }

    @Test
    void gradOperationFlagsAndApplyMustAgree() {
        var net = new TutorialExamples.Net();
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new GradOperation(false, true, false).apply(net)), "ParameterTuple");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> new GradOperation().apply(net, new ParameterTuple(net.trainableParams()))), "getByList=false");
    }

    @Test
    void aPrimitiveWithoutARuleFailsLoudlyNamingIt() {
        Primitive cube = Primitive.define("cubeWithoutRule", 1,
                (in, attrs) -> Tensor.fromFunction(in[0].dtype(), in[0].shape(), i -> Math.pow(in[0].getDouble(i), 3)), null);
        Tensor x = Tensor.of(new double[] {2.0});
        assertEquals(8.0, cube.call(null, x).item());
        var e = assertThrows(UnsupportedOperationException.class, () -> Functional.grad(a -> cube.call(null, a[0])).apply(x));
        assertMentions(e, "cubeWithoutRule", "no VJP rule");
    }

    @Test
    void gradcheckRefusesFloat32() {
        var e = assertThrows(IllegalArgumentException.class, () -> GradCheck.gradcheck(a -> sin(a[0]), Tensor.zeros(DType.FLOAT32, 2)));
        assertMentions(e, "float64", "float32");
    }

    @Test
    void jvpTangentShapesAreChecked() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Functional.jvp(a -> sin(a[0]), new Tensor[] {A23}, new Tensor[] {B42}));
        assertMentions(e, "tangent", "[4, 2]", "[2, 3]");
    }
}
