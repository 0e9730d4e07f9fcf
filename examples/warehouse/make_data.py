"""A telesales company's event tables, as Parquet, for the warehouse tour (examples/warehouse/spec.toml,
notebooks/05_warehouse.ipynb).

Ninety days (2025-01-01 to 2025-03-31) of a company that sells training courses by phone, SMS and
WeChat. Every table is keyed by the id its channel knows:

- ``leads``: lead id -> phone (a person may have come in twice: two lead ids), source, city;
- ``wechat_bindings``: phone <-> WeChat unionid (many-to-many: a family shares an account, a
  person has two);
- ``app_devices``: app device id -> unionid (the app logs in with WeChat);
- ``exposures``: the exposure log of two concurrent experiments, ``call-script`` (a shorter call
  script) and ``sms-reminder`` (an SMS, or an SMS and a WeChat message, before the call), with the
  channel, city and lead source at exposure; some persons are logged twice, a few in both
  variants of an experiment (a logging bug the analysis must count and exclude);
- ``calls`` (by lead id): connected or not, duration; ``sms_events`` (by phone): sends and clicks;
- ``wechat_messages`` (by unionid), ``app_events`` (by device id);
- ``orders`` (by phone): paid and refunded orders, including the 30 days before the period (the
  CUPED covariate's history).

The true effects: the short script raises the connect rate (45% -> 50%) and with it deals; the SMS
raises deals a little and the SMS + WeChat arm mostly raises WeChat replies.

    python examples/warehouse/make_data.py [--persons 20000] [--out examples/warehouse/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import liftlab
import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-01")
DAYS = 90
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Chengdu", "Hangzhou", "Wuhan"]
SOURCES = ["web", "referral", "ad", "event"]


def _seconds(rng: np.random.Generator, lo_days: float, hi_days: float, n: int) -> np.ndarray:
    return rng.integers(int(lo_days * 86400), int(hi_days * 86400), size=n).astype("timedelta64[s]")


def generate(out: str | Path = Path(__file__).parent / "data", persons: int = 20_000, seed: int = 14) -> dict[str, Path]:
    """Writes the tables to ``out`` as Parquet; returns their paths by table name."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = persons
    phone = np.array([f"+86 1{3 + i % 7}{(i * 7919) % 10**9:09d}" for i in range(n)])
    city = rng.choice(CITIES, size=n, p=[0.25, 0.2, 0.2, 0.15, 0.12, 0.08])
    source = rng.choice(SOURCES, size=n, p=[0.45, 0.2, 0.25, 0.1])
    propensity = rng.gamma(2.0, 0.5, size=n)  # how much a person buys: drives history and outcome
    arrived = START.to_datetime64() + _seconds(rng, 0, 60, n)

    # leads: one or two lead ids per person
    two = rng.random(n) < 0.12
    lead_person = np.concatenate([np.arange(n), np.flatnonzero(two)])
    leads = pd.DataFrame({
        "lead_id": [f"L{i:07d}" for i in range(len(lead_person))],
        "phone": phone[lead_person],
        "source": source[lead_person],
        "city": city[lead_person],
        "created_at": arrived[lead_person],
    })

    # WeChat: 70% bound; some with two unionids; some unionids shared by two phones
    bound = np.flatnonzero(rng.random(n) < 0.7)
    union_of = {int(p): f"o6_{int(p):07d}" for p in bound}
    rows = [(phone[p], u) for p, u in union_of.items()]
    rows += [(phone[p], f"o6_{int(p):07d}b") for p in bound[rng.random(len(bound)) < 0.05]]
    family = bound[rng.random(len(bound)) < 0.03]
    rows += [(phone[(p + 1) % n], union_of[int(p)]) for p in family]
    bindings = pd.DataFrame(rows, columns=["phone", "unionid"]).drop_duplicates()
    app_users = bound[rng.random(len(bound)) < 0.4]
    devices = pd.DataFrame({"device_id": [f"dev-{int(p):07d}" for p in app_users], "unionid": [union_of[int(p)] for p in app_users]})

    # the experiments: each person's variant as liftlab assigns it from the spec (stable per phone)
    spec = liftlab.load_spec(str(Path(__file__).parent / "spec.toml"))

    def assigned(key: str) -> np.ndarray:
        return liftlab.assign_batch(spec, list(phone), experiment=key)["variant"].to_numpy()

    script_variant = assigned("call-script")
    reminder_variant = assigned("sms-reminder")  # None outside its 60% coverage
    exposed_at = arrived + _seconds(rng, 0, 2, n)
    ex = []
    for key, variant, channel in (("call-script", script_variant, "call"), ("sms-reminder", reminder_variant, "sms")):
        who = np.flatnonzero(pd.notna(variant))
        names = sorted({str(v) for v in variant[who]})
        df = pd.DataFrame({"phone": phone[who], "experiment": key, "variant": variant[who].astype(str),
                           "exposed_at": exposed_at[who], "channel": channel, "city": city[who], "lead_source": source[who]})
        again = df[rng.random(len(df)) < 0.08].copy()  # logged twice
        again["exposed_at"] = again["exposed_at"] + _seconds(rng, 0, 3, len(again))
        again["channel"] = np.where(rng.random(len(again)) < 0.5, "wechat", channel)
        both = df[rng.random(len(df)) < 0.004].copy()  # a logging bug: the other variant too
        both["variant"] = [names[(names.index(v) + 1) % len(names)] for v in both["variant"]]
        ex += [df, again, both]
    exposures = pd.concat(ex, ignore_index=True).sort_values("exposed_at", kind="stable").reset_index(drop=True)

    short = script_variant == "short-script"
    sms = np.isin(reminder_variant, ["sms", "sms+wechat"])
    wechat_arm = reminder_variant == "sms+wechat"

    # calls by lead id after exposure: connect rate 45%, 50% with the short script
    n_calls = rng.poisson(2.5, size=len(lead_person))
    call_lead = np.repeat(np.arange(len(lead_person)), n_calls)
    call_person = lead_person[call_lead]
    p_connect = np.where(short[call_person], 0.50, 0.45)
    connected = rng.random(len(call_lead)) < p_connect
    calls = pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy()[call_lead],
        "called_at": exposed_at[call_person] + _seconds(rng, 0, 30, len(call_lead)),
        "connected": connected,
        "duration_s": np.where(connected, rng.gamma(2.0, 90.0, len(call_lead)).round(), 0).astype(int),
    })

    # SMS sends and clicks by phone
    sent = np.flatnonzero(sms)
    clicked = sent[rng.random(len(sent)) < 0.18]
    sms_events = pd.DataFrame({
        "phone": np.concatenate([phone[sent], phone[clicked]]),
        "event_time": np.concatenate([exposed_at[sent] + _seconds(rng, 0, 0.1, len(sent)),
                                      exposed_at[clicked] + _seconds(rng, 0.1, 3, len(clicked))]),
        "event": ["send"] * len(sent) + ["click"] * len(clicked),
    })

    # WeChat messages by unionid: replies rise in the SMS + WeChat arm
    msg_rate = np.where(wechat_arm, 1.6, 0.9)[bound]
    n_msgs = rng.poisson(msg_rate)
    msg_person = np.repeat(bound, n_msgs)
    wechat = pd.DataFrame({
        "unionid": [union_of[int(p)] for p in msg_person],
        "sent_at": exposed_at[msg_person] + _seconds(rng, -10, 20, len(msg_person)),
        "direction": rng.choice(["in", "out"], size=len(msg_person), p=[0.55, 0.45]),
    })

    # app events by device id
    n_ev = rng.poisson(6.0, size=len(app_users))
    ev_person = np.repeat(app_users, n_ev)
    ev_time = exposed_at[ev_person] + _seconds(rng, -5, 25, len(ev_person))
    app_events = pd.DataFrame({
        "device_id": [f"dev-{int(p):07d}" for p in ev_person],
        "event_time": ev_time,
        "event_date": pd.to_datetime(ev_time).date.astype(str),
        "event": rng.choice(["open", "course_view", "background", "push_received"], size=len(ev_person), p=[0.35, 0.3, 0.2, 0.15]),
    })

    # orders by phone: a history before exposure, then deals within two weeks of the call
    hist_n = rng.poisson(0.25 * propensity)
    hist_person = np.repeat(np.arange(n), hist_n)
    p_deal = 0.05 * propensity * np.where(short, 1.25, 1.0) * np.where(sms, 1.1, 1.0)
    dealt = np.flatnonzero(rng.random(n) < np.clip(p_deal, 0, 0.9))
    order_person = np.concatenate([hist_person, dealt])
    when = np.concatenate([exposed_at[hist_person] - _seconds(rng, 1, 30, len(hist_person)),
                           exposed_at[dealt] + _seconds(rng, 0, 14, len(dealt))])
    amount = np.round(rng.lognormal(7.4, 0.5, len(order_person)) * (0.8 + 0.2 * propensity[order_person]))
    status = rng.choice(["paid", "refunded"], size=len(order_person), p=[0.93, 0.07])
    orders = pd.DataFrame({"order_id": [f"O{i:08d}" for i in range(len(order_person))], "phone": phone[order_person],
                           "ordered_at": when, "amount": amount, "status": status})

    tables = {"leads": leads, "wechat_bindings": bindings, "app_devices": devices, "exposures": exposures, "calls": calls,
              "sms_events": sms_events, "wechat_messages": wechat, "app_events": app_events, "orders": orders}
    paths = {}
    for name, df in tables.items():
        paths[name] = out / f"{name}.parquet"
        df.to_parquet(paths[name], index=False)
    return paths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--out", default=str(Path(__file__).parent / "data"))
    a = p.parse_args()
    for name, path in generate(a.out, a.persons, a.seed).items():
        print(f"{name:16s} {len(pd.read_parquet(path)):>9,d} rows  {path}")


if __name__ == "__main__":
    main()
