"""What a benchmark or study script hands ``dlbasics-results`` (``--record FILE``)."""

import json
import math
from pathlib import Path


def write_measurements(path: str | Path, values: dict[str, float], method: str) -> Path:
    """Named numbers and one sentence on how they were measured (benchmarks report ratios
    measured in one process). Non-finite numbers become null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {name: float(v) if math.isfinite(float(v)) else None for name, v in values.items()}
    path.write_text(json.dumps({"values": clean, "method": method}, indent=2) + "\n")
    return path
