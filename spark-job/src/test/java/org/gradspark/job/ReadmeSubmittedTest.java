package org.gradspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.ad.DType;
import org.gradspark.ad.Ops;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.examples.PoissonPinnLoss;
import org.gradspark.job.exec.JobModel;
import org.gradspark.job.io.Npy;
import org.gradspark.job.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README as a newcomer follows it, through {@code submit-scripts/gradspark-submit} in a directory
 * of its own: the main command prints Quick start's block (dates, times, rates, the warm-up's count,
 * the backend's description, the partitions and the directory aside); "Your own data" and the
 * {@code fit} example run as written, on the files the README's Python wrote (with NumPy; without it,
 * on files of the same names and shapes written here, and the README's numbers are not compared); the
 * tutorial prints each example with its result; the keys it names for a {@code --model-class}'s
 * gradients are the Cell's.
 */
class ReadmeSubmittedTest {
    static final Duration TIMEOUT = Duration.ofMinutes(4);

    @TempDir
    Path dir;

    /** A README command (its first word the script, as given from the repository's root) run in {@code work}, its output there too. */
    private static LocalCluster.Run run(Path work, List<String> command) {
        List<String> cmd = new ArrayList<>(command);
        assertTrue(cmd.get(0).startsWith("submit-scripts/"), cmd.toString());
        cmd.set(0, LocalCluster.HOME.resolve(cmd.get(0)).toString());
        return LocalCluster.run(TIMEOUT, Map.of(), work, cmd.toArray(new String[0]));
    }

    @Test
    void theMainCommandPrintsWhatQuickStartShows() throws IOException {
        List<List<String>> main = ReadmeBlocks.commands("## Set up", "submit-scripts/gradspark-submit");
        assertEquals(List.of(List.of("submit-scripts/gradspark-submit", "grad")), main, "the README's main command, with the built-in defaults");
        Path work = dir.resolve("quick-start");
        LocalCluster.Run r = run(work, main.get(0));
        assertEquals(0, r.exitCode(), r.stderr());
        List<String> shown = new ArrayList<>(Terminal.screen(r.stderr()));
        // What the README says may come besides: Aparapi's warning with an OpenCL GPU, progress lines with an ETA on a slower machine.
        shown.removeIf(l -> l.startsWith("WARNING: Aparapi is running on an untested OpenCL platform") || l.contains(" INFO progress: ") && l.contains(", ETA "));
        shown.addAll(r.stdout().lines().toList());
        assertEquals(String.join("\n", masked(ReadmeBlocks.quickStart().get(1).lines().toList())), String.join("\n", masked(shown)),
                "README.md's Quick start block (first) against what the main command printed:\n" + r.stderr() + r.stdout());
        assertTrue(r.stdout().endsWith("GradSpark wrote " + work.resolve("gradspark-out") + "\n"), r.stdout());
        assertFalse(r.stderr().contains("[Stage "), "Spark's progress bar: " + r.stderr());
        for (String f : List.of("grads.npz", "summary.json", "_SUCCESS")) assertTrue(Files.exists(work.resolve("gradspark-out").resolve(f)), f);
    }

    /** The block's and the run's lines with what the README says varies masked. */
    static List<String> masked(List<String> lines) {
        return lines.stream()
                .map(l -> l.replaceAll("^[0-9]{2}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} ", "DATE TIME "))
                .map(l -> l.replaceAll("(GradSpark backend: ).*", "$1DESCRIPTION"))
                .map(l -> l.replaceAll("with [0-9]+ gradients", "with N gradients"))
                .map(l -> l.replaceAll("[0-9]+ rows/s", "R rows/s"))
                .map(l -> l.replaceAll("[0-9]+(\\.[0-9]+)? s\\b", "T s"))
                .map(l -> l.replaceAll("[0-9]+ partitions on local\\[\\*]", "P partitions on local[*]"))
                .map(l -> l.replaceAll("^(GradSpark wrote )/.*/(gradspark-out)$", "$1DIR/$2"))
                .toList();
    }

    @Test
    void yourOwnDataAndTheFitExampleRunAsWritten() throws Exception {
        Path work = Files.createDirectories(dir.resolve("own"));
        List<String> python = ReadmeBlocks.fenced("### Your own data", "python");
        assertEquals(2, python.size(), "Your own data: the Python that writes mydata/, and the one that reads the results");
        boolean numpy = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("numpy"), "python3", "-c", "import numpy").exitCode() == 0;
        if (numpy) {
            assertEquals(0, LocalCluster.run(TIMEOUT, Map.of(), work, "python3", "-c", python.get(0)).exitCode(), "the README's Python");
        } else {
            writeFilesLikeTheReadmes(work.resolve("mydata"));
        }

        List<List<String>> grad = ReadmeBlocks.commands("### Your own data", "submit-scripts/gradspark-submit grad");
        assertEquals(1, grad.size(), grad.toString());
        LocalCluster.Run g = LocalCluster.succeeded(run(work, grad.get(0)));
        assertTrue(g.stdout().contains("GradSpark wrote " + work.resolve("mydata/out") + "\n"), g.stdout());
        assertFalse(Outputs.inputGradParts(work.resolve("mydata/out")).isEmpty(), "--wrt all: the rows' derivatives");
        if (numpy) {
            assertEquals(number(ReadmeBlocks.section("### Your own data"), "sum of outputs (\\S+)`"), number(g.stdout(), "sum of outputs (\\S+)\n"), 5e-4,
                    "the total squared error the README gives");
            LocalCluster.Run read = LocalCluster.run(TIMEOUT, Map.of(), work, "python3", "-c", python.get(1));
            assertEquals(0, read.exitCode(), read.stderr());
            assertTrue(read.stdout().contains("w0 (4, 16)") && read.stdout().endsWith("(1000, 4)\n"), read.stdout());
        }

        List<List<String>> fit = ReadmeBlocks.commands("## Training: `fit`", "submit-scripts/gradspark-submit fit ");
        assertEquals(1, fit.size(), fit.toString());
        LocalCluster.Run f = LocalCluster.succeeded(run(work, fit.get(0)));
        assertTrue(f.stdout().endsWith("GradSpark wrote " + work.resolve("mydata/fit") + "\n"), f.stdout());
        assertFalse(f.stdout().contains("[Stage ") || f.stderr().contains("[Stage "), "Spark's progress bar:\n" + f.stdout() + f.stderr());
        for (String file : List.of("weights.npz", "history.json", "loss.png", "summary.json", "_SUCCESS")) {
            assertTrue(Files.exists(work.resolve("mydata/fit").resolve(file)), file);
        }
        double last = number(f.stdout(), "final loss (\\S+),");
        if (numpy) {
            String readme = ReadmeBlocks.section("## Training: `fit`");
            assertEquals(number(readme, "iteration 0  loss (\\S+) "), number(f.stdout(), "iteration 0  loss (\\S+) "), 1e-6, "the starting loss the README gives");
            double given = number(readme, "final loss (\\S+),");
            assertEquals(given, last, given / 10, "the final loss the README gives (its last digits depend on the partitions)");
        } else {
            assertTrue(last < number(f.stdout(), "iteration 0  loss (\\S+) ") / 10, f.stdout());
        }
    }

    /** The first number {@code pattern}'s group matches in {@code text}. */
    private static double number(String text, String pattern) {
        Matcher m = Pattern.compile(pattern).matcher(text);
        assertTrue(m.find(), pattern + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    /** Where NumPy is missing: files of the names, shapes and dtypes the README's Python writes, other numbers. */
    private static void writeFilesLikeTheReadmes(Path data) throws IOException {
        Files.createDirectories(data);
        Tensor x = Tensor.uniform(1, -2, 2, DType.FLOAT32, 1000, 4);
        Npy.write(data.resolve("x.npy"), x);
        Npy.write(data.resolve("y.npy"), Ops.tanh(Ops.matMul(x, Tensor.of(new float[][] {{1}, {-2}, {0.5f}, {3}}))));
        Npz.write(data.resolve("weights.npz"), JobModel.initialWeights(new int[] {4, 16, 1}, DType.FLOAT32, 0));
    }

    /** Each example's heading is followed by its result, not by the backend's log line (stdout and stderr on one console). */
    @Test
    void theTutorialPrintsEachExampleWithItsResult() {
        LocalCluster.Run r = LocalCluster.run(TIMEOUT, Map.of(), dir.resolve("tutorial"), "bash", "-c", "\"$0\" tutorial 2>&1",
                LocalCluster.script("gradspark-submit"));
        assertEquals(0, r.exitCode(), r.stdout());
        List<String> lines = r.stdout().lines().toList();
        int examples = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).startsWith("In [")) continue;
            examples++;
            assertTrue(i + 1 < lines.size() && lines.get(i + 1).startsWith("["), "the result after " + lines.get(i) + ":\n" + r.stdout());
        }
        assertEquals(6, examples, r.stdout());
    }

    /** The keys the README gives for PoissonPinnLoss's grads.npz are its parameter names, in their order. */
    @Test
    void theKeysTheReadmeGivesForAModelClassAreItsParameterNames() {
        Matcher m = Pattern.compile("`(u\\.net\\.layers\\.[0-9]+\\.(weight|bias))`").matcher(ReadmeBlocks.section("### Per-example derivatives and PINNs"));
        List<String> named = new ArrayList<>();
        while (m.find()) named.add(m.group(1));
        assertEquals(new ArrayList<>(new PoissonPinnLoss().namedParameters().keySet()), named);
    }
}
