// liftlab forecast page. Plain JavaScript, no build step, no external resources.
// The service is the one validator: the page sends what was typed and shows the service's answer,
// a 422 included, next to the input it names.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // ---------- small helpers ----------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c) e.append(c);
    return e;
  }

  const isNum = (x) => typeof x === "number" && Number.isFinite(x);

  /** A relative change as a signed percentage: 0.0347 -> "+3.47%". */
  function pct(x, digits) {
    if (!isNum(x)) return "—";
    const d = digits === undefined ? 2 : digits;
    const s = (x * 100).toFixed(d);
    return (x >= 0 && !s.startsWith("-") ? "+" : "") + s + "%";
  }

  /** A share as an unsigned percentage: 0.8 -> "80%". */
  function share(x, digits) {
    if (!isNum(x)) return "—";
    return (x * 100).toFixed(digits === undefined ? 1 : digits) + "%";
  }

  /** A number the way the service's formula writes it: 25,200 / 12.35 / 0.0800. */
  function num(x, signed) {
    if (!isNum(x)) return "—";
    const a = Math.abs(x);
    const digits = a >= 100 ? 0 : a >= 1 ? 2 : 4;
    const s = a.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    if (x < 0 && Number(s.replace(/,/g, "")) !== 0) return "-" + s;
    return (signed ? "+" : "") + s;
  }

  /** A number of days: 28, or 3.5. */
  function dayCount(x) {
    return isNum(x) ? (Number.isInteger(x) ? x.toLocaleString("en-US") : num(x)) : "—";
  }

  function intCount(x) {
    return isNum(x) ? Math.round(x).toLocaleString("en-US") : "—";
  }

  /** Fraction -> the percentage shown in an input (0.06 -> "6", not "6.000000000000001"). */
  function toPercentText(x) {
    if (!isNum(x)) return "";
    return String(Number((x * 100).toPrecision(12)));
  }

  /** Typed percentage -> fraction, as the decimal the person typed divided by 100 ("12.3" -> 0.123). */
  function fromPercentText(s) {
    const t = String(s).trim();
    if (t === "") return null;
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return Number(t + "e-2");
    const n = Number(t);
    return Number.isFinite(n) ? n / 100 : null;
  }

  /** Typed number -> number, or null (sent as JSON null, which the service names as a bad field). */
  function fromText(s) {
    const t = String(s).trim();
    if (t === "") return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : null;
  }

  const store = {
    get(k) {
      try { return localStorage.getItem("liftlab." + k) || ""; } catch (_) { return ""; }
    },
    set(k, v) {
      try { localStorage.setItem("liftlab." + k, v); } catch (_) { /* private mode: not kept */ }
    },
  };

  // ---------- calling the service ----------

  /** Calls the service; resolves to {status, body} and never rejects (a network failure is status 0). */
  async function call(method, path, body, token) {
    // a service with read tokens wants one on forecasts and the ledger's reads too: the token
    // typed for saving serves both
    const typed = document.getElementById("token");
    token = token || (typed ? typed.value.trim() : "");
    const headers = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = "Bearer " + token;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      return { status: 0, body: { error: { code: "network", message: "cannot reach the service (" + e.message + ")" } } };
    }
    const text = await res.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch (_) { parsed = { error: { code: "bad_response", message: text.slice(0, 300) } }; }
    return { status: res.status, body: parsed };
  }

  const missingRoute = (r) => r.status === 404 || r.status === 405;

  // ---------- the form's state ----------

  const state = {
    nodes: [], // {name, kind, baseline: text}
    changes: [], // {node, low, likely, high: percent texts}
    lastRequest: null,
    lastReport: null,
    stale: false,
    runs: 0,
  };

  function renderNodes() {
    const body = $("#nodes tbody");
    body.replaceChildren();
    state.nodes.forEach((n, i) => {
      const p = "model.nodes[" + i + "]";
      const kind = el("select", { "data-path": p + ".kind", "aria-label": "kind of node " + (i + 1) },
        ["count", "rate", "value"].map((k) => el("option", { value: k, text: k })));
      kind.value = n.kind;
      kind.addEventListener("change", () => { n.kind = kind.value; formChanged(); });
      const name = el("input", { type: "text", value: n.name, "data-path": p + ".name", "aria-label": "name of node " + (i + 1) });
      const rename = () => {
        const old = n.name;
        if (old === name.value) return;
        n.name = name.value;
        for (const c of state.changes) if (c.node === old) c.node = n.name;
        refreshChangeOptions();
        formChanged();
      };
      // "change" too: a value cleared by a script or an autofill fires no "input"
      name.addEventListener("input", rename);
      name.addEventListener("change", rename);
      const base = el("input", { type: "number", step: "any", value: n.baseline, "data-path": p + ".baseline",
        "aria-label": "baseline of node " + (i + 1) });
      const rebase = () => { n.baseline = base.value; formChanged(); };
      base.addEventListener("input", rebase);
      base.addEventListener("change", rebase);
      const rm = el("button", { type: "button", class: "remove", title: "remove this node", "aria-label": "remove node " + (i + 1), text: "×",
        onclick: () => { state.nodes.splice(i, 1); renderNodes(); renderChanges(); formChanged(); } });
      body.append(el("tr", { "data-path": p }, el("td", {}, name), el("td", {}, kind), el("td", {}, base), el("td", {}, rm)));
    });
  }

  function changeOptions(select, current) {
    const names = state.nodes.map((n) => n.name);
    const opts = names.map((nm) => el("option", { value: nm, text: nm }));
    if (current && !names.includes(current)) opts.push(el("option", { value: current, text: current + " (not in the funnel)" }));
    select.replaceChildren(...opts);
    select.value = current;
  }

  function refreshChangeOptions() {
    $$("#changes tbody select").forEach((s, i) => changeOptions(s, state.changes[i].node));
  }

  function renderChanges() {
    const body = $("#changes tbody");
    body.replaceChildren();
    state.changes.forEach((c, i) => {
      const p = "model.changes[" + i + "]";
      const node = el("select", { "data-path": p + ".node", "aria-label": "node of change " + (i + 1) });
      changeOptions(node, c.node);
      node.addEventListener("change", () => { c.node = node.value; formChanged(); });
      const cells = ["low", "likely", "high"].map((k) => {
        const input = el("input", { type: "number", step: "any", value: c[k], "data-path": p + "." + k, "data-percent": true,
          "aria-label": k + " change %, row " + (i + 1) });
        const update = () => { c[k] = input.value; formChanged(); };
        input.addEventListener("input", update);
        input.addEventListener("change", update);
        return el("td", {}, input);
      });
      const rm = el("button", { type: "button", class: "remove", title: "remove this change", "aria-label": "remove change " + (i + 1), text: "×",
        onclick: () => { state.changes.splice(i, 1); renderChanges(); formChanged(); } });
      body.append(el("tr", { "data-path": p }, el("td", {}, node), cells, el("td", {}, rm)));
    });
  }

  const setVal = (id, v) => { $("#" + id).value = v === undefined || v === null ? "" : String(v); };
  const setPct = (id, v) => { $("#" + id).value = toPercentText(v); };

  /** Puts a ForecastRequest into the form. */
  function fillForm(req) {
    const m = req.model || {};
    state.nodes = (m.nodes || []).map((n) => ({ name: n.name, kind: n.kind, baseline: String(n.baseline) }));
    state.changes = (m.changes || []).map((c) => ({
      node: c.node, low: toPercentText(c.low), likely: toPercentText(c.likely), high: toPercentText(c.high),
    }));
    renderNodes();
    renderChanges();
    setPct("coverage", m.coverage === undefined ? 1 : m.coverage);
    $("#dilution").value = m.dilution ? toPercentText(m.dilution) : "";
    setVal("period_days", m.period_days === undefined ? 1 : m.period_days);
    setPct("confidence", m.confidence === undefined ? 0.95 : m.confidence);
    setVal("draws", m.draws === undefined ? 100000 : m.draws);
    setVal("seed", m.seed === undefined ? 0 : m.seed);
    const plan = req.plan;
    $("#plan-on").checked = !!plan;
    const design = (plan && plan.design) || {};
    setVal("std_dev", plan ? plan.std_dev : "");
    setVal("max_days", plan && plan.max_days !== undefined ? plan.max_days : 28);
    setPct("alpha", design.alpha === undefined ? 0.05 : design.alpha);
    setPct("power", design.power === undefined ? 0.8 : design.power);
    const h = req.history || {};
    $("#win_rate").value = isNum(h.win_rate) ? toPercentText(h.win_rate) : "";
    $("#past").value = (h.past || []).map((p) => toPercentText(p.effect) + ", " + toPercentText(p.std_err)).join("\n");
    $("#from-ledger").checked = !!h.from_ledger;
    $("#ledger-team").value = (h.from_ledger && h.from_ledger.team) || "";
    // design options the form does not show (variants, ratio, ...) are kept as they were
    state.extraDesign = Object.assign({}, design);
    delete state.extraDesign.alpha;
    delete state.extraDesign.power;
    syncPlan();
    updateTrafficHint();
  }

  class InputError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  /** The request the form describes. Past tests that do not parse fail here, naming their line. */
  function buildRequest() {
    const model = {
      nodes: state.nodes.map((n) => ({ name: n.name.trim(), kind: n.kind, baseline: fromText(n.baseline) })),
      changes: state.changes.map((c) => ({
        node: c.node, low: fromPercentText(c.low), likely: fromPercentText(c.likely), high: fromPercentText(c.high),
      })),
      coverage: fromPercentText($("#coverage").value),
      period_days: fromText($("#period_days").value),
      draws: fromText($("#draws").value),
      seed: fromText($("#seed").value),
      confidence: fromPercentText($("#confidence").value),
    };
    const dilution = fromPercentText($("#dilution").value);
    if ($("#dilution").value.trim() !== "") model.dilution = dilution;
    const req = { model };
    if ($("#plan-on").checked) {
      const design = Object.assign({}, state.extraDesign || {}, {
        alpha: fromPercentText($("#alpha").value),
        power: fromPercentText($("#power").value),
      });
      req.plan = { design, max_days: fromText($("#max_days").value) };
      if ($("#std_dev").value.trim() !== "") req.plan.std_dev = fromText($("#std_dev").value);
    }
    const past = [];
    $("#past").value.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      const parts = line.split(/[,;\s\t]+/).filter((s) => s !== "");
      const effect = parts.length === 2 ? fromPercentText(parts[0]) : null;
      const stdErr = parts.length === 2 ? fromPercentText(parts[1]) : null;
      if (effect === null || stdErr === null) {
        throw new InputError("history.past[" + past.length + "]",
          "line " + (i + 1) + " (“" + line.trim() + "”) is not two numbers: effect %, standard error %");
      }
      past.push({ effect, std_err: stdErr });
    });
    const winRate = $("#win_rate").value.trim();
    const fromLedger = $("#from-ledger").checked;
    if (past.length || winRate !== "" || fromLedger) {
      req.history = { past };
      if (winRate !== "") req.history.win_rate = fromPercentText(winRate);
      if (fromLedger) {
        const team = $("#ledger-team").value.trim();
        req.history.from_ledger = team ? { team } : {};
      }
    }
    return req;
  }

  function syncPlan() {
    const on = $("#plan-on").checked;
    $$("#plan-fields input").forEach((i) => { i.disabled = !on; });
  }

  function updateTrafficHint() {
    const hint = $("#traffic-hint");
    const first = state.nodes[0];
    const days = fromText($("#period_days").value);
    const cov = fromPercentText($("#coverage").value);
    const base = first ? fromText(first.baseline) : null;
    if (!first || first.kind !== "count") {
      hint.textContent = "A test plan needs the funnel to start with a count of units per period.";
      return;
    }
    if (base === null || !days || cov === null) { hint.textContent = ""; return; }
    hint.textContent = "Test traffic, derived from the funnel: " + num(base) + " " + (first.name || "units") + " per " +
      (days === 1 ? "day" : dayCount(days) + " days") + " × " + share(cov, 0) + " reached = " +
      num(base / days * cov) + " units a day.";
  }

  function formChanged() {
    updateTrafficHint();
    if (state.lastReport && !state.stale) {
      state.stale = true;
      $("#results").classList.add("stale");
      $("#save").disabled = true;
      $("#save-status").textContent = "The inputs changed: press Project again before saving.";
      $("#status").textContent = "Inputs changed since the projection below.";
    }
  }

  // ---------- errors, next to the input they name ----------

  function clearErrors(scope) {
    $$(".field-error-row, .field-error", scope).forEach((e) => e.remove());
    $$(".invalid", scope).forEach((e) => e.classList.remove("invalid"));
    $$("[aria-invalid]", scope).forEach((e) => e.removeAttribute("aria-invalid"));
  }

  /** The element a field path names, or that of its nearest parent: model.changes[0].low -> model.changes[0] -> ... */
  function elementFor(field, scope) {
    let f = field;
    while (f) {
      const hit = $$("[data-path]", scope).find((e) => e.getAttribute("data-path") === f);
      if (hit) return hit;
      const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
      if (cut <= 0) break;
      f = f.slice(0, cut);
    }
    return null;
  }

  /** Words for a field path: "Funnel, row 2 (answered): baseline". */
  function describe(field, target) {
    let m = /^model\.nodes\[(\d+)\](?:\.(\w+))?/.exec(field);
    if (m) {
      const n = state.nodes[Number(m[1])];
      return "Funnel, row " + (Number(m[1]) + 1) + (n && n.name ? " (" + n.name + ")" : "") + (m[2] ? ": " + m[2] : "");
    }
    m = /^model\.changes\[(\d+)\](?:\.(\w+))?/.exec(field);
    if (m) {
      const c = state.changes[Number(m[1])];
      return "Expected change, row " + (Number(m[1]) + 1) + (c && c.node ? " (" + c.node + ")" : "") + (m[2] ? ": " + m[2] : "");
    }
    if (target) {
      const label = target.closest("label");
      if (label) return label.textContent.replace(/\s+/g, " ").trim();
      const h = target.closest("section") && $("h2", target.closest("section"));
      if (h) return h.textContent.trim();
    }
    return field;
  }

  /** The service's words without the field prefix and serde's preamble. */
  function reason(message, field) {
    let r = String(message || "");
    r = r.replace(/^Failed to deserialize the JSON body into the target type: /, "");
    if (field && r.startsWith(field + ": ")) r = r.slice(field.length + 2);
    if (/invalid type: null/.test(r)) r = "is empty or not a number";
    return r.replace(/ at line \d+ column \d+$/, "");
  }

  /**
   * Shows an error body ({error: {code, message, field}}) in `box`, marks the input it names and moves
   * the focus there. `prefix` is stripped from the field first (the ledger nests the request).
   */
  function showError(box, scope, err, prefix) {
    const e = (err && err.error) || { message: "unexpected answer from the service" };
    let field = e.field || "";
    if (prefix && field.startsWith(prefix)) field = field.slice(prefix.length);
    const target = field ? elementFor(field, scope) : null;
    box.replaceChildren();
    if (field) {
      box.append(el("b", { text: describe(field, target) }), " — ", reason(e.message, e.field),
        " ", el("code", { class: "field", text: "(" + field + ")" }));
      if (target && (target.hasAttribute("data-percent") || $("[data-percent]", target))) {
        box.append(el("div", { class: "hint", text: "Percent inputs are sent as fractions: 60% is 0.6." }));
      }
    } else {
      box.append(reason(e.message));
    }
    box.hidden = false;
    if (target) {
      inlineNote(target, reason(e.message, e.field));
      target.classList.add("invalid");
      target.setAttribute("aria-invalid", "true");
      const focusable = target.matches("input, select, textarea") ? target : $("input, select, textarea", target);
      if (focusable) focusable.focus({ preventScroll: true });
      target.scrollIntoView({ block: "nearest" });
    }
  }

  /** The reason again, right under the input at fault (a table row gets a row of its own). */
  function inlineNote(target, text) {
    const note = el("div", { class: "field-error", text });
    const tr = target.tagName === "TR" ? target : target.closest("tbody tr");
    if (target.closest("label")) {
      target.closest("label").append(note);
    } else if (tr) {
      const cols = Array.from(tr.children).reduce((n, td) => n + (Number(td.getAttribute("colspan")) || 1), 0);
      tr.after(el("tr", { class: "field-error-row" }, el("td", { colspan: String(cols) }, note)));
    } else if (target.tagName === "TABLE") {
      target.after(note);
    } else {
      target.append(note);
    }
  }

  function hideError(box) {
    box.hidden = true;
    box.replaceChildren();
  }

  // ---------- projecting ----------

  async function project(ev) {
    if (ev) ev.preventDefault();
    const form = $("#forecast-form");
    clearErrors(form);
    hideError($("#error"));
    let req;
    try {
      req = buildRequest();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      showError($("#error"), form, { error: { field: e.field, message: e.message } });
      return;
    }
    const button = $("#project");
    button.disabled = true;
    $("#status").textContent = "Projecting…";
    const r = await call("POST", "/v1/forecast", req);
    button.disabled = false;
    if (r.status === 200) {
      $("#status").textContent = "";
      state.lastRequest = req;
      state.lastReport = r.body;
      state.stale = false;
      $("#results").classList.remove("stale");
      renderReport(r.body, req);
      $("#save").disabled = false;
      $("#save-status").textContent = "";
      return;
    }
    $("#status").textContent = "";
    if (r.status === 0) {
      showError($("#error"), form, r.body);
    } else {
      showError($("#error"), form, r.body && r.body.error ? r.body : { error: { message: "the service answered " + r.status } });
    }
  }

  function setNum(id, value, text) {
    const e = $("#" + id);
    e.textContent = text;
    e.setAttribute("data-value", String(value));
  }

  function renderReport(report, req) {
    const f = report.forecast;
    state.runs += 1;
    $("#placeholder").hidden = true;
    const box = $("#projection");
    box.hidden = false;
    box.setAttribute("data-run", String(state.runs));

    const level = share(f.confidence, 0);
    setNum("lift-estimate", f.relative.estimate, pct(f.relative.estimate));
    $("#lift-estimate").className = "big " + (f.relative.estimate >= 0 ? "pos" : "neg");
    setNum("lift-low", f.relative.low, pct(f.relative.low));
    setNum("lift-high", f.relative.high, pct(f.relative.high));
    $("#lift-level").textContent = level;
    $("#interval-chart").replaceChildren(intervalChart(f));
    const fan = Array.isArray(f.quantiles) && f.quantiles.length > 2;
    $("#interval-note").textContent = (fan
      ? "Bands: where 95%, 90%, 80% and 50% of " + f.draws.toLocaleString("en-US") + " simulated lifts fall (darker is likelier), with the median; "
      : "Bar: the " + level + " interval over " + f.draws.toLocaleString("en-US") + " simulated lifts; ") +
      "ticks: the " + level + " interval; dot: the expected lift (their mean); diamond: every change at its likely value (" +
      pct(f.relative_likely) + "); grey line: the delta-method interval (" + pct(f.relative_delta.low) + " to " +
      pct(f.relative_delta.high) + ").";

    const days = isNum(req.model.period_days) ? req.model.period_days : 1;
    const rows = [];
    if (days !== 1) rows.push(["per " + dayCount(days) + " days", f.absolute]);
    rows.push(["per day", f.per_day], ["per month", f.per_month], ["per year", f.per_year]);
    $("#absolute tbody").replaceChildren(...rows.map(([label, iv]) => el("tr", {},
      el("td", { text: label }), el("td", { text: num(iv.estimate, true) }), el("td", { text: num(iv.low, true) }),
      el("td", { text: num(iv.high, true) }))));
    const tree = req.model.nodes.map((n) => n.name + " " + num(n.baseline)).join(" × ");
    $("#baseline-note").textContent = "Topline now: " + num(f.baseline) + (days === 1 ? " per day" : " per " + dayCount(days) + " days") +
      " (" + tree + "). A month is 30.4375 days, a year 365.25.";

    $("#tornado").replaceChildren(tornadoChart(f));
    $("#tornado-note").textContent = f.sensitivity.length
      ? "Each bar: the lift as one change goes from its low to its high with the others at likely." +
        (f.most_sensitive ? " The forecast depends most on “" + f.most_sensitive + "”." : "")
      : "";

    renderPlan(report.plan, req);
    renderChance(report);
    renderPrd(report, req);
  }

  function fact(dl, label, value, note, attrs) {
    dl.append(el("dt", { text: label }), el("dd", attrs || {}, value, note ? el("small", { text: " " + note }) : null));
  }

  function renderPlan(plan, req) {
    const dl = $("#plan");
    dl.replaceChildren();
    $("#plan-notes").replaceChildren();
    if (!plan) {
      dl.append(el("dd", { class: "muted", text: "Not planned: tick “plan the test” to size it." }));
      return;
    }
    const design = (req.plan && req.plan.design) || {};
    const b = plan.baseline;
    const baseText = b.kind === "proportion" ? share(b.rate, 2) + " per unit (a proportion)"
      : num(b.mean) + " per unit, std dev " + num(b.std_dev);
    const s = plan.sample_size;
    fact(dl, "Per-unit topline", baseText);
    fact(dl, "Effect designed for", pct(plan.rel_effect), "(the likely per-unit change)");
    fact(dl, "Units reached a day", num(plan.daily_units));
    fact(dl, "Sample size per arm", intCount(s.n_control), s.n_per_variant !== s.n_control
      ? "control; " + intCount(s.n_per_variant) + " per variant" : "", { id: "plan-n-arm", "data-value": String(s.n_control) });
    fact(dl, "Total units", intCount(s.n_total));
    const maxDays = isNum(req.plan && req.plan.max_days) ? req.plan.max_days : 28;
    const long = plan.duration_days > maxDays;
    fact(dl, "Duration", plan.duration_days.toLocaleString("en-US") + (plan.duration_days === 1 ? " day" : " days"),
      long ? "— longer than the " + dayCount(maxDays) + " days available" : "",
      { id: "plan-days", "data-value": String(plan.duration_days), class: long ? "warn" : null });
    fact(dl, "Detectable in " + dayCount(maxDays) + " days (MDE)", pct(plan.mde_at_max_days.rel_effect), "relative, per unit",
      { id: "plan-mde", "data-value": String(plan.mde_at_max_days.rel_effect) });
    fact(dl, "Power in " + dayCount(maxDays) + " days", share(plan.power_at_max_days, 1),
      "for the designed effect at α = " + share(design.alpha === undefined ? 0.05 : design.alpha, 1),
      { id: "plan-power", "data-value": String(plan.power_at_max_days) });
    $("#plan-notes").replaceChildren(...(plan.notes || []).map((n) => el("li", { text: n })));
  }

  function renderChance(report) {
    const dl = $("#chance");
    dl.replaceChildren();
    const r = report.realism;
    if (r) {
      fact(dl, "True lift above zero", share(r.prob_positive, 0), "given the team's past tests",
        { id: "prob-positive", "data-value": String(r.prob_positive) });
      if (isNum(r.prob_above_mde)) {
        fact(dl, "True lift above the MDE", share(r.prob_above_mde, 0), "the chance the test can see it",
          { id: "prob-above-mde", "data-value": String(r.prob_above_mde) });
      }
      fact(dl, "Expected lift after history", pct(r.expected_lift), "(the forecast shrunk toward past results)");
    }
    if (isNum(report.false_positive_risk)) {
      fact(dl, "A significant result is a false positive", share(report.false_positive_risk, 0),
        "at the team's win rate (Kohavi et al. 2022)", { id: "fpr", "data-value": String(report.false_positive_risk) });
    }
    if (report.prior) {
      fact(dl, "Past tests used", String(report.prior.experiments), "mean effect " + pct(report.prior.mean));
    }
    if (!dl.children.length) {
      dl.append(el("dd", { class: "muted", text: "Add the team's win rate and three or more past tests (History) to see the chance of success." }));
    }
  }

  function renderPrd(report, req) {
    const f = report.forecast;
    const level = share(f.confidence, 0);
    const changes = req.model.changes.map((c) => "“" + c.node + "” " + pct(c.likely, 1) + " (90% range " + pct(c.low, 1) +
      " to " + pct(c.high, 1) + ")").join(", ");
    const parts = [];
    parts.push("Expected impact. We expect " + changes + " for the " + share(isNum(req.model.coverage) ? req.model.coverage : 1, 0) +
      " of units the change reaches. That moves the topline by " + pct(f.relative.estimate) + " (" + level + " interval " +
      pct(f.relative.low) + " to " + pct(f.relative.high) + "), about " + num(f.per_year.estimate, true) + " a year (" +
      num(f.per_year.low, true) + " to " + num(f.per_year.high, true) + ").");
    if (f.most_sensitive && f.sensitivity.length > 1) parts.push("The forecast depends most on “" + f.most_sensitive + "”.");
    const p = report.plan;
    if (p) {
      const d = (req.plan && req.plan.design) || {};
      parts.push("A test needs " + intCount(p.sample_size.n_control) + " units per arm (" + intCount(p.sample_size.n_total) +
        " in all), " + p.duration_days + " days at " + num(p.daily_units) + " units a day, to detect " + pct(p.rel_effect) +
        " per unit with " + share(d.power === undefined ? 0.8 : d.power, 0) + " power at α = " +
        share(d.alpha === undefined ? 0.05 : d.alpha, 1) + "; in " + dayCount(isNum(req.plan.max_days) ? req.plan.max_days : 28) +
        " days it can detect " +
        pct(p.mde_at_max_days.rel_effect) + ".");
    }
    if (report.realism) {
      parts.push("Given the team's past tests, the chance the true lift is above zero is " + share(report.realism.prob_positive, 0) +
        (isNum(report.realism.prob_above_mde) ? ", and above what the test can detect " + share(report.realism.prob_above_mde, 0) : "") + ".");
    }
    if (isNum(report.false_positive_risk)) {
      parts.push("At the team's win rate of " + share(req.history.win_rate, 0) + ", a significant result would be a false positive " +
        share(report.false_positive_risk, 0) + " of the time.");
    }
    $("#prd").replaceChildren(parts.join(" "), "\n\nFormula: ", el("code", { id: "prd-formula", text: f.formula }));
    $("#copy-status").textContent = "";
  }

  async function copyPrd() {
    const text = $("#prd").innerText;
    const done = (ok) => { $("#copy-status").textContent = ok ? "Copied." : "Select the text and copy it (Ctrl+C)."; };
    try {
      await navigator.clipboard.writeText(text);
      done(true);
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents($("#prd"));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      done(ok);
    }
  }

  // ---------- charts ----------

  /** About `count` round ticks over [lo, hi], and the decimals their percentages need. */
  function niceTicks(lo, hi, count) {
    const span = hi - lo;
    const mag = Math.pow(10, Math.floor(Math.log10(span / count)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
    let digits = 0;
    while (digits < 4 && Math.abs(Math.round(step * 100 * 10 ** digits) - step * 100 * 10 ** digits) > 1e-6) digits += 1;
    const ticks = [];
    for (let k = Math.ceil(lo / step); k * step <= hi + 1e-12; k += 1) ticks.push(k === 0 ? 0 : k * step);
    return { ticks, digits };
  }

  function scaleFor(values, left, right) {
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi - lo < 1e-9) { lo -= 0.01; hi += 0.01; }
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const x = (v) => left + (v - lo) / (hi - lo) * (right - left);
    return { lo, hi, x };
  }

  function axis(g, sc, y, top) {
    const { ticks, digits } = niceTicks(sc.lo, sc.hi, 6);
    for (const t of ticks) {
      const x = sc.x(t);
      g.append(svg("line", { x1: x, x2: x, y1: top, y2: y, stroke: t === 0 ? "#8a96a3" : "#eceff2",
        "stroke-dasharray": t === 0 ? "3 3" : null }));
      g.append(svg("text", { x, y: y + 14, "text-anchor": "middle", text: t === 0 ? "0" : pct(t, digits) }));
    }
  }

  /**
   * The interval bar with the expected and likely values. With the report's quantiles the bar is a
   * fan: nested bands holding 95%, 90%, 80% and 50% of the simulated lifts, and the median.
   */
  function intervalChart(f) {
    const W = 560, H = 132, L = 16, R = W - 16;
    const r = f.relative, d = f.relative_delta;
    const q = new Map((Array.isArray(f.quantiles) ? f.quantiles : [])
      .filter((p) => Array.isArray(p) && isNum(p[0]) && isNum(p[1])).map((p) => [Math.round(p[0] * 1000), p[1]]));
    const bands = [[25, 975], [50, 950], [100, 900], [250, 750]].filter(([a, b]) => q.has(a) && q.has(b))
      .map(([a, b]) => [q.get(a), q.get(b)]);
    const values = [r.low, r.high, r.estimate, f.relative_likely, d.low, d.high, 0].concat(bands.flat());
    const sc = scaleFor(values, L, R);
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "projected lift " + pct(r.estimate) + ", interval " + pct(r.low) + " to " + pct(r.high) });
    const barY = 72, axisY = 112, half = 11;
    axis(root, sc, axisY, 8);
    if (bands.length) {
      bands.forEach(([a, b], i) => {
        root.append(svg("rect", { x: sc.x(a), y: barY - half, width: Math.max(1, sc.x(b) - sc.x(a)), height: 2 * half,
          fill: "#2563a8", opacity: 0.16 + 0.12 * i }));
      });
      if (q.has(500)) {
        const m = sc.x(q.get(500));
        root.append(svg("line", { x1: m, x2: m, y1: barY - half, y2: barY + half, stroke: "#1b4f87", "stroke-width": 1.5 }));
      }
    } else {
      root.append(svg("rect", { x: sc.x(r.low), y: barY - half, width: Math.max(1, sc.x(r.high) - sc.x(r.low)),
        height: 2 * half, rx: 3, fill: "#2563a8", opacity: 0.3 }));
    }
    // the reported interval's ends
    for (const v of [r.low, r.high]) {
      root.append(svg("line", { x1: sc.x(v), x2: sc.x(v), y1: barY - half - 4, y2: barY + half + 4, stroke: "#1f2933", "stroke-width": 1.5 }));
      root.append(svg("text", { x: sc.x(v), y: barY - half - 8, "text-anchor": "middle", class: "label", text: pct(v) }));
    }
    // the delta-method interval, thin, below
    const dy = barY + half + 9;
    root.append(svg("line", { x1: sc.x(d.low), x2: sc.x(d.high), y1: dy, y2: dy, stroke: "#8a96a3", "stroke-width": 1.5 }));
    for (const v of [d.low, d.high]) root.append(svg("line", { x1: sc.x(v), x2: sc.x(v), y1: dy - 3, y2: dy + 3, stroke: "#8a96a3" }));
    const lx = sc.x(f.relative_likely);
    root.append(svg("path", { d: "M" + lx + "," + (barY - 7) + "l6,7l-6,7l-6,-7Z", fill: "#fff", stroke: "#1f2933", "stroke-width": 1.5 }));
    const ex = sc.x(r.estimate);
    root.append(svg("circle", { cx: ex, cy: barY, r: 5, fill: "#f5a623", stroke: "#1f2933", "stroke-width": 1.2 }));
    root.append(svg("line", { x1: ex, x2: ex, y1: 22, y2: barY - 26, stroke: "#1f2933", "stroke-width": 1 }));
    root.append(svg("text", { x: Math.min(Math.max(ex, 70), W - 70), y: 16, "text-anchor": "middle", class: "label", "font-weight": "600",
      text: "expected " + pct(r.estimate) }));
    return root;
  }

  /** Tornado: one bar per changed node, from the lift at its low to the lift at its high. */
  function tornadoChart(f) {
    const rows = f.sensitivity || [];
    const W = 560, rowH = 30, top = 8, labelW = 120;
    const H = top + rows.length * rowH + 24;
    const values = [f.relative_likely, 0];
    rows.forEach((s) => values.push(s.at_low, s.at_high));
    const sc = scaleFor(values, labelW + 40, W - 50);
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "sensitivity of the lift to each change" });
    const axisY = top + rows.length * rowH + 4;
    axis(root, sc, axisY, top);
    rows.forEach((s, i) => {
      const y = top + i * rowH + rowH / 2;
      const a = Math.min(s.at_low, s.at_high), b = Math.max(s.at_low, s.at_high);
      const mid = sc.x(f.relative_likely);
      root.append(svg("text", { x: labelW, y: y + 4, "text-anchor": "end", class: "label", text: s.node }));
      root.append(svg("rect", { x: sc.x(a), y: y - 9, width: Math.max(1, mid - sc.x(a)), height: 18, fill: "#c9d3de" }));
      root.append(svg("rect", { x: mid, y: y - 9, width: Math.max(1, sc.x(b) - mid), height: 18, fill: "#2563a8", opacity: 0.55 }));
      root.append(svg("text", { x: sc.x(a) - 4, y: y + 4, "text-anchor": "end", text: pct(a, 1) }));
      root.append(svg("text", { x: sc.x(b) + 4, y: y + 4, "text-anchor": "start", text: pct(b, 1) }));
    });
    const mx = sc.x(f.relative_likely);
    root.append(svg("line", { x1: mx, x2: mx, y1: top - 2, y2: axisY, stroke: "#1f2933", "stroke-width": 1 }));
    return root;
  }

  // ---------- the ledger ----------

  const TEXT_FIELDS = ["title", "author", "team", "metric"];

  async function save(ev) {
    ev.preventDefault();
    const form = $("#save-form");
    const box = $("#save-error");
    clearErrors(form);
    hideError(box);
    if (!state.lastRequest || state.stale) {
      showError(box, form, { error: { message: "Press Project first: the ledger keeps the projection shown above." } });
      return;
    }
    for (const k of TEXT_FIELDS) {
      if ($("#" + k).value.trim() === "") {
        showError(box, form, { error: { field: k, message: "is empty: the ledger needs a title, author, team and metric" } });
        return;
      }
    }
    const token = $("#token").value.trim();
    if (!token) {
      showError(box, form, { error: { message: "Saving needs an API token (ask whoever runs the service)." } });
      $("#token").classList.add("invalid");
      $("#token").focus();
      return;
    }
    const body = { request: state.lastRequest };
    for (const k of TEXT_FIELDS) body[k] = $("#" + k).value.trim();
    $("#save").disabled = true;
    $("#save-status").textContent = "Saving…";
    const r = await call("POST", "/v1/forecasts", body, token);
    $("#save").disabled = false;
    $("#save-status").textContent = "";
    if (r.status === 201 || r.status === 200) {
      $("#save-status").textContent = "Saved as forecast #" + r.body.id + ".";
      $("#save-form").setAttribute("data-saved-id", String(r.body.id));
      await Promise.all([loadPast(), loadCalibration()]);
      return;
    }
    if (missingRoute(r)) {
      showError(box, form, { error: { message: "This service has no ledger yet (POST /v1/forecasts answered " + r.status + ")." } });
      return;
    }
    if (r.status === 401 || r.status === 403) {
      $("#token").classList.add("invalid");
      $("#token").setAttribute("aria-invalid", "true");
    }
    // a 422 about the request names its field under "request."; those inputs are in the forecast form
    const field = r.body && r.body.error && r.body.error.field;
    if (field && field.startsWith("request.")) {
      showError(box, $("#forecast-form"), r.body, "request.");
    } else {
      showError(box, form, r.body && r.body.error ? r.body : { error: { message: "the service answered " + r.status } });
    }
  }

  function query(params) {
    const q = Object.entries(params).filter(([, v]) => v !== "" && v !== undefined).map(([k, v]) => k + "=" + encodeURIComponent(v));
    return q.length ? "?" + q.join("&") : "";
  }

  function filters() {
    return { team: $("#filter-team").value.trim(), author: $("#filter-author").value.trim() };
  }

  /** An observed outcome in a few words: "+2.10% (+0.50% to +3.70%), inside the interval, significant win". */
  function outcomeText(o) {
    if (!o) return "—";
    const obs = o.observed || {};
    const parts = [pct(obs.relative)];
    if (isNum(obs.low) && isNum(obs.high)) parts[0] += " (" + pct(obs.low) + " to " + pct(obs.high) + ")";
    const rec = o.reconciliation;
    if (rec) parts.push(rec.covered ? "inside the interval" : "outside the interval");
    if (obs.significant_win) parts.push("significant win");
    return parts.join(", ");
  }

  function when(s) {
    if (!s) return "";
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? String(s) : d.toISOString().slice(0, 10);
  }

  async function loadPast() {
    const msg = $("#past-message");
    const table = $("#past-forecasts");
    msg.textContent = "Loading…";
    const r = await call("GET", "/v1/forecasts" + query(Object.assign(filters(), { limit: 50 })));
    if (r.status !== 200) {
      table.hidden = true;
      msg.textContent = missingRoute(r)
        ? "The ledger is not available on this service yet (GET /v1/forecasts answered " + r.status + ")."
        : "Could not load past forecasts: " + reason(r.body && r.body.error && r.body.error.message);
      return;
    }
    const list = (r.body && r.body.forecasts) || [];
    msg.textContent = list.length ? "" : "No saved forecasts" + (filters().team || filters().author ? " match these filters." : " yet.");
    table.hidden = !list.length;
    $("tbody", table).replaceChildren(...list.map((f) => {
      const rel = f.relative || {};
      return el("tr", { "data-id": String(f.id) },
        el("td", { text: String(f.id) }),
        el("td", { class: "title", text: f.title }),
        el("td", { text: f.author }),
        el("td", { text: f.team }),
        el("td", { text: f.metric }),
        el("td", { text: when(f.created_at) }),
        el("td", { class: "estimate", text: pct(rel.estimate) }),
        el("td", { class: "interval", text: pct(rel.low) + " to " + pct(rel.high) }),
        el("td", { class: "outcome", text: outcomeText(f.outcome) }),
        el("td", {},
          el("button", { type: "button", class: "link", text: "open", title: "load it into the form", onclick: () => openSaved(f.id) }),
          " ",
          el("button", { type: "button", class: "link", text: f.outcome ? "update result" : "record result",
            onclick: (ev) => toggleOutcomeForm(ev.target.closest("tr"), f) })));
    }));
  }

  /** An inline form under a ledger row to record the test's observed result. */
  function toggleOutcomeForm(tr, f) {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains("outcome-form")) { next.remove(); return; }
    const input = (id, path, ph) => el("input", { type: "number", step: "any", "data-path": path, "data-percent": true, placeholder: ph, class: id });
    const rel = input("o-relative", "observed.relative", "e.g. 2.1");
    const low = input("o-low", "observed.low", "optional");
    const high = input("o-high", "observed.high", "optional");
    const win = el("input", { type: "checkbox", class: "o-win" });
    const note = el("input", { type: "text", "data-path": "note", placeholder: "optional", class: "o-note" });
    const box = $("#outcome-error");
    const form = el("div", { class: "fields" },
      el("label", {}, "Observed lift %", rel), el("label", {}, "Low %", low), el("label", {}, "High %", high),
      el("label", {}, "Note", note),
      el("label", { class: "check" }, win, " shipped as a significant win"),
      el("div", { class: "actions" }, el("button", { type: "button", text: "Save result", onclick: async () => {
        clearErrors(form);
        hideError(box);
        const token = $("#token").value.trim();
        if (!token) {
          showError(box, $("#save-form"), { error: { message: "Recording a result needs the API token (in “Save to the ledger”)." } });
          return;
        }
        const observed = { relative: fromPercentText(rel.value), significant_win: win.checked };
        if (low.value.trim() !== "") observed.low = fromPercentText(low.value);
        if (high.value.trim() !== "") observed.high = fromPercentText(high.value);
        const body = { observed };
        if (note.value.trim() !== "") body.note = note.value.trim();
        const r = await call("POST", "/v1/forecasts/" + f.id + "/outcome", body, token);
        if (r.status === 200) {
          await Promise.all([loadPast(), loadCalibration()]);
          return;
        }
        if (missingRoute(r) && !(r.body && r.body.error && r.body.error.field)) {
          showError(box, form, { error: { message: "This service cannot record results yet (answered " + r.status + ")." } });
          return;
        }
        showError(box, form, r.body && r.body.error ? r.body : { error: { message: "the service answered " + r.status } });
      } })));
    tr.after(el("tr", { class: "outcome-form" }, el("td", { colspan: "10" }, form)));
    rel.focus();
  }

  /** Loads a saved forecast back into the form and shows its stored report. */
  async function openSaved(id) {
    const r = await call("GET", "/v1/forecasts/" + id);
    if (r.status !== 200) {
      $("#past-message").textContent = "Could not open forecast #" + id + ": " + reason(r.body && r.body.error && r.body.error.message);
      return;
    }
    const saved = r.body;
    clearErrors($("#forecast-form"));
    hideError($("#error"));
    fillForm(saved.request);
    for (const k of TEXT_FIELDS) if (saved[k] !== undefined) $("#" + k).value = saved[k];
    state.lastRequest = saved.request;
    state.lastReport = saved.report;
    state.stale = false;
    $("#results").classList.remove("stale");
    renderReport(saved.report, saved.request);
    $("#status").textContent = "Showing saved forecast #" + id + ".";
    window.scrollTo({ top: 0, behavior: "smooth" });
  }

  async function loadCalibration() {
    const msg = $("#calibration-message");
    const table = $("#calibration");
    const r = await call("GET", "/v1/calibration" + query(filters()));
    if (r.status !== 200) {
      table.hidden = true;
      msg.textContent = missingRoute(r)
        ? "Calibration is not available on this service yet (GET /v1/calibration answered " + r.status + ")."
        : "Could not load the calibration: " + reason(r.body && r.body.error && r.body.error.message);
      return;
    }
    const c = r.body || {};
    const row = (label, g) => el("tr", {},
      el("td", { text: label }),
      el("td", { text: isNum(g.forecasts) ? String(g.forecasts) : "—" }),
      el("td", { text: isNum(g.reconciled) ? String(g.reconciled) : "—" }),
      el("td", { title: isNum(g.coverage_low) ? "Wilson 95% interval " + share(g.coverage_low, 0) + " to " + share(g.coverage_high, 0) : null,
        text: share(g.coverage, 0) + (isNum(g.nominal_coverage) ? " of " + share(g.nominal_coverage, 0) : "") }),
      el("td", { text: isNum(g.mean_abs_error) ? (g.mean_abs_error * 100).toFixed(2) + " pp" : "—" }),
      el("td", { text: isNum(g.bias) ? (g.bias >= 0 ? "+" : "") + (g.bias * 100).toFixed(2) + " pp" : "—" }),
      el("td", { text: share(g.hit_rate, 0) }),
      el("td", { text: share(g.win_share, 0) }));
    const rows = [];
    if (c.overall) rows.push(row("All forecasts", c.overall));
    // a single team, author or month repeats the overall line: leave it out
    for (const [key, title] of [["by_team", "By team"], ["by_author", "By author"], ["by_month", "By month"]]) {
      const groups = c[key] || [];
      if (groups.length < 2) continue;
      rows.push(el("tr", { class: "group" }, el("td", { colspan: "8", text: title })));
      for (const g of groups) rows.push(row(String(g.key), g));
    }
    const none = !c.overall || !c.overall.forecasts;
    msg.textContent = none ? "Nothing saved yet to calibrate against." :
      (!c.overall.reconciled ? "No saved forecast has an observed outcome yet: the numbers fill in as tests report." : "");
    table.hidden = none;
    $("tbody", table).replaceChildren(...rows);
  }

  // ---------- start ----------

  async function start() {
    $("#forecast-form").addEventListener("submit", project);
    for (const type of ["input", "change"]) {
      $("#forecast-form").addEventListener(type, (e) => {
        if (!e.target.closest("#nodes, #changes")) formChanged();
      });
    }
    $("#plan-on").addEventListener("change", () => { syncPlan(); formChanged(); });
    $("#add-node").addEventListener("click", () => {
      state.nodes.push({ name: "", kind: "rate", baseline: "" });
      renderNodes();
      refreshChangeOptions();
      formChanged();
      $$("#nodes tbody input")[$$("#nodes tbody input").length - 2].focus();
    });
    $("#add-change").addEventListener("click", () => {
      const used = new Set(state.changes.map((c) => c.node));
      const free = state.nodes.find((n) => !used.has(n.name));
      state.changes.push({ node: free ? free.name : "", low: "", likely: "", high: "" });
      renderChanges();
      formChanged();
    });
    $("#copy-prd").addEventListener("click", copyPrd);
    $("#save-form").addEventListener("submit", save);
    $("#refresh").addEventListener("click", () => { loadPast(); loadCalibration(); });
    for (const k of ["token", "author", "team"]) {
      $("#" + k).value = store.get(k);
      $("#" + k).addEventListener("input", () => store.set(k, $("#" + k).value.trim()));
    }

    const r = await call("GET", "/assets/example.json");
    if (r.status === 200) {
      fillForm(r.body);
    } else {
      fillForm({ model: { nodes: [{ name: "units", kind: "count", baseline: 1000 }], changes: [] } });
      showError($("#error"), $("#forecast-form"), { error: { message: "Could not load the example funnel: " + ((r.body && r.body.error && r.body.error.message) || r.status) } });
    }
    document.body.setAttribute("data-ready", "true");
    loadPast();
    loadCalibration();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
