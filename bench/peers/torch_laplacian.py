#!/usr/bin/env python3
"""The PyTorch peer of bench/src/main/java/org/gradspark/bench/LaplacianBench.java.

Same models (tanh MLPs in -> w -> w -> w -> 1, Glorot-uniform weights, biases in [-0.1, 0.1)), same
rows (uniform [-1, 1)), float32, torch.set_num_threads(--threads):
  laplacian-nested   the per-example Laplacian by PyTorch's nested double backward: g = d sum(f)/dx
                     (create_graph=True), then one backward of sum(g[:, i]) per coordinate i
  laplacian-forward  a forward Laplacian written by hand in PyTorch (Li et al. 2023): per layer the
                     value, the tangents T [d, N, w] (the first layer's are W1 broadcast over the
                     rows, [d, 1, w]) and the second-order term S [N, w]:
                       z = h W + b, T_z = T W, S_z = S W;
                       y = tanh z: T' = T_z (1 - y^2), S' = S_z (1 - y^2) - 2 y (1 - y^2) sum_i T_z,i^2
  hvp                the weight-space Hessian-vector product of sum(out) by double backward
Prints one JSON line per measurement: the median over --repeats timed runs after --warmup runs.

  torch_laplacian.py --rows 16384 --threads 2 --models 3x128,16x128,64x256 [--only laplacian|hvp]
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
except ImportError:
    # A peer that cannot run is a failure (exit status 1), never a comparison quietly left out.
    sys.exit("%s: PyTorch is not installed for %s (Debian: apt-get install python3-torch)" % (sys.argv[0], sys.executable))


def weights(d, w):
    widths = [d, w, w, w, 1]
    ws = []
    for k in range(len(widths) - 1):
        r = (6.0 / (widths[k] + widths[k + 1])) ** 0.5
        ws.append((torch.rand(widths[k], widths[k + 1]) * 2 - 1) * r)
        ws.append((torch.rand(widths[k + 1]) * 2 - 1) * 0.1)
    return ws


def mlp(x, ws):
    h = x
    for k in range(0, len(ws), 2):
        h = h @ ws[k] + ws[k + 1]
        if k + 2 < len(ws):
            h = torch.tanh(h)
    return h


def laplacian_nested(x, ws):
    x = x.detach().requires_grad_(True)
    y = mlp(x, ws)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    lap = torch.zeros(x.shape[0])
    for i in range(x.shape[1]):
        (gi,) = torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)
        lap = lap + gi[:, i]
    return lap


@torch.no_grad()
def laplacian_forward(x, ws):
    z = x @ ws[0] + ws[1]
    t = ws[0].unsqueeze(1)             # [d, 1, w]: the first layer's tangents are the same on every row
    s = None
    for k in range(2, len(ws), 2):
        y = torch.tanh(z)
        d1 = 1 - y * y
        s = (s * d1 if s is not None else 0) - 2 * y * d1 * (t * t).sum(0)
        t = t * d1                     # [d, N, w]
        z = y @ ws[k] + ws[k + 1]
        t = t @ ws[k]
        s = s @ ws[k]
    return s


def hvp(x, ws, v):
    ps = [w.detach().requires_grad_(True) for w in ws]
    gs = torch.autograd.grad(mlp(x, ps).sum(), ps, create_graph=True)
    # The last bias's gradient (ones) does not depend on the weights: its block of H is zero.
    live = [(g, u) for g, u in zip(gs, v) if g.requires_grad]
    return torch.autograd.grad([g for g, _ in live], ps, grad_outputs=[u for _, u in live], allow_unused=True)


def timed(body, repeats, warmup):
    for _ in range(warmup):
        body()
    s = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        body()
        s.append(time.perf_counter() - t0)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=16384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--models", default="3x128,16x128,64x256")
    ap.add_argument("--only", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    for m in a.models.split(","):
        d, w = (int(v) for v in m.split("x"))
        ws = weights(d, w)
        x = torch.rand(a.rows, d) * 2 - 1
        model = "tanh MLP %d-%d-%d-%d-1" % (d, w, w, w)
        runs = []
        if a.only in (None, "laplacian"):
            # The two agree (a check that the hand-written sweep is right), in float32.
            ln, lf = laplacian_nested(x, ws), laplacian_forward(x, ws).reshape(-1)
            err = float(((ln - lf).abs() / (ln.abs() + 1e-3)).max())
            runs.append(("laplacian (nested double backward)", lambda: laplacian_nested(x, ws), {"max_rel_diff_vs_forward": err}))
            runs.append(("laplacian (hand-written forward Laplacian)", lambda: laplacian_forward(x, ws), {}))
        if a.only in (None, "hvp"):
            v = [torch.rand_like(w) * 2 - 1 for w in ws]
            runs.append(("hvp (double backward)", lambda: hvp(x, ws, v), {}))
        for what, body, extra in runs:
            s = timed(body, a.repeats, a.warmup)
            rec = {"system": "pytorch", "what": what, "model": model, "d": d, "width": w, "rows": a.rows,
                   "median_s": round(statistics.median(s), 4), "runs_s": [round(v, 4) for v in s],
                   "torch": torch.__version__, "threads": torch.get_num_threads()}
            rec.update(extra)
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
