"""`python -m abbanoa import model.inp --district D`: a district's EPANET hydraulic model,
for model-based leak localisation (issue 20; docs/localisation.md).

The model's pressure loggers are found by name: a junction tagged (EPANET [TAGS]) with a
registry node_id of the district, or named like one, is that logger's place. Junctions
tagged with the district's id are its leak candidates (none tagged: every junction).
Junction positions on the map come from an affine fit of the model's coordinates on the
loggers' registered latitude/longitude. The leak sensitivity matrix is computed here and
stored with the model's fingerprint; importing the same file again reuses it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from abbanoa.errors import AbbanoaError

MIN_LOGGERS = 3


@dataclass
class ModelSummary:
    path: str
    district_id: str
    junctions: int
    candidates: int
    loggers: int
    computed: bool
    seconds: float

    def line(self) -> str:
        what = (
            f"sensitivity matrix {self.candidates} x {self.loggers} computed in {self.seconds:.1f} s"
            if self.computed
            else "model unchanged, stored sensitivity matrix kept"
        )
        return (
            f"{self.path}: network model of {self.district_id} ({self.junctions} junctions, "
            f"{self.loggers} pressure loggers placed): {what}"
        )


def is_model(path: Path) -> bool:
    """An EPANET input file (the importer's dispatch)."""
    return path.suffix.lower() == ".inp"


def import_model(
    path: Path, district_id: str | None, settings, tenant_id: str | None = None, now: dt.datetime | None = None
) -> ModelSummary:
    """Store `path` as the model of `district_id` with its leak sensitivity matrix."""
    from abbanoa.analytics import localisation as loc
    from abbanoa.analytics import sensitivity as sens
    from abbanoa.repository import localisation as repo
    from abbanoa.stores import postgres

    tenant_id = tenant_id or settings.default_tenant
    now = now or dt.datetime.now(dt.UTC)
    if not district_id:
        raise AbbanoaError(f"{path}: an EPANET model needs --district (the district it describes)")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AbbanoaError(f"{path}: cannot read the model ({exc})") from None
    try:
        wn = sens.load_model(text)
    except ValueError as exc:
        raise AbbanoaError(f"{path}: {exc}") from None
    engine = postgres.engine(settings)
    with engine.connect() as conn:
        known = conn.execute(
            sa.text("SELECT 1 FROM districts WHERE district_id = :d AND tenant_id = :t"),
            {"d": district_id, "t": tenant_id},
        ).first()
        if known is None:
            raise AbbanoaError(f"{path}: district {district_id!r} is not in tenant {tenant_id!r}'s registry")
        nodes = conn.execute(
            sa.text(
                "SELECT node_id, latitude, longitude FROM nodes WHERE district_id = :d AND tenant_id = :t"
                " AND node_type = 'pressure_logger'"
            ),
            {"d": district_id, "t": tenant_id},
        ).all()
        stored = repo.model_fingerprint(conn, district_id)
    tags = {name: getattr(wn.get_node(name), "tag", None) for name in wn.junction_name_list}
    by_tag = {tag: name for name, tag in tags.items() if tag}
    junctions = set(wn.junction_name_list)
    loggers = {}
    for node_id, _, _ in nodes:
        junction = by_tag.get(node_id) or (node_id if node_id in junctions else None)
        if junction is not None:
            loggers[node_id] = junction
    if len(loggers) < MIN_LOGGERS:
        raise AbbanoaError(
            f"{path}: {len(loggers)} of {district_id}'s {len(nodes)} pressure loggers are in the model "
            f"(at least {MIN_LOGGERS} needed: tag each logger's junction with its node_id in [TAGS])"
        )
    candidates = sorted(
        n for n, tag in tags.items() if tag == district_id or (tag in loggers and loggers[tag] == n)
    ) or sorted(junctions)
    latlon = {node_id: (lat, lon) for node_id, lat, lon in nodes if lat is not None and lon is not None}
    positions = loc.georeference(
        {n: tuple(wn.get_node(n).coordinates) for n in candidates + sorted(set(loggers.values()))},
        {loggers[k]: v for k, v in latlon.items() if k in loggers},
    )
    # the matrix depends on the file and on which junctions are loggers and candidates
    fingerprint = sens.fingerprint(text + _json([sorted(loggers.items()), candidates]))
    model = {
        "district_id": district_id,
        "tenant_id": tenant_id,
        "fingerprint": fingerprint,
        "model_inp": text,
        "loggers": loggers,
        "candidates": candidates,
        "positions": {k: list(v) for k, v in (positions or {}).items()},
        "pipes_at": {k: v for k, v in sens.pipes_at(wn).items() if k in set(candidates)},
        "imported_at": now,
    }
    computed, seconds = False, 0.0
    if stored != fingerprint:
        began = time.perf_counter()
        columns = sorted(set(loggers.values()))
        matrix = sens.sensitivity_matrix(wn, columns, candidates)
        seconds = time.perf_counter() - began
        model.update(
            sensitivity=sens.stored_form(matrix),
            sensitivity_fingerprint=fingerprint,
            sensitivity_s=round(seconds, 3),
            computed_at=now,
        )
        computed = True
    with engine.begin() as conn:
        if computed:
            repo.save_model(conn, model)
        else:
            conn.execute(
                sa.text(
                    "UPDATE network_models SET positions = CAST(:p AS jsonb), imported_at = :now WHERE district_id = :d"
                ),
                {"p": _json(model["positions"]), "now": now, "d": district_id},
            )
    return ModelSummary(str(path), district_id, len(junctions), len(candidates), len(loggers), computed, seconds)


def _json(value) -> str:
    import json

    return json.dumps(value)
