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
