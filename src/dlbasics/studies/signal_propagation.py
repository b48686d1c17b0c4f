"""How a signal grows or fades through depth, with scratch layers.

    python -m dlbasics.studies.signal_propagation init_variance    # NNDL 7.4
    python -m dlbasics.studies.signal_propagation depth_products   # d2l 4.8
    python -m dlbasics.studies.signal_propagation perceptron       # d2l's perceptron

``init_variance``: the variance of every layer's Tanh activations in a
100-200-400-300-200-100 net, for inputs of variance 0.01, under N(0, 1), Xavier normal and
Xavier uniform weights (``activation_variance.csv`` and a figure). ``depth_products``: 100
scalar layers y = a·x in float32, forward value and backward gradient, for a = 1.5 and 0.8
(d2l's 1.5¹⁰⁰ ≈ 4e17 and 0.8¹⁰⁰ ≈ 2e-10). ``perceptron``: the perceptron rule on linearly
separable points in the plane, its number of updates against the bound (r² + 1)/ρ².
"""

import csv
import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from dlbasics.scratch.ops import Linear, Sequential, Tanh
from dlbasics.utils.figures import plt
from dlbasics.utils.measurements import study_main

LAYERS = (100, 200, 400, 300, 200, 100)
INIT_SCHEMES = {
    "N(0, 1)": ("normal", 1.0),
    "Xavier normal": ("xavier_normal", 0.0),
    "Xavier uniform": ("xavier_uniform", 0.0),
}


def init_variance(out: Path, samples: int = 1000, seed: int = 0) -> dict[str, float]:
    torch.manual_seed(seed)
    x = 0.1 * torch.randn(samples, LAYERS[0])  # variance 0.01
    variances: dict[str, list[float]] = {}
    for label, (scheme, scale) in INIT_SCHEMES.items():
        h, per_layer = x, []
        for fan_in, fan_out in itertools.pairwise(LAYERS):
            h = Sequential(Linear(fan_in, fan_out, scheme, scale), Tanh())(h)
            per_layer.append(float(h.var()))
        variances[label] = per_layer
    out.mkdir(parents=True, exist_ok=True)
    with (out / "activation_variance.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["init", *(f"layer {i}" for i in range(1, len(LAYERS)))])
        writer.writerows([label, *values] for label, values in variances.items())
    figure, axes = plt.subplots(figsize=(6, 4))
    for label, values in variances.items():
        axes.plot(range(1, len(values) + 1), values, marker="o", label=label)
    axes.set(xlabel="layer", ylabel="variance of the Tanh outputs", yscale="log")
    axes.legend()
    figure.savefig(out / "activation_variance.png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return {
        f"{label} layer {i}": v
        for label, values in variances.items()
        for i, v in enumerate(values, start=1)
    }


def depth_products(out: Path, depth: int = 100) -> dict[str, float]:
    """A chain of ``depth`` scratch ``Linear(1, 1)`` layers with weight a and no bias: the
    output is a^depth·x, and so is the gradient that reaches the input."""
    values = {}
    for a in (1.5, 0.8):
        layers = [Linear(1, 1, "zeros") for _ in range(depth)]
        for layer in layers:
            layer.weight.data.fill_(a)
        chain = Sequential(*layers)
        y = chain(torch.ones(1, 1))
        grad = chain.backward(torch.ones(1, 1))
        values[f"{a} forward"], values[f"{a} gradient"] = float(y), float(grad)
    out.mkdir(parents=True, exist_ok=True)
    (out / "depth_products.csv").write_text(
        "a,forward,gradient\n"
        + "".join(f"{a},{values[f'{a} forward']},{values[f'{a} gradient']}\n" for a in (1.5, 0.8))
    )
    return values


def separable_points(
    count: int, margin: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Points of [−1, 1]² at distance ≥ ``margin`` from the line 0.6·x1 + 0.6·x2 + 0.2 = 0;
    (w*, b*) = (0.6, 0.6, 0.2) has ‖w*‖² + b*² ≤ 1, so ρ = margin in d2l's bound."""
    generator = torch.Generator().manual_seed(seed)
    w, b = torch.tensor([0.6, 0.6]), 0.2
    points = torch.empty(0, 2)
    while len(points) < count:
        x = 2 * torch.rand(4 * count, 2, generator=generator) - 1
        points = torch.cat([points, x[(x @ w + b).abs() >= margin]])
    points = points[:count]
    return points, torch.sign(points @ w + b), w, b


def perceptron(out: Path, count: int = 200, margin: float = 0.1, seed: int = 0) -> dict[str, float]:
    """``w ← w + y·x, b ← b + y`` on every mistake, until an epoch makes none."""
    x, y, _, _ = separable_points(count, margin, seed)
    w, b, updates, epochs = torch.zeros(2), 0.0, 0, 0
    while True:
        epochs += 1
        mistakes = 0
        for xi, yi in zip(x, y, strict=True):
            if float(yi) * (float(xi @ w) + b) <= 0:
                w, b = w + yi * xi, b + float(yi)
                mistakes += 1
        updates += mistakes
        if mistakes == 0:
            break
    r = float(x.norm(dim=1).max())
    bound = (r * r + 1) / margin**2
    out.mkdir(parents=True, exist_ok=True)
    (out / "perceptron.csv").write_text(
        f"updates,epochs,r,margin,bound\n{updates},{epochs},{r},{margin},{bound}\n"
    )
    correct = float((torch.sign(x @ w + b) == y).float().mean())
    return {
        "updates": updates,
        "epochs": epochs,
        "r": r,
        "margin": margin,
        "bound": math.floor(bound),
        "training accuracy": correct,
    }


STUDIES = {
    "init_variance": init_variance,
    "depth_products": depth_products,
    "perceptron": perceptron,
}


def main(argv: Sequence[str] | None = None) -> None:
    study_main(STUDIES, __doc__.split("\n")[0], "signal_propagation", argv)


if __name__ == "__main__":
    main()
