package org.gradspark.job.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an existing {@code --out} holds, for {@code grad} and {@code fit} alike, and how an earlier
 * output and a dead run's leftovers are removed. The rule: a directory is replaced only when it is
 * an earlier GradSpark output, i.e. its {@code _SUCCESS} {@linkplain OutputManifest manifest} lists
 * exactly the files in it, each a plain file inside it reached without a symbolic link; then only
 * those files go. An empty directory (or one of empty directories) is used as it is; {@code fit}
 * also takes an unfinished fit's {@code checkpoints/} (see {@link Checkpoints}).
 *
 * <p>The decision reads the manifest and then lists one directory at a time, descending only into
 * directories the manifest names files in, and stops at the first entry the manifest does not
 * list: an {@code --out} of a million files that are not an output (a home directory, {@code /})
 * is refused after one listing, never walked.
 *
 * <p>A run's own temporaries carry its {@link RunId} in their names: beside {@code --out},
 * {@code .OUT.gradspark-tmp-TAG} (grad's output being written), {@code .OUT.gradspark-old-TAG} (an
 * earlier output moved aside while it is replaced) and {@code .OUT.gradspark-lock-stale-TAG} (a dead
 * run's lock being taken over); inside it, {@code .NAME.gradspark-pending-TAG} (fit's final files
 * until they are renamed; {@code ._SUCCESS.gradspark-pending-TAG} is the manifest written before the
 * renames, so that files renamed before a kill are known as the run's own). Those of a run that is
 * gone from this host, and pending files of an older GradSpark whose names carry no tag, are a dead
 * run's leftovers: recognised here and removed; those of a live run or another host are not.
 */
public final class OutputDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(OutputDirectory.class);
    private static final Pattern PENDING = Pattern.compile("\\.(.+)\\.gradspark-pending(?:-(.+))?");
    private static final Pattern SIBLING = Pattern.compile("(tmp|old|lock-stale)-(.+)");
    private static final Pattern UNTAGGED_OLD = Pattern.compile("old-[0-9a-f]{8}");

    private OutputDirectory() {}

    public enum Kind { ABSENT, EMPTY, EARLIER_OUTPUT, UNFINISHED_FIT }

    /**
     * What {@link #inspect} found.
     *
     * @param listed    the manifest's files (an earlier output), else empty
     * @param leftovers a dead run's temporaries inside the directory (relative names), to remove before it is used
     */
    public record Findings(Kind kind, List<String> listed, List<String> leftovers) {}

    /** An unfinished fit's checkpoints directory: its name, and how its entries are named. */
    public interface Checkpoints {
        String dir();

        /** A complete checkpoint directory's name ({@code iter-NNNNNN}). */
        boolean isCheckpoint(String name);

        /** A checkpoint being written (renamed into place when complete): a dead run's leftover once no run holds the lock. */
        boolean isTemporary(String name);
    }

    /** Where a file is written until the run commits: {@code .NAME.gradspark-pending-TAG}, in the same directory. */
    public static String pendingName(String name, RunId run) {
        return "." + name + ".gradspark-pending-" + run.tag();
    }

    /** A temporary sibling of {@code out} for this run: {@code .OUT.gradspark-KIND-TAG}. */
    public static String sibling(String out, String kind, RunId run) {
        return Storage.child(Storage.parent(out), "." + Storage.name(out) + ".gradspark-" + kind + "-" + run.tag());
    }

    /**
     * Decides what {@code out} is, without changing anything.
     *
     * @param checkpoints fit's checkpoints layout (an unfinished fit is then a kind of its own); null for grad
     * @throws BadInputException naming --out and the entry at fault when it is neither absent, empty,
     *         an earlier output nor (for fit) an unfinished fit
     */
    public static Findings inspect(Storage storage, String out, Checkpoints checkpoints) throws IOException {
        FileStatus st = storage.status(out);
        if (st == null) return new Findings(Kind.ABSENT, List.of(), List.of());
        if (!st.isDirectory()) throw notOurs(out, "is a file");
        List<Storage.Entry> top = storage.entries(out);
        Walk walk = new Walk(storage, out, manifestOf(storage, out, top), checkpoints);
        walk.journals(top);
        walk.directory(out, "", top);
        walk.requireListedPresent();
        Kind kind = walk.manifest != null ? Kind.EARLIER_OUTPUT : walk.checkpointFound ? Kind.UNFINISHED_FIT : Kind.EMPTY;
        return new Findings(kind, walk.manifest == null ? List.of() : walk.manifest.files(), List.copyOf(walk.leftovers));
    }

    private static OutputManifest manifestOf(Storage storage, String out, List<Storage.Entry> top) throws IOException {
        Storage.Entry marker = top.stream().filter(e -> e.name().equals(OutputManifest.MARKER)).findFirst().orElse(null);
        if (marker == null) return null;
        if (marker.kind() != Storage.EntryKind.FILE) throw notOurs(out, "holds " + OutputManifest.MARKER + ", " + describe(marker.kind()));
        Optional<OutputManifest> m = OutputManifest.read(storage, Storage.child(out, OutputManifest.MARKER),
                "--out " + Storage.display(out) + ": its " + OutputManifest.MARKER + " manifest");
        if (m.isEmpty()) throw notOurs(out, "has a " + OutputManifest.MARKER + " that is not a GradSpark manifest: an older output, or another program's");
        return m.get();
    }

    /** The walk of one inspection: what the manifest lists, what was seen, what is a dead run's. */
    private static final class Walk {
        final Storage storage;
        final String out;
        final OutputManifest manifest;
        final Checkpoints checkpoints;
        final Set<String> listed = new HashSet<>();
        final Set<String> listedDirs = new HashSet<>();
        final Set<String> seen = new HashSet<>();
        final Set<String> journalled = new HashSet<>();
        final Set<String> leftovers = new LinkedHashSet<>();
        boolean checkpointFound;

        Walk(Storage storage, String out, OutputManifest manifest, Checkpoints checkpoints) {
            this.storage = storage;
            this.out = out;
            this.manifest = manifest;
            this.checkpoints = checkpoints;
            if (manifest == null) return;
            for (String f : manifest.files()) {
                listed.add(f);
                for (int i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) listedDirs.add(f.substring(0, i));
            }
        }

        /** The names in dead runs' pending manifests: files those runs renamed into place before they died. */
        void journals(List<Storage.Entry> top) throws IOException {
            for (Storage.Entry e : top) {
                Matcher m = PENDING.matcher(e.name());
                if (e.kind() != Storage.EntryKind.FILE || !m.matches() || !m.group(1).equals(OutputManifest.MARKER) || !deadTag(m.group(2))) continue;
                OutputManifest.read(storage, Storage.child(out, e.name()), "--out " + Storage.display(out) + ": " + e.name() + ", the pending manifest of a run that is gone,")
                        .ifPresent(j -> journalled.addAll(j.files()));
            }
        }

        void directory(String dir, String rel, List<Storage.Entry> entries) throws IOException {
            for (Storage.Entry e : entries) {
                String name = rel + e.name();
                if (name.equals(OutputManifest.MARKER) && manifest != null) continue;
                if (listed.contains(name)) {
                    if (e.kind() != Storage.EntryKind.FILE) throw listedProblem(name, describe(e.kind()));
                    seen.add(name);
                } else if (listedDirs.contains(name)) {
                    if (e.kind() != Storage.EntryKind.DIRECTORY) throw listedProblem(firstListedUnder(name), "reached through " + name + ", " + describe(e.kind()));
                    directory(Storage.child(dir, e.name()), name + "/", storage.entries(Storage.child(dir, e.name())));
                } else if (rel.isEmpty() && isLeftover(e)) {
                    leftovers.add(name);
                } else if (rel.isEmpty() && manifest == null && checkpoints != null && e.name().equals(checkpoints.dir()) && e.kind() == Storage.EntryKind.DIRECTORY) {
                    checkpointsDirectory(Storage.child(dir, e.name()), name + "/");
                } else if (e.kind() == Storage.EntryKind.DIRECTORY) {
                    requireEmptyTree(plainChild(dir, e, name), name + "/");
                } else {
                    throw unlisted(name, e.kind());
                }
            }
        }

        /** A dead run's temporary at the top of --out; refuses one of a run that may still be going. */
        private boolean isLeftover(Storage.Entry e) {
            Matcher m = PENDING.matcher(e.name());
            if (m.matches() && e.kind() == Storage.EntryKind.FILE) {
                if (deadTag(m.group(2))) return true;
                Optional<RunId> run = RunId.parse(m.group(2));
                if (run.isPresent()) {
                    throw notOurs(out, "holds " + e.name() + ", a temporary file of a run that may still be going (" + run.get().describe()
                            + "): if no GradSpark run is writing --out, remove it");
                }
            }
            return journalled.contains(e.name()) && e.kind() == Storage.EntryKind.FILE;
        }

        private void checkpointsDirectory(String dir, String rel) throws IOException {
            for (Storage.Entry e : storage.entries(dir)) {
                if (e.kind() == Storage.EntryKind.DIRECTORY && checkpoints.isCheckpoint(e.name())) checkpointFound = true;
                else if (e.kind() == Storage.EntryKind.DIRECTORY && checkpoints.isTemporary(e.name())) leftovers.add(rel + e.name());
                else throw unlisted(rel + e.name(), e.kind());
            }
        }

        /** Empty directories (and directories of them) are nobody's data; anything in them is. */
        private void requireEmptyTree(String dir, String rel) throws IOException {
            List<Storage.Entry> entries;
            try {
                entries = storage.entries(dir);
            } catch (IOException e) {
                throw notOurs(out, "holds " + rel + ", a directory that cannot be listed: " + Storage.reason(e));
            }
            for (Storage.Entry e : entries) {
                if (e.kind() == Storage.EntryKind.DIRECTORY) requireEmptyTree(plainChild(dir, e, rel + e.name()), rel + e.name() + "/");
                else throw unlisted(rel + e.name(), e.kind());
            }
        }

        /** The entry's path; a name Hadoop would not read as one path component (a ':' makes a scheme) is not GradSpark's. */
        private String plainChild(String dir, Storage.Entry e, String name) {
            if (OutputManifest.problemWith(e.name()) != null) throw unlisted(name, e.kind());
            return Storage.child(dir, e.name());
        }

        void requireListedPresent() {
            if (manifest == null) return;
            for (String f : manifest.files()) {
                if (!seen.contains(f)) throw listedProblem(f, "which is not there");
            }
        }

        private String firstListedUnder(String dir) {
            return listed.stream().filter(f -> f.startsWith(dir + "/")).sorted().findFirst().orElse(dir);
        }

        private BadInputException unlisted(String name, Storage.EntryKind kind) {
            String what = kind == Storage.EntryKind.FILE ? "" : ", " + describe(kind);
            return notOurs(out, manifest == null ? "holds " + name + what + " and no " + OutputManifest.MARKER + " manifest of an earlier GradSpark output"
                    : "holds " + name + what + ", which no earlier GradSpark run wrote");
        }

        private BadInputException listedProblem(String name, String what) {
            return new BadInputException("--out " + Storage.display(out) + ": its " + OutputManifest.MARKER + " manifest lists \"" + name + "\", " + what
                    + "; a manifest may list only files that are there, inside --out: nothing is removed, choose another directory");
        }
    }

    private static boolean deadTag(String tag) {
        return tag == null || RunId.parse(tag).map(RunId::goneFromThisHost).orElse(false);
    }

    private static String describe(Storage.EntryKind kind) {
        return switch (kind) {
            case FILE -> "a file";
            case DIRECTORY -> "a directory";
            case LINK -> "a symbolic link (GradSpark writes none)";
            case OTHER -> "not a regular file";
        };
    }

    /** The refusal of a directory that is not an earlier output: --out, and {@code why} (what is in the way). */
    public static BadInputException notOurs(String out, String why) {
        return new BadInputException("--out " + Storage.display(out) + ": exists and is not an earlier GradSpark output (it " + why + "); only a directory whose "
                + OutputManifest.MARKER + " manifest lists all its files is replaced, and only those files: choose another directory");
    }

    /** Removes a dead run's leftovers that {@link #inspect} found in {@code out}. */
    public static void removeLeftovers(Storage storage, String out, Findings found) throws IOException {
        for (String name : found.leftovers()) {
            String path = Storage.child(out, name);
            LOG.info("removing {}, left by a GradSpark run that is gone", path);
            storage.delete(path, storage.kindOf(path) == Storage.EntryKind.DIRECTORY);
        }
    }

    /**
     * Removes an earlier output moved aside: the plain files its manifest lists (none reached
     * through a link; one already gone is skipped, so a removal killed midway is finished by the
     * next run), then the manifest, then the directories left empty. Anything else stays.
     *
     * @return whether the directory is gone
     */
    public static boolean removeEarlier(Storage storage, String dir) throws IOException {
        String marker = Storage.child(dir, OutputManifest.MARKER);
        if (storage.kindOf(marker) == Storage.EntryKind.FILE) {
            Optional<OutputManifest> m = OutputManifest.read(storage, marker, Storage.display(dir) + ": its " + OutputManifest.MARKER + " manifest");
            Set<String> plainDirs = new HashSet<>();
            for (String f : m.map(OutputManifest::files).orElse(List.of())) {
                if (isPlainFileWithin(storage, dir, f, plainDirs)) storage.delete(Storage.child(dir, f), false);
            }
            if (m.isPresent()) storage.delete(marker, false);
        }
        removeEmptyDirectories(storage, dir);
        return storage.kindOf(dir) == null;
    }

    private static boolean isPlainFileWithin(Storage storage, String dir, String name, Set<String> plainDirs) throws IOException {
        for (int i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
            String d = name.substring(0, i);
            if (plainDirs.contains(d)) continue;
            if (storage.kindOf(Storage.child(dir, d)) != Storage.EntryKind.DIRECTORY) return false;
            plainDirs.add(d);
        }
        return storage.kindOf(Storage.child(dir, name)) == Storage.EntryKind.FILE;
    }

    /** Deletes {@code dir} and the directories under it that hold nothing but empty directories (links are not followed). */
    public static void removeEmptyDirectories(Storage storage, String dir) throws IOException {
        for (Storage.Entry e : storage.entries(dir)) {
            if (e.kind() == Storage.EntryKind.DIRECTORY) removeEmptyDirectories(storage, Storage.child(dir, e.name()));
        }
        if (storage.entries(dir).isEmpty()) storage.delete(dir, false);
    }

    /**
     * Removes the temporaries beside {@code out} of runs gone from this host: grad's output being
     * written ({@code tmp}), an earlier output moved aside ({@code old}; also an older GradSpark's,
     * whose name has no tag), a lock being taken over ({@code lock-stale}).
     */
    public static void removeDeadSiblings(Storage storage, String out) throws IOException {
        String parent = Storage.parent(out);
        if (parent == null) return;
        String prefix = "." + Storage.name(out) + ".gradspark-";
        for (Storage.Entry e : storage.entries(parent, n -> n.startsWith(prefix))) {
            String rest = e.name().substring(prefix.length());
            Matcher m = SIBLING.matcher(rest);
            boolean untaggedOld = UNTAGGED_OLD.matcher(rest).matches() && e.kind() == Storage.EntryKind.DIRECTORY;
            if (!untaggedOld && !(m.matches() && RunId.parse(m.group(2)).map(RunId::goneFromThisHost).orElse(false))) continue;
            String path = Storage.child(parent, e.name());
            String kind = untaggedOld ? "old" : m.group(1);
            LOG.info("removing {}, left by a GradSpark run that is gone", path);
            if (kind.equals("tmp") && e.kind() == Storage.EntryKind.DIRECTORY) storage.delete(path, true);
            else if (kind.equals("old") && e.kind() == Storage.EntryKind.DIRECTORY) removeEarlierOrSay(storage, path);
            else if (kind.equals("lock-stale") && e.kind() == Storage.EntryKind.FILE) storage.delete(path, false);
        }
    }

    private static void removeEarlierOrSay(Storage storage, String dir) throws IOException {
        try {
            if (!removeEarlier(storage, dir)) LOG.warn("{} holds files its manifest does not list: kept", dir);
        } catch (BadInputException e) {
            LOG.warn("{} kept: {}", dir, e.getMessage());
        }
    }
}
