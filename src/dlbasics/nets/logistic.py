"""Logistic regression: one logit per sample; the sigmoid lives in the loss."""

from dlbasics.nets.linear import LinearNet


class LogisticRegression(LinearNet):
    """``logit = x w + b`` of shape ``(n, 1)``, trained with BCE-with-logits.

    Returning the logit rather than ``sigmoid(logit)`` keeps the loss numerically
    stable for confident predictions (``log sigmoid`` of a large negative number).
    """

    def __init__(self, in_features: int, init_std: float = 0.01) -> None:
        super().__init__(in_features, 1, init_std)
