"""Turn user mistakes into one clear message and a non-zero exit code."""

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

import dlbasics.utils.resolvers  # noqa: F401  (registers ${pid:} before Hydra composes)
from dlbasics.errors import DlbasicsError

log = logging.getLogger("dlbasics")

EXIT_USER_ERROR = 2


def find_user_error(error: BaseException) -> DlbasicsError | None:
    """Hydra wraps errors raised in constructors; look through the chain of causes."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DlbasicsError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def report_user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as error:
            user_error = find_user_error(error)
            if user_error is None:
                raise
            log.error("error: %s", user_error)
            print(f"error: {user_error}", file=sys.stderr)
            raise SystemExit(EXIT_USER_ERROR) from None

    return wrapper


CONFIG_DIR = str(Path(__file__).resolve().parents[3] / "conf")


def hydra_entry(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], Any]]:
    """``@hydra.main`` on the repo's ``conf/`` with user errors reported as one line."""

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[], Any]:
        return hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(
            report_user_errors(task)
        )

    return decorate
