# PyTorch's side of GradientStatisticsJobTest: the per-example gradient statistics of the job's model,
# from per-sample gradients (functorch.vmap(functorch.grad(...))) and, for the GGN diagonal, each row's
# Jacobian and loss Hessian (torch.autograd.functional), in float64.
#   python3 grad_stats_peer.py C DIR MODEL LOSS [DIR MODEL LOSS ...]   (MODEL: mlp | cell; LOSS: mse | softmax-cross-entropy)
# reads DIR/{x,y,s}.npy, DIR/w.npz (the parameters by key, in the model's order), DIR/v.npz; writes DIR/expected.npz.
# Exit status 3: no torch/functorch here (the test is then skipped).
import sys
try:
    import numpy as np
    import torch
    from functorch import grad, vmap
except ImportError as e:
    print("skip:", e)
    sys.exit(3)


def peer(d, model, loss_kind, clip):
    x = torch.tensor(np.load(d + "/x.npy"))
    y = torch.tensor(np.load(d + "/y.npy"))
    s = torch.tensor(np.load(d + "/s.npy")).reshape(-1)
    with np.load(d + "/w.npz") as z:
        keys = list(z.keys())
        params = {k: torch.tensor(z[k]) for k in keys}
    with np.load(d + "/v.npz") as z:
        v = {k: torch.tensor(z[k]) for k in keys}

    def out(p, xi):
        if model == "mlp":
            return torch.tanh(xi @ p["w0"] + p["b0"]) @ p["w1"] + p["b1"]
        zz = xi @ p["w"]
        return torch.sin(zz) * torch.exp(p["c"]) + zz ** 2 / (p["c"] * p["c"] + 1)

    def loss(o, yi):
        if loss_kind == "mse":
            return ((o - yi) ** 2).mean()
        return -(yi * torch.log_softmax(o, -1)).sum()

    def term(p, xi, yi, si):   # o_n = s_n * loss_n
        return si * loss(out(p, xi), yi)


    g = vmap(grad(term), in_dims=(None, 0, 0, 0))(params, x, y, s)   # key -> [N, *shape]
    n = x.shape[0]
    flat = torch.cat([g[k].reshape(n, -1) for k in keys], 1)
    norms = flat.norm(dim=1)
    per_key = torch.stack([g[k].reshape(n, -1).norm(dim=1) for k in keys], 1)
    dots = flat @ torch.cat([v[k].reshape(-1) for k in keys])
    factor = torch.clamp(clip / norms, max=1.0)
    res = {"norms": norms, "norms_per_key": per_key, "dots": dots}
    for k in keys:
        res["sum_" + k] = g[k].sum(0)
        res["squares_" + k] = (g[k] ** 2).sum(0)
        res["clipped_" + k] = (g[k] * factor.reshape([n] + [1] * (g[k].dim() - 1))).sum(0)
        res["ggn_" + k] = torch.zeros_like(params[k])
    for i in range(n):
        ps = tuple(params[k] for k in keys)
        jac = torch.autograd.functional.jacobian(lambda *q: out(dict(zip(keys, q)), x[i:i + 1])[0], ps)
        o = out(params, x[i:i + 1])[0]
        h = torch.autograd.functional.hessian(lambda oo: loss(oo, y[i]), o)
        for k, j in zip(keys, jac):
            jj = j.reshape(o.shape[0], -1)
            res["ggn_" + k] += s[i] * torch.einsum("ip,ij,jp->p", jj, h, jj).reshape(params[k].shape)
    sum_sq = (norms ** 2).sum()
    mean = torch.cat([res["sum_" + k].reshape(-1) for k in keys]) / n
    trace = (sum_sq - n * (mean ** 2).sum()) / (n - 1)
    res["noise_scale"] = trace / (mean ** 2).sum()
    res["quantiles"] = torch.tensor(np.quantile(norms.numpy(), [0, 0.5, 0.99, 1]))
    np.savez(d + "/expected.npz", **{k: t.detach().numpy() for k, t in res.items()})


torch.set_default_dtype(torch.float64)
clip = float(sys.argv[1])
for i in range(2, len(sys.argv), 3):
    peer(sys.argv[i], sys.argv[i + 1], sys.argv[i + 2], clip)
print("ok")
