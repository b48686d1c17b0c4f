"""dlbasics: deep-learning fundamentals as configurable Lightning + Hydra experiments."""

__version__ = "0.1.0"
