package org.gradspark.job.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.ZipException;

/**
 * Where bytes come from: a {@code .npy} file, or one member (key) of an {@code .npz} archive. The
 * header and data decoders are shared by both, and this lets them name the culprit either way.
 */
record Origin(Path file, String key) {

    static Origin of(Path file) {
        return new Origin(file, null);
    }

    Origin member(String memberKey) {
        return new Origin(file, memberKey);
    }

    BadInputException fail(String problem) {
        return key == null ? BadInputException.inFile(file, problem) : BadInputException.inKey(file, key, problem);
    }

    BadInputException fail(String problem, Throwable cause) {
        String where = key == null ? file + ": " : file + ", key '" + key + "': ";
        return new BadInputException(where + problem, cause);
    }

    /** Turns an I/O failure while reading into a message a user can act on. */
    BadInputException readFailure(IOException e) {
        if (e instanceof NoSuchFileException) return fail("no such file", e);
        if (e instanceof AccessDeniedException) return fail("cannot read it (permission denied)", e);
        if (e instanceof EOFException) return fail("truncated: " + e.getMessage(), e);
        if (e instanceof ZipException) return fail("corrupt data: " + e.getMessage(), e);
        if (e instanceof FileSystemException fse && fse.getReason() != null) return fail("cannot read it (" + fse.getReason() + ")", e);
        return fail("cannot read it (" + e + ")", e);
    }
}
