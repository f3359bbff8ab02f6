"""The inputs of bench/gpu-machine/run-e2e and its PyTorch peer.

  e2e_peer.py inputs DIR [--smoke]   writes the rows, weights and HVP direction the job and PyTorch share
  e2e_peer.py torch DIR [--smoke]    computes the three results in PyTorch on the GPU (on the CPU where there
                                     is no CUDA device: torch.json says which) and times them

The computations (tanh MLPs, float32, the job's objective: the sum of the outputs, sens ones, reduction sum):
  grad       d sum(f(X)) / dW of the large MLP 256-1024-1024-10 on 65,536 rows
  hvp        H v, the Hessian of the same objective in the weights times the direction V (double backward)
  laplacian  per example sum_i d2 f(x)/dx_i2 of the MLP 16-128-128-128-1 on 65,536 rows (the hand-written
             forward Laplacian of bench/peers/torch_laplacian.py)
--smoke: 16-32-32-10 and 4-8-8-8-1 on 512 rows, one timed run. Files in DIR: mlp_x.npy, mlp_w.npz, mlp_v.npz,
lap_x.npy, lap_w.npz (inputs); torch_grad.npz, torch_hvp.npz, torch_laplacian.npy and torch.json (the peer).
TF32 is off: PyTorch computes in fp32 as the job does. A missing PyTorch is an error, never a skipped row.
"""
import json
import os
import statistics
import sys
import time

import numpy as np

SMOKE = "--smoke" in sys.argv[3:]
ROWS = 512 if SMOKE else 65536
MLP = (16, 32, 32, 10) if SMOKE else (256, 1024, 1024, 10)
LAPLACIAN = (4, 8, 8, 8, 1) if SMOKE else (16, 128, 128, 128, 1)
REPEATS, WARMUP = (1, 1) if SMOKE else (5, 2)


def layers(widths):
    """The --layers of the job for these widths."""
    return ",".join(str(w) for w in widths)


def glorot(rng, widths):
    """w0,b0,w1,b1,... as the job reads them (w_k [in, out]); Glorot-uniform weights, biases in [-0.1, 0.1)."""
    ws = {}
    for k in range(len(widths) - 1):
        r = (6.0 / (widths[k] + widths[k + 1])) ** 0.5
        ws["w%d" % k] = rng.uniform(-r, r, (widths[k], widths[k + 1])).astype(np.float32)
        ws["b%d" % k] = rng.uniform(-0.1, 0.1, widths[k + 1]).astype(np.float32)
    return ws


def write_inputs(d):
    rng = np.random.default_rng(24)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "mlp_x.npy"), rng.uniform(-1, 1, (ROWS, MLP[0])).astype(np.float32))
    w = glorot(rng, MLP)
    np.savez(os.path.join(d, "mlp_w.npz"), **w)
    np.savez(os.path.join(d, "mlp_v.npz"), **{k: rng.uniform(-1, 1, a.shape).astype(np.float32) for k, a in w.items()})
    np.save(os.path.join(d, "lap_x.npy"), rng.uniform(-1, 1, (ROWS, LAPLACIAN[0])).astype(np.float32))
    np.savez(os.path.join(d, "lap_w.npz"), **glorot(rng, LAPLACIAN))
    json.dump({"rows": ROWS, "mlp_layers": layers(MLP), "laplacian_layers": layers(LAPLACIAN)}, open(os.path.join(d, "inputs.json"), "w"))


def run_torch(d):
    try:
        import torch
    except ImportError:
        sys.exit("e2e_peer.py: PyTorch is not installed for %s (pip install torch, with CUDA)" % sys.executable)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
    from torch_laplacian import mlp, laplacian_forward, hvp  # noqa: E402  (the same sweeps as the Laplacian bench)

    cuda = torch.cuda.is_available()
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda" if cuda else "cpu")
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def load(name):
        z = np.load(os.path.join(d, name))
        keys = sorted(z.files, key=lambda k: (int(k[1:]), k[0] == "b"))  # w0,b0,w1,b1,...
        return keys, [torch.from_numpy(z[k]).to(dev) for k in keys]

    x = torch.from_numpy(np.load(os.path.join(d, "mlp_x.npy"))).to(dev)
    keys, ws = load("mlp_w.npz")
    _, v = load("mlp_v.npz")
    lx = torch.from_numpy(np.load(os.path.join(d, "lap_x.npy"))).to(dev)
    _, lws = load("lap_w.npz")

    def grad():
        ps = [w.detach().requires_grad_(True) for w in ws]
        return torch.autograd.grad(mlp(x, ps).sum(), ps)

    def hessian_vector():
        # torch_laplacian.hvp leaves out the last bias, whose gradient (ones) the weights do not move: zeros.
        return [h if h is not None else torch.zeros_like(w) for h, w in zip(hvp(x, ws, v), ws)]

    computations = {"grad": grad, "hvp": hessian_vector, "laplacian": lambda: laplacian_forward(lx, lws)}
    record = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if cuda else "cpu (no CUDA device)",
              "cuda": cuda, "tf32": False, "threads": torch.get_num_threads(), "warmup": WARMUP, "repeats": REPEATS, "seconds": {}}
    for name, body in computations.items():
        for _ in range(WARMUP):
            body()
            sync()
        runs = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            result = body()
            sync()
            runs.append(time.perf_counter() - t0)
        record["seconds"][name] = {"median": statistics.median(runs), "runs": runs}
        if name == "laplacian":
            np.save(os.path.join(d, "torch_laplacian.npy"), result.detach().cpu().numpy().reshape(ROWS, -1))
        else:
            np.savez(os.path.join(d, "torch_%s.npz" % name), **{k: r.detach().cpu().numpy() for k, r in zip(keys, result)})
    json.dump(record, open(os.path.join(d, "torch.json"), "w"), indent=1)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("inputs", "torch"):
        sys.exit(__doc__)
    (write_inputs if sys.argv[1] == "inputs" else run_torch)(sys.argv[2])


if __name__ == "__main__":
    main()
