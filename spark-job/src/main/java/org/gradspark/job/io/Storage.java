package org.gradspark.job.io;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ClusterStorageCapacityExceededException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.apache.hadoop.ipc.RemoteException;
import org.apache.hadoop.security.AccessControlException;

/**
 * Every file the job reads or writes, on any filesystem Hadoop knows ({@code file:}, {@code hdfs:},
 * {@code s3a:}, {@code gs:}, {@code abfs:}, ...), through Hadoop's {@link FileSystem} API with the
 * configuration Spark gives (the driver's {@code SparkContext.hadoopConfiguration()}, shipped to the
 * executors with this object). Paths resolve as Spark resolves them: a scheme picks the filesystem,
 * a bare path is qualified against {@code fs.defaultFS} (the local filesystem, relative to the
 * driver's working directory, unless the Hadoop configuration says otherwise).
 *
 * <pre>{@code
 * Storage s = Storage.of(jsc.hadoopConfiguration());
 * String x = s.qualify("data/x.npy");               // file:/home/me/data/x.npy
 * try (SeekableByteChannel ch = s.openRead(x)) { ... }  // positional reads on HDFS too
 * }</pre>
 *
 * <p>The local filesystem is used without Hadoop's checksum layer (no {@code .crc} sidecar files
 * beside the outputs; {@code np.load} users do not expect them).
 */
public final class Storage implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The Spark conf prefix whose keys go into the Hadoop configuration (as Spark does). */
    private static final String SPARK_HADOOP_PREFIX = "spark.hadoop.";

    private transient Configuration conf;

    private Storage(Configuration conf) {
        this.conf = conf;
    }

    /** The filesystems of a Hadoop configuration (a copy is kept: later changes to {@code conf} do not reach it). */
    public static Storage of(Configuration conf) {
        return new Storage(new Configuration(conf));
    }

    /** Hadoop's defaults: bare paths are local files. */
    public static Storage local() {
        return Local.INSTANCE;
    }

    private static final class Local {
        static final Storage INSTANCE = new Storage(new Configuration());
    }

    /**
     * A local file as this class names files ({@code file:/...}), its name as it is: {@code x[1] %41.npy}
     * stays that, where {@link java.nio.file.Path#toUri}'s string is percent-encoded ({@code x%5B1%5D%20%2541.npy}),
     * which Hadoop's {@link Path} would take as the name itself.
     */
    public static String uri(java.nio.file.Path local) {
        return new Path(local.toAbsolutePath().normalize().toUri()).toString();
    }

    /**
     * Before a SparkContext exists: Hadoop's defaults plus the {@code spark.hadoop.*} keys of a Spark
     * conf, as Spark builds its own Hadoop configuration from them.
     */
    public static Storage fromSparkConf(Map<String, String> sparkConf) {
        Configuration c = new Configuration();
        sparkConf.forEach((k, v) -> {
            if (k.startsWith(SPARK_HADOOP_PREFIX)) c.set(k.substring(SPARK_HADOOP_PREFIX.length()), v);
        });
        return new Storage(c);
    }

    /**
     * The fully qualified form of a user's path ({@code scheme://authority/absolute/path}), the same
     * on the driver and every executor.
     *
     * @throws BadInputException naming the path when it is empty or has a scheme no filesystem serves
     */
    public String qualify(String path) {
        if (path == null || path.isBlank()) throw new BadInputException("an empty path");
        try {
            Path p = new Path(path);
            return fs(p).makeQualified(p).toString();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(path + ": not a valid path or URI (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw failure(path, e);
        }
    }

    /** How messages show a path: a local file as its plain path, anything else as its URI. */
    public static String display(String uri) {
        if (uri == null) return null;
        URI u = new Path(uri).toUri();
        return "file".equals(u.getScheme()) ? u.getPath() : uri;
    }

    /**
     * The pattern that Hadoop's {@link FileSystem#globStatus} matches to this path alone: the path with
     * each glob character ({@code * ? [ ] { } \}) escaped by a backslash, Hadoop's glob escape. Spark's
     * file sources glob every path they are given, so {@code data/x?.csv} would also read
     * {@code data/xa.csv}, and {@code x[1].csv} would read {@code x1.csv} or nothing; a path a user names
     * is that path, and reaches Spark through this ({@code file:/d/x\[1\].csv}).
     */
    public static String globEscaped(String uri) {
        URI u = new Path(uri).toUri();
        return new Path(u.getScheme(), u.getAuthority(), u.getPath().replaceAll("[*?\\[\\]{}\\\\]", "\\\\$0")).toString();
    }

    /** The file or directory's status, or null when nothing is there. */
    public FileStatus status(String uri) throws IOException {
        Path p = new Path(uri);
        try {
            return fs(p).getFileStatus(p);
        } catch (FileNotFoundException e) {
            return null;
        }
    }

    public boolean exists(String uri) throws IOException {
        return status(uri) != null;
    }

    /** Opens a file for positional reads (also sequential ones, from position 0). */
    public SeekableByteChannel openRead(String uri) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = fs(p);
        FileStatus st = fs.getFileStatus(p);
        if (st.isDirectory()) throw new IsADirectory(uri);
        // Hadoop's local filesystem calls a FIFO, a device or a socket a file; opening a FIFO blocks until a writer comes.
        if ("file".equals(p.toUri().getScheme()) && !java.nio.file.Files.isRegularFile(java.nio.file.Path.of(p.toUri()))) {
            throw new NotARegularFile(uri);
        }
        return new PositionedChannel(fs.open(p), st.getLen());
    }

    /**
     * Creates (or replaces) a file; its parent directories are created as needed. A write that
     * fails (a full disk) is an IOException naming the file: Hadoop's local filesystem throws an
     * {@code FSError}, an Error, instead.
     */
    public OutputStream create(String uri) throws IOException {
        Path p = new Path(uri);
        return failingAsIOException(uri, fs(p).create(p, true));
    }

    /**
     * Creates (or replaces) a file in a directory that must exist: where the directory has been
     * removed meanwhile (a failed job's temporary output, removed by the driver while one of its
     * tasks was still starting) this is a FileNotFoundException, never the directory brought back.
     * HDFS and the local filesystem check the parent and create in one step
     * ({@link FileSystem#createNonRecursive}); a filesystem without it (object stores have no
     * directories to bring back) is asked whether the parent exists first.
     */
    public OutputStream createInExisting(String uri) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = fs(p);
        OutputStream out;
        try {
            // The overload with flags: Hadoop 3.5's local filesystem creates the parents in the one with a boolean.
            out = fs.createNonRecursive(p, org.apache.hadoop.fs.permission.FsPermission.getFileDefault().applyUMask(org.apache.hadoop.fs.permission.FsPermission.getUMask(fs.getConf())),
                    java.util.EnumSet.of(org.apache.hadoop.fs.CreateFlag.CREATE, org.apache.hadoop.fs.CreateFlag.OVERWRITE),
                    fs.getConf().getInt("io.file.buffer.size", 4096), fs.getDefaultReplication(p), fs.getDefaultBlockSize(p), null);
        } catch (UnsupportedOperationException e) {
            if (!fs.exists(p.getParent())) throw new FileNotFoundException(display(uri) + ": its directory " + display(p.getParent().toString()) + " does not exist");
            out = fs.create(p, true);
        } catch (IOException e) {
            if (e instanceof FileNotFoundException || e.getMessage() == null || !e.getMessage().contains("createNonRecursive unsupported")) throw e;
            if (!fs.exists(p.getParent())) throw new FileNotFoundException(display(uri) + ": its directory " + display(p.getParent().toString()) + " does not exist");
            out = fs.create(p, true);
        }
        return failingAsIOException(uri, out);
    }

    /** A stream whose filesystem's {@code FSError}s are IOExceptions; {@link #abandon} reaches the stream inside. */
    private abstract static class Guarded extends java.io.FilterOutputStream {
        final OutputStream inner;

        Guarded(OutputStream inner) {
            super(inner);
            this.inner = inner;
        }
    }

    private static OutputStream failingAsIOException(String uri, OutputStream out) {
        return new Guarded(out) {
            @Override public void write(int b) throws IOException {
                try {
                    out.write(b);
                } catch (org.apache.hadoop.fs.FSError e) {
                    throw unwrap(e);
                }
            }

            @Override public void write(byte[] b, int off, int len) throws IOException {
                try {
                    out.write(b, off, len);
                } catch (org.apache.hadoop.fs.FSError e) {
                    throw unwrap(e);
                }
            }

            @Override public void flush() throws IOException {
                try {
                    out.flush();
                } catch (org.apache.hadoop.fs.FSError e) {
                    throw unwrap(e);
                }
            }

            @Override public void close() throws IOException {
                try {
                    out.close();
                } catch (org.apache.hadoop.fs.FSError e) {
                    throw unwrap(e);
                }
            }

            private IOException unwrap(org.apache.hadoop.fs.FSError e) {
                Throwable c = e.getCause();
                return new IOException(display(uri) + ": " + (c == null ? e.toString() : c.getMessage()), c == null ? e : c);
            }
        };
    }

    /** Creates a directory and its parents; false when it (or a file) is already there. */
    public boolean mkdirs(String uri) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = fs(p);
        if (fs.exists(p)) return false;
        return fs.mkdirs(p);
    }

    /**
     * The schemes of object stores, where a rename is a copy of every byte and then a delete (S3A,
     * Google Cloud Storage, Aliyun OSS, Tencent COS, Huawei OBS, Azure's WASB), not the atomic move
     * of a name that local disks and HDFS (and ABFS with a hierarchical namespace) do.
     */
    private static final java.util.Set<String> RENAME_COPIES = java.util.Set.of("s3a", "s3", "s3n", "gs", "oss", "cosn", "obs", "wasb", "wasbs");

    /**
     * Whether a rename under {@code uri} copies the data (an object store). Outputs there are written
     * at their final names, with {@code _SUCCESS} last ({@code JobOutput}), since committing them by a
     * rename would copy each once more, and S3's renames are neither atomic nor, on some S3-compatible
     * servers, possible (S3Proxy's listings carry no ETag, which S3A's copy requires).
     */
    public static boolean renameCopies(String uri) {
        String scheme = new Path(uri).toUri().getScheme();
        return scheme != null && RENAME_COPIES.contains(scheme.toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Drops a stream's data instead of publishing it, where the filesystem can (an object store's
     * upload, which {@code close} would complete: {@link org.apache.hadoop.fs.Abortable}); elsewhere
     * closes it. A part written at its final name by a failed task attempt so never appears.
     */
    public static void abandon(OutputStream out) throws IOException {
        OutputStream inner = out instanceof Guarded g ? g.inner : out;
        if (inner instanceof org.apache.hadoop.fs.Abortable a && inner instanceof org.apache.hadoop.fs.StreamCapabilities c
                && c.hasCapability(org.apache.hadoop.fs.StreamCapabilities.ABORTABLE_STREAM)) {
            a.abort();
        } else {
            out.close();
        }
    }

    /** Renames {@code from} to {@code to} (atomic on HDFS and local files); false when the filesystem refuses. */
    public boolean rename(String from, String to) throws IOException {
        Path f = new Path(from);
        return fs(f).rename(f, new Path(to));
    }

    /** Deletes a file, or a directory with everything in it. */
    public boolean delete(String uri, boolean recursive) throws IOException {
        Path p = new Path(uri);
        return fs(p).delete(p, recursive);
    }

    /** The entries of a directory (not recursive), sorted by name. */
    public List<FileStatus> list(String dir) throws IOException {
        Path p = new Path(dir);
        List<FileStatus> out = new ArrayList<>(List.of(fs(p).listStatus(p)));
        out.sort(java.util.Comparator.comparing(s -> s.getPath().getName()));
        return out;
    }

    /**
     * Every file under {@code dir}, recursively, as paths relative to it, sorted; a symbolic link
     * counts as a file (it is not followed).
     */
    public List<String> filesUnder(String dir) throws IOException {
        List<String> out = new ArrayList<>();
        collectFiles(dir, "", out);
        out.sort(null);
        return out;
    }

    private void collectFiles(String dir, String prefix, List<String> out) throws IOException {
        for (Entry e : entries(dir)) {
            if (e.kind() == EntryKind.DIRECTORY) collectFiles(child(dir, e.name()), prefix + e.name() + "/", out);
            else out.add(prefix + e.name());
        }
    }

    /** What a directory entry is, seen without following a symbolic link. */
    public enum EntryKind { FILE, DIRECTORY, LINK, OTHER }

    /** A directory entry: its name (one path component) and kind. */
    public record Entry(String name, EntryKind kind) {}

    /**
     * The entries of one directory (not recursive), sorted by name, symbolic links reported as
     * links. On the local filesystem this reads the directory with {@code java.nio} ({@code lstat}
     * per entry): Hadoop's local listing asks for every file's permissions by forking {@code ls}
     * (14 s for 3000 files), and it follows links.
     */
    public List<Entry> entries(String dir) throws IOException {
        return entries(dir, name -> true);
    }

    /** The entries of one directory whose names {@code named} accepts, as {@link #entries(String)} gives them (others are not looked at). */
    public List<Entry> entries(String dir, java.util.function.Predicate<String> named) throws IOException {
        Path p = new Path(dir);
        FileSystem fs = fs(p);
        List<Entry> out = new ArrayList<>();
        if (fs instanceof RawLocalFileSystem) {
            try (java.nio.file.DirectoryStream<java.nio.file.Path> ds = java.nio.file.Files.newDirectoryStream(localPath(fs, p))) {
                for (java.nio.file.Path f : ds) {
                    if (named.test(f.getFileName().toString())) out.add(new Entry(f.getFileName().toString(), localKind(f)));
                }
            }
        } else {
            for (FileStatus s : fs.listStatus(p)) {
                EntryKind k = s.isSymlink() ? EntryKind.LINK : s.isDirectory() ? EntryKind.DIRECTORY : s.isFile() ? EntryKind.FILE : EntryKind.OTHER;
                if (named.test(s.getPath().getName())) out.add(new Entry(s.getPath().getName(), k));
            }
        }
        out.sort(java.util.Comparator.comparing(Entry::name));
        return out;
    }

    private static java.nio.file.Path localPath(FileSystem fs, Path p) {
        return java.nio.file.Path.of(fs.makeQualified(p).toUri());
    }

    private static EntryKind localKind(java.nio.file.Path f) throws IOException {
        java.nio.file.attribute.BasicFileAttributes a;
        try {
            a = java.nio.file.Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException gone) {
            return EntryKind.OTHER;   // removed since the directory was read
        }
        return a.isSymbolicLink() ? EntryKind.LINK : a.isDirectory() ? EntryKind.DIRECTORY : a.isRegularFile() ? EntryKind.FILE : EntryKind.OTHER;
    }

    /** What is at {@code uri}, without following a symbolic link there (links in its parents are followed); null when nothing is. */
    public EntryKind kindOf(String uri) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = fs(p);
        if (fs instanceof RawLocalFileSystem) {
            java.nio.file.Path f = localPath(fs, p);
            return java.nio.file.Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? localKind(f) : null;
        }
        try {
            FileStatus s = fs.getFileLinkStatus(p);
            return s.isSymlink() ? EntryKind.LINK : s.isDirectory() ? EntryKind.DIRECTORY : s.isFile() ? EntryKind.FILE : EntryKind.OTHER;
        } catch (FileNotFoundException e) {
            return null;
        }
    }

    /**
     * Creates {@code uri} with {@code content} only if nothing is there, atomically: of two
     * processes, one creates it and the other gets false (the local filesystem opens it with
     * {@code O_EXCL}, where Hadoop's own create checks and then creates; HDFS's NameNode decides).
     * Its parent directories must exist.
     */
    public boolean createNew(String uri, byte[] content) throws IOException {
        Path p = new Path(uri);
        FileSystem fs = fs(p);
        if (fs instanceof RawLocalFileSystem) {
            try {
                java.nio.file.Files.write(localPath(fs, p), content, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
                return true;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                return false;
            }
        }
        try (OutputStream o = fs.create(p, false)) {
            o.write(content);
            return true;
        } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
            return false;
        }
    }

    /** {@code child} under {@code parent} (both URIs). */
    public static String child(String parent, String name) {
        return new Path(new Path(parent), name).toString();
    }

    /** The parent directory's URI, or null at the root. */
    public static String parent(String uri) {
        Path p = new Path(uri).getParent();
        return p == null ? null : p.toString();
    }

    /** The last component of the path. */
    public static String name(String uri) {
        return new Path(uri).getName();
    }

    /** Whether {@code uri} is {@code dir} itself or lies under it (both qualified). */
    public static boolean within(String uri, String dir) {
        URI u = new Path(uri).toUri(), d = new Path(dir).toUri();
        if (!java.util.Objects.equals(u.getScheme(), d.getScheme()) || !java.util.Objects.equals(u.getAuthority(), d.getAuthority())) return false;
        String up = u.getPath(), dp = d.getPath();
        return up.equals(dp) || up.startsWith(dp.endsWith("/") ? dp : dp + "/");
    }

    private FileSystem fs(Path p) throws IOException {
        FileSystem fs = p.getFileSystem(conf);
        // The raw local filesystem: Hadoop's checksummed one would write a .crc beside every output.
        return fs instanceof LocalFileSystem local ? local.getRawFileSystem() : fs;
    }

    /**
     * A one-line reason for a failure on {@code path}, naming it: a missing file, an unknown
     * scheme, a NameNode or store that does not answer, missing credentials or permissions.
     */
    public static BadInputException failure(String path, IOException e) {
        return new BadInputException(display(path) + ": " + reason(e), e);
    }

    /** The cause of an I/O failure in words (without the path). */
    public static String reason(IOException e) {
        if (e instanceof RemoteException remote) {
            // An HDFS server's exception not yet turned back into its own class (a quota, a missing file, ...).
            IOException own = remote.unwrapRemoteException();
            if (own != remote) return reason(own);
        }
        if (e instanceof IsADirectory) return "is a directory, not a file";
        if (e instanceof NotARegularFile) return "not a regular file (a FIFO, a device or a socket): give a file";
        if (e instanceof FileNotFoundException || e instanceof java.nio.file.NoSuchFileException) return "no such file";
        if (e instanceof UnsupportedFileSystemException) {
            return "no filesystem serves this scheme (" + firstLine(e.getMessage()) + "; the schemes Hadoop knows here: file, hdfs"
                    + " and those whose connector jars are on the class path, e.g. s3a with hadoop-aws)";
        }
        String kind = e.getClass().getSimpleName();
        // S3A's own classes, by name: hadoop-aws need not be on the class path of a Spark that serves no s3a://.
        if (kind.equals("UnknownStoreException")) return "no such bucket, or no store at its endpoint (" + firstLine(e.getMessage()) + ")";
        // S3A reports missing credentials as an AccessDeniedException naming its NoAuthWithAWSException: not a permission.
        String said = firstLine(e.getMessage());
        if (kind.equals("NoAuthWithAWSException") || said.contains("NoAuthWithAWSException") || said.contains("No AWS Credentials")) {
            return "no credentials for this store (" + said + ")";
        }
        if (e instanceof AccessControlException || e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied (" + firstLine(e.getMessage()) + ")";
        }
        if (e instanceof ClusterStorageCapacityExceededException) {
            // HDFS's DSQuotaExceededException and NSQuotaExceededException: the message names the directory and its quota.
            return "over its quota (" + firstLine(e.getMessage()) + "): free space there or raise the quota";
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof NoRouteToHostException || t instanceof SocketTimeoutException) {
                return "the filesystem does not answer (" + hadoopMessage(e) + ")";
            }
        }
        if (connectionLost(e)) return "the filesystem stopped answering mid-call (" + hadoopMessage(e) + ")";
        String m = firstLine(e.getMessage());
        if (m.contains("No AWS Credentials") || m.contains("NoAuthWithAWSException") || m.contains("credentials")) {
            return "no credentials for this store (" + m + ")";
        }
        // A plain IOException's message is the whole story ("cannot rename A to B"); another class's name says what kind.
        if (e.getClass() == IOException.class && !m.isEmpty()) return m;
        return m.isEmpty() ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + m;
    }

    /**
     * Whether {@code e} is a connection to a server (a NameNode, a store's endpoint) that broke off
     * mid-call, not the end of a file: a reset, or the end-of-stream Hadoop's RPC client reports
     * naming both hosts.
     */
    static boolean connectionLost(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketException && !(t instanceof ConnectException)) return true;
            if (t instanceof EOFException && t.getMessage() != null && t.getMessage().contains("destination host")) return true;
        }
        return false;
    }

    /** Hadoop's network message without its pointer to a wiki page. */
    private static String hadoopMessage(IOException e) {
        return firstLine(e.getMessage()).replaceFirst(";\\s*For more details see:.*$", "");
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        conf.write(out);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        conf = new Configuration(false);
        conf.readFields(in);
    }

    /** Raised when a FIFO, a device or a socket is opened as a file. */
    static final class NotARegularFile extends IOException {
        private static final long serialVersionUID = 1L;

        NotARegularFile(String uri) {
            super(uri + " is not a regular file");
        }
    }

    /** Raised when a directory is opened as a file. */
    static final class IsADirectory extends IOException {
        private static final long serialVersionUID = 1L;

        IsADirectory(String uri) {
            super(uri + " is a directory");
        }
    }

    /**
     * A read-only channel over a Hadoop input stream: {@link #read(ByteBuffer)} reads from the
     * channel's position with positional reads ({@code readFully(position, ...)}), which HDFS and
     * the object-store connectors serve without reading from the start.
     */
    private static final class PositionedChannel implements SeekableByteChannel {
        private final FSDataInputStream in;
        private final long size;
        private long position;
        private boolean open = true;

        PositionedChannel(FSDataInputStream in, long size) {
            this.in = in;
            this.size = size;
        }

        @Override public int read(ByteBuffer dst) throws IOException {
            if (!open) throw new ClosedChannelException();
            if (position >= size) return -1;
            int n = (int) Math.min(dst.remaining(), size - position);
            if (n == 0) return 0;
            if (dst.hasArray()) {
                in.readFully(position, dst.array(), dst.arrayOffset() + dst.position(), n);
                dst.position(dst.position() + n);
            } else {
                byte[] b = new byte[n];
                in.readFully(position, b, 0, n);
                dst.put(b);
            }
            position += n;
            return n;
        }

        @Override public int write(ByteBuffer src) {
            throw new NonWritableChannelException();
        }

        @Override public long position() {
            return position;
        }

        @Override public SeekableByteChannel position(long newPosition) {
            if (newPosition < 0) throw new IllegalArgumentException("negative position " + newPosition);
            position = newPosition;
            return this;
        }

        @Override public long size() {
            return size;
        }

        @Override public SeekableByteChannel truncate(long s) {
            throw new NonWritableChannelException();
        }

        @Override public boolean isOpen() {
            return open;
        }

        @Override public void close() throws IOException {
            open = false;
            in.close();
        }
    }

    /** For callers that cannot throw IOException: {@code what} (naming the file) and the cause in words. */
    public static UncheckedIOException unchecked(String what, IOException e) {
        return new UncheckedIOException(what + ": " + reason(e), e);
    }
}
