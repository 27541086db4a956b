#!/usr/bin/python3
"""PyTorch reference for the fgvis benchmark: FGVis on the same architecture,
on CPU, as one step (default) or as whole explanations of image files
(--explain SPEC.json). Random weights (timing only). Prints one JSON object
on its last line of stdout.

One step = forward of e = m * x + (1 - m) * r through the model, the target's
log-probability, a backward pass in which the gated outputs' gradients are
multiplied by [lo <= h(e) <= hi] with lo = min(0, h(x)), hi = max(0, h(x))
captured on the image (the paper's defense, as tensor hooks), the
automatic-lambda sparsity term, Adam on the mask, clip to [0, 1]. The first
step of an explanation is the capture pass (the mask starts at ones, e = x,
where every gate is open), as in fgvis.

Architectures (matched to the nsfwjs models fgvis benchmarks), and the
outputs gated with --gates fgvis (the default: what fgvis's default defense,
src/filter/gated-kernels.ts, gates on that model, counted in the bench):
- mobilenet_v2_w14 = nsfwjs MobileNetV2Mid, the GraphModel: torchvision
  mobilenet_v2(width_mult=1.4, num_classes=5) with batch norm folded into the
  convolutions (as the TF converter folds it), the graph's own x * 2 - 1
  input scaling. Each convolution + bias + ReLU6 is gated at the convolution's
  output (before its bias) and at the ReLU6 output (tfjs splits the fused op
  under a tape); residual adds are gated; the linear projection convolutions
  (fused linear ops, which fgvis does not see), the input scaling and the
  logits are not: 35 ReLU6 + 35 convolutions + 10 adds = 80 gates.
- mobilenet_v2_w10_head = nsfwjs MobileNetV2, the Keras LayersModel:
  torchvision mobilenet_v2(width_mult=1.0) features with batch norm kept
  (Keras runs it as a layer), 7x7 average pool, Dense 256 (ReLU), Dense 128
  (ReLU), Dense 5. Keras's ReLU(max_value=6) is a Relu then a clip, each
  gated; depthwise convolution outputs (before batch norm), residual adds and
  the dense ReLUs are gated: 35 + 35 + 17 + 10 + 2 = 99 gates.
--gates relu6: only the ReLU6 outputs (the reference of the first fgvis bench).

Step mode: --arch --threads --steps --warmup --size --defense --gates.
Explain mode: --explain SPEC.json with
  {"images": [{"path": "a.png", "steps": 87}, ...],   # steps: exactly what fgvis ran
   "game": "preservation", "learningRate": 0.1, "readEvery": 10, "defense": true,
   "autoLambda": {"tolerance", "deletionFraction", "initial", "increase", "decrease", "min", "max"},
   "reference": "zero" | "mean" | "blur" | "noise" | number | [r, g, b], "blurSigma": 10, "seed": 0,
   "size": 224}
Each image: read (PIL), resized to size x size (bilinear, align_corners, as
fgvis's nsfwjs preprocessing), scaled to [0, 1]; forward for its target (the
top class of this model) and score; the reference and its score; `steps`
FGVis steps (no early stopping: the step count is fgvis's); the returned
mask (the sparsest iterate that met the score goal) scored once more. The
per-image time covers all of that; model building is reported apart
(load_s).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


# ---------------------------------------------------------------- the defense
class Gates:
    """Bounds per gated output; mode 'off', 'capture' (record bounds) or 'filter' (gate gradients)."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.mode = "off"
        self.bounds = []
        self.index = 0
        self.count = 0  # gated outputs in the last pass

    def start(self, mode):
        self.mode = mode if self.enabled else "off"
        self.index = 0
        self.count = 0
        if self.mode == "capture":
            self.bounds = []

    def __call__(self, h, nonneg=False):
        """Gate output h; nonneg: h >= 0 always (ReLU family), so lo = 0."""
        if self.mode == "capture":
            hd = h.detach()
            self.bounds.append((None if nonneg else torch.clamp(hd, max=0.0), hd if nonneg else torch.clamp(hd, min=0.0)))
            self.count += 1
        elif self.mode == "filter" and h.requires_grad:
            lo, hi = self.bounds[self.index]
            self.index += 1
            self.count += 1
            hd = h.detach()
            if lo is None:
                h.register_hook(lambda g, hd=hd, hi=hi: g * (hd <= hi))
            else:
                h.register_hook(lambda g, hd=hd, lo=lo, hi=hi: g * ((hd >= lo) & (hd <= hi)))
        return h


# ---------------------------------------------------------------- matched architectures
def _fold(conv, bn):
    """Batch norm folded into the convolution: weight and bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * scale.reshape(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * scale
    return w.detach().clone(), b.detach().clone()


class ConvUnit(nn.Module):
    """Convolution, batch norm (folded or not) and an optional ReLU6, gated as fgvis gates that model."""

    def __init__(self, conv, bn, act, style, gates, gate_mode):
        super().__init__()
        self.conv, self.bn, self.act, self.style, self.gates, self.gate_mode = conv, bn, act, style, gates, gate_mode
        self.depthwise = conv.groups > 1 and conv.groups == conv.in_channels
        if style == "graph":
            w, b = _fold(conv, bn)
            self.w = nn.Parameter(w, requires_grad=False)
            self.b = nn.Parameter(b, requires_grad=False)

    def forward(self, x):
        c, g = self.conv, self.gates
        full = self.gate_mode == "fgvis"
        if self.style == "graph":
            if not self.act:  # a fused linear op: one custom-gradient op in tfjs, not gated
                return F.conv2d(x, self.w, self.b, c.stride, c.padding, c.dilation, c.groups)
            y = F.conv2d(x, self.w, None, c.stride, c.padding, c.dilation, c.groups)
            if full:
                y = g(y)  # the convolution's output before its bias
            y = y + self.b.reshape(1, -1, 1, 1)  # its only consumer is the ReLU6: not gated again
            return g(torch.clamp(y, 0.0, 6.0), nonneg=True)
        # layers: Keras Conv2D / DepthwiseConv2D without bias, BatchNormalization, ReLU(max_value=6)
        y = c(x)
        if full and self.depthwise:
            y = g(y)  # depthwise outputs are gated; Conv2D runs fused (linear) and is not seen
        y = self.bn(y)
        if not self.act:
            return y
        if not full:
            return g(torch.clamp(y, 0.0, 6.0), nonneg=True)
        y = g(torch.relu(y), nonneg=True)
        return g(torch.clamp(y, max=6.0), nonneg=True)


def calibrate(base):
    """Random weights with batch-norm statistics measured on random images, so that
    activations stay in a working range (not saturated at 0 or 6) as in a trained net."""
    for m in base.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    base.train()
    with torch.no_grad():
        base.features(torch.rand(4, 3, 224, 224))
    base.eval()


def _units(seq, style, gates, gate_mode):
    """Conv2dNormActivation / InvertedResidual.conv contents as ConvUnits."""
    out = []
    mods = list(seq)
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, torchvision.ops.misc.Conv2dNormActivation):
            out.append(ConvUnit(m[0], m[1], True, style, gates, gate_mode))
            i += 1
        elif isinstance(m, nn.Conv2d):
            out.append(ConvUnit(m, mods[i + 1], False, style, gates, gate_mode))
            i += 2
        else:
            raise SystemExit(f"unexpected module {type(m).__name__}")
    return nn.Sequential(*out)


class Block(nn.Module):
    def __init__(self, body, residual, gates, gate_mode):
        super().__init__()
        self.body, self.residual, self.gates, self.gate_mode = body, residual, gates, gate_mode

    def forward(self, x):
        y = self.body(x)
        if not self.residual:
            return y
        y = x + y
        return self.gates(y) if self.gate_mode == "fgvis" else y


class Net(nn.Module):
    def __init__(self, arch, gates, gate_mode):
        super().__init__()
        self.arch, self.gates, self.gate_mode = arch, gates, gate_mode
        if arch == "mobilenet_v2_w14":
            base = torchvision.models.mobilenet_v2(weights=None, width_mult=1.4, num_classes=5)
            style = "graph"
        elif arch == "mobilenet_v2_w10_head":
            base = torchvision.models.mobilenet_v2(weights=None, width_mult=1.0)
            style = "layers"
        else:
            raise SystemExit(f"unknown arch {arch}")
        calibrate(base)
        blocks = []
        for f in base.features:
            if isinstance(f, torchvision.models.mobilenetv2.InvertedResidual):
                blocks.append(Block(_units(f.conv, style, gates, gate_mode), f.use_res_connect, gates, gate_mode))
            else:
                blocks.append(Block(_units([f], style, gates, gate_mode), False, gates, gate_mode))
        self.features = nn.Sequential(*blocks)
        self.style = style
        if style == "graph":
            self.head = base.classifier[1]
        else:
            last = base.last_channel
            self.fc1, self.fc2, self.fc3 = nn.Linear(last, 256), nn.Linear(256, 128), nn.Linear(128, 5)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        if self.style == "graph":
            x = x * 2.0 - 1.0  # the graph's own input scaling (not gated)
        x = self.features(x)
        if self.style == "graph":
            return self.head(x.mean((2, 3)))
        x = torch.flatten(F.avg_pool2d(x, 7), 1)
        x = self.gates(torch.relu(self.fc1(x)), nonneg=True) if self.gate_mode == "fgvis" else torch.relu(self.fc1(x))
        x = self.gates(torch.relu(self.fc2(x)), nonneg=True) if self.gate_mode == "fgvis" else torch.relu(self.fc2(x))
        return self.fc3(x)


def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} if v else None


# ---------------------------------------------------------------- step mode (unchanged measurement)
def step_mode(a, model, gates):
    x = torch.rand(1, 3, a.size, a.size)
    fwd = []
    with torch.no_grad():
        for i in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            model(x)
            if i >= a.warmup:
                fwd.append(time.perf_counter() - t0)
        target = int(model(x).argmax())
    gates.start("capture")
    with torch.no_grad():
        model(x)
    captured = gates.count
    mask = torch.ones_like(x, requires_grad=True)
    opt = torch.optim.Adam([mask], lr=0.1)
    lam = torch.tensor(1.0)
    steps = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        gates.start("filter")
        opt.zero_grad(set_to_none=True)
        logp = torch.log_softmax(model(mask * x), dim=1)[0, target]
        sparsity = mask.mean()
        loss = -logp + lam * sparsity
        loss.backward()
        opt.step()
        with torch.no_grad():
            mask.clamp_(0.0, 1.0)
            met = (logp.exp() >= 0.5).float()
            lam = torch.clamp(lam * torch.exp(met * 0.25 - 0.2), 1e-4, 1e4)
        if i >= a.warmup:
            steps.append(time.perf_counter() - t0)
    if gates.enabled:
        assert gates.index == len(gates.bounds), "every bound used once"
    return {"forward_s": stats(fwd), "step_s": stats(steps), "gated_outputs": captured}


# ---------------------------------------------------------------- explain mode
def read_image(path, size):
    from PIL import Image  # Debian's python3-pil
    import numpy as np

    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"), dtype=np.uint8)
    x = torch.from_numpy(a.copy()).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
    if x.shape[2] != size or x.shape[3] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=True)
    return x


def make_reference(x, spec, blur_sigma, seed):
    """None for zero (e = m * x), else a tensor like x."""
    if spec == "zero" or spec is None:
        return None
    if isinstance(spec, (int, float)):
        return torch.full_like(x, float(spec))
    if isinstance(spec, list):
        c = torch.tensor(spec, dtype=x.dtype).reshape(1, -1, 1, 1)
        return c.expand_as(x).clone()
    if spec == "mean":
        return x.mean((2, 3), keepdim=True).expand_as(x).clone()
    if spec == "blur":
        s = blur_sigma
        radius = max(1, min(math.ceil(3 * s), max(x.shape[2], x.shape[3]) // 2))
        t = torch.arange(-radius, radius + 1, dtype=x.dtype)
        k = torch.exp(-(t * t) / (2 * s * s))
        k = k / k.sum()
        C = x.shape[1]
        kr = k.reshape(1, 1, 1, -1).repeat(C, 1, 1, 1)
        kc = k.reshape(1, 1, -1, 1).repeat(C, 1, 1, 1)
        blur = lambda v: F.conv2d(F.conv2d(v, kr, padding=(0, radius), groups=C), kc, padding=(radius, 0), groups=C)
        return blur(x) / blur(torch.ones_like(x))
    if spec == "noise":
        g = torch.Generator().manual_seed(int(seed) if seed is not None else 0)
        mean = x.mean((2, 3), keepdim=True)
        std = x.std((2, 3), unbiased=False, keepdim=True)
        return mean + std * torch.randn(x.shape, generator=g)
    raise SystemExit(f"torch_step.py: unknown reference {spec!r} (zero, mean, blur, noise, a number or a colour)")


def explain_one(model, gates, path, steps, o):
    """One FGVis explanation as fgvis's explain() runs it, for exactly `steps` steps. Returns a record."""
    t0 = time.perf_counter()
    x = read_image(path, o["size"])
    deletion = o["game"] == "deletion"
    al = o["autoLambda"]
    with torch.no_grad():
        p = torch.softmax(model(x), 1)[0]
        target = int(p.argmax())
        score_image = float(p[target])
        r = make_reference(x, o["reference"], o["blurSigma"], o.get("seed"))
        score_ref = float(torch.softmax(model(r if r is not None else torch.zeros_like(x)), 1)[0, target])
    if deletion:
        floor = min(score_ref, score_image)
        goal = floor + al["deletionFraction"] * (score_image - floor)
    else:
        goal = score_image - al["tolerance"]
    mask = torch.ones_like(x, requires_grad=True)
    opt = (torch.optim.SGD if o["optimizer"] == "sgd" else torch.optim.Adam)([mask], lr=o["learningRate"])
    lam = torch.tensor(float(al["initial"]))
    best = torch.ones_like(x)
    best_sparsity = torch.tensor(2.0)
    log_inc, log_dec = al["increase"], al["decrease"]
    records = []
    for i in range(steps):
        gates.start("capture" if i == 0 else "filter")
        opt.zero_grad(set_to_none=True)
        e = mask * x if r is None else mask * x + (1 - mask) * r
        lp = torch.log_softmax(model(e), dim=1)[0]
        if deletion:  # log(1 - p_c), as the log-sum-exp of the other classes
            term = torch.logsumexp(torch.cat([lp[:target], lp[target + 1:]]), 0)
            sparsity = (1 - mask).mean()
        else:
            term = -lp[target]
            sparsity = mask.mean()
        loss = term + lam * sparsity
        loss.backward()
        with torch.no_grad():
            score = lp[target].exp()
            met = (score <= goal) if deletion else (score >= goal)
            better = met & (sparsity < best_sparsity)
            if better:
                best.copy_(mask)
                best_sparsity = sparsity.detach().clone()
            lam = torch.clamp(lam * math.exp(log_inc) if met else lam * math.exp(-log_dec), al["min"], al["max"])
        opt.step()
        with torch.no_grad():
            mask.clamp_(0.0, 1.0)
        records.append((float(score), float(loss)))  # fgvis reads its records every readEvery steps; here they are on the CPU already
    final = best if float(best_sparsity) <= 1 else mask.detach()
    with torch.no_grad():
        e = final * x if r is None else final * x + (1 - final) * r
        score_e = float(torch.softmax(model(e), 1)[0, target])
    return {
        "image": path, "steps": steps, "seconds": time.perf_counter() - t0, "target": target,
        "score_image": score_image, "score_explanation": score_e, "mask_mean": float(final.mean()),
        "gated_outputs": gates.count,
    }


def explain_mode(a, spec):
    t0 = time.perf_counter()
    gates = Gates(bool(spec.get("defense", True)))
    model = Net(a.arch, gates, a.gates)
    load_s = time.perf_counter() - t0
    o = {
        "size": int(spec.get("size", a.size)), "game": spec.get("game", "preservation"),
        "optimizer": spec.get("optimizer", "adam"), "learningRate": float(spec.get("learningRate", 0.1)), "autoLambda": spec["autoLambda"],
        "reference": spec.get("reference", "zero"), "blurSigma": float(spec.get("blurSigma", 10)), "seed": spec.get("seed"),
    }
    items = [explain_one(model, gates, im["path"], int(im["steps"]), o) for im in spec["images"]]
    busy = sum(r["seconds"] for r in items)
    steps = sum(r["steps"] for r in items)
    return {
        "load_s": load_s, "images": items, "seconds": busy, "steps": steps,
        "images_per_s": len(items) / busy if busy else None,
        "wall_images_per_s": len(items) / (load_s + busy) if busy else None,
        "step_s_mean": busy / steps if steps else None,
        "options": o,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--arch", default="mobilenet_v2_w14")
    ap.add_argument("--defense", type=int, default=1)
    ap.add_argument("--gates", choices=["fgvis", "relu6"], default="fgvis")
    ap.add_argument("--explain", help="JSON spec: explain these image files (see the module docstring)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    head = {
        "arch": a.arch, "threads": a.threads, "size": a.size, "gates": a.gates,
        "torch": torch.__version__, "torchvision": torchvision.__version__,
    }
    if a.explain:
        with open(a.explain) as f:
            spec = json.load(f)
        out = {**head, "mode": "explain", "defense": bool(spec.get("defense", True)), **explain_mode(a, spec)}
    else:
        gates = Gates(bool(a.defense))
        model = Net(a.arch, gates, a.gates)
        out = {**head, "mode": "step", "defense": bool(a.defense), **step_mode(a, model, gates)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
