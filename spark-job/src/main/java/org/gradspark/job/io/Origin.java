package org.gradspark.job.io;

import java.io.EOFException;
import java.io.IOException;
import java.util.zip.ZipException;

/**
 * Where bytes come from: a {@code .npy} file, or one member (key) of an {@code .npz} archive, on
 * any filesystem. The header and data decoders are shared by both, and this lets them name the
 * culprit either way ({@code file} is the path as messages show it: {@link Storage#display}).
 */
record Origin(String file, String key) {

    static Origin of(String uri) {
        return new Origin(Storage.display(uri), null);
    }

    Origin member(String memberKey) {
        return new Origin(file, memberKey);
    }

    BadInputException fail(String problem) {
        return new BadInputException(where() + problem);
    }

    BadInputException fail(String problem, Throwable cause) {
        return new BadInputException(where() + problem, cause);
    }

    private String where() {
        return key == null ? file + ": " : file + ", key '" + key + "': ";
    }

    /** Turns an I/O failure while reading into a message a user can act on. */
    BadInputException readFailure(IOException e) {
        // Hadoop's RPC client also reports a server gone mid-call as an EOFException: that file is not truncated.
        if (e instanceof EOFException && !Storage.connectionLost(e)) return fail("truncated: " + e.getMessage(), e);
        if (e instanceof ZipException) return fail("corrupt data: " + e.getMessage(), e);
        return fail(Storage.reason(e), e);
    }
}
