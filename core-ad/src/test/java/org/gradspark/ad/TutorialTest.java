package org.gradspark.ad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.gradspark.ad.tutorial.TutorialExamples;
import org.junit.jupiter.api.Test;

/** The six examples of MindSpore's GradOperation tutorial, against its printed numbers. */
class TutorialTest {
    private static final double RTOL = 1e-6;

    private static void assertPrinted(float[][] printed, Tensor actual) {
        Tensor expected = Tensor.of(printed);
        assertEquals(DType.FLOAT32, actual.dtype());
        assertTrue(actual.allClose(expected, RTOL, 0), "expected\n" + expected + "\nbut got\n" + actual);
    }

    @Test
    void in2_gradientWithRespectToTheFirstInput() {
        assertPrinted(new float[][] {{4.51f, 2.7f, 3.6000001f}, {4.51f, 2.7f, 3.6000001f}}, TutorialExamples.gradWrtX());
    }

    @Test
    void in3_gradientWithRespectToTheWeight() {
        TensorTuple out = TutorialExamples.gradWrtZ();
        assertEquals(1, out.size());
        Tensor dz = out.tensor(0);
        assertEquals(Shape.of(1), dz.shape());
        assertEquals(21.536001, dz.item(), 21.536001 * RTOL);
    }

    @Test
    void in4_sensitivityScalesTheGradient() {
        assertPrinted(new float[][] {{2.211f, 0.51f, 1.49f}, {5.5880003f, 2.68f, 4.0699997f}}, TutorialExamples.gradWithSens());
    }

    @Test
    void in5_stopGradientRemovesTheSecondProduct() {
        assertPrinted(new float[][] {{4.51f, 2.7f, 3.6000001f}, {4.51f, 2.7f, 3.6000001f}}, TutorialExamples.gradWithStopGradient());
    }

    @Test
    void in6_withoutStopGradientTheGradientDoubles() {
        assertPrinted(new float[][] {{9.02f, 5.4f, 7.2000003f}, {9.02f, 5.4f, 7.2000003f}}, TutorialExamples.gradWithoutStopGradient());
    }

    @Test
    void in7_secondDerivativeOfSinIsMinusSin() {
        Tensor out = TutorialExamples.secondDerivativeOfSin();
        assertEquals(DType.FLOAT64, out.dtype());
        assertEquals(-5.35897932e-08, out.item(), 1e-15);
        assertEquals("[-5.35897932e-08]", out.toString());
    }

    @Test
    void printsLikeTheTutorial() {
        assertEquals("[[4.5099998 2.7       3.6000001]\n [4.5099998 2.7       3.6000001]]", TutorialExamples.gradWrtX().toString());
        Tensor printed = Tensor.of(new float[][] {{4.51f, 2.7f, 3.6000001f}, {4.51f, 2.7f, 3.6000001f}});
        assertEquals("[[4.51      2.7       3.6000001]\n [4.51      2.7       3.6000001]]", printed.toString());
    }

    @Test
    void mainRunsAllSixExamples() {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            TutorialExamples.main(new String[0]);
        } finally {
            System.setOut(old);
        }
        String text = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        for (String in : new String[] {"In [2]", "In [3]", "In [4]", "In [5]", "In [6]", "In [7]"}) assertTrue(text.contains(in), text);
        assertTrue(text.contains("[-5.35897932e-08]"), text);
    }
}
