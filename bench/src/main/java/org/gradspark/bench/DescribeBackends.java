package org.gradspark.bench;

import org.gradspark.ad.backend.Backend;
import org.gradspark.ad.backend.Backends;

/** Prints {@code name<TAB>device} for each backend named on the command line (or the error that stops it). */
public final class DescribeBackends {
    private DescribeBackends() {}

    public static void main(String[] args) {
        for (String name : args) {
            String device;
            try {
                Backend b = Backends.byName(name);
                device = b.device();
            } catch (RuntimeException e) {
                device = "unavailable: " + e.getMessage();
            }
            System.out.println(name + "\t" + device.replace('\t', ' ').replace('\n', ' '));
        }
    }
}
