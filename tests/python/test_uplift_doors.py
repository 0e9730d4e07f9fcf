"""The uplift rules are the core's, the same at every door (issue 16, item 1): the model file
(the CLI and Python read each other's, byte for byte the same for the same fit), the treatment
labels, the group rules (each group at least 2 units, codes 0..63) with the same error, and the
charts (Python shows the core's drawing, the golden SVG the Rust test checks)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from liftlab import _core, uplift
from liftlab.exceptions import InsufficientDataError, InvalidInputError
from liftlab.uplift import TLearner, UpliftForest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "uplift_chart"


def frame(n: int = 1200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n).round(6)
    city = rng.choice(["north", "south", "east"], n)
    t = rng.choice(["none", "sms", "call"], n)
    p = 0.2 + 0.15 * (t != "none") * (x0 > 0) + 0.1 * (t == "call") * (city == "south")
    y = (rng.random(n) < p).astype(int)
    return pl.DataFrame({"id": [f"u{i}" for i in range(n)], "x0": x0, "city": city, "t": t, "y": y})


def cli(liftlab_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([liftlab_bin, *args], capture_output=True, text=True)


FIT = ["--treatment-col", "t", "--control", "none", "--outcome-col", "y", "--id-col", "id", "--categorical", "city",
       "--n-trees", "8", "--min-samples-leaf", "40", "--seed", "3"]  # fmt: skip


def test_the_cli_and_python_write_the_same_model_file_and_read_each_others(liftlab_bin: str, tmp_path: Path) -> None:
    df = frame()
    data = tmp_path / "train.csv"
    df.write_csv(data)
    run = cli(liftlab_bin, "uplift", "fit", "--data", str(data), *FIT, "-o", str(tmp_path / "cli.json"))
    assert run.returncode == 0, run.stderr
    X = df.select("x0", "city")
    py = UpliftForest(n_trees=8, min_samples_leaf=40, seed=3).fit(X, df["t"], df["y"], control="none")
    assert py.treatment_labels_ == ["call", "sms"] and py.score_columns() == ["call", "sms"]
    # the same fit is the same file, written by the core for both
    assert py.to_json() + "\n" == (tmp_path / "cli.json").read_text()

    # Python reads the CLI's file, keeps its labels, and predicts what the CLI scores
    from_cli = UpliftForest.load(tmp_path / "cli.json")
    assert from_cli.treatment_labels_ == ["call", "sms"]
    run = cli(liftlab_bin, "uplift", "score", "--model", str(tmp_path / "cli.json"), "--data", str(data), "--id-col", "id",
              "-o", str(tmp_path / "scored.csv"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    scored = pl.read_csv(tmp_path / "scored.csv")
    assert scored.columns == ["id", "call", "sms"]
    np.testing.assert_allclose(scored.select("call", "sms").to_numpy(), from_cli.predict(X), rtol=1e-15, atol=0)

    # the CLI scores Python's file, labels included
    py.save(tmp_path / "py.json")
    run = cli(liftlab_bin, "uplift", "score", "--model", str(tmp_path / "py.json"), "--data", str(data), "--id-col", "id",
              "-o", str(tmp_path / "scored_py.csv"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert pl.read_csv(tmp_path / "scored_py.csv").equals(scored)


def one_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stderr
    (line,) = run.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize(
    ("code", "row", "exception", "reason"),
    [
        # a treatment group of one unit: refused at every door (uplift::MIN_GROUP_UNITS = 2)
        (2, 5, InsufficientDataError, "code 2 has 1 unit; each group needs at least 2"),
        # treatment codes stop at 63 at every door (uplift::MAX_GROUPS = 64); Python used to allow 255
        (64, 5, InvalidInputError, "must be an integer code 0 (control) or 1..=63 (a treatment), got 64"),
    ],
)
def test_the_group_rules_and_their_error_are_the_same_at_every_door(
    liftlab_bin: str, tmp_path: Path, code: int, row: int, exception: type, reason: str
) -> None:
    df = frame(300).with_columns(t=(pl.col("t") != "none").cast(pl.Int64))
    df = df.with_columns(t=pl.when(pl.int_range(pl.len()) == row).then(code).otherwise(pl.col("t")))
    df.write_csv(tmp_path / "train.csv")
    fit = [a for a in FIT if a not in ("--control", "none")]
    line = one_line(cli(liftlab_bin, "uplift", "fit", "--data", str(tmp_path / "train.csv"), *fit, "-o", str(tmp_path / "m.json")))
    field = f"t[{row}]" if code == 64 else "t"
    kind = "insufficient_data" if exception is InsufficientDataError else "invalid_input"
    assert line == f"error: {kind}: {field}: {reason}"
    X = df.select("x0", "city")
    py_field = f"treatment[{row}]" if code == 64 else "treatment"
    for est in (UpliftForest(n_trees=2), TLearner()):
        with pytest.raises(exception) as e:
            est.fit(X.select("x0"), df["t"], df["y"])
        assert str(e.value) == f"{py_field}: {reason}"


def test_a_group_of_two_units_fits_at_every_door(liftlab_bin: str, tmp_path: Path) -> None:
    df = frame(300).with_columns(t=(pl.col("t") != "none").cast(pl.Int64))
    df = df.with_columns(t=pl.when(pl.int_range(pl.len()).is_in([5, 9])).then(2).otherwise(pl.col("t")))
    df.write_csv(tmp_path / "train.csv")
    fit = [a for a in FIT if a not in ("--control", "none")]
    run = cli(liftlab_bin, "uplift", "fit", "--data", str(tmp_path / "train.csv"), *fit, "-o", str(tmp_path / "m.json"))
    assert run.returncode == 0, run.stderr
    assert UpliftForest(n_trees=2, min_samples_leaf=40).fit(df.select("x0"), df["t"], df["y"]).treatments_.tolist() == [1, 2]


def test_a_control_label_no_unit_has_is_the_same_error_at_both_doors(liftlab_bin: str, tmp_path: Path) -> None:
    df = frame(200)
    df.write_csv(tmp_path / "train.csv")
    fit = [("nobody" if a == "none" else a) for a in FIT]
    line = one_line(cli(liftlab_bin, "uplift", "fit", "--data", str(tmp_path / "train.csv"), *fit, "-o", str(tmp_path / "m.json")))
    reason = "no unit has the label 'nobody' (labels: call, none, sms)"
    assert line == f"error: invalid_input: --control: {reason}"
    with pytest.raises(InvalidInputError) as e:
        UpliftForest(n_trees=2).fit(df.select("x0"), df["t"], df["y"], control="nobody")
    assert str(e.value) == f"control: {reason}"


@pytest.mark.parametrize(("make", "golden"), [(uplift.qini_plot, "qini.svg"), (uplift.uplift_plot, "uplift.svg")])
def test_python_shows_the_cores_chart(make, golden: str) -> None:
    d = json.loads((FIXTURES / "inputs.json").read_text())
    p = make(d["y_true"], d["uplift"], d["treatment"], others={"noise": d["noise"]})
    assert p.svg == (FIXTURES / golden).read_text()  # the bytes tests/uplift_chart.rs checks the core draws
    assert p._repr_svg_() == p.svg


def test_the_profit_curve_is_the_cores_drawing() -> None:
    plan = uplift.plan_contacts({"a": [0.3, 0.25, 0.05], "b": [0.6, 0.5, 0.2]}, {"a": 1.0, "b": 3.0}, 10.0)
    curve = plan.profit_curve()
    svg = _core._profit_curve_svg(curve["n_contacted"].to_list(), curve["net_gain"].to_list(), plan.n_contacts,
                                  plan.peak_n_contacted)  # fmt: skip
    assert svg in plan._repr_html_()
