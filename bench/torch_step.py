#!/usr/bin/python3
"""PyTorch reference for the fgvis benchmark: the same FGVis step on the same
architecture, on CPU.

One step = forward of m * x through the model, the target's log-probability,
a backward pass in which every ReLU6 output's gradient is gated by the bounds
captured on the image ([lo <= h(e) <= hi], the paper's defense, as tensor
hooks), the automatic-lambda sparsity term, Adam on the mask, clip to [0, 1].
Random weights (timing only). Prints one JSON object.

Architectures (matched to the nsfwjs models fgvis benchmarks):
- mobilenet_v2_w14: torchvision mobilenet_v2(width_mult=1.4, num_classes=5)
  = nsfwjs MobileNetV2Mid (first conv 48, last conv 1792, 5 classes);
- mobilenet_v2_w10_head: torchvision mobilenet_v2(width_mult=1.0) features,
  7x7 average pool, Dense 256 (ReLU), Dense 128 (ReLU), Dense 5
  = nsfwjs MobileNetV2 (the Keras LayersModel).

Usage: torch_step.py [--threads 2] [--steps 20] [--warmup 3] [--size 224] [--arch ...]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torchvision


class GatedReLU6(nn.Module):
    """ReLU6 whose output records bounds (capture) or gates its gradient (filter)."""

    def __init__(self, state):
        super().__init__()
        self.state = state

    def forward(self, x):
        h = torch.clamp(x, 0.0, 6.0)
        st = self.state
        if st["mode"] == "capture":
            st["bounds"].append((torch.clamp(h, max=0.0).detach(), torch.clamp(h, min=0.0).detach()))
        elif st["mode"] == "filter" and h.requires_grad:
            lo, hi = st["bounds"][st["index"]]
            st["index"] += 1
            inside = ((h >= lo) & (h <= hi)).to(h.dtype)
            h.register_hook(lambda g, m=inside: g * m)
        return h


def replace_relu6(module, state):
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU6):
            setattr(module, name, GatedReLU6(state))
        else:
            replace_relu6(child, state)


def build(arch, state):
    if arch == "mobilenet_v2_w14":
        model = torchvision.models.mobilenet_v2(weights=None, width_mult=1.4, num_classes=5)
    elif arch == "mobilenet_v2_w10_head":
        base = torchvision.models.mobilenet_v2(weights=None, width_mult=1.0)
        model = nn.Sequential(
            base.features,
            nn.AvgPool2d(7),
            nn.Flatten(),
            nn.Linear(1280, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 5),
        )
    else:
        raise SystemExit(f"unknown arch {arch}")
    replace_relu6(model, state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--arch", default="mobilenet_v2_w14")
    ap.add_argument("--defense", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    state = {"mode": "off", "bounds": [], "index": 0}
    model = build(a.arch, state)
    x = torch.rand(1, 3, a.size, a.size)

    # Forward pass (inference).
    fwd = []
    with torch.no_grad():
        for i in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            model(x)
            if i >= a.warmup:
                fwd.append(time.perf_counter() - t0)
        target = int(model(x).argmax())

    # Bounds at e = x.
    if a.defense:
        state["mode"] = "capture"
        with torch.no_grad():
            model(x)
    mask = torch.ones_like(x, requires_grad=True)
    opt = torch.optim.Adam([mask], lr=0.1)
    lam = torch.tensor(1.0)
    steps = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        state["mode"] = "filter" if a.defense else "off"
        state["index"] = 0
        opt.zero_grad(set_to_none=True)
        logp = torch.log_softmax(model(mask * x), dim=1)[0, target]
        sparsity = mask.mean()
        loss = -logp + lam * sparsity
        loss.backward()
        opt.step()
        with torch.no_grad():
            mask.clamp_(0.0, 1.0)
            # automatic lambda: a few scalar ops on the score
            met = (logp.exp() >= 0.5).float()
            lam = torch.clamp(lam * torch.exp(met * 0.25 - 0.2), 1e-4, 1e4)
        if i >= a.warmup:
            steps.append(time.perf_counter() - t0)
    if a.defense:
        assert state["index"] == len(state["bounds"]), "every bound used once"

    def stats(v):
        return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}

    print(json.dumps({
        "arch": a.arch, "threads": a.threads, "size": a.size, "defense": bool(a.defense),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "gated_activations": len(state["bounds"]),
        "forward_s": stats(fwd), "step_s": stats(steps),
    }))


if __name__ == "__main__":
    main()
