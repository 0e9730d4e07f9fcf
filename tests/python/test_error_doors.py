"""Issue 16's check at the Python door: the cases of ``tests/fixtures/error_cases.json`` (run at
the core, CLI and HTTP doors by ``tests/error_doors.rs``) raise the exception class of their code
with the same ``.code``, ``.detail``, ``.field`` and ``.path`` (the core's path through the Python
rename table, ``src/py/names.rs``: a ``python_path`` row where it renames)."""

import json
from pathlib import Path

import liftlab
import liftlab.uplift
import polars as pl
import pytest
from liftlab import exceptions

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "error_cases.json").read_text())
CLASSES = {
    "invalid_input": exceptions.InvalidInputError,
    "schema_error": exceptions.SchemaError,
    "insufficient_data": exceptions.InsufficientDataError,
    "not_found": exceptions.NotFoundError,
}


def _spec(case: dict) -> str:
    text = (ROOT / case["spec_file"]).read_text() if "spec_file" in case else FIXTURE["spec"]
    for old, new in case.get("edits", []):
        assert old in text, f"{case['name']}: edit {old!r} does not apply"
        text = text.replace(old, new, 1)
    return text


def _exposures(case: dict) -> pl.DataFrame:
    cols = {k: list(v) for k, v in FIXTURE["exposures"].items()}
    if "exposures_cell" in case:
        name, row, value = case["exposures_cell"]
        cols[name][row] = value
    return pl.DataFrame(cols, strict=False)


def _outcomes(case: dict) -> pl.DataFrame:
    cols = {k: list(v) for k, v in FIXTURE["outcomes"].items()}
    if "cell" in case:
        name, row, value = case["cell"]
        cols[name][row] = value
        if isinstance(value, str):
            cols[name] = [None if v is None else str(v) for v in cols[name]]
    if "rename_column" in case:
        old, new = case["rename_column"]
        cols[new] = cols.pop(old)
    return pl.DataFrame(cols, strict=False)


def _dotted(path: list) -> str:
    out = ""
    for s in path:
        out += f"[{s}]" if isinstance(s, int) else (f".{s}" if out else s)
    return out


def _run(case: dict) -> None:
    op = case["op"]
    if op == "spec":
        liftlab.Spec.from_toml(_spec(case))
    elif op == "analyze":
        liftlab.analyze(_spec(case), _exposures(case), _outcomes(case), experiment=case.get("experiment"), time_col="time")
    elif op == "ranges":
        liftlab.bucket_ranges(case["n_variants"], case["coverage"], case["weights"])
    elif op == "plan":
        liftlab.uplift.plan_contacts(case["uplift"], case["cost"], case["value"], max_contacts=case["max_contacts"])
    else:
        raise AssertionError(op)


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["name"] for c in FIXTURE["cases"]])
def test_python_door_names_the_same_field(case: dict) -> None:
    path = case.get("python_path", case["path"])
    with pytest.raises(CLASSES[case["code"]]) as info:
        _run(case)
    e = info.value
    assert e.code == case["code"]
    assert e.detail == case["detail"]
    assert e.path == tuple(path)
    assert e.field == _dotted(path)
    assert str(e).startswith(f"{_dotted(path)}: ")


def test_exceptions_raised_without_a_field_have_the_attributes() -> None:
    e = exceptions.InvalidInputError("x: y")
    assert (e.code, e.detail, e.field, e.path) == ("invalid_input", None, None, ())
    assert exceptions.LiftlabError("boom").code == "internal"
    assert exceptions.NotFoundError.code == "not_found"


def _raised(cls: type, fn, *args, **kwargs) -> exceptions.LiftlabError:
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    return info.value


def test_a_second_field_in_a_message_is_renamed_from_its_path() -> None:
    """The core's ``scores: has 5 values but outcome has 6`` names both fields by paths, so the
    rename table renames both (no binding edits the text)."""
    y, s, t = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [0.6, 0.5, 0.4, 0.3, 0.2], [1, 1, 1, 0, 0, 0]
    e = _raised(exceptions.InvalidInputError, liftlab.uplift.qini_auc_score, y, s, t)
    assert (e.field, e.path, e.detail) == ("uplift", ("uplift",), "length_mismatch")
    assert str(e) == "uplift: has 5 values but y_true has 6"
    # channel columns: checked by the core (uplift::policy::rows_from_channels), named per channel
    e = _raised(exceptions.InvalidInputError, liftlab.uplift.plan_contacts, {"a": [0.1, 0.2], "b": [0.1]}, {"a": 1.0, "b": 1.0}, 10.0)
    assert (e.field, e.path, e.detail) == ("uplift['b']", ("uplift['b']",), "length_mismatch")
    assert str(e) == "uplift['b']: has 1 values but uplift['a'] has 2"


@pytest.mark.parametrize(
    ("call", "cls", "path", "detail"),
    [
        (lambda: liftlab.assign_batch(FIXTURE["spec"], ["a", None, "c"]), exceptions.InvalidInputError, ("ids", 1), None),
        (lambda: liftlab.assign_batch(FIXTURE["spec"], "abc"), exceptions.InvalidInputError, ("ids",), None),
        (lambda: liftlab.load_spec(3.5), exceptions.InvalidInputError, ("spec",), None),
        (
            lambda: liftlab.uplift.UpliftForest(n_trees=2).fit(pl.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}), [0, 1, 0, 1], [1.0, 0.0]),
            exceptions.InvalidInputError,
            ("y",),
            "length_mismatch",
        ),
        (lambda: liftlab.uplift.plan_contacts([0.1, 0.2], 1.0, 10.0, max_spend="x"), exceptions.InvalidInputError, ("max_spend",), None),
    ],
    ids=["null id", "one string", "spec type", "short y", "max_spend type"],
)
def test_python_side_checks_name_their_field(call, cls: type, path: tuple, detail: str | None) -> None:
    """The wrappers' own checks set ``.field``/``.path`` as the core's errors do (``_error``)."""
    e = _raised(cls, call)
    assert (e.path, e.field, e.detail) == (path, _dotted(list(path)), detail)
    assert str(e).startswith(f"{e.field}: ")
