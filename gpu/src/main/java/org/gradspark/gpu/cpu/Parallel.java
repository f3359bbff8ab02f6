package org.gradspark.gpu.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/** Splits an index range over the cores for large tensors; small ones run on the calling thread. */
final class Parallel {
    /** Below this many elements per task, threading costs more than it saves. */
    static final int GRAIN = 1 << 15;
    static final int THREADS = Integer.getInteger(CpuBackend.THREADS_PROPERTY, Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    private Parallel() {}

    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    static void forRange(int n, RangeBody body) {
        forRange(n, GRAIN, body);
    }

    /** Runs body over [0, n) in contiguous chunks of at least {@code grain} elements. */
    static void forRange(int n, int grain, RangeBody body) {
        int chunks = POOL == null ? 1 : (int) Math.min(THREADS, Math.max(1, (long) n / Math.max(1, grain)));
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        POOL.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    private static final class Chunk extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        final RangeBody body;
        final int n, chunks, lo, hi;

        Chunk(RangeBody body, int n, int chunks, int lo, int hi) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override protected void compute() {
            if (hi - lo == 1) {
                body.run((int) ((long) n * lo / chunks), (int) ((long) n * hi / chunks));
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunk(body, n, chunks, lo, mid), new Chunk(body, n, chunks, mid, hi));
        }
    }
}
