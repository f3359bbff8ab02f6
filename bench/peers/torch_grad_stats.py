#!/usr/bin/env python3
"""The PyTorch peer of bench/src/main/java/org/gradspark/bench/GradStatsBench.java, and its check.

Reads what GradStatsBench wrote into --dir: the model (w0.npy, b0.npy, ...: a tanh MLP, float32), the rows
(x-NNNNN.npy, one file per core chunk), the clip norm C (clip.txt) and the core's results. Objective per row:
o_n = sum_j out_nj (sensitivities ones, no loss), as the core's. On torch.set_num_threads(--threads):
  vmap(grad)   per-sample gradients by functorch.vmap(functorch.grad(f)) over --vmap-rows rows at a time (all
               N rows at once would be N x P floats), then per-sample norms, the sum of squares and the clipped
               sum sum_n g_n min(1, C/|g_n|), summed in float64 over the blocks, over the first --vmap-timed-rows
               rows (default all); with fewer than all, the time is extrapolated linearly and reported as such
  per-row loop Opacus-style: one backward pass per row (torch.autograd.grad), then the same statistics, over
               the first --loop-rows rows only, extrapolated the same way
Then the check, to float32 tolerance (relative to each array's largest magnitude; a disagreement exits 1, so a
broken benchmark fails): the core's norms of the rows vmap(grad) ran on against its norms; and the core's sum of
squares and clipped sum over all rows against PyTorch's own over all rows by the outer-product identities
(a layer's input a and output cotangent delta from autograd: |g_n,W|^2 = |a_n|^2 |delta_n|^2, sum of squares
(a^2)^T delta^2, clipped sum a^T (c delta)), themselves checked against vmap(grad)'s on the rows it ran on.
Prints one JSON line per measurement.

  torch_grad_stats.py --dir DIR --threads 2 --repeats 1 --warmup 0 --vmap-rows 256 --loop-rows 256
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time

try:
    import numpy as np
    import torch
    import functorch
except ImportError as e:
    # A peer that cannot run is a failure (exit status 1), never a comparison quietly left out.
    sys.exit("%s: %s for %s (Debian: apt-get install python3-torch)" % (sys.argv[0], e, sys.executable))

# float32 products summed over thousands of rows, against the core's float32 products: relative to the
# array's largest entry (the clipped sum mixes signs, so entry-wise relative errors mean nothing near 0).
RTOL = 2e-3


def load(d):
    ws, k = [], 0
    while os.path.exists(os.path.join(d, "w%d.npy" % k)):
        ws.append(torch.from_numpy(np.load(os.path.join(d, "w%d.npy" % k))))
        ws.append(torch.from_numpy(np.load(os.path.join(d, "b%d.npy" % k))))
        k += 1
    xs = [torch.from_numpy(np.load(f)) for f in sorted(glob.glob(os.path.join(d, "x-*.npy")))]
    clip = float(open(os.path.join(d, "clip.txt")).read())
    return ws, xs, clip


def mlp(x, ws):
    h = x
    for k in range(0, len(ws), 2):
        h = h @ ws[k] + ws[k + 1]
        if k + 2 < len(ws):
            h = torch.tanh(h)
    return h


def objective(ws, x):
    """One row's o_n = sum_j out_nj (x: one row, [features])."""
    return mlp(x.unsqueeze(0), ws).sum()


class Totals:
    """Norms per row, the sum of squares and the clipped sum, in float64."""

    def __init__(self, ws):
        self.norms = []
        self.squares = [torch.zeros(w.shape, dtype=torch.float64) for w in ws]
        self.clipped = [torch.zeros(w.shape, dtype=torch.float64) for w in ws]

    def add(self, grads, clip):
        """grads: per-sample gradients, one [rows, *w.shape] tensor per parameter."""
        rows = grads[0].shape[0]
        sq = sum(g.reshape(rows, -1).pow(2).sum(1) for g in grads)
        norm = sq.sqrt()
        factor = torch.where(norm > 0, (clip / norm).clamp(max=1.0), torch.ones_like(norm))
        for k, g in enumerate(grads):
            self.squares[k] += g.pow(2).sum(0).double()
            self.clipped[k] += torch.tensordot(factor, g, dims=([0], [0])).double()
        self.norms.append(norm.double())


def vmap_grad(ws, x, clip, block):
    per_sample = functorch.vmap(functorch.grad(objective), in_dims=(None, 0))
    t = Totals(ws)
    for i in range(0, x.shape[0], block):
        t.add(per_sample(ws, x[i:i + block]), clip)
    return t


def outer_product_statistics(ws, x, clip):
    """The norms, sum of squares and clipped sum of x's rows from each layer's input a and output cotangent delta."""
    params = [w.detach().requires_grad_(True) for w in ws]
    inputs, outputs, h = [], [], x
    for k in range(0, len(params), 2):
        inputs.append(h)
        z = h @ params[k] + params[k + 1]
        z.retain_grad()
        outputs.append(z)
        h = torch.tanh(z) if k + 2 < len(params) else z
    h.sum().backward()
    t = Totals(ws)
    a = [i.detach().double() for i in inputs]
    d = [o.grad.double() for o in outputs]
    sq = sum((ai.pow(2).sum(1) + 1) * di.pow(2).sum(1) for ai, di in zip(a, d))
    norm = sq.sqrt()
    factor = torch.where(norm > 0, (clip / norm).clamp(max=1.0), torch.ones_like(norm))
    for k, (ai, di) in enumerate(zip(a, d)):
        t.squares[2 * k] += ai.pow(2).T @ di.pow(2)
        t.squares[2 * k + 1] += di.pow(2).sum(0)
        t.clipped[2 * k] += ai.T @ (factor[:, None] * di)
        t.clipped[2 * k + 1] += (factor[:, None] * di).sum(0)
    t.norms.append(norm)
    return t


def per_row_loop(ws, xs, clip, rows):
    params = [w.detach().requires_grad_(True) for w in ws]
    t = Totals(ws)
    x = torch.cat(xs)[:rows]
    for n in range(x.shape[0]):
        gs = torch.autograd.grad(objective(params, x[n]), params)
        t.add([g.unsqueeze(0) for g in gs], clip)
    return t


def timed(body, repeats, warmup):
    for _ in range(warmup):
        body()
    runs, cpu, result = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = body()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)   # every thread of the process: what the machine's load changes least
    return runs, cpu, result


def check(name, core, peer):
    core, peer = np.asarray(core, dtype=np.float64), np.asarray(peer, dtype=np.float64)
    if core.shape != peer.shape:
        sys.exit("torch_grad_stats: %s: the core's shape %s, PyTorch's %s" % (name, core.shape, peer.shape))
    scale = max(np.abs(peer).max(), 1e-30)
    err = np.abs(core - peer).max() / scale
    if not err <= RTOL:
        sys.exit("torch_grad_stats: %s: the core and PyTorch differ by %.3g of the largest entry (tolerance %g)" % (name, err, RTOL))
    return err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--vmap-rows", type=int, default=256)
    ap.add_argument("--loop-rows", type=int, default=256)
    ap.add_argument("--vmap-timed-rows", type=int, default=0, help="0: all rows")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    ws, xs, clip = load(a.dir)
    rows = sum(x.shape[0] for x in xs)
    model = "tanh MLP " + "-".join([str(ws[0].shape[0])] + [str(w.shape[1]) for w in ws[0::2]])
    base = {"system": "pytorch", "torch": torch.__version__, "model": model, "rows": rows, "threads": a.threads}
    x_all = torch.cat(xs)
    vmap_rows = min(a.vmap_timed_rows or rows, rows)
    runs, cpu, t = timed(lambda: vmap_grad(ws, x_all[:vmap_rows], clip, a.vmap_rows), a.repeats, a.warmup)
    scale = rows / vmap_rows
    print(json.dumps(dict(base, what="vmap(grad) + norms + sum of squares + clipped sum", block_rows=a.vmap_rows, parameters=sum(w.numel() for w in ws),
                          measured_rows=vmap_rows, extrapolated=vmap_rows < rows, measured_s=statistics.median(runs), measured_cpu_s=statistics.median(cpu),
                          median_s=statistics.median(runs) * scale, runs_s=[r * scale for r in runs],
                          median_cpu_s=statistics.median(cpu) * scale, runs_cpu_s=[c * scale for c in cpu])), flush=True)
    loop_rows = min(a.loop_rows, rows)
    runs_loop, cpu_loop, _ = timed(lambda: per_row_loop(ws, xs, clip, loop_rows), 1, 0)
    scale = rows / loop_rows
    print(json.dumps(dict(base, what="per-row loop + norms + sum of squares + clipped sum", measured_rows=loop_rows,
                          measured_s=runs_loop[0], median_s=runs_loop[0] * scale, runs_s=[runs_loop[0] * scale],
                          measured_cpu_s=cpu_loop[0], median_cpu_s=cpu_loop[0] * scale, runs_cpu_s=[cpu_loop[0] * scale],
                          extrapolated=True)), flush=True)
    whole = outer_product_statistics(ws, x_all, clip)
    part = outer_product_statistics(ws, x_all[:vmap_rows], clip)
    errs = {"core norms vs vmap(grad)": check("norms", np.load(os.path.join(a.dir, "core_norms.npy"))[:vmap_rows], torch.cat(t.norms).numpy()),
            "core norms vs outer products": check("norms, all rows", np.load(os.path.join(a.dir, "core_norms.npy")), whole.norms[0].numpy())}
    for k in range(len(ws)):
        errs["sum of squares %d" % k] = check("sum of squares %d" % k, np.load(os.path.join(a.dir, "core_sum_squares_%d.npy" % k)), whole.squares[k].numpy())
        errs["clipped sum %d" % k] = check("clipped sum %d" % k, np.load(os.path.join(a.dir, "core_clipped_%d.npy" % k)), whole.clipped[k].numpy())
        errs["outer products vs vmap(grad), sum of squares %d" % k] = check("PyTorch's outer products vs vmap(grad), sum of squares %d" % k, part.squares[k].numpy(), t.squares[k].numpy())
        errs["outer products vs vmap(grad), clipped sum %d" % k] = check("PyTorch's outer products vs vmap(grad), clipped sum %d" % k, part.clipped[k].numpy(), t.clipped[k].numpy())
    print(json.dumps(dict(base, what="check", tolerance=RTOL, max_relative_error=max(errs.values()), errors=errs)), flush=True)


if __name__ == "__main__":
    main()
