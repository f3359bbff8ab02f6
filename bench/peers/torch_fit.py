#!/usr/bin/env python3
"""The PyTorch peer of bench/src/main/java/org/gradspark/bench/FitBench.java: full-batch L-BFGS
(torch.optim.LBFGS, strong Wolfe line search, history 10, as Breeze's) on one machine, on the same
rows, labels, layers and starting weights: h = sigmoid(h @ w_k + b_k), no activation after the last
layer, mean cross-entropy (torch.nn.functional.cross_entropy). Prints one JSON line: the loss after
each objective evaluation with its time since the optimiser started, and the loss per iteration.

  torch_fit.py --x x.npy --labels y.npy --weights w.npz --iterations 40 --threads 2
"""
import argparse
import json
import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    # A peer that cannot run is a failure (exit status 1), never a comparison quietly left out.
    sys.exit("%s: PyTorch is not installed for %s (Debian: apt-get install python3-torch)" % (sys.argv[0], sys.executable))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--x", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    x = torch.from_numpy(np.load(a.x).astype(np.float32))
    y = torch.from_numpy(np.load(a.labels).astype(np.int64))
    npz = np.load(a.weights)
    n = len([k for k in npz.files if k.startswith("w")])
    params = []
    for k in range(n):
        params.append(torch.tensor(npz["w%d" % k], dtype=torch.float32, requires_grad=True))
        params.append(torch.tensor(npz["b%d" % k], dtype=torch.float32, requires_grad=True))

    def forward():
        h = x
        for k in range(n):
            h = h @ params[2 * k] + params[2 * k + 1]
            if k < n - 1:
                h = torch.sigmoid(h)
        return torch.nn.functional.cross_entropy(h, y)

    opt = torch.optim.LBFGS(params, lr=1, max_iter=a.iterations, max_eval=a.iterations * 25, history_size=10,
                            tolerance_grad=0, tolerance_change=0, line_search_fn="strong_wolfe")
    evaluations = []
    t0 = time.perf_counter()

    def closure():
        opt.zero_grad()
        loss = forward()
        loss.backward()
        evaluations.append({"loss": float(loss), "s": time.perf_counter() - t0})
        return loss

    opt.step(closure)
    wall = time.perf_counter() - t0
    with torch.no_grad():
        final = float(forward())
    print(json.dumps({"peer": "torch.optim.LBFGS", "threads": a.threads, "torch": torch.__version__, "iterations": opt.state[opt._params[0]]["n_iter"],
                      "evaluations": evaluations, "final_loss": final, "wall_s": wall}))


if __name__ == "__main__":
    main()
