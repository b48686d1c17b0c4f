"""model.compile=true: the net is compiled in place, so a compiled run's checkpoint has the
plain run's keys and loads into a plain model, through eval and predict too.

The runs use ``model.compile_backend=aot_eager``: it traces and compiles like the default
``inductor`` but generates no C++ code, so a tiny MLP compiles in a fraction of a second
where inductor took about twenty (its first compile, with an empty cache, on 2 shared cores).
"""

import csv
import functools
import json
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlbasics.eval import main as eval_main
from dlbasics.predict import main as predict_main
from dlbasics.tasks import ClassificationTask
from dlbasics.train import main as train_main
from dlbasics.utils.run_dir import saved_config_path
from tests.conftest import bare_trainer, run_dirs, run_main

SHORT_RUN = [
    "data=blobs",
    "model=mlp",
    "model.net.hidden_sizes=[16]",
    "trainer=cpu",
    "trainer.max_epochs=1",
    "logger=csv",
    "callbacks=model_checkpoint",
    "extras.print_config=false",
]
COMPILED = ["model.compile=true", "model.compile_backend=aot_eager"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """The run dirs of the same training run, plain and compiled."""
    found = {}
    for name, extra in (("plain", []), ("compiled", COMPILED)):
        log_dir = tmp_path_factory.mktemp(name)
        with pytest.MonkeyPatch.context() as patch:
            code, _ = run_main(
                train_main, f"paths.log_dir={log_dir}", *SHORT_RUN, *extra, monkeypatch=patch
            )
        assert code == 0
        (found[name],) = run_dirs(log_dir)
    return found


def state_dict(run_dir: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    return checkpoint["state_dict"]


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_a_compiled_run_saves_the_plain_runs_keys_and_weights(runs) -> None:
    plain, compiled = state_dict(runs["plain"]), state_dict(runs["compiled"])
    assert set(compiled) == set(plain)
    assert any(key.startswith("net.") for key in compiled)
    assert not any("_orig_mod" in key for key in compiled)  # torch.compile(net)'s prefix
    # compiling changes how the steps run, not what they compute
    torch.testing.assert_close(compiled, plain)
    assert metrics(runs["compiled"])["test/acc"] == pytest.approx(
        metrics(runs["plain"])["test/acc"], abs=1e-6
    )


def test_compiled_and_plain_models_give_the_same_outputs_on_the_same_weights(runs) -> None:
    checkpoint = runs["compiled"] / "checkpoints" / "last.ckpt"
    compiled = ClassificationTask.load_from_checkpoint(checkpoint)  # compile=true, as trained
    plain = ClassificationTask.load_from_checkpoint(checkpoint, compile=False)
    assert compiled.compile_net and not plain.compile_net
    compiled.configure_model()  # what Lightning calls before it runs the model
    compiled.eval(), plain.eval()
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), plain(x))


def test_eval_tests_a_compiled_checkpoint_with_a_plain_model(
    runs, tmp_path, capsys, monkeypatch
) -> None:
    """The run's config switched to model.compile=false: a checkpoint of a compiled run loads
    into the plain task (strictly, as Lightning loads) and tests to the same numbers."""
    run_dir = shutil.copytree(runs["compiled"], tmp_path / "run")
    config = OmegaConf.load(saved_config_path(run_dir))
    config.model.compile = False
    OmegaConf.save(config, saved_config_path(run_dir))
    trained = metrics(run_dir)
    best = run_dir / "checkpoints" / Path(trained["best_ckpt"]).name
    code, stderr = run_main(
        eval_main,
        f"paths.log_dir={tmp_path / 'logs'}",
        f"ckpt_path={best}",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 0, stderr
    (eval_dir,) = run_dirs(tmp_path / "logs", "eval")
    evaluated = metrics(eval_dir)
    assert evaluated["test/acc"] == pytest.approx(trained["test/acc"], abs=1e-6)
    assert evaluated["test/loss"] == pytest.approx(trained["test/loss"], rel=1e-5)


def test_predict_runs_a_compiled_run_as_trained(runs, tmp_path, monkeypatch) -> None:
    code, _ = run_main(
        predict_main,
        f"paths.log_dir={tmp_path}",
        f"ckpt_path={Path(metrics(runs['compiled'])['best_ckpt'])}",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    (predict_dir,) = run_dirs(tmp_path, "predict")
    with (predict_dir / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    correct = sum(row["predicted"] == row["target"] for row in rows) / len(rows)
    assert correct == pytest.approx(metrics(runs["compiled"])["test/acc"], abs=1e-6)


class CompileProbe(nn.Module):
    """A linear classifier that counts its calls, and those that ran compiled code: under
    torch.compile the ``is_compiling`` branch is traced in, and its count replayed."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.calls = 0
        self.compiled_calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if torch.compiler.is_compiling():
            self.compiled_calls += 1
        return self.linear(x)


@pytest.mark.parametrize("compile_net", [True, False])
def test_model_compile_compiles_the_net_that_lightning_runs(compile_net) -> None:
    net = CompileProbe()
    task = ClassificationTask(
        net=net,
        num_classes=3,
        top_k=(),
        optimizer=functools.partial(torch.optim.SGD, lr=0.1),
        compile=compile_net,
        compile_backend="aot_eager",
    )
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(32, 2, generator=generator), torch.arange(32) % 3)
    bare_trainer().fit(task, DataLoader(data, batch_size=8), DataLoader(data, batch_size=16))
    assert net.calls >= 4  # four training batches, and validation
    assert net.compiled_calls == (net.calls if compile_net else 0)


BAD_COMPILE = {
    "backend": (["model.compile=true", "model.compile_backend=inductorr"], "model.compile_backend"),
    "flag": (["model.compile=yes"], "model.compile must be true or false, got 'yes'"),
}


@pytest.mark.parametrize("case", sorted(BAD_COMPILE))
def test_a_bad_compile_setting_is_one_clear_message(case, tmp_path, capsys, monkeypatch) -> None:
    overrides, expected = BAD_COMPILE[case]
    code, stderr = run_main(
        train_main,
        f"paths.log_dir={tmp_path}",
        *SHORT_RUN,
        *overrides,
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    assert code == 2
    assert expected in stderr and "Traceback" not in stderr
    assert not list(tmp_path.rglob("metrics.json"))
