"""dlbasics: deep-learning fundamentals as configurable Lightning + Hydra experiments."""

__version__ = "0.1.0"  # the one version string; pyproject.toml reads it from here
