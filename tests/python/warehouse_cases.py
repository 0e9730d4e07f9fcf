"""Random telesales event sets and an independent unit-level reference for the warehouse tests.

``events(seed)`` draws exposures (some persons exposed twice, some to both variants, some to
another experiment), leads (lead id -> phone, a lead id may equal another person's phone
number), WeChat bindings (phone <-> unionid, many-to-many, duplicated rows), orders, calls and
WeChat messages with NULL values, facts before exposure and facts exactly on window edges.

``reference(spec, key, tables)`` computes every catalogue metric per person with plain pandas,
following the semantics documented in src/spec/catalog.rs, never the compiler: the exposure
rows and unit-level outcomes it returns go to ``liftlab.analyze``, whose report the warehouse
report must equal.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

try:
    import tomllib
except ImportError:  # Python < 3.11: `make engines` installs tomli
    import tomli as tomllib

DAY = pd.Timedelta(days=1)
BASE = pd.Timestamp("2025-03-01 08:00:00")

SPEC = """
[[experiments]]
key = "e"
variants = ["control", "treatment"]
[experiments.analysis]
segments = ["channel"]

[[experiments]]
key = "other"
variants = ["a", "b"]
metrics = ["deal_7d"]

[catalog]
id_types = ["phone", "unionid", "lead_id"]

[[catalog.identities]]
name = "leads"
table = "crm.leads"
ids = { lead_id = "lead_id", phone = "phone" }

[[catalog.identities]]
name = "bindings"
table = "crm.bindings"
ids = { phone = "phone", unionid = "unionid" }

[catalog.exposures]
table = "exposures"
id_type = "phone"
unit_col = "phone"
experiment_col = "experiment"
variant_col = "variant"
time_col = "exposed_at"
dimensions = ["channel"]

[[catalog.facts]]
name = "orders"
table = "orders"
ids = { phone = "phone" }
time_col = "ordered_at"
columns = ["amount", "status", "order_day"]

[[catalog.facts]]
name = "calls"
table = "calls"
ids = { lead_id = "lead_id" }
time_col = "called_at"
columns = ["connected", "duration_s"]

[[catalog.facts]]
name = "wechat"
table = "wechat"
ids = { unionid = "unionid" }
time_col = "sent_at"
columns = ["direction"]

[[catalog.metrics]]
name = "deal_7d"
kind = "binary"
fact = "orders"
filters = [{ column = "status", op = "=", value = "paid" }]
window_days = [0, 7]

[[catalog.metrics]]
name = "orders_14d"
kind = "count"
fact = "orders"
window_days = [0, 14]

[[catalog.metrics]]
name = "revenue_14d"
kind = "sum"
fact = "orders"
column = "amount"
filters = [{ column = "status", op = "in", value = ["paid", "shipped"] }]
window_days = [0, 14]
cap = { value = 300 }

[[catalog.metrics]]
name = "revenue_cuped"
kind = "mean"
agg = "sum"
fact = "orders"
column = "amount"
window_days = [0, 14]
lookback_days = 30
cap = { quantile = 0.9 }

[[catalog.metrics]]
name = "largest_order"
kind = "mean"
agg = "max"
fact = "orders"
column = "amount"
filters = [{ column = "status", op = "!=", value = "refunded" }]
window_days = [0, 30]

[[catalog.metrics]]
name = "order_days"
kind = "mean"
agg = "count_distinct"
fact = "orders"
column = "order_day"
window_days = [0, 30]

[[catalog.metrics]]
name = "order_value"
kind = "ratio"
numerator = { fact = "orders", agg = "sum", column = "amount", filters = [{ column = "status", op = "=", value = "paid" }] }
denominator = { fact = "orders", agg = "count", filters = [{ column = "status", op = "=", value = "paid" }] }
window_days = [0, 30]

[[catalog.metrics]]
name = "order_value_cuped"
kind = "ratio"
numerator = { fact = "orders", agg = "sum", column = "amount" }
denominator = { fact = "orders", agg = "count", filters = [{ column = "status", op = "not_null" }] }
window_days = [0, 30]
lookback_days = 30

[[catalog.metrics]]
name = "connected_calls_7d"
kind = "count"
fact = "calls"
filters = [{ column = "connected", op = "=", value = true }, { column = "duration_s", op = ">=", value = 20 }]
window_days = [0, 7]

[[catalog.metrics]]
name = "wechat_in_7d"
kind = "count"
fact = "wechat"
filters = [{ column = "direction", op = "=", value = "in" }]
window_days = [0, 7]

[[catalog.metrics]]
name = "calls_per_message"
kind = "ratio"
numerator = { fact = "calls", agg = "count", filters = [{ column = "connected", op = "not_in", value = [false] }] }
denominator = { fact = "wechat", agg = "count" }
window_days = [0.5, 14]
"""


def _pick(rng: np.random.Generator, values: list[Any], n: int, p: list[float] | None = None) -> list[Any]:
    idx = rng.choice(len(values), size=n, p=p)
    return [values[i] for i in idx]


def events(seed: int, n_persons: int | None = None, one_arm: bool = False) -> dict[str, pd.DataFrame]:
    """A random event set; ``one_arm`` puts every person in control (an empty treatment arm)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60)) if n_persons is None else n_persons
    phones = [f"+8613{seed % 1000:03d}{i:05d}" for i in range(n + 5)]  # the last 5 are never exposed
    ex_rows = []
    first = {}
    for p in phones[:n]:
        if rng.random() < 0.9:
            v = "control" if one_arm or rng.random() < 0.5 else "treatment"
            t = BASE + pd.Timedelta(seconds=int(rng.integers(0, 20 * 86400)))
            ch = _pick(rng, ["sms", "call", None, ""], 1, [0.45, 0.35, 0.1, 0.1])[0]
            ex_rows.append((p, "e", v, t, ch))
            first[p] = t
            if rng.random() < 0.15:  # seen again, same variant, later (or at the same time)
                t2 = t + pd.Timedelta(seconds=int(rng.integers(0, 3 * 86400)))
                ex_rows.append((p, "e", v, t2, _pick(rng, ["sms", "call"], 1)[0]))
            if rng.random() < 0.06 and not one_arm:  # seen in the other variant too
                other = "treatment" if v == "control" else "control"
                ex_rows.append((p, "e", other, t + pd.Timedelta(hours=5), ch))
        if rng.random() < 0.3:
            ex_rows.append((p, "other", _pick(rng, ["a", "b"], 1)[0], BASE + DAY, "sms"))
    ex_rows.append((None, "e", "control", BASE, "sms"))  # ignored: no unit
    ex_rows.append((phones[0] if phones else "x", "e", None, BASE, "sms"))  # ignored: no variant
    exposures = pd.DataFrame(ex_rows, columns=["phone", "experiment", "variant", "exposed_at", "channel"])

    def fact_time(p: str) -> pd.Timestamp:
        t = first.get(p, BASE + 10 * DAY)
        if rng.random() < 0.2:  # exactly on an edge
            return t + int(_pick(rng, [0, 7, 14, 30, -30], 1)[0]) * DAY
        return t + pd.Timedelta(seconds=int(rng.integers(-40 * 86400, 40 * 86400)))

    lead_rows = []
    for i, p in enumerate(phones):
        for k in range(int(rng.integers(0, 3))):
            lead_rows.append((f"L{seed % 1000}-{i}-{k}", p))
    if n >= 2:  # a lead id that is also another person's phone number: it must not join as a phone
        lead_rows.append((phones[1], phones[0]))
        lead_rows.append(lead_rows[0] if lead_rows else ("L", phones[0]))  # a duplicated row
    lead_rows.append(("L-orphan", None))
    leads = pd.DataFrame(lead_rows, columns=["lead_id", "phone"])

    bind_rows = []
    for p in phones:
        for _ in range(int(rng.integers(0, 3))):
            u = f"u{int(rng.integers(0, max(1, len(phones))))}"  # shared unionids: many-to-many
            bind_rows.append((p, u))
    bind_rows += bind_rows[:2]  # duplicated rows
    bind_rows.append((phones[0] if phones else "x", None))
    bindings = pd.DataFrame(bind_rows, columns=["phone", "unionid"])

    orders = []
    for p in phones:
        for _ in range(int(rng.integers(0, 6))):
            t = fact_time(p)
            # whole yuan: the in-memory aggregation shifts by a unit's value, the warehouse by that
            # value rounded; whole amounts make the two shifts the same number
            amount = None if rng.random() < 0.1 else float(round(rng.lognormal(3.5, 1.0)))
            status = _pick(rng, ["paid", "refunded", "shipped", None], 1, [0.6, 0.15, 0.15, 0.1])[0]
            orders.append((p, t, amount, status, t.date().isoformat()))
    orders.append((None, BASE, 10.0, "paid", BASE.date().isoformat()))
    orders = pd.DataFrame(orders, columns=["phone", "ordered_at", "amount", "status", "order_day"])

    calls = []
    for lead_id, p in lead_rows:
        for _ in range(int(rng.integers(0, 5))):
            connected = _pick(rng, [True, False, None], 1, [0.5, 0.4, 0.1])[0]
            dur = None if rng.random() < 0.1 else int(rng.integers(0, 300))
            calls.append((lead_id, fact_time(p) if p else BASE, connected, dur))
    calls = pd.DataFrame(calls, columns=["lead_id", "called_at", "connected", "duration_s"])
    calls["connected"] = calls["connected"].astype("boolean")
    calls["duration_s"] = calls["duration_s"].astype("Int64")

    wechat = []
    unionids = sorted({u for _, u in bind_rows if u is not None})
    for u in unionids:
        owners = [p for p, x in bind_rows if x == u]
        for _ in range(int(rng.integers(0, 5))):
            wechat.append((u, fact_time(owners[0]), _pick(rng, ["in", "out", None], 1, [0.5, 0.4, 0.1])[0]))
    wechat = pd.DataFrame(wechat, columns=["unionid", "sent_at", "direction"])

    tables = {
        "exposures": exposures,
        "crm.leads": leads,
        "crm.bindings": bindings,
        "orders": orders,
        "calls": calls,
        "wechat": wechat,
    }
    for t in tables.values():  # string columns as object dtype with None for missing
        for c in t.columns:
            if t[c].dtype == object or str(t[c].dtype).startswith("str"):
                t[c] = t[c].astype(object).where(t[c].notna(), None)
    return tables


# ---------------------------------------------------------------- the independent reference


def _known(a: Any) -> bool:
    return not (a is None or a is pd.NA or a is pd.NaT or (isinstance(a, float) and math.isnan(a)))


def _passes(col: pd.Series, op: str, value: Any) -> pd.Series:
    """SQL three-valued filters: a NULL cell never passes a comparison or an IN list."""
    test = {
        "is_null": lambda a: not _known(a),
        "not_null": _known,
        "in": lambda a: _known(a) and a in value,
        "not_in": lambda a: _known(a) and a not in value,
        "=": lambda a: _known(a) and a == value,
        "!=": lambda a: _known(a) and a != value,
        "<": lambda a: _known(a) and a < value,
        "<=": lambda a: _known(a) and a <= value,
        ">": lambda a: _known(a) and a > value,
        ">=": lambda a: _known(a) and a >= value,
    }[op]
    return pd.Series([bool(test(a)) for a in col.astype(object).tolist()], index=col.index, dtype=bool)


def _aggregate(rows: pd.DataFrame, agg: str, column: str | None) -> pd.Series:
    """Per person (index) aggregate of the matching rows."""
    g = rows.groupby("person")
    if agg == "any":
        return g.size().clip(upper=1).astype(float)
    if agg == "count":
        return g.size().astype(float)
    vals = rows[column]
    if agg == "count_distinct":
        return rows.assign(_v=vals).groupby("person")["_v"].nunique(dropna=True).astype(float)
    v = pd.to_numeric(vals, errors="coerce").astype(float)
    if agg == "sum":
        return rows.assign(_v=v).groupby("person")["_v"].sum(min_count=1).fillna(0.0)
    if agg == "max":
        return rows.assign(_v=v).groupby("person")["_v"].max().fillna(0.0)
    raise ValueError(agg)


def reference(spec_text: str, key: str, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(exposure rows in time order, unit-level outcomes) for ``liftlab.analyze``."""
    spec = tomllib.loads(spec_text)
    cat = spec["catalog"]
    exp_spec = next(x for x in spec["experiments"] if x["key"] == key)
    ex = tables["exposures"]
    ex = ex[(ex["experiment"] == key) & ex["phone"].notna() & ex["variant"].notna() & ex["exposed_at"].notna()].copy()
    # first exposure: time, then variant, then the channel (NULL last), as documented
    ex["_ch_null"] = ex["channel"].isna()
    ex = ex.sort_values(["phone", "exposed_at", "variant", "_ch_null", "channel"], na_position="last", kind="mergesort")
    ex = ex.drop(columns="_ch_null").reset_index(drop=True)
    n_variants = ex.groupby("phone")["variant"].nunique()
    kept = n_variants[n_variants == 1].index
    first = ex.groupby("phone")["exposed_at"].min()
    persons = first.loc[list(kept)].rename("exposed_at").rename_axis("person").reset_index()
    persons["person"] = persons["person"].astype(object)

    # id -> person pairs per id type, distinct
    def pairs(id_type: str) -> pd.DataFrame:
        if id_type == cat["exposures"]["id_type"]:
            return pd.DataFrame({"id": persons["person"], "person": persons["person"]})
        for ident in cat["identities"]:
            ids = ident["ids"]
            if id_type in ids and "phone" in ids:
                t = tables[ident["table"]]
                p = pd.DataFrame({"id": t[ids[id_type]], "person": t[ids["phone"]]}, dtype=object).dropna().drop_duplicates()
                return p[p["person"].isin(set(kept))]
        raise ValueError(id_type)

    facts = {f["name"]: f for f in cat["facts"]}
    matched: dict[str, pd.DataFrame] = {}
    for name, f in facts.items():
        (id_type, id_col), = f["ids"].items()
        t = tables[f["table"]].reset_index(drop=True)
        t = t.assign(_row=np.arange(len(t)), id=t[id_col].astype(object))
        m = t.merge(pairs(id_type), on="id", how="inner").drop_duplicates(["person", "_row"])
        m = m.merge(persons, on="person", how="inner")
        m["_dt"] = m[f["time_col"]] - m["exposed_at"]
        matched[name] = m

    names = exp_spec.get("metrics", [m["name"] for m in cat["metrics"]])
    out = pd.DataFrame({"phone": persons["person"]}).set_index("phone")
    for md in cat["metrics"]:
        if md["name"] not in names:
            continue
        lo_days, hi_days = md.get("window_days", [0, math.inf])
        parts = [("", md)] if md["kind"] != "ratio" else [("", md["numerator"]), ("__den", md["denominator"])]
        for suffix, part in parts:
            agg = part.get("agg") or {"binary": "any", "count": "count", "sum": "sum", "mean": "sum"}[md["kind"]]
            m = matched[part["fact"]]
            ok = pd.Series(True, index=m.index)
            for flt in part.get("filters", []):
                ok &= _passes(m[flt["column"]], flt["op"], flt.get("value"))
            windows = [("", m["_dt"] >= lo_days * DAY)]
            if hi_days != math.inf:
                windows[0] = ("", windows[0][1] & (m["_dt"] < hi_days * DAY))
            if "lookback_days" in md:
                windows.append(("__pre", (m["_dt"] >= -md["lookback_days"] * DAY) & (m["_dt"] < pd.Timedelta(0))))
            for pre, in_window in windows:
                col = f"{md['name']}{'__pre' if pre else ''}{suffix}".replace("__den__pre", "__pre_den")
                if pre and suffix:
                    col = f"{md['name']}__pre_den"
                sel = m[ok & in_window]
                out[col] = _aggregate(sel, agg, part.get("column")).reindex(out.index).fillna(0.0)
    return ex, out.reset_index()


def big_mean_case(n: int):
    """A metric with mean 1e8 and sd 10 (1e8 + N(0, 10²), +0.3 in treatment) and a skewed one
    (1e8 + 10·Exp(1): sd 10, skewness 2), one order per person, alternating arms. Returns the
    spec, the tables, the exact standard error of the first metric's effect (numpy's two-pass
    variances, Welch) and scipy.stats.skew(bias=True) of the second per arm (two-pass, on the
    values themselves): the references of the large-offset precision tests."""
    from scipy import stats

    rng = np.random.default_rng(5)
    variant = np.where(np.arange(n) % 2 == 0, "control", "treatment")
    value = 1e8 + rng.normal(0, 10, n) + np.where(variant == "treatment", 0.3, 0.0)
    tilted = 1e8 + rng.exponential(10, n)
    t0 = pd.Timestamp("2025-01-01")
    phones = [f"p{i:06d}" for i in range(n)]
    tables = {
        "exposures": pd.DataFrame({"phone": phones, "experiment": "e", "variant": variant, "exposed_at": t0}),
        "orders": pd.DataFrame({"phone": phones, "ordered_at": t0 + pd.Timedelta(hours=1), "amount": value,
                               "tilted": tilted}),
    }
    spec = """
[[experiments]]
key = "e"
variants = ["control", "treatment"]
[catalog]
id_types = ["phone"]
exposures = { table = "exposures", id_type = "phone", unit_col = "phone", experiment_col = "experiment",
              variant_col = "variant", time_col = "exposed_at" }
facts = [{ name = "orders", table = "orders", ids = { phone = "phone" }, time_col = "ordered_at",
           columns = ["amount", "tilted"] }]
metrics = [{ name = "balance", kind = "sum", fact = "orders", column = "amount" },
           { name = "tilted", kind = "sum", fact = "orders", column = "tilted" }]
"""
    c, t = value[variant == "control"], value[variant == "treatment"]
    exact = math.sqrt(c.var(ddof=1) / len(c) + t.var(ddof=1) / len(t))
    skew = {v: stats.skew(tilted[variant == v], bias=True) for v in ("control", "treatment")}
    return spec, tables, exact, skew


def check_big_mean(report: dict, exact: float, skew: dict) -> None:
    """The standard error within 1% of the exact one (the issue's bar; the naive Σx² − (Σx)²/n
    in doubles loses every digit of the variance at 1e8: Σx² ≈ 2e20 at 20,000 units, whose
    rounding step, ≈ 3e4, dwarfs each unit's share of the variance, ≈ 100) and each arm's skewness within 1e-6 relative of
    scipy's (the query's Σ(x − shift)³ over values within a few sd of the shift; a raw Σx³ ≈ 1e24
    per unit would keep none of it)."""
    se = report["metrics"][0]["effects"][0]["std_err"]
    assert abs(se / exact - 1) < 0.01, (se, exact)
    for arm in report["metrics"][1]["arms"]:
        assert math.isclose(arm["skewness"], skew[arm["variant"]], rel_tol=1e-6), (arm, skew)

