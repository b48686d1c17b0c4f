"""From-scratch operators, losses, optimizers and the gradient check, against torch."""

import math

import pytest
import torch
from torch import nn

from dlbasics.errors import ConfigError, DataError
from dlbasics.scratch import optim
from dlbasics.scratch.gradcheck import GradcheckError, gradcheck
from dlbasics.scratch.init import initialise
from dlbasics.scratch.losses import MSE, BCEWithLogits, SoftmaxCrossEntropy
from dlbasics.scratch.nets import ScratchMLP
from dlbasics.scratch.ops import Dropout, LeakyReLU, Linear, Op, ReLU, Sequential, Sigmoid, Tanh
from dlbasics.scratch.scalar import exp_of_products
from dlbasics.scratch.surfaces import SURFACES
from dlbasics.studies.optimizer_paths import run_study
from dlbasics.studies.signal_propagation import (
    depth_products,
    init_variance,
    perceptron,
    separable_points,
)

DOUBLE = torch.float64


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=DOUBLE, generator=generator(seed))


ELEMENTWISE = [
    (Sigmoid, torch.sigmoid),
    (Tanh, torch.tanh),
    (ReLU, torch.relu),
    (lambda: LeakyReLU(0.2), lambda x: nn.functional.leaky_relu(x, 0.2)),
]


@pytest.mark.parametrize(("make", "reference"), ELEMENTWISE)
def test_activation_backward_equals_autograd_and_finite_differences(make, reference) -> None:
    x = random(5, 4)
    op = make()
    upstream = random(5, 4, seed=1)
    ours = op.backward(upstream) if op(x) is not None else None
    x_ref = x.clone().requires_grad_(True)
    reference(x_ref).backward(upstream)
    assert torch.allclose(ours, x_ref.grad, atol=1e-12)
    assert gradcheck(op, x).error < 1e-6


def test_linear_backward_equals_autograd_and_finite_differences() -> None:
    torch.manual_seed(0)
    op = Linear(4, 3).double()
    twin = nn.Linear(4, 3).double()
    twin.load_state_dict(op.state_dict())  # the same layout as torch's Linear
    x, upstream = random(6, 4), random(6, 3, seed=2)
    assert torch.allclose(op(x), twin(x.clone()), atol=1e-12)
    grad_x = op.backward(upstream)
    x_ref = x.clone().requires_grad_(True)
    twin(x_ref).backward(upstream)
    assert torch.allclose(grad_x, x_ref.grad, atol=1e-12)
    assert torch.allclose(op.weight.grad, twin.weight.grad, atol=1e-12)
    assert torch.allclose(op.bias.grad, twin.bias.grad, atol=1e-12)
    assert gradcheck(op, x).error < 1e-6


def test_sequential_chains_the_backward_of_an_mlp() -> None:
    torch.manual_seed(0)
    net = ScratchMLP(5, 3, [7, 6], activation="tanh").double()
    x = random(4, 5)
    assert gradcheck(net.layers, x).error < 1e-6
    torch.manual_seed(0)
    twin = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 6), nn.Tanh(),
                         nn.Linear(6, 3)).double()  # fmt: skip
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), twin.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize(
    ("loss", "reference", "target"),
    [
        (SoftmaxCrossEntropy, nn.functional.cross_entropy, torch.tensor([0, 2, 1, 2])),
        (MSE, nn.functional.mse_loss, None),
    ],
)
def test_losses_equal_torch_in_value_and_gradient(loss, reference, target) -> None:
    logits = random(4, 3)
    target = random(4, 3, seed=3) if target is None else target
    op = loss()
    value = op(logits, target)
    grad = op.backward()
    logits_ref = logits.clone().requires_grad_(True)
    expected = reference(logits_ref, target)
    expected.backward()
    assert float(value) == pytest.approx(float(expected), abs=1e-12)
    assert torch.allclose(grad, logits_ref.grad, atol=1e-12)
    assert gradcheck(op, logits, target).error < 1e-6


def test_bce_with_logits_equals_torch() -> None:
    logits, target = random(6, 1), torch.tensor([0, 1, 1, 0, 1, 0])
    op = BCEWithLogits()
    value = op(logits, target)
    grad = op.backward()
    logits_ref = logits.clone().requires_grad_(True)
    expected = nn.functional.binary_cross_entropy_with_logits(logits_ref[:, 0], target.double())
    expected.backward()
    assert float(value) == pytest.approx(float(expected), abs=1e-12)
    assert torch.allclose(grad, logits_ref.grad, atol=1e-12)
    assert gradcheck(op, logits, target).error < 1e-6


def test_losses_stay_finite_on_huge_logits() -> None:
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    value = SoftmaxCrossEntropy()(logits, torch.tensor([0, 2]))
    expected = (0 + 1 + math.log1p(math.exp(-1))) / 2  # row 2: logsumexp − 999 = 1 + log(1 + 1/e)
    assert float(value) == pytest.approx(expected, abs=1e-4)  # float32 spacing at 1000: 6e-5
    naive = -torch.log(torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True))
    assert not torch.isfinite(naive).all()  # the textbook formula overflows here
    bce = BCEWithLogits()(torch.tensor([[1000.0], [-1000.0]]), torch.tensor([0, 1]))
    assert float(bce) == pytest.approx(1000.0)


def test_inverted_dropout_keeps_the_expectation_and_is_off_in_eval() -> None:
    torch.manual_seed(0)
    op = Dropout(0.5)
    x = torch.ones(2000, 50)
    y = op(x)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert float(y.mean()) == pytest.approx(1.0, abs=0.02)
    assert torch.equal(op.backward(torch.ones_like(x)), y)  # the same mask, scaled
    op.eval()
    assert torch.equal(op(x), x)


def test_the_scalar_demo_of_the_book() -> None:
    value, grads = exp_of_products(2, 3, 2, 2)
    assert value == pytest.approx(math.exp(10))
    assert grads == pytest.approx(
        {"a": 3 * math.exp(10), "b": 2 * math.exp(10), "c": 2 * math.exp(10), "d": 2 * math.exp(10)}
    )
    a, b, c, d = (torch.tensor(v, dtype=DOUBLE, requires_grad=True) for v in (2.0, 3.0, 2.0, 2.0))
    torch.exp(a * b + c * d).backward()
    assert [float(t.grad) for t in (a, b, c, d)] == pytest.approx(list(grads.values()))


@pytest.mark.parametrize(
    ("scheme", "std"),
    [
        ("normal", 0.05),
        ("xavier_normal", math.sqrt(2 / 1500)),
        ("he", math.sqrt(2 / 1000)),
        ("uniform", 0.05 / math.sqrt(3)),
        ("xavier_uniform", math.sqrt(2 / 1500)),
    ],
)
def test_init_schemes_have_their_variance(scheme, std) -> None:
    torch.manual_seed(0)
    weight, bias = initialise(scheme, 1000, 500, scale=0.05)
    assert weight.shape == (500, 1000) and torch.equal(bias, torch.zeros(500))
    assert float(weight.std()) == pytest.approx(std, rel=0.02)


def test_torch_default_init_is_torch_linear_draw_for_draw() -> None:
    torch.manual_seed(3)
    weight, bias = initialise("torch_default", 7, 4)
    torch.manual_seed(3)
    twin = nn.Linear(7, 4)
    assert torch.equal(weight, twin.weight.detach()) and torch.equal(bias, twin.bias.detach())


TWINS = [
    (optim.SGD, torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.01}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    (optim.Momentum, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    (
        optim.AdaGrad,
        torch.optim.Adagrad,
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-8},
    ),
    (optim.RMSprop, torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}),
    (
        optim.RMSprop,
        torch.optim.RMSprop,
        {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    ),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05}),
]


@pytest.mark.parametrize(("ours", "theirs", "settings"), TWINS)
def test_scratch_optimizers_follow_torch_for_50_steps(ours, theirs, settings) -> None:
    """Same parameters, same gradients each step: the trajectories agree to 1e-6, every
    hyperparameter included (the books hard-code ε and β; a wrong one fails here)."""
    start = [random(3, 4, seed=5), random(4, seed=6)]
    mine = [nn.Parameter(p.clone()) for p in start]
    twin = [nn.Parameter(p.clone()) for p in start]
    a, b = ours(mine, **settings), theirs(twin, **settings)
    for step in range(50):
        for p, q in zip(mine, twin, strict=True):
            grad = torch.sin(q.detach() * (step + 1)) + 0.1 * q.detach()  # depends on the path
            p.grad, q.grad = grad.clone(), grad.clone()
        a.step()
        b.step()
        for p, q in zip(mine, twin, strict=True):
            assert torch.allclose(p, q, atol=1e-6, rtol=0), (step, settings)


def test_adam_counts_optimizer_steps_not_parameter_tensors() -> None:
    params = [nn.Parameter(torch.ones(2)) for _ in range(5)]
    adam = optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = torch.ones(2)
    adam.step()
    assert {adam.state[p]["step"] for p in params} == {1}
    assert torch.allclose(params[0].detach(), torch.full((2,), 0.9), atol=1e-6)  # lr·m̂/√v̂ = lr


def test_optimizer_state_survives_a_weights_only_checkpoint(tmp_path) -> None:
    params = [nn.Parameter(torch.ones(3))]
    adam = optim.Adam(params, lr=0.1)
    params[0].grad = torch.ones(3)
    adam.step()
    torch.save(adam.state_dict(), tmp_path / "opt.pt")
    state = torch.load(tmp_path / "opt.pt", weights_only=True)
    again = optim.Adam([nn.Parameter(params[0].detach().clone())], lr=0.1)
    again.load_state_dict(state)
    assert again.state_dict()["state"][0]["step"] == 1


def test_a_parameter_the_backward_never_reached_is_named() -> None:
    reached, missed = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(3, 4))
    sgd = optim.SGD([reached, missed], lr=0.1)
    reached.grad = torch.ones(2)
    with pytest.raises(DataError, match=r"SGD: parameter 1 of group 0 \(shape \(3, 4\)\) has no"):
        sgd.step()
    frozen = nn.Parameter(torch.ones(1), requires_grad=False)
    optim.SGD([reached, frozen], lr=0.1).step()  # a frozen parameter is left alone
    assert torch.equal(frozen.detach(), torch.ones(1))


def test_bad_hyperparameters_and_missing_gradients() -> None:
    with pytest.raises(ConfigError, match="lr must be >= 0"):
        optim.SGD([nn.Parameter(torch.ones(1))], lr=-1)
    with pytest.raises(ConfigError, match="betas must be two numbers"):
        optim.Adam([nn.Parameter(torch.ones(1))], betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="nesterov needs momentum"):
        optim.SGD([nn.Parameter(torch.ones(1))], nesterov=True)


def test_gradcheck_names_the_worst_element_of_a_wrong_backward() -> None:
    class WrongSigmoid(Sigmoid):
        def gradient(self, grad):  # the PyTorch book's slip: σ' of the activation
            (y,) = self.saved
            return grad * torch.sigmoid(y) * (1 - torch.sigmoid(y))

    with pytest.raises(GradcheckError, match=r"input 0 at index \(\d+, \d+\): backward gives"):
        gradcheck(WrongSigmoid(), random(3, 3))
    with pytest.raises(GradcheckError, match="float32; use float64"):
        gradcheck(Sigmoid(), torch.randn(3, 3))


def test_bad_shapes_and_order_name_the_layer() -> None:
    net = Sequential(Linear(4, 3), ReLU(), Linear(5, 2))
    with pytest.raises(DataError, match=r"Linear\(in_features=5, out_features=2\): input of shape"):
        net(torch.randn(2, 4))
    with pytest.raises(DataError, match="backward was called before forward"):
        Linear(2, 2).backward(torch.ones(1, 2))
    with pytest.raises(DataError, match="logits"):
        SoftmaxCrossEntropy()(torch.randn(3, 4), torch.tensor([0, 1]))
    assert issubclass(Linear, Op)


def test_surface_gradients_are_autograd_s_and_the_cubic_has_a_minimum_and_a_saddle() -> None:
    for surface in SURFACES.values():
        w = random(2, seed=7).requires_grad_(True)
        surface.value(w).backward()
        assert torch.allclose(surface.gradient(w.detach()), w.grad, atol=1e-12), surface.name
    cubic = SURFACES["cubic"]
    for point, kind in (((0.0, 0.0), "minimum"), ((0.25, -0.5), "saddle")):
        w = torch.tensor(point, dtype=DOUBLE)
        assert torch.allclose(cubic.gradient(w), torch.zeros(2, dtype=DOUBLE))
        eigenvalues = torch.linalg.eigvalsh(torch.autograd.functional.hessian(cubic.value, w))
        assert bool((eigenvalues > 0).all()) == (kind == "minimum"), kind  # (0, 0) is no saddle
    assert float(cubic.value(torch.tensor([0.0, -10.0], dtype=DOUBLE))) < -800  # unbounded


def test_gradient_descent_path_is_the_books(tmp_path) -> None:
    values = run_study("gradient_descent", tmp_path)
    assert (values["GD first x1"], values["GD first x2"]) == pytest.approx((-1.6, 2.2))
    rows = (tmp_path / "path.csv").read_text().splitlines()
    assert rows[0] == "step,w1,w2,loss" and rows[1] == "0,-2.0,3.0,24.0" and len(rows) == 22
    assert (tmp_path / "path.png").is_file() and list((tmp_path / "tensorboard").iterdir())


def test_the_optimizer_paths_have_one_row_per_step(tmp_path) -> None:
    run_study("optimizer_paths", tmp_path)
    rows = (tmp_path / "paths.csv").read_text().splitlines()
    assert rows[0] == "optimizer,step,x1,x2,loss"
    steps = {"GD": 21, "AdaGrad": 51, "RMSprop": 51, "Momentum": 51, "Adam": 21}
    for name, count in steps.items():
        assert sum(row.startswith(f"{name},") for row in rows) == count, name


def test_xavier_keeps_the_activation_variance_where_n01_saturates(tmp_path) -> None:
    values = init_variance(tmp_path)
    for layer in range(1, 6):
        assert values[f"N(0, 1) layer {layer}"] > 0.3  # Tanh saturated: outputs near ±1
        assert 0.001 < values[f"Xavier normal layer {layer}"] < 0.02
        assert 0.001 < values[f"Xavier uniform layer {layer}"] < 0.02
    assert (tmp_path / "activation_variance.csv").read_text().startswith("init,layer 1,")


def test_a_hundred_layers_multiply_the_signal_and_the_gradient_alike(tmp_path) -> None:
    values = depth_products(tmp_path)
    assert values["1.5 forward"] == pytest.approx(1.5**100, rel=1e-4)  # ≈ 4.07e17
    assert values["0.8 gradient"] == pytest.approx(0.8**100, rel=1e-4)  # ≈ 2.04e-10


def test_the_perceptron_converges_within_its_bound(tmp_path) -> None:
    values = perceptron(tmp_path)
    assert values["training accuracy"] == 1.0
    assert 0 < values["updates"] <= values["bound"]
    x, y, w, b = separable_points(200, 0.1, 0)
    assert float(((x @ w + b) * y).min()) >= 0.1  # the margin the bound uses
