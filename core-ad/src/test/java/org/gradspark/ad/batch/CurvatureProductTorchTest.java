package org.gradspark.ad.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.gradspark.ad.Cell;
import org.gradspark.ad.DType;
import org.gradspark.ad.Parameter;
import org.gradspark.ad.Tensor;
import org.gradspark.ad.examples.PoissonResidual;
import org.gradspark.ad.nn.Activation;
import org.gradspark.ad.nn.Dense;
import org.gradspark.ad.nn.PerExampleMSELoss;
import org.gradspark.ad.nn.Reduction;
import org.gradspark.ad.nn.Sequential;
import org.gradspark.ad.nn.SoftmaxCrossEntropy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Gauss-Newton-vector product {@code J^T H_loss J v} and the Hessian-vector product in weight space
 * against PyTorch float64 ({@code torch.autograd.functional.jvp}, {@code hvp} in output space,
 * {@code vjp}; {@code hvp} of the whole objective): an MLP with mean squared error and with softmax
 * cross-entropy, and the Poisson PINN's residual Cell (whose outputs are themselves a Laplacian), to
 * 1e-9 relative. Needs python3 with torch and is skipped without it.
 */
class CurvatureProductTorchTest {
    private static final String TORCH = String.join("\n",
            "import json, math, sys, torch",
            "torch.set_default_dtype(torch.float64)",
            "t = lambda a: torch.tensor(a['v']).reshape(a['shape'])",
            "def mlp(h, *w):",
            "    n = len(w) // 2",
            "    for k in range(n):",
            "        h = h @ w[2 * k] + w[2 * k + 1]",
            "        if k < n - 1: h = torch.tanh(h)",
            "    return h",
            "def model(*w):",
            "    if d['model'] == 'mlp': return mlp(x, *w)",
            "    p = x.clone().requires_grad_(True)",
            "    u = (1 - p[:, 0:1] ** 2) * (1 - p[:, 1:2] ** 2) * mlp(p, *w)",
            "    g = torch.autograd.grad(u.sum(), p, create_graph=True)[0]",
            "    lap = sum(torch.autograd.grad(g[:, i].sum(), p, create_graph=True)[0][:, i:i + 1] for i in range(2))",
            "    return lap + 2 * math.pi ** 2 * torch.sin(math.pi * x[:, 0:1]) * torch.sin(math.pi * x[:, 1:2])",
            "def loss(z):",
            "    per = ((z - y) ** 2).mean(-1) if d['loss'] == 'mse' else -(y * torch.log_softmax(z, -1)).sum(-1)",
            "    return (per * s).sum()",
            "for line in sys.stdin:",
            "    d = json.loads(line)",
            "    W = tuple(t(p) for p in d['params']); V = tuple(t(p) for p in d['vector'])",
            "    x, y, s = t(d['x']), t(d['y']), t(d['s'])",
            "    z, u = torch.autograd.functional.jvp(model, W, V)",
            "    _, c = torch.autograd.functional.hvp(loss, z.detach(), u)",
            "    _, gn = torch.autograd.functional.vjp(model, W, c)",
            "    _, h = torch.autograd.functional.hvp(lambda *w: loss(model(*w)), W, V)",
            "    for name, parts in (('gn', gn), ('hvp', h)):",
            "        for a in parts: print(d['case'] + '.' + name, *[repr(e) for e in a.reshape(-1).tolist()])");

    /** The first python3 on the PATH that has torch, else the system's (a pyenv python3 may lack the distribution's torch). */
    private static String python = "python3";

    /** What torch printed for every case, run once (one python process: its start and torch's import cost more than the cases). */
    private static String torchOutput;

    /** One case: a model, its loss, rows, labels and sensitivities. */
    private record Case(String name, String model, String lossName, Cell net, Cell loss, Tensor x, Tensor y, Tensor s) {}

    private static List<Case> cases() {
        Tensor labels = Tensor.fromFunction(DType.FLOAT64, org.gradspark.ad.Shape.of(6, 4), i -> (i / 4) % 4 == i % 4 ? 1 : 0);
        return List.of(
                new Case("mse", "mlp", "mse", mlp(3, 5, 4, 2), new PerExampleMSELoss(), Tensor.uniform(21, -1, 1, DType.FLOAT64, 7, 3),
                        Tensor.uniform(22, -1, 1, DType.FLOAT64, 7, 2), Tensor.uniform(23, 0.5, 2, DType.FLOAT64, 7)),
                new Case("ce", "mlp", "softmax-cross-entropy", mlp(3, 6, 4), new SoftmaxCrossEntropy(Reduction.NONE), Tensor.uniform(31, -1, 1, DType.FLOAT64, 6, 3),
                        labels, Tensor.uniform(33, 0.5, 2, DType.FLOAT64, 6)),
                new Case("residual", "residual", "mse", new PoissonResidual(), new PerExampleMSELoss(), Tensor.uniform(41, -1, 1, DType.FLOAT64, 5, 2),
                        Tensor.zeros(DType.FLOAT64, 5, 1), Tensor.full(1.0 / 5, DType.FLOAT64, org.gradspark.ad.Shape.of(5))));
    }

    @BeforeAll
    static void askTorch() {
        for (String candidate : List.of("python3", "/usr/bin/python3")) {
            python = candidate;
            if (run("import torch").exitCode() == 0) break;
        }
        assumeTrue(run("import torch").exitCode() == 0, "no python3 with torch is installed");
        StringBuilder in = new StringBuilder();
        for (Case c : cases()) in.append(input(c)).append('\n');
        Result r = run(TORCH, in.toString());
        assertEquals(0, r.exitCode(), r.output());
        torchOutput = r.output();
    }

    @Test
    void mlpWithMeanSquaredErrorAgreesWithTorch() {
        agree(cases().get(0));
    }

    @Test
    void mlpWithSoftmaxCrossEntropyAgreesWithTorch() {
        agree(cases().get(1));
    }

    @Test
    void poissonResidualCellAgreesWithTorch() {
        agree(cases().get(2));
    }

    /** A tanh MLP in float64 with seeded weights and non-zero biases. */
    private static Cell mlp(int... widths) {
        List<Cell> layers = new ArrayList<>();
        for (int k = 0; k + 1 < widths.length; k++) {
            layers.add(new Dense(Tensor.uniform(100 + k, -1, 1, DType.FLOAT64, widths[k], widths[k + 1]),
                    Tensor.uniform(200 + k, -0.5, 0.5, DType.FLOAT64, widths[k + 1])));
            if (k + 2 < widths.length) layers.add(Activation.tanh());
        }
        return new Sequential(layers);
    }

    /** The case's direction v: one seeded tensor per parameter. */
    private static Tensor[] direction(List<Parameter> params) {
        Tensor[] v = new Tensor[params.size()];
        for (int i = 0; i < v.length; i++) v[i] = Tensor.uniform(300 + i, -1, 1, DType.FLOAT64, params.get(i).shape().dims());
        return v;
    }

    /** The case as one JSON line for the script. */
    private static String input(Case c) {
        List<Parameter> params = c.net().trainableParams();
        Tensor[] v = direction(params);
        StringBuilder in = new StringBuilder("{\"case\": \"" + c.name() + "\", \"model\": \"" + c.model() + "\", \"loss\": \"" + c.lossName() + "\", \"params\": [");
        for (int i = 0; i < params.size(); i++) in.append(i > 0 ? ", " : "").append(json(params.get(i)));
        in.append("], \"vector\": [");
        for (int i = 0; i < v.length; i++) in.append(i > 0 ? ", " : "").append(json(v[i]));
        return in.append("], \"x\": ").append(json(c.x())).append(", \"y\": ").append(json(c.y())).append(", \"s\": ").append(json(c.s())).append('}').toString();
    }

    private static void agree(Case c) {
        List<Parameter> params = c.net().trainableParams();
        Tensor[] v = direction(params);
        Tensor[] gn = BatchGradient.gaussNewtonVectorProduct(c.net(), c.loss(), params, v, c.x(), c.s(), c.y());
        Tensor[] hvp = BatchGradient.hessianVectorProduct(c.net(), c.loss(), params, v, c.x(), c.s(), c.y());
        List<List<Double>> torchGn = parts(torchOutput, c.name() + ".gn"), torchHvp = parts(torchOutput, c.name() + ".hvp");
        assertEquals(params.size(), torchGn.size(), torchOutput);
        for (int i = 0; i < params.size(); i++) {
            close(c.model() + " " + c.lossName() + " Gauss-Newton, " + params.get(i).name() + " (" + i + ")", torchGn.get(i), gn[i]);
            close(c.model() + " " + c.lossName() + " Hessian, " + params.get(i).name() + " (" + i + ")", torchHvp.get(i), hvp[i]);
        }
    }

    /** Relative to the largest entry of the parameter's product (entries near zero are compared at that scale). */
    private static void close(String what, List<Double> torch, Tensor ours) {
        assertEquals(torch.size(), ours.size(), what + ": sizes");
        double scale = 0;
        for (double d : torch) scale = Math.max(scale, Math.abs(d));
        assertTrue(scale > 1e-6, what + ": a product this small tests nothing (" + scale + ")");
        for (int i = 0; i < torch.size(); i++) {
            double err = Math.abs(ours.getDouble(i) - torch.get(i)) / scale;
            assertTrue(err <= 1e-9, what + "[" + i + "]: ours " + ours.getDouble(i) + ", torch " + torch.get(i) + " (relative error " + err + ")");
        }
    }

    private static String json(Tensor t) {
        StringBuilder b = new StringBuilder("{\"shape\": [");
        int[] dims = t.shape().dims();
        for (int i = 0; i < dims.length; i++) b.append(i > 0 ? ", " : "").append(dims[i]);
        b.append("], \"v\": [");
        for (int i = 0; i < t.size(); i++) b.append(i > 0 ? ", " : "").append(Double.toString(t.getDouble(i)));
        return b.append("]}").toString();
    }

    /** The parts the script printed for {@code key}, in parameter order: one line {@code key v1 v2 ...} per parameter. */
    private static List<List<Double>> parts(String printed, String key) {
        List<List<Double>> out = new ArrayList<>();
        for (String line : printed.split("\n")) {
            String[] words = line.strip().split(" ");
            if (!words[0].equals(key)) continue;
            List<Double> values = new ArrayList<>();
            for (int i = 1; i < words.length; i++) values.add(Double.parseDouble(words[i]));
            out.add(values);
        }
        return out;
    }

    private record Result(int exitCode, String output) {}

    private static Result run(String script) {
        return run(script, "");
    }

    private static Result run(String script, String stdin) {
        try {
            Process p = new ProcessBuilder(python, "-c", script).redirectErrorStream(true).start();
            try (var w = p.getOutputStream()) {
                w.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + out);
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, e.toString());
        }
    }
}
