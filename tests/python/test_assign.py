"""The Python face of assignment: same answers as GrowthBook's suite and the Rust core."""

from __future__ import annotations

import inspect
import json

import liftlab
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from liftlab.exceptions import InvalidInputError, LiftlabError, NotFoundError, SchemaError

SPEC = """
[groups]
dnc = ["+15550100"]

[[holdouts]]
key = "h"
share = 0.1

[[experiments]]
key = "a"
variants = ["control", "treatment"]
layer = "L"
namespace_range = [0.0, 0.5]
exclude_groups = ["dnc"]
forced = { "qa-1" = "treatment" }

[[experiments]]
key = "b"
variants = ["control", "x", "y"]
weights = [0.2, 0.3, 0.5]
coverage = 0.6
layer = "L"
namespace_range = [0.5, 1.0]
condition = { country = { "$in" = ["US", "CA"] } }
"""


@pytest.fixture(scope="module")
def gb(shared):
    return json.loads((shared / "reference" / "growthbook-cases.json").read_text())


def test_growthbook_hash_ranges_choice_namespace(gb):
    # Source: GrowthBook cross-SDK suite (../shared/reference/growthbook-cases.json); exact equality,
    # since the buckets are multiples of 1/1000 (v1) or 1/10000 (v2).
    for seed, value, version, expected in gb["hash"]:
        if expected is None:
            with pytest.raises(InvalidInputError, match="version"):
                liftlab.hash_unit(seed, value, version)
        else:
            assert liftlab.hash_unit(seed, value, version) == expected
    for name, (n, coverage, weights), expected in gb["getBucketRange"]:
        try:
            got = liftlab.bucket_ranges(n, coverage, weights)
        except InvalidInputError as e:  # deliberate: liftlab refuses what GrowthBook repairs
            assert "weights" in str(e) or "coverage" in str(e), name
            continue
        assert np.allclose(got, expected, atol=1e-8), name
    for name, h, ranges, expected in gb["chooseVariation"]:
        got = liftlab.choose_variant(h, ranges)  # lists of lists, as the suite gives them
        assert (-1 if got is None else got) == expected, name
    for name, uid, (ns, s, e), expected in gb["inNamespace"]:
        assert liftlab.in_namespace(uid, ns, s, e) == expected, name


def test_growthbook_conditions(gb):
    for case in gb["evalCondition"]:
        name, cond, attrs, expected = case[:4]
        groups = case[4] if len(case) > 4 else None
        assert liftlab.eval_condition(cond, attrs, groups) == expected, name


def test_fixture_cases_through_python(assign_cases):
    """tests/fixtures/assign_cases.json (expected values from the GrowthBook Python SDK)."""
    c = assign_cases
    for x in c["hash"]:
        assert liftlab.hash_unit(x["seed"], x["value"], x["version"]) == x["expected"], x
    for x in c["bucket_ranges"]:
        if "error_field" in x:
            with pytest.raises(InvalidInputError, match=x["error_field"].replace("[", r"\[").replace("]", r"\]")):
                liftlab.bucket_ranges(x["n_variants"], x["coverage"], x["weights"])
        else:
            got = liftlab.bucket_ranges(x["n_variants"], x["coverage"], x["weights"])
            assert np.allclose(got, x["expected"], atol=1e-9), x
    for x in c["choose_variant"]:
        assert liftlab.choose_variant(x["hash"], x["ranges"]) == x["expected"], x
    for x in c["in_namespace"]:
        assert liftlab.in_namespace(x["unit_id"], x["name"], x["start"], x["end"]) == x["expected"], x
    for x in c["eval_condition"]:
        assert liftlab.eval_condition(x["condition"], x["attributes"], x.get("groups")) == x["expected"], x
    for x in c["assign"]:
        spec = liftlab.load_spec(x["spec"])
        uid = x["unit_id"]  # a string, or a number (hashed as JavaScript prints it: `unit_id_text`)
        text = x.get("unit_id_text", uid)
        out = liftlab.assign(spec, uid, x["attributes"])
        got = {a.experiment: {"variant": a.variant, "reason": a.reason} for a in out}
        assert got == x["expected"], x["name"]
        assert {a.unit_id for a in out} == {text}, x["name"]
        # the batch path agrees with the single path, from a list and from a typed Series
        attrs = None if x["attributes"] is None else pl.DataFrame([x["attributes"]])
        for ids in ([uid], pl.Series([uid]), pd.Series([uid])):
            df = liftlab.assign_batch(spec, ids, attrs)
            batch = {r["experiment"]: {"variant": r["variant"], "reason": r["reason"]} for r in df.to_dicts()}
            assert batch == x["expected"], (x["name"], type(ids))
            assert set(df["unit_id"]) == {text}, (x["name"], type(ids))
    values = [x["value"] for x in c["unit_id_text"]]
    expected = [x["expected"] for x in c["unit_id_text"]]
    one = liftlab.load_spec('[[experiments]]\nkey = "e"\nvariants = ["c", "t"]')
    assert [liftlab.assign(one, v)[0].unit_id for v in values] == expected
    assert liftlab.assign_batch(one, values)["unit_id"].to_list() == expected
    floats = [v for v in values if isinstance(v, float)]
    float_text = [t for v, t in zip(values, expected) if isinstance(v, float)]
    for col in (pl.Series(floats), pd.Series(floats), np.array(floats), np.array(floats, dtype=object)):
        assert liftlab.assign_batch(one, col)["unit_id"].to_list() == float_text, type(col)
    for x in c["errors"]:
        with pytest.raises(LiftlabError) as e:
            liftlab.load_spec(x["spec"])
        assert str(e.value).startswith(x["error_field"] + ":"), (x["name"], str(e.value))


def test_batch_agrees_with_single_for_every_input_type():
    spec = liftlab.load_spec(SPEC)
    ids = [f"+1555{i:07d}" for i in range(3000)] + ["+15550100", "qa-1"]
    countries = ["US", "FR", "CA"]
    attrs = pl.DataFrame({"country": [countries[i % 3] for i in range(len(ids))]})
    df = liftlab.assign_batch(spec, pl.Series(ids), attributes=attrs)
    assert df.columns == ["unit_id", "experiment", "variant", "reason", "bucket"]
    assert df.height == 2 * len(ids)
    for i in range(0, len(ids), 97):
        one = liftlab.assign(spec, ids[i], {"country": countries[i % 3]})
        rows = df.filter(pl.col("unit_id") == ids[i]).sort("experiment").to_dicts()
        for a, r in zip(sorted(one, key=lambda a: a.experiment), rows):
            assert (a.variant, a.reason) == (r["variant"], r["reason"])
            assert a.bucket == r["bucket"] or (a.bucket is None and r["bucket"] is None)
    reasons = set(df["reason"])
    assert {"assigned", "excluded", "forced", "in_holdout", "other_experiment_in_layer", "not_eligible", "outside_coverage"} <= reasons
    # the same ids as pandas, numpy and a list give the same frame
    base = liftlab.assign_batch(spec, ids, experiment="a")
    for other in (pd.Series(ids), np.array(ids), pl.DataFrame({"x": ids})):
        assert liftlab.assign_batch(spec, other, experiment="a").equals(base)
    # integer ids are hashed as their decimal text, as GrowthBook does
    ints = liftlab.assign_batch(spec, np.arange(100), experiment="a")
    strs = liftlab.assign_batch(spec, [str(i) for i in range(100)], experiment="a")
    assert ints.equals(strs)
    pandas_attrs = liftlab.assign_batch(spec, ids, attributes=pd.DataFrame({"country": attrs["country"].to_list()}))
    assert pandas_attrs.equals(df)


def test_errors_are_liftlab_exceptions_naming_the_field():
    with pytest.raises(InvalidInputError, match=r"experiments\[0\]\.weights"):
        liftlab.load_spec('[[experiments]]\nkey = "a"\nvariants = ["c", "t"]\nweights = [0.7, 0.6]')
    with pytest.raises(InvalidInputError, match=r"experiments\[0\]\.colour"):
        liftlab.load_spec('[[experiments]]\nkey = "a"\nvariants = ["c", "t"]\ncolour = 1')
    with pytest.raises(InvalidInputError, match="coverage"):
        liftlab.bucket_ranges(2, 1.5)
    spec = liftlab.load_spec(SPEC)
    with pytest.raises(InvalidInputError, match="unit_id"):
        liftlab.assign(spec, "")
    with pytest.raises(NotFoundError, match="nope"):
        liftlab.assign(spec, "u", experiment="nope")
    with pytest.raises(InvalidInputError, match=r"ids\[1\]"):
        liftlab.assign_batch(spec, ["a", ""])
    with pytest.raises(InvalidInputError, match=r"ids\[1\]"):
        liftlab.assign_batch(spec, pl.Series(["a", None]))
    with pytest.raises(InvalidInputError, match=r"ids\[1\]"):
        liftlab.assign_batch(spec, pd.Series(["a", None]))
    with pytest.raises(InvalidInputError, match=r"ids\[1\]"):
        liftlab.assign_batch(spec, [1.5, float("nan")])
    with pytest.raises(InvalidInputError, match="attributes"):
        liftlab.assign_batch(spec, ["a", "b"], attributes=pl.DataFrame({"country": ["US"]}))
    with pytest.raises(SchemaError):
        liftlab.assign_batch(spec, pl.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(InvalidInputError, match="condition"):
        liftlab.eval_condition([1], {})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="spec"):
        liftlab.load_spec("missing-file.toml")
    for cls in (InvalidInputError, SchemaError, NotFoundError):
        assert issubclass(cls, LiftlabError)


def test_python_defaults_agree_with_rust():
    """Defaults live in Rust; the Python signatures must say the same."""
    sig = inspect.signature(liftlab.hash_unit)
    assert sig.parameters["version"].default == 2
    spec = liftlab.load_spec('[[experiments]]\nkey = "k"\nvariants = ["c", "t"]')  # hash_version omitted
    a = liftlab.assign(spec, "user-7")[0]
    assert a.bucket == liftlab.hash_unit("k", "user-7")  # seed defaults to the key, version to 2
    assert inspect.signature(liftlab.bucket_ranges).parameters["coverage"].default == 1.0
    assert spec.weights("k") == [0.5, 0.5]


def test_result_objects_render():
    a = liftlab.assign(liftlab.load_spec(SPEC), "qa-1")[0]
    assert a.reason == "forced" and a.variant == "treatment" and a.enrolled
    assert "Assignment(" in repr(a) and "<table>" in a._repr_html_()
    assert a.to_dict()["variant"] == "treatment"


@settings(max_examples=40, deadline=None)
@given(
    coverage=st.floats(0, 1),
    more=st.floats(0, 1),
    ids=st.lists(st.text(alphabet="abcdef0123456789+-", min_size=1, max_size=12), min_size=1, max_size=100),
)
def test_ramp_up_moves_nobody(coverage, more, ids):
    def spec(c):
        return liftlab.load_spec(f'[[experiments]]\nkey = "r"\nvariants = ["c", "t", "u"]\ncoverage = {c!r}')

    after = coverage + (1 - coverage) * more
    a = liftlab.assign_batch(spec(coverage), ids)
    b = liftlab.assign_batch(spec(after), ids)
    enrolled = a["variant"].is_not_null()
    assert a.filter(enrolled)["variant"].equals(b.filter(enrolled)["variant"])


def _gb_variant(key: str, unit_id, attributes=None, hash_attribute="id", seed=None):
    """GrowthBook's Python SDK (growthbook 4.0.0): the variant its run() gives, or None."""
    from growthbook import Experiment, GrowthBook

    exp = Experiment(key=key, variations=["c", "t"], hashVersion=2, hashAttribute=hash_attribute, seed=seed)
    res = GrowthBook(attributes={"id": unit_id, **(attributes or {})}).run(exp)
    return res.value if res.inExperiment else None


def test_item1_float_ids_and_attributes_agree_with_growthbook():
    """Issue 13, item 1: a pandas id column that once held a NaN is float64; GrowthBook hashes
    47593751.0 as "47593751" (JavaScript's String()). Reference: the GrowthBook Python SDK's run()
    per unit (growthbook 4.0.0); exact agreement on every unit. Before the fix a float id was an
    error here and hashed "47593751.0" elsewhere: 1,359 of 2,000 units in another variant."""
    spec = liftlab.load_spec('[[experiments]]\nkey = "sms-reminder"\nvariants = ["c", "t"]\n'
                             '[[experiments]]\nkey = "b2b"\nvariants = ["c", "t"]\nhash_attribute = "company_id"\n')
    raw = pd.Series([47593751.0 + i for i in range(2000)] + [np.nan])  # float64 because of the NaN
    ids = raw.dropna()
    want = [_gb_variant("sms-reminder", x) for x in ids]
    for col in (ids, pl.from_pandas(ids), ids.to_numpy(), ids.to_list()):
        got = liftlab.assign_batch(spec, col, experiment="sms-reminder")["variant"].to_list()
        agree = sum(g == w for g, w in zip(got, want))
        assert agree == len(ids), (type(col), agree)
    with pytest.raises(InvalidInputError, match=r"ids\[2000\]"):
        liftlab.assign_batch(spec, raw, experiment="sms-reminder")
    # hash attributes: floats as JavaScript prints them, booleans missing (not enrolled)
    companies = [4217.0 + i for i in range(300)] + [1e21, 2.5, True, False]
    attrs = pl.DataFrame({"company_id": pl.Series(companies[:302], dtype=pl.Float64)})
    got = liftlab.assign_batch(spec, [f"u{i}" for i in range(302)], attributes=attrs, experiment="b2b")
    assert got["variant"].to_list() == [_gb_variant("b2b", f"u{i}", {"company_id": v}, "company_id")
                                        for i, v in enumerate(companies[:302])]
    for flag in (True, False):
        a = liftlab.assign(spec, "u", {"company_id": flag}, experiment="b2b")[0]
        assert (a.variant, a.reason) == (None, "missing_attribute")
        assert _gb_variant("b2b", "u", {"company_id": flag}, "company_id") is None
    a = liftlab.assign(spec, "u", {"company_id": np.float32(4217.0)}, experiment="b2b")[0]
    assert a.bucket == liftlab.hash_unit("b2b", "4217")
    with pytest.raises(InvalidInputError, match="unit_id"):
        liftlab.assign(spec, True)
    with pytest.raises(InvalidInputError, match="unit_id"):
        liftlab.assign(spec, float("nan"))
    with pytest.raises(InvalidInputError, match="unit_id"):
        liftlab.assign(spec, 10**400)
    with pytest.raises(InvalidInputError, match="ids"):
        liftlab.assign_batch(spec, [True, False])


@settings(max_examples=300, deadline=None)
@given(x=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**80), 2**80)))
@example(x=-(2**63))  # Int64's minimum: its abs() overflowed, and assign_batch printed it exactly
@example(x=2**63 - 1)
@example(x=-(2**53) - 1)
def test_item1_numbers_print_as_growthbook_prints_them(x):
    """Every finite double and integer (up to 2^80) prints as the GrowthBook Python SDK's
    JavaScript String() (`growthbook.core._js_number_to_string`, growthbook 4.0.0): exact text."""
    from growthbook.core import _js_number_to_string

    spec = liftlab.load_spec('[[experiments]]\nkey = "e"\nvariants = ["c", "t"]')
    assert liftlab.assign(spec, x)[0].unit_id == _js_number_to_string(x)
    assert liftlab.assign_batch(spec, [x])["unit_id"][0] == _js_number_to_string(x)


def _is_a_tie(x: float) -> bool:
    """Whether x lies exactly halfway between two shortest digit strings: its exact decimal
    expansion (Decimal) has one significant digit more than Python's shortest repr, and it is a 5."""
    from decimal import Decimal

    shortest = repr(abs(x)).split("e")[0].replace(".", "").strip("0")
    exact = format(Decimal(abs(x)), "e").split("e")[0].replace(".", "").strip("0")
    return len(exact) == len(shortest) + 1 and exact.endswith("5")


def test_item1_ties_take_the_even_last_digit():
    """Where a double lies exactly halfway between two shortest digit strings, JavaScript's
    String() (and GrowthBook's `_js_number_to_string`, growthbook 4.0.0) takes the even last digit;
    Rust's formatter takes the upper one (562949953421312.25: "…312.2", not "…312.3", found by the
    property test above). Reference: GrowthBook's Python SDK on 3,000 seeded ties in plain and
    exponent notation, both signs; exact text."""
    from growthbook.core import _js_number_to_string

    rng = np.random.default_rng(20261206)
    ties: list[float] = []
    while len(ties) < 3_000:
        m = int(rng.integers(2**50, 2**53))
        s = int(rng.choice([-80, -70, -3, -2, -1, 1, 2, 3, 4, 5, 6, 40, 50, 60]))
        x = float(m) * 2.0**-s * (1 if rng.random() < 0.5 else -1)
        if _is_a_tie(x):
            ties.append(x)
    spec = liftlab.load_spec('[[experiments]]\nkey = "e"\nvariants = ["c", "t"]')
    got = list(liftlab.assign_batch(spec, ties)["unit_id"])
    want = [_js_number_to_string(x) for x in ties]
    assert got == want
    assert liftlab.assign(spec, 562949953421312.25)[0].unit_id == "562949953421312.2"


def test_item2_empty_seed_falls_back_to_the_key():
    """Issue 13, item 2: GrowthBook hashes with `seed or key`; an empty seed is the key. Reference:
    the GrowthBook Python SDK's run() (growthbook 4.0.0) on 3,040 units, exact agreement; before
    the fix 1,041 of them differed."""
    spec = liftlab.load_spec('[[experiments]]\nkey = "call-script"\nseed = ""\nvariants = ["c", "t"]')
    ids = [f"+1555{i:07d}" for i in range(3040)]
    got = liftlab.assign_batch(spec, ids)["variant"].to_list()
    want = [_gb_variant("call-script", u, seed="") for u in ids]
    assert got == want
    # the empty string as a seed would have put many units elsewhere: the test can tell
    naive = [["c", "t"][liftlab.hash_unit("", u) >= 0.5] for u in ids]
    assert sum(a != b for a, b in zip(naive, want)) > 1000


def test_item3_choose_variant_takes_any_sequence_of_pairs():
    """Issue 13, item 3: ranges as lists, tuples or a numpy array, as GrowthBook's SDKs take them
    (growthbook.core.chooseVariation: 0.6 in [0.5, 0.75) is variation 1); malformed ranges are an
    InvalidInputError naming the field."""
    from growthbook.core import chooseVariation

    for ranges in ([[0, 0.25], [0.5, 0.75]], [(0, 0.25), (0.5, 0.75)], ((0, 0.25), [0.5, 0.75]),
                   np.array([[0, 0.25], [0.5, 0.75]]), [np.array([0, 0.25]), np.array([0.5, 0.75])]):
        assert liftlab.choose_variant(0.6, ranges) == chooseVariation(0.6, [tuple(r) for r in ranges]) == 1
    assert liftlab.choose_variant(0.3, []) is None
    for bad, field in (([[0, 0.25, 1]], r"ranges\[0\]"), ([0.5, 0.75], r"ranges\[0\]"), ([["a", "b"]], r"ranges\[0\]"),
                       ([[0, 0.5], "ab"], r"ranges\[1\]"), (None, "ranges"), ("0,1", "ranges"), (3, "ranges")):
        with pytest.raises(InvalidInputError, match=field):
            liftlab.choose_variant(0.6, bad)


def test_issue12_batch_ids_must_be_a_column_and_counts_are_checked():
    """Issue 12, item 5 (Python): a string is not a list of ids, None is not an empty list, and
    a negative or huge count is an InvalidInputError naming the argument (not OverflowError)."""
    spec = liftlab.load_spec('[[experiments]]\nkey = "e"\nvariants = ["c", "t"]')
    with pytest.raises(InvalidInputError, match="ids: is a single string"):
        liftlab.assign_batch(spec, "abc")
    with pytest.raises(InvalidInputError, match="ids: is None"):
        liftlab.assign_batch(spec, None)
    with pytest.raises(InvalidInputError, match="ids"):
        liftlab.assign_batch(spec, 42)
    assert liftlab.assign_batch(spec, []).height == 0
    for n in (-1, 10**30, 1.5, True, "2"):
        with pytest.raises(InvalidInputError, match="n_variants"):
            liftlab.bucket_ranges(n)
    with pytest.raises(InvalidInputError, match="n_variants: has 101 variants; at most 100 are allowed"):
        liftlab.bucket_ranges(101)
    assert liftlab.bucket_ranges(np.int64(2)) == [(0.0, 0.5), (0.5, 1.0)]
