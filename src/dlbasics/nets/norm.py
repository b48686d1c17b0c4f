"""Normalization layers by config name (NNDL 7.5), placed between a layer and its activation.

``batch`` standardises each feature (or channel) over the batch and keeps running
statistics for evaluation; ``layer`` standardises each sample over its own features
(for feature maps: over all channels and positions, i.e. ``GroupNorm`` with one
group, which learns one scale and shift per channel). Their scales and shifts are
1-D parameters, so L1, weight decay and ‖w‖ leave them alone (``nets.parameters``).
"""

from torch import nn

from dlbasics.utils.checks import require_choice

NORMS = ("none", "batch", "layer")


def make_norm(kind: str, features: int, feature_maps: bool = False) -> nn.Module:
    """The ``kind`` norm for ``features`` units (``feature_maps``: channels of (B, C, H, W))."""
    require_choice("model.net.norm", kind, NORMS)
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(features) if feature_maps else nn.BatchNorm1d(features)
    return nn.GroupNorm(1, features) if feature_maps else nn.LayerNorm(features)
