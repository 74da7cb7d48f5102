"""Water-quality compliance against limits (pure; no I/O).

Directive (EU) 2020/2184 (recast Drinking Water Directive), Annex I Part C (indicator
parameters): pH 6.5-9.5; electrical conductivity 2 500 uS/cm at 20 degC; turbidity
"acceptable to consumers and no abnormal change" (no number: operational range used).
Free chlorine residual has no limit in the Directive: operational range (Italian practice,
D.Lgs. 18/2023 recommends 0.2 mg/l at the tap) is configurable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from abbanoa.errors import AbbanoaError


@dataclass(frozen=True)
class Limit:
    metric: str
    low: float | None
    high: float | None
    kind: str  # directive | operational

    def compliant(self, values: pd.Series) -> pd.Series:
        ok = pd.Series(True, index=values.index)
        if self.low is not None:
            ok &= values >= self.low
        if self.high is not None:
            ok &= values <= self.high
        return ok


DEFAULT_LIMITS: dict[str, Limit] = {
    "ph": Limit("ph", 6.5, 9.5, "directive"),  # 2020/2184 Annex I Part C
    "conductivity": Limit("conductivity", None, 2500.0, "directive"),  # 2020/2184 Annex I Part C
    "free_chlorine": Limit("free_chlorine", 0.2, 1.0, "operational"),
    "turbidity": Limit("turbidity", None, 1.0, "operational"),
}


def limits_with_overrides(overrides: dict[str, tuple[float | None, float | None]] | None = None) -> dict[str, Limit]:
    """Default limits with operational ranges replaced; directive limits cannot be relaxed."""
    out = dict(DEFAULT_LIMITS)
    for metric, (low, high) in (overrides or {}).items():
        base = out.get(metric)
        if base is not None and base.kind == "directive":
            raise AbbanoaError(f"{metric}: Directive (EU) 2020/2184 limits cannot be overridden")
        if low is not None and high is not None and low > high:
            raise AbbanoaError(f"{metric}: operational range low {low} > high {high}")
        out[metric] = Limit(metric, low, high, "operational")
    return out


def compliance_by_day(values: pd.Series, limit: Limit, timezone: str) -> pd.DataFrame:
    """Per local day: samples, compliant samples, compliance % (values indexed by UTC ts)."""
    if values.empty:
        return pd.DataFrame(columns=["day", "samples", "compliant", "compliance_pct"])
    idx = pd.DatetimeIndex(values.index).tz_convert(timezone)
    ok = limit.compliant(values).to_numpy()
    df = pd.DataFrame({"day": idx.date, "ok": ok})
    g = df.groupby("day")["ok"]
    out = pd.DataFrame({"samples": g.size(), "compliant": g.sum().astype(int)})
    out["compliance_pct"] = 100.0 * out["compliant"] / out["samples"]
    return out.reset_index()


def excursions(values: pd.Series, limit: Limit, open_if_last: bool = True) -> list[dict]:
    """Runs of consecutive non-compliant samples: start, end (last bad sample), peak.

    The peak is the value furthest outside the range. An excursion still running at the last
    sample is `open`.
    """
    if values.empty:
        return []
    values = values.sort_index()
    bad = ~limit.compliant(values)
    out: list[dict] = []
    run: list[tuple] = []
    for ts, v, b in zip(values.index, values.to_numpy(), bad.to_numpy(), strict=True):
        if b:
            run.append((ts, float(v)))
        elif run:
            out.append(_excursion(run, limit, open_=False))
            run = []
    if run:
        out.append(_excursion(run, limit, open_=open_if_last))
    return out


def _excursion(run: list[tuple], limit: Limit, open_: bool) -> dict:
    def distance(v: float) -> float:
        below = (limit.low - v) if limit.low is not None and v < limit.low else 0.0
        above = (v - limit.high) if limit.high is not None and v > limit.high else 0.0
        return max(below, above)

    peak = max(run, key=lambda p: distance(p[1]))[1]
    return {
        "metric": limit.metric,
        "limit_kind": limit.kind,
        "low": limit.low,
        "high": limit.high,
        "start_ts": pd.Timestamp(run[0][0]).to_pydatetime(),
        "end_ts": pd.Timestamp(run[-1][0]).to_pydatetime(),
        "peak_value": peak,
        "samples": len(run),
        "open": open_,
    }
