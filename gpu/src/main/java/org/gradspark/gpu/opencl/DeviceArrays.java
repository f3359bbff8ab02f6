package org.gradspark.gpu.opencl;

import com.aparapi.Kernel;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Which arrays are already on the device, so that a tensor's storage crosses over once however
 * often it is used (the same weight matrix in consecutive matmuls), within a bound on the bytes held.
 *
 * <p>Aparapi keeps one device buffer per kernel field and makes a new one only when the field is
 * given a different array (or the garbage collector moved it, when it copies the array again). So
 * the fields of a kernel instance are the cache, keyed by array identity: tensors are immutable, an
 * array's contents never change, and an array still bound to a field needs no {@code put}. Each
 * kernel kind has a {@link Pool} of a few instances, and an op takes the instance that already holds
 * most of its inputs. Past the byte budget the least recently used instances are disposed, which
 * frees their buffers (and the references that kept their arrays alive); a disposed kind is
 * rebuilt from Aparapi's binary cache in milliseconds.
 *
 * <p>Not thread-safe: the backend calls it under its device lock.
 */
final class DeviceArrays {
    /** A kernel that can say which arrays its fields hold, hence which are on the device. */
    interface Resident {
        Object[] deviceArrays();
    }

    private final long budgetBytes;
    private final List<Pool<?>> pools = new ArrayList<>();
    private long clock;
    private long uploadedBytes;

    DeviceArrays(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    <K extends Kernel & Resident> Pool<K> pool(String name, int capacity, Supplier<K> create) {
        Pool<K> p = new Pool<>(name, capacity, create);
        pools.add(p);
        return p;
    }

    /** {@code wanted}, put to the device unless {@code bound} (the field's current array) is it already. */
    float[] upload(Kernel k, float[] bound, float[] wanted) {
        if (bound != wanted) {
            k.put(wanted);
            uploadedBytes += 4L * wanted.length;
        }
        return wanted;
    }

    double[] upload(Kernel k, double[] bound, double[] wanted) {
        if (bound != wanted) {
            k.put(wanted);
            uploadedBytes += 8L * wanted.length;
        }
        return wanted;
    }

    int[] upload(Kernel k, int[] bound, int[] wanted) {
        if (bound != wanted) {
            k.put(wanted);
            uploadedBytes += 4L * wanted.length;
        }
        return wanted;
    }

    /** Bytes put to the device so far: what the cache is there to keep low. */
    long uploadedBytes() {
        return uploadedBytes;
    }

    /** Bytes held by all kernel instances now (each distinct array once). */
    long residentBytes() {
        long total = 0;
        for (Pool<?> p : pools) {
            for (Slot<?> s : p.slots) total += s.bytes();
        }
        return total;
    }

    /** Disposes least recently used instances until the arrays held fit the budget. */
    void trim() {
        long total = residentBytes();
        while (total > budgetBytes) {
            Slot<?> oldest = null;
            for (Pool<?> p : pools) {
                for (Slot<?> s : p.slots) {
                    if (oldest == null || s.lastUsed < oldest.lastUsed) oldest = s;
                }
            }
            if (oldest == null) return;
            total -= oldest.bytes();
            oldest.dispose();
        }
    }

    /** Disposes every instance: all device buffers are released. */
    void clear() {
        for (Pool<?> p : pools) {
            for (Slot<?> s : new ArrayList<>(p.slots)) s.dispose();
        }
    }

    /** Up to {@code capacity} instances of one kernel kind. */
    final class Pool<K extends Kernel & Resident> {
        private final String name;
        private final int capacity;
        private final Supplier<K> create;
        private final List<Slot<K>> slots = new ArrayList<>();

        private Pool(String name, int capacity, Supplier<K> create) {
            this.name = name;
            this.capacity = capacity;
            this.create = create;
        }

        /**
         * The instance already holding most of {@code inputs}; a new one (while under capacity) if
         * none holds any, else the least recently used.
         */
        K take(Object... inputs) {
            Slot<K> best = null;
            int bestHits = -1;
            for (Slot<K> s : slots) {
                int hits = s.holds(inputs);
                if (hits > bestHits || (hits == bestHits && s.lastUsed < best.lastUsed)) {
                    best = s;
                    bestHits = hits;
                }
            }
            if ((best == null || bestHits == 0) && slots.size() < capacity) {
                best = new Slot<>(this, create.get());
                slots.add(best);
            }
            best.lastUsed = ++clock;
            return best.kernel;
        }

        @Override
        public String toString() {
            return name + " x" + slots.size();
        }
    }

    private static final class Slot<K extends Kernel & Resident> {
        final Pool<K> pool;
        final K kernel;
        long lastUsed;

        Slot(Pool<K> pool, K kernel) {
            this.pool = pool;
            this.kernel = kernel;
        }

        int holds(Object[] inputs) {
            Object[] held = kernel.deviceArrays();
            int hits = 0;
            for (Object in : inputs) {
                for (Object h : held) {
                    if (in == h) {
                        hits++;
                        break;
                    }
                }
            }
            return hits;
        }

        long bytes() {
            Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            long total = 0;
            for (Object a : kernel.deviceArrays()) {
                if (a != null && seen.add(a)) {
                    Class<?> type = a.getClass().getComponentType();
                    total += (long) Array.getLength(a) * (type == double.class || type == long.class ? 8 : 4);
                }
            }
            return total;
        }

        void dispose() {
            pool.slots.remove(this);
            kernel.dispose();
        }
    }
}
