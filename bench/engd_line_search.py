#!/usr/bin/env python3
"""Which line search for fit --solve dense: Armijo backtracking with Levenberg-Marquardt damping (what
SecondOrderOptimizer does) or the energy natural gradient paper's grid (Mueller and Zeinhofer, 2023: a
fixed small damping and the best of the step sizes 2^-k, k = 0..30). A float64 PyTorch replica of the
job's problem (SmallPoissonResidual: tanh 2-16-16-1 times (1-x^2)(1-y^2), residual Laplacian(u) + 2 pi^2
sin(pi x) sin(pi y) at 1024 uniform points from seed 7, G = (2/N) J^T J), outside the job, so that the
two rules are compared on the same problem in seconds. Torch's own initialisation (seed 0), not the job's.

    python3 bench/engd_line_search.py armijo 100 1e-10    # rule, iterations, starting damping
    python3 bench/engd_line_search.py grid 100 1e-10

Prints the loss and the relative L2 error on a 101x101 grid of [-0.99, 0.99]^2 every 25 iterations.
Needs torch >= 1.13 with functorch (or torch.func).
"""
import sys
import time

import numpy as np
import torch

try:
    from torch import func as ft
except ImportError:  # torch 1.13
    import functorch as ft

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
rule, iterations, lam = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
W = 16
X = torch.tensor(np.random.default_rng(7).uniform(-1, 1, (1024, 2)))
g = np.linspace(-0.99, 0.99, 101)
GRID = torch.tensor(np.stack([a.ravel() for a in np.meshgrid(g, g)], 1))
EXACT = torch.sin(np.pi * GRID[:, 0]) * torch.sin(np.pi * GRID[:, 1])
SHAPES = [(2, W), (W,), (W, W), (W,), (W, 1), (1,)]
FAN_IN = [2, 2, W, W, W, W]


def unflatten(w):
    out, i = [], 0
    for s in SHAPES:
        n = int(np.prod(s))
        out.append(w[i:i + n].reshape(s))
        i += n
    return out


def u(w, p):
    a, b, c, d, e, f = unflatten(w)
    h = torch.tanh(torch.tanh(p @ a + b) @ c + d)
    return (1 - p[..., 0] ** 2) * (1 - p[..., 1] ** 2) * (h @ e + f)[..., 0]


def residual(w, p):
    h = ft.hessian(lambda q: u(w, q))(p)
    return h[0, 0] + h[1, 1] + 2 * np.pi ** 2 * torch.sin(np.pi * p[0]) * torch.sin(np.pi * p[1])


residuals = ft.vmap(residual, in_dims=(None, 0))
jacobian = ft.vmap(ft.jacrev(residual), in_dims=(None, 0))
w = torch.cat([torch.empty(s).uniform_(-fan ** -0.5, fan ** -0.5).reshape(-1) for s, fan in zip(SHAPES, FAN_IN)])
n, p_count = X.shape[0], w.numel()


def loss(w):
    return (residuals(w, X) ** 2).mean()


t0 = time.time()
for k in range(iterations + 1):
    if k % 25 == 0 or k == iterations:
        err = torch.sqrt(((u(w, GRID) - EXACT) ** 2).sum() / (EXACT ** 2).sum()).item()
        print(f"{rule} iteration {k}  {time.time() - t0:.1f} s  loss {loss(w).item():.3e}  error {err:.3e}  lambda {lam:.2e}", flush=True)
    if k == iterations:
        break
    r, J = residuals(w, X), jacobian(w, X)
    G, grad, f0 = 2 / n * J.T @ J, 2 / n * J.T @ r, (r ** 2).mean()
    p = torch.linalg.solve(G + lam * torch.eye(p_count), -grad)
    if rule == "grid":
        steps = [0.5 ** i for i in range(31)]
        w = w + steps[int(torch.argmin(torch.stack([loss(w + t * p) for t in steps])))] * p
        continue
    predicted, t = -(grad @ p + 0.5 * p @ G @ p), 1.0
    for h in range(31):
        f = loss(w + t * p)
        if h == 0:
            rho = (f0 - f) / predicted
            lam *= 1.5 if rho < 0.25 else 2 / 3 if rho > 0.75 else 1
        if f <= f0 + 1e-4 * t * (grad @ p):
            break
        t *= 0.5
    w = w + t * p
