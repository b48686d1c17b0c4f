"""Hydra sweeper plugin ``hydra/sweeper=dlbasics_optuna`` (found through the ``hydra_plugins``
namespace package, like every Hydra plugin)."""
