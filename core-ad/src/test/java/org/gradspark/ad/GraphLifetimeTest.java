package org.gradspark.ad;

import static org.gradspark.ad.Ops.*;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.Sequential;
import org.junit.jupiter.api.Test;

/** A first-order gradient outside any enclosing gradient keeps nothing alive after it returns. */
class GraphLifetimeTest {

    /**
     * The live heap: the least used heap over three collections. Before each measurement one more step
     * runs, so a backend that takes freed device buffers back on its next allocation (the opencl pool
     * drains its cleaner queue then) has done so; otherwise the queue of buffers the collector has just
     * freed (tens of thousands of small objects) would count as growth.
     */
    private static long usedHeapAfterGc(Cell grad, Tensor x) throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
            grad.call(x);
            System.gc();
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }

    @Test
    void hundredThousandGradientStepsDoNotGrowTheHeap() throws InterruptedException {
        Cell net = new Sequential(new Dense(4, 8, DType.FLOAT32, 1), Activation.tanh(), new Dense(8, 1, DType.FLOAT32, 2));
        ParameterTuple params = new ParameterTuple(net.trainableParams());
        Cell grad = new GradOperation(true, true, false).apply(net, params);
        Tensor x = Tensor.uniform(3, -1, 1, DType.FLOAT32, 2, 4);
        long before = 0;
        Value last = null;
        for (int step = 0; step < 100_000; step++) {
            last = grad.call(x);
            if (step == 10_000) before = usedHeapAfterGc(grad, x);
        }
        long after = usedHeapAfterGc(grad, x);
        for (Tensor t : last.leaves()) assertFalse(t.isTracked(), "a first-order gradient must be a plain value");
        assertTrue(after - before < 8L << 20, "heap grew by " + ((after - before) >> 10) + " KiB over 90,000 steps");
    }

    static final class Spy extends Cell {
        transient WeakReference<Tensor> hidden;

        @Override public Tensor construct(Tensor... in) {
            Tensor h = tanh(mul(in[0], 3.0));
            hidden = new WeakReference<>(h);
            return sin(h);
        }
    }

    @Test
    void theForwardGraphIsCollectableOnceTheGradientReturns() throws InterruptedException {
        Spy spy = new Spy();
        Tensor g = new GradOperation().apply(spy).call(Tensor.of(new double[] {0.1, 0.2}));
        assertFalse(g.isTracked());
        for (int i = 0; i < 20 && spy.hidden.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(spy.hidden.get(), "an intermediate of the forward pass is still reachable");
    }

    @Test
    void insideAnEnclosingGradientTheBackwardIsRecorded() {
        Fn inner = a -> Functional.grad(x -> sin(x[0])).apply(a[0]);
        Tensor x = Tensor.of(new double[] {0.4});
        Tensor firstOrder = Functional.grad(x2 -> sin(x2[0])).apply(x).asTensor();
        assertFalse(firstOrder.isTracked());
        // Recorded inside: so it can be differentiated again (-sin).
        Tensor second = Functional.grad(inner).apply(x).asTensor();
        assertTrue(second.allClose(neg(sin(x)), 1e-15, 1e-15));
    }
}
