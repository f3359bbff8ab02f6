package org.gradspark.job.api;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The driver's heap while a job runs, for {@code summary.json}: the peak of each heap pool since
 * the job started (an upper bound: it counts garbage not yet collected) and the largest heap still
 * in use after a garbage collection (the live data the driver really held; 0 when no collection
 * ran). Watches the JVM's collectors through their notifications; {@link #close} stops watching.
 */
final class DriverHeap implements AutoCloseable {
    private static final double MIB = 1024.0 * 1024.0;
    private final AtomicLong peakAfterGc = new AtomicLong();
    private final Set<String> heapPools = new HashSet<>();
    private final List<NotificationEmitter> emitters = new ArrayList<>();
    private final NotificationListener listener = this::onGc;

    DriverHeap() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() != MemoryType.HEAP) continue;
            pool.resetPeakUsage();
            heapPools.add(pool.getName());
        }
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter e) {
                e.addNotificationListener(listener, null, null);
                emitters.add(e);
            }
        }
    }

    private void onGc(Notification n, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) return;
        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        long used = 0;
        // The map has the non-heap pools too (metaspace, code cache): only the heap's count.
        for (Map.Entry<String, MemoryUsage> e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
            if (heapPools.contains(e.getKey())) used += e.getValue().getUsed();
        }
        peakAfterGc.accumulateAndGet(used, Math::max);
    }

    /**
     * {@code max_mib}, {@code peak_used_mib} (sum of the heap pools' peaks), {@code peak_after_gc_mib} and
     * {@code estimate_mib}, what the job's own check counted for the driver ({@code estimate}, which bounds
     * peak_after_gc_mib: bench/results/driver-memory.md).
     */
    Map<String, Double> report(org.gradspark.job.exec.HeapEstimate estimate) {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) peak += pool.getPeakUsage().getUsed();
        }
        Map<String, Double> r = new LinkedHashMap<>();
        r.put("max_mib", Runtime.getRuntime().maxMemory() / MIB);
        r.put("peak_used_mib", peak / MIB);
        r.put("peak_after_gc_mib", peakAfterGc.get() / MIB);
        r.put("estimate_mib", estimate.need() / MIB);
        return r;
    }

    @Override
    public void close() {
        for (NotificationEmitter e : emitters) {
            try {
                e.removeNotificationListener(listener);
            } catch (ListenerNotFoundException ignored) {
                // already gone
            }
        }
    }
}
