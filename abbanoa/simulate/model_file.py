"""The simulator's own hydraulic model, written as `network.inp` beside its readings, so
that `python -m abbanoa import network.inp --district D` gives model-based leak
localisation the network the readings came from (docs/localisation.md).

Written before the run adds its leaks and background leakage: the model is what a utility
holds, not the truth. [TAGS]: a pressure logger's junction carries the logger's node_id,
every other junction of a district carries the district's id.
"""

from __future__ import annotations

import copy
from pathlib import Path

MODEL_FILE = "network.inp"


def write_model(out: Path, network) -> Path:
    """`out/network.inp` with the districts' and loggers' tags (SI units: l/s, m)."""
    import wntr

    wn = copy.deepcopy(network.wn)
    for dma_id, district in network.districts.items():
        for junction in district.junctions:
            wn.get_node(junction).tag = dma_id
    for sensor in network.sensors:
        if sensor.node_type == "pressure_logger":
            wn.get_node(sensor.element).tag = sensor.node_id
    path = Path(out) / MODEL_FILE
    wntr.network.io.write_inpfile(wn, str(path), units="LPS")
    # WNTR's header names the source path and the time written: dropped, so the same seed
    # still gives byte-identical files
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith(("; Filename:", "; Created:"))), encoding="utf-8")
    return path
