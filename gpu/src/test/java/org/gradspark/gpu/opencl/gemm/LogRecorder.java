package org.gradspark.gpu.opencl.gemm;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The messages this package logs (System.Logger goes to java.util.logging in the gpu module's tests), while open. */
final class LogRecorder extends Handler implements AutoCloseable {
    private final Logger logger = Logger.getLogger("org.gradspark.gpu.opencl.gemm");
    final List<String> warnings = new CopyOnWriteArrayList<>();
    final List<String> infos = new CopyOnWriteArrayList<>();

    LogRecorder() {
        logger.setLevel(Level.ALL);
        logger.addHandler(this);
    }

    @Override
    public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.WARNING.intValue()) warnings.add(record.getMessage());
        else if (record.getLevel().intValue() >= Level.INFO.intValue()) infos.add(record.getMessage());
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
