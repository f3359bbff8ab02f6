package org.gradspark.gpu.opencl;

import org.gradspark.ad.DType;
import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.DeviceData;
import org.jocl.cl_mem;

/**
 * A tensor's values in a device buffer of a {@link ResidentEngine}. The buffer goes back to the
 * engine's pool when this object is unreachable (every tensor sharing it is gone), through the
 * engine's {@link java.lang.ref.Cleaner}; when the engine closes first, a later read is an
 * {@link IllegalStateException} naming the buffer, never stale values.
 */
final class DeviceBuffer implements DeviceData {
    private final ResidentEngine engine;
    private final DType dtype;
    private final int size;
    private final ResidentEngine.Memory memory;

    DeviceBuffer(ResidentEngine engine, DType dtype, int size, ResidentEngine.Memory memory) {
        this.engine = engine;
        this.dtype = dtype;
        this.size = size;
        this.memory = memory;
    }

    @Override public DType dtype() { return dtype; }

    @Override public int size() { return size; }

    @Override public Backend owner() { return engine.backend(); }

    ResidentEngine engine() { return engine; }

    /** The buffer for a kernel argument; an {@link IllegalStateException} naming it once released. */
    cl_mem mem() {
        return memory.live(this);
    }

    long bytes() {
        return (long) size * dtype.bytes();
    }

    @Override public void readInto(float[] dst) {
        if (dtype != DType.FLOAT32 || dst.length != size) throw new IllegalArgumentException("readInto float[" + dst.length + "] from " + this);
        engine.read(this, org.jocl.Pointer.to(dst));
    }

    @Override public void readInto(double[] dst) {
        if (dtype != DType.FLOAT64 || dst.length != size) throw new IllegalArgumentException("readInto double[" + dst.length + "] from " + this);
        engine.read(this, org.jocl.Pointer.to(dst));
    }

    @Override public String toString() {
        return "device buffer #" + memory.id + " (" + dtype.name().toLowerCase(java.util.Locale.ROOT) + ", " + size + " elements) on " + engine.description();
    }
}
