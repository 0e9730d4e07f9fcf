"""The PM's page (`GET /`) in headless Chromium against the real service, the way a PM uses it.

The page is filled in (a baseline and the expected change edited), projected, and the numbers it
shows are checked against what `POST /v1/forecast` answers for the same inputs, built here
independently from examples/forecast.toml. A bad input must come back as a message naming the
field, next to the input. Then the forecast is saved to the ledger with the token, found in the
past-forecasts list, given an observed result and counted in the calibration table.

Debian's chromium and chromedriver are used (`make browser` installs them) so that Selenium Manager
never downloads a browser; if they are missing the test fails rather than skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(monkeypatch):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{', '.join(missing)} missing: run `make browser` (Debian's chromium and chromium-driver)"
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager: never reach the network
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=DriverService(executable_path=str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def pct(x: float) -> str:
    """What the page prints for a relative lift: 0.0418 -> '+4.18%'."""
    return f"{x * 100:+.2f}%"


def css(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, selector)


def field(driver, path: str):
    """The input the page labels with a request field path, e.g. model.nodes[1].baseline."""
    return css(driver, f'[data-path="{path}"]')


def type_into(element, text: str) -> None:
    element.clear()
    element.send_keys(text)


def wait(driver, cond, what, timeout: float = 30):
    """Waits for `cond()`; on timeout fails with `what()` (or `what`), read at that moment."""
    try:
        # a list the page re-renders can swap an element out between finding and reading it
        return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(lambda _d: cond())
    except TimeoutException:
        raise AssertionError(what() if callable(what) else what) from None


def open_page(driver, service) -> None:
    driver.get(service.url + "/")
    wait(driver, lambda: css(driver, "body").get_attribute("data-ready") == "true", what="the page never got ready")


def project(driver, run: int) -> None:
    """Clicks Project and waits for projection number `run` to be shown."""
    css(driver, "#project").click()
    wait(
        driver,
        lambda: css(driver, "#projection").get_attribute("data-run") == str(run),
        what=lambda: f"projection {run} not shown; page error: {css(driver, '#error').text!r}",
    )


def example_request() -> dict:
    import tomllib  # Python 3.11+, like tests/python/test_forecast.py

    return tomllib.loads((ROOT / "examples" / "forecast.toml").read_text())


def test_pm_projects_sees_errors_saves_and_finds_the_forecast(service, browser):
    driver = browser
    open_page(driver, service)
    assert driver.title.startswith("liftlab")
    # the funnel starts as examples/forecast.toml
    example = example_request()
    names = [field(driver, f"model.nodes[{i}].name").get_attribute("value") for i in range(4)]
    assert names == [n["name"] for n in example["model"]["nodes"]]

    # --- edit a baseline and the expected change, project
    type_into(field(driver, "model.nodes[1].baseline"), "0.4")
    for key, value in (("low", "3"), ("likely", "8"), ("high", "14")):
        type_into(field(driver, f"model.changes[0].{key}"), value)
    project(driver, 1)

    req = example_request()
    req["model"]["nodes"][1]["baseline"] = 0.4
    req["model"]["changes"][0].update(low=0.03, likely=0.08, high=0.14)
    status, want = service.call("POST", "/v1/forecast", req)
    assert status == 200, want
    status, unedited = service.call("POST", "/v1/forecast", example)
    assert status == 200, unedited
    rel = want["forecast"]["relative"]
    assert rel != unedited["forecast"]["relative"], "the edits should move the projection"

    # the interval the page shows is the service's, to the digit, and drawn
    for element_id, key in (("lift-estimate", "estimate"), ("lift-low", "low"), ("lift-high", "high")):
        shown = css(driver, f"#{element_id}")
        assert shown.text == pct(rel[key]), element_id
        assert float(shown.get_attribute("data-value")) == rel[key], element_id
    assert css(driver, "#lift-level").text == "95%"
    chart = css(driver, "#interval-chart svg")
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect")) >= 1
    assert pct(rel["low"]) in chart.text and pct(rel["high"]) in chart.text
    assert "answered" in css(driver, "#tornado svg").text

    # absolute per year, the plan, the chance of success
    per_year = css(driver, "#absolute tbody tr:last-child").text
    assert per_year.startswith("per year") and f"{want['forecast']['per_year']['estimate']:+,.0f}" in per_year
    plan = want["plan"]
    assert css(driver, "#plan-n-arm").get_attribute("data-value") == str(plan["sample_size"]["n_control"])
    assert css(driver, "#plan-n-arm").text.startswith(f"{plan['sample_size']['n_control']:,}")
    assert css(driver, "#plan-days").text.startswith(f"{plan['duration_days']:,} day")
    assert float(css(driver, "#plan-mde").get_attribute("data-value")) == plan["mde_at_max_days"]["rel_effect"]
    assert float(css(driver, "#plan-power").get_attribute("data-value")) == plan["power_at_max_days"]
    assert float(css(driver, "#prob-positive").get_attribute("data-value")) == want["realism"]["prob_positive"]
    assert float(css(driver, "#prob-above-mde").get_attribute("data-value")) == want["realism"]["prob_above_mde"]
    assert float(css(driver, "#fpr").get_attribute("data-value")) == want["false_positive_risk"]

    # the PRD paragraph carries the formula, and the copy button answers
    assert css(driver, "#prd-formula").text == want["forecast"]["formula"]
    assert want["forecast"]["formula"] in css(driver, "#prd").text
    css(driver, "#copy-prd").click()
    wait(driver, lambda: css(driver, "#copy-status").text != "", what="copy gave no feedback")

    # --- a rate above 1: the page names the field and marks the input, like the API does
    bad = field(driver, "model.nodes[1].baseline")
    type_into(bad, "1.5")
    css(driver, "#project").click()
    error = css(driver, "#error")
    wait(driver, error.is_displayed, what="no error shown for a rate of 1.5")
    req_bad = example_request()
    req_bad["model"]["nodes"][1]["baseline"] = 1.5
    status, api_error = service.call("POST", "/v1/forecast", req_bad)
    assert status == 422 and api_error["error"]["field"] == "model.nodes[1].baseline", api_error
    assert "model.nodes[1].baseline" in error.text
    assert "answered" in error.text and "outside [0, 1]" in error.text, error.text
    assert bad.get_attribute("aria-invalid") == "true" and "invalid" in bad.get_attribute("class")
    # ... and says why right under the row at fault
    assert "outside [0, 1]" in css(driver, '[data-path="model.nodes[1]"] + tr.field-error-row').text
    assert driver.switch_to.active_element == bad, "the focus should move to the bad input"
    assert css(driver, "#projection").get_attribute("data-run") == "1", "an error must not replace the projection"
    assert not css(driver, "#save").is_enabled(), "the inputs changed: saving must wait for a new projection"

    # an empty required number is named too, not sent as a silent zero
    type_into(bad, "")
    css(driver, "#project").click()
    wait(driver, lambda: "is empty or not a number" in error.text, what=lambda: f"empty baseline: {error.text!r}")
    assert "model.nodes[1].baseline" in error.text

    # fixed: the error goes away and the same seed gives the same numbers
    type_into(bad, "0.4")
    project(driver, 2)
    assert not error.is_displayed()
    assert bad.get_attribute("aria-invalid") is None
    assert css(driver, "#lift-estimate").text == pct(rel["estimate"])

    # --- save to the ledger: a wrong token is refused with a message, the right one saves
    for element_id, value in (
        ("title", "SMS reminder before the call"),
        ("author", "ana"),
        ("team", "sales"),
        ("metric", "deal value per day"),
    ):
        type_into(css(driver, f"#{element_id}"), value)
    type_into(css(driver, "#token"), "not-the-token")
    css(driver, "#save").click()
    save_error = css(driver, "#save-error")
    wait(driver, save_error.is_displayed, what="a wrong token gave no message")
    assert "token" in save_error.text.lower(), save_error.text
    assert css(driver, "#token").get_attribute("aria-invalid") == "true"

    type_into(css(driver, "#token"), service.token)
    css(driver, "#save").click()
    wait(
        driver,
        lambda: "Saved as forecast #" in css(driver, "#save-status").text,
        what=lambda: f"not saved: {save_error.text!r} {css(driver, '#save-status').text!r}",
    )
    saved_id = css(driver, "#save-form").get_attribute("data-saved-id")
    status, saved = service.call("GET", f"/v1/forecasts/{saved_id}")
    assert status == 200, saved
    assert saved["title"] == "SMS reminder before the call" and saved["team"] == "sales"
    assert saved["report"]["forecast"]["relative"] == rel, "the ledger holds the projection the page showed"

    # the past-forecasts list shows it, with its projected lift and interval
    row_sel = f'#past-forecasts tbody tr[data-id="{saved_id}"]'
    wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, row_sel), what="saved forecast not listed")
    row = css(driver, row_sel)
    assert row.find_element(By.CSS_SELECTOR, ".title").text == "SMS reminder before the call"
    assert "ana" in row.text and "sales" in row.text and "deal value per day" in row.text
    assert row.find_element(By.CSS_SELECTOR, ".estimate").text == pct(rel["estimate"])
    assert row.find_element(By.CSS_SELECTOR, ".interval").text == f"{pct(rel['low'])} to {pct(rel['high'])}"
    assert row.find_element(By.CSS_SELECTOR, ".outcome").text == "—"

    # --- record the observed result from the page; the calibration counts it
    observed = round(rel["estimate"] * 1000) / 1000  # inside the interval
    row.find_element(By.XPATH, ".//button[text()='record result']").click()
    type_into(css(driver, "tr.outcome-form .o-relative"), f"{observed * 100:.1f}")
    css(driver, "tr.outcome-form button").click()
    outcome = f"{row_sel} .outcome"
    wait(
        driver,
        lambda: "inside the interval" in css(driver, outcome).text,
        what=lambda: f"outcome not shown: {css(driver, '#outcome-error').text!r}",
    )
    assert css(driver, outcome).text.startswith(pct(observed))
    calibration = css(driver, "#calibration")
    wait(driver, calibration.is_displayed, what="calibration table not shown")
    first = css(driver, "#calibration tbody tr").text
    assert first.startswith("All forecasts 1 1 100% of 95%"), first

    # --- the token is kept in this browser, the ledger is the service's
    driver.refresh()
    open_page(driver, service)
    assert css(driver, "#token").get_attribute("value") == service.token
    wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, row_sel), what="list empty after reload")

    # opening a saved forecast puts its inputs back in the form and shows its stored projection
    assert field(driver, "model.nodes[1].baseline").get_attribute("value") == "0.35"
    css(driver, row_sel).find_element(By.XPATH, ".//button[text()='open']").click()
    wait(driver, lambda: css(driver, "#status").text == f"Showing saved forecast #{saved_id}.", what="saved forecast not opened")
    assert field(driver, "model.nodes[1].baseline").get_attribute("value") == "0.4"
    assert field(driver, "model.changes[0].likely").get_attribute("value") == "8"
    assert css(driver, "#lift-estimate").text == pct(rel["estimate"])
    assert css(driver, "#title").get_attribute("value") == "SMS reminder before the call"
    # no script error all along (the 401 and 422 answers above are logged by the network, on purpose)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"]
    assert not errors, errors
