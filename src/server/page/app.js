// liftlab forecast page. Plain JavaScript, no build step, no external resources.
// The service is the one validator: the page sends what was typed and shows the service's answer,
// a 422 included, next to the input it names. The forecast's sentences (the PRD paragraph, the
// formula, the plan's mapping and notes) are written by the core and shown as they come.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // ---------- the page's words, in one place ----------

  // English and Simplified Chinese; the browser's language preference chooses. "{0}" is the
  // first argument of t(key, ...). The HTML names its words by key (data-i18n*).
  const STRINGS = {
    en: {
      brand: "forecast",
      lede: "What will the change do to the topline, how sure are we, and what test would show it?",
      funnel: "Funnel",
      funnel_hint: "The topline is the product of the nodes, upstream first: a <b>count</b> (units per period), then " +
        "<b>rates</b> and <b>values</b> (amounts per unit). Every share on this page is a fraction: 0.6 is 60% (the API, " +
        "Python and the CLI take the same numbers).",
      name: "Name", kind: "Kind", baseline: "Baseline", sd_col: "Std dev", node: "Node",
      kind_count: "count", kind_rate: "rate", kind_value: "value",
      sd_ph: "if known",
      add_node: "+ add node", add_change: "+ add change",
      changes: "Expected change",
      changes_hint: "Relative change of a node as a fraction (0.08 = +8%), as a 90% range: you would be surprised to see " +
        "it below <i>low</i> or above <i>high</i>.",
      low: "Low", likely: "Likely", high: "High",
      reach: "Reach (share reached)",
      dilution: "Dilution <small>(optional share)</small>",
      period_days: "Baseline covers (days)",
      unit: "Topline unit <small>(e.g. CNY)</small>",
      unit_ph: "CNY",
      reach_hint: "Reach: the share of units the change reaches (0.5 = half). Dilution: the share of the usual downstream " +
        "conversion that units added upstream lose. A month is 30.4375 days.",
      plan: "Test plan", plan_on: "plan the test",
      plan_metric: "The test reads",
      plan_metric_default: "the node the change acts on",
      plan_sd: "Topline std dev per unit <small>(only if it cannot be derived)</small>",
      max_days: "Max days", alpha: "Alpha (share)", power: "Power (share)",
      sd_hint: "Rates need no standard deviation: it follows from the rate. A value node (an amount such as order value) " +
        "needs its own, in the funnel's Std dev column, for the plan on the topline.",
      traffic: "Test traffic, derived from the funnel: {0} {1} per {2} × {3} reached = {4} a day.",
      one_day: "day", n_days: "{0} days",
      traffic_needs_count: "A test plan needs the funnel to start with a count of units per period.",
      history: "History", optional: "(optional)",
      win_rate: "Team win rate (share)", win_rate_ph: "e.g. 0.2",
      past_tests: "Past tests: relative effect and its standard error, as fractions, one test per line",
      from_ledger: "add the ledger's forecasts with results, of team", any: "any",
      advanced: "Simulation settings",
      confidence_level: "Interval level (share)", draws: "Draws", seed: "Seed",
      example_note: "Values marked “example” came with the example funnel, not from yours: the plan's standard deviation, " +
        "the team's win rate, past tests and the seed.",
      example_changed: "You changed the funnel: the values marked “example” still describe the example funnel.",
      example_tag: "example",
      clear_examples: "Clear example values",
      example_label: "example values",
      project: "Project", projecting: "Projecting…",
      inputs_changed: "Inputs changed since the projection below.",
      press_again: "The inputs changed: press Project again before saving.",
      placeholder: "Press <b>Project</b> to see the projected lift.",
      results: "Projected lift of the topline", interval: "interval", median: "median",
      absolute: "In topline units", expected: "Expected",
      depends: "What it depends on",
      the_test: "The test",
      prd: "For the PRD", copy: "Copy", copied: "Copied.", copy_by_hand: "Select the text and copy it (Ctrl+C).",
      save_title: "Save to the ledger",
      save_hint: "Saved forecasts are checked against the test's result later; the calibration below shows how well " +
        "forecasts have matched.",
      title: "Title", author: "Author", team: "Team", metric: "Metric",
      title_ph: "SMS reminder before the sales call", metric_ph: "deal value per day",
      token: "API token <small>(kept in this browser)</small>",
      save: "Save to ledger", saving: "Saving…", saved_as: "Saved as forecast #{0}.",
      past_forecasts: "Past forecasts", search: "Search", search_ph: "title, author, team, metric",
      refresh: "Refresh", saved: "Saved", projected: "Projected lift", outcome: "Outcome",
      calibration: "Calibration",
      calibration_hint: "Over the forecasts whose test has reported (<i>reconciled</i>), every lift taken among the units " +
        "the change reached (a topline lift is divided by its reach): <b>coverage</b> is the share whose interval held " +
        "the observed lift, next to the level the intervals claimed; <b>mean abs. error</b> the mean miss of the expected " +
        "lift; <b>bias</b> the mean of forecast minus observed (positive: optimistic); <b>hit rate</b> the share that called " +
        "the direction; <b>win share</b> the share that shipped a significant win.",
      group: "Group", forecasts: "Forecasts", reconciled: "Reconciled", coverage_col: "Coverage", mae: "Mean abs. error",
      bias: "Bias", hit_rate: "Hit rate", win_share: "Win share",
      all_forecasts: "All forecasts", by_team: "By team", by_author: "By author", by_month: "By month",
      open: "open", record: "record result", update: "update result",
      observed_lift: "Observed lift (fraction)", obs_low: "Low", obs_high: "High", note: "Note",
      obs_scale: "Measured on",
      scale_reached: "the units the change reached (as the test reports it)",
      scale_topline: "the whole topline",
      shipped: "shipped as a significant win", save_result: "Save result", optional_ph: "optional",
      inside: "inside the interval", outside: "outside the interval", sig_win: "significant win",
      reached_note: "{0} among the units reached",
      topline_now: "Topline now: {0} per {1} ({2}).",
      warnings_title: "Check these inputs (the projection was made all the same):",
      percent_hint: "Shares are fractions here: 60% is 0.6.",
      not_two_numbers: "line {0} (“{1}”) is not two numbers: effect, standard error (fractions)",
      empty_or_nan: "is empty or not a number",
      loading: "Loading…", no_forecasts: "No saved forecasts yet.", no_match: "No saved forecasts match these filters.",
      no_ledger: "The ledger is not available on this service yet (GET /v1/forecasts answered {0}).",
      cannot_load: "Could not load past forecasts: {0}",
      cannot_open: "Could not open forecast #{0}: {1}",
      showing: "Showing saved forecast #{0}.",
      no_calibration: "Calibration is not available on this service yet (GET /v1/calibration answered {0}).",
      cannot_calibrate: "Could not load the calibration: {0}",
      nothing_saved: "Nothing saved yet to calibrate against.",
      none_reconciled: "No saved forecast has an observed outcome yet: the numbers fill in as tests report.",
      press_project_first: "Press Project first: the ledger keeps the projection shown above.",
      needs_text: "is empty: the ledger needs a title, author, team and metric",
      needs_token: "Saving needs an API token (ask whoever runs the service).",
      needs_token_result: "Recording a result needs the API token (in “Save to the ledger”).",
      no_ledger_save: "This service has no ledger yet (POST /v1/forecasts answered {0}).",
      no_results_route: "This service cannot record results yet (answered {0}).",
      answered: "the service answered {0}",
      example_missing: "Could not load the example funnel: {0}",
      unexpected: "unexpected answer from the service",
      network: "cannot reach the service ({0})",
      row_funnel: "Funnel, row {0}", row_change: "Expected change, row {0}",
      remove_node: "remove this node", remove_change: "remove this change",
      not_in_funnel: "{0} (not in the funnel)",
    },
    "zh-CN": {
      brand: "预测",
      lede: "这个改动会让顶层指标变化多少？我们有多大把握？需要什么样的实验来验证？",
      funnel: "漏斗",
      funnel_hint: "顶层指标是各节点的乘积，从上游开始：一个<b>计数</b>（每周期的单位数），然后是<b>比率</b>和<b>数值</b>" +
        "（每单位的金额）。本页所有占比都写成小数：0.6 即 60%（API、Python 和命令行使用同样的数字）。",
      name: "名称", kind: "类型", baseline: "基线", sd_col: "标准差", node: "节点",
      kind_count: "计数", kind_rate: "比率", kind_value: "数值",
      sd_ph: "如已知",
      add_node: "+ 添加节点", add_change: "+ 添加变化",
      changes: "预期变化",
      changes_hint: "节点的相对变化，写成小数（0.08 = +8%），给出 90% 区间：低于<i>下限</i>或高于<i>上限</i>都会让你意外。",
      low: "下限", likely: "最可能", high: "上限",
      reach: "触达率（触达占比）",
      dilution: "稀释 <small>（可选，占比）</small>",
      period_days: "基线对应天数",
      unit: "顶层指标单位 <small>（如 CNY）</small>",
      unit_ph: "CNY",
      reach_hint: "触达率：改动触达的单位占比（0.5 即一半）。稀释：上游新增单位在下游转化上损失的比例。一个月按 30.4375 天计。",
      plan: "实验计划", plan_on: "规划实验",
      plan_metric: "实验读取的指标",
      plan_metric_default: "改动作用的节点",
      plan_sd: "顶层指标每单位标准差 <small>（仅在无法推导时填写）</small>",
      max_days: "最长天数", alpha: "显著性水平 α（占比）", power: "统计功效（占比）",
      sd_hint: "比率不需要标准差：它由比率本身决定。数值节点（如客单价）如需规划顶层指标的实验，请在漏斗的“标准差”列填写。",
      traffic: "实验流量（由漏斗推出）：每 {2} {0} {1} × 触达 {3} = 每天 {4}。",
      one_day: "天", n_days: "{0} 天",
      traffic_needs_count: "实验计划要求漏斗以每周期的单位计数开始。",
      history: "历史", optional: "（可选）",
      win_rate: "团队胜率（占比）", win_rate_ph: "如 0.2",
      past_tests: "过往实验：相对效应及其标准误，写成小数，每行一个实验",
      from_ledger: "加入台账中已有结果的预测，团队", any: "任意",
      advanced: "模拟设置",
      confidence_level: "区间置信水平（占比）", draws: "模拟次数", seed: "随机种子",
      example_note: "标记为“示例”的值来自示例漏斗，而非你的数据：计划的标准差、团队胜率、过往实验和随机种子。",
      example_changed: "你修改了漏斗：标记为“示例”的值仍然描述的是示例漏斗。",
      example_tag: "示例",
      clear_examples: "清除示例值",
      example_label: "示例值",
      project: "预测", projecting: "正在预测…",
      inputs_changed: "输入已在下方预测之后改变。",
      press_again: "输入已改变：保存前请再次点击“预测”。",
      placeholder: "点击<b>预测</b>查看预计提升。",
      results: "顶层指标的预计提升", interval: "区间", median: "中位数",
      absolute: "以顶层指标单位计", expected: "预期",
      depends: "取决于什么",
      the_test: "实验",
      prd: "用于 PRD", copy: "复制", copied: "已复制。", copy_by_hand: "请选中文字后复制（Ctrl+C）。",
      save_title: "保存到台账",
      save_hint: "保存的预测之后会与实验结果对照；下方的校准显示以往预测的准确程度。",
      title: "标题", author: "作者", team: "团队", metric: "指标",
      title_ph: "销售电话前的短信提醒", metric_ph: "每天成交额",
      token: "API 令牌 <small>（保存在本浏览器）</small>",
      save: "保存到台账", saving: "正在保存…", saved_as: "已保存为预测 #{0}。",
      past_forecasts: "历史预测", search: "搜索", search_ph: "标题、作者、团队、指标",
      refresh: "刷新", saved: "保存于", projected: "预计提升", outcome: "结果",
      calibration: "校准",
      calibration_hint: "在已有实验结果（<i>已对账</i>）的预测上计算，所有提升都按改动触达的单位计（顶层提升除以覆盖率）：" +
        "<b>覆盖</b>是区间包含观测提升的比例（旁边是区间声称的水平）；<b>平均绝对误差</b>是预期提升的平均偏差；" +
        "<b>偏差</b>是预测减观测的平均值（正值表示乐观）；<b>方向命中率</b>是方向判断正确的比例；<b>胜出占比</b>是以显著胜出上线的比例。",
      group: "分组", forecasts: "预测数", reconciled: "已对账", coverage_col: "覆盖", mae: "平均绝对误差",
      bias: "偏差", hit_rate: "方向命中率", win_share: "胜出占比",
      all_forecasts: "全部预测", by_team: "按团队", by_author: "按作者", by_month: "按月份",
      open: "打开", record: "记录结果", update: "更新结果",
      observed_lift: "观测提升（小数）", obs_low: "下限", obs_high: "上限", note: "备注",
      obs_scale: "度量范围",
      scale_reached: "改动触达的单位（实验报告的口径）",
      scale_topline: "整个顶层指标",
      shipped: "以显著胜出上线", save_result: "保存结果", optional_ph: "可选",
      inside: "在区间内", outside: "在区间外", sig_win: "显著胜出",
      reached_note: "触达单位中为 {0}",
      topline_now: "当前顶层指标：每{1} {0}（{2}）。",
      warnings_title: "请检查这些输入（预测仍已完成）：",
      percent_hint: "这里的占比写成小数：60% 即 0.6。",
      not_two_numbers: "第 {0} 行（“{1}”）不是两个数：效应、标准误（小数）",
      empty_or_nan: "为空或不是数字",
      loading: "正在加载…", no_forecasts: "还没有保存的预测。", no_match: "没有符合筛选条件的预测。",
      no_ledger: "此服务尚无台账（GET /v1/forecasts 返回 {0}）。",
      cannot_load: "无法加载历史预测：{0}",
      cannot_open: "无法打开预测 #{0}：{1}",
      showing: "正在显示已保存的预测 #{0}。",
      no_calibration: "此服务尚无校准（GET /v1/calibration 返回 {0}）。",
      cannot_calibrate: "无法加载校准：{0}",
      nothing_saved: "还没有可用于校准的预测。",
      none_reconciled: "还没有预测记录了观测结果：实验报告后这里会填上数字。",
      press_project_first: "请先点击“预测”：台账保存的是上方显示的预测。",
      needs_text: "为空：台账需要标题、作者、团队和指标",
      needs_token: "保存需要 API 令牌（请向服务管理员索取）。",
      needs_token_result: "记录结果需要 API 令牌（在“保存到台账”中填写）。",
      no_ledger_save: "此服务尚无台账（POST /v1/forecasts 返回 {0}）。",
      no_results_route: "此服务还不能记录结果（返回 {0}）。",
      answered: "服务返回 {0}",
      example_missing: "无法加载示例漏斗：{0}",
      unexpected: "服务返回了意外的内容",
      network: "无法连接服务（{0}）",
      row_funnel: "漏斗，第 {0} 行", row_change: "预期变化，第 {0} 行",
      remove_node: "删除此节点", remove_change: "删除此变化",
      not_in_funnel: "{0}（不在漏斗中）",
    },
  };

  /** The first of the browser's languages the page speaks: Chinese (any) -> zh-CN, else English. */
  function chooseLanguage() {
    const prefs = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"]);
    for (const l of prefs) {
      if (/^zh/i.test(l)) return "zh-CN";
      if (/^en/i.test(l)) return "en";
    }
    return "en";
  }
  const LANG = chooseLanguage();
  const WORDS = STRINGS[LANG];

  /** A word of the page: t("saved_as", 7) -> "Saved as forecast #7." */
  function t(key, ...args) {
    const s = WORDS[key] !== undefined ? WORDS[key] : STRINGS.en[key];
    if (s === undefined) throw new Error("no page string " + key);
    return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
  }

  /** Puts the page's words into the HTML that names them. */
  function applyStrings() {
    document.documentElement.lang = LANG;
    $$("[data-i18n]").forEach((e) => { e.textContent = t(e.getAttribute("data-i18n")); });
    $$("[data-i18n-html]").forEach((e) => { e.innerHTML = t(e.getAttribute("data-i18n-html")); }); // our own constants
    $$("[data-i18n-ph]").forEach((e) => { e.setAttribute("placeholder", t(e.getAttribute("data-i18n-ph"))); });
  }

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

  /** A share typed as a fraction, read back as a percentage beside its input: "0.6" -> "= 60%". */
  function shareReading(text, signed) {
    const x = fromText(text);
    if (x === null) return "";
    const p = Number((x * 100).toPrecision(10));
    return "= " + (signed && p > 0 ? "+" : "") + p.toLocaleString("en-US", { maximumFractionDigits: 8 }) + "%";
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
      return { status: 0, body: { error: { code: "network", message: t("network", e.message) } } };
    }
    const text = await res.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch (_) { parsed = { error: { code: "bad_response", message: text.slice(0, 300) } }; }
    return { status: res.status, body: parsed };
  }

  const missingRoute = (r) => r.status === 404 || r.status === 405;

  // ---------- the form's state ----------

  const state = {
    nodes: [], // {name, kind, baseline: text, std_dev: text}
    changes: [], // {node, low, likely, high: fraction texts}
    example: new Set(), // ids of inputs still holding a value of the example funnel
    funnelEdited: false,
    lastRequest: null,
    lastReport: null,
    defaults: {}, // the service's defaults of a request (GET /v1/forecast/defaults)
    stale: false,
    runs: 0,
  };

  /** A small "= 60%" after a share input, kept up to date as it is typed. */
  function withReading(input, signed) {
    const out = el("small", { class: "reading", "aria-hidden": "true" });
    const update = () => { out.textContent = shareReading(input.value, signed); };
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    input.updateReading = update;
    update();
    return out;
  }

  function numberInput(attrs) {
    return el("input", Object.assign({ type: "text", inputmode: "decimal", autocomplete: "off" }, attrs));
  }

  function renderNodes() {
    const body = $("#nodes tbody");
    body.replaceChildren();
    state.nodes.forEach((n, i) => {
      const p = "model.nodes[" + i + "]";
      const kind = el("select", { "data-path": p + ".kind", "aria-label": t("kind") + " " + (i + 1) },
        [["count", t("kind_count")], ["rate", t("kind_rate")], ["value", t("kind_value")]]
          .map(([k, word]) => el("option", { value: k, text: word })));
      kind.value = n.kind;
      const name = el("input", { type: "text", value: n.name, "data-path": p + ".name", "aria-label": t("name") + " " + (i + 1) });
      const rename = () => {
        const old = n.name;
        if (old === name.value) return;
        n.name = name.value;
        for (const c of state.changes) if (c.node === old) c.node = n.name;
        refreshChangeOptions();
        refreshMetricOptions();
        funnelChanged();
      };
      // "change" too: a value cleared by a script or an autofill fires no "input"
      name.addEventListener("input", rename);
      name.addEventListener("change", rename);
      const base = numberInput({ value: n.baseline, "data-path": p + ".baseline", "aria-label": t("baseline") + " " + (i + 1) });
      const reading = withReading(base, false);
      const showReading = () => { reading.hidden = n.kind !== "rate"; };
      showReading();
      const rebase = () => { n.baseline = base.value; funnelChanged(); };
      base.addEventListener("input", rebase);
      base.addEventListener("change", rebase);
      const sd = numberInput({ value: n.std_dev || "", "data-path": p + ".std_dev", placeholder: t("sd_ph"),
        "aria-label": t("sd_col") + " " + (i + 1) });
      const showSd = () => { sd.hidden = n.kind !== "value"; };
      showSd();
      const resd = () => { n.std_dev = sd.value; funnelChanged(); };
      sd.addEventListener("input", resd);
      sd.addEventListener("change", resd);
      kind.addEventListener("change", () => { n.kind = kind.value; showReading(); showSd(); funnelChanged(); });
      const rm = el("button", { type: "button", class: "remove", title: t("remove_node"), "aria-label": t("remove_node") + " " + (i + 1), text: "×",
        onclick: () => { state.nodes.splice(i, 1); renderNodes(); renderChanges(); refreshMetricOptions(); funnelChanged(); } });
      body.append(el("tr", { "data-path": p },
        el("td", { "data-label": t("name") }, name), el("td", { "data-label": t("kind") }, kind),
        el("td", { "data-label": t("baseline") }, base, reading), el("td", { "data-label": t("sd_col") }, sd),
        el("td", {}, rm)));
    });
  }

  function changeOptions(select, current) {
    const names = state.nodes.map((n) => n.name);
    const opts = names.map((nm) => el("option", { value: nm, text: nm }));
    if (current && !names.includes(current)) opts.push(el("option", { value: current, text: t("not_in_funnel", current) }));
    select.replaceChildren(...opts);
    select.value = current;
  }

  function refreshChangeOptions() {
    $$("#changes tbody select").forEach((s, i) => changeOptions(s, state.changes[i].node));
  }

  /** The plan's metric: the default (the node the change acts on) or any node below the count. */
  function refreshMetricOptions(chosen) {
    const select = $("#plan-metric");
    const current = chosen !== undefined ? chosen : select.value;
    const names = state.nodes.slice(1).map((n) => n.name).filter((n) => n);
    select.replaceChildren(el("option", { value: "", text: t("plan_metric_default") }),
      ...names.map((nm) => el("option", { value: nm, text: nm })));
    select.value = names.includes(current) ? current : "";
  }

  function renderChanges() {
    const body = $("#changes tbody");
    body.replaceChildren();
    state.changes.forEach((c, i) => {
      const p = "model.changes[" + i + "]";
      const node = el("select", { "data-path": p + ".node", "aria-label": t("node") + " " + (i + 1) });
      changeOptions(node, c.node);
      node.addEventListener("change", () => { c.node = node.value; formChanged(); });
      const cells = ["low", "likely", "high"].map((k) => {
        const input = numberInput({ value: c[k], "data-path": p + "." + k, "data-share": true, "aria-label": t(k) + " " + (i + 1) });
        const update = () => { c[k] = input.value; formChanged(); };
        input.addEventListener("input", update);
        input.addEventListener("change", update);
        return el("td", { "data-label": t(k) }, input, withReading(input, true));
      });
      const rm = el("button", { type: "button", class: "remove", title: t("remove_change"), "aria-label": t("remove_change") + " " + (i + 1), text: "×",
        onclick: () => { state.changes.splice(i, 1); renderChanges(); formChanged(); } });
      body.append(el("tr", { "data-path": p }, el("td", { "data-label": t("node") }, node), cells, el("td", {}, rm)));
    });
  }

  const setVal = (id, v) => {
    const e = $("#" + id);
    e.value = v === undefined || v === null ? "" : String(v);
    if (e.updateReading) e.updateReading();
  };

  /** Marks an input as holding a value of the example funnel (or not). */
  function markExample(id, on) {
    const input = $("#" + id);
    const label = input.closest("label");
    if (on) state.example.add(id); else state.example.delete(id);
    input.classList.toggle("example", on);
    const tag = label && $(".example-tag", label);
    if (on && label && !tag) label.append(el("span", { class: "example-tag", text: t("example_tag") }));
    if (!on && tag) tag.remove();
    const note = $("#example-note");
    note.hidden = state.example.size === 0;
    note.classList.toggle("changed", state.funnelEdited && state.example.size > 0);
    $("span", note).textContent = state.funnelEdited ? t("example_changed") + " " + t("example_note") : t("example_note");
  }

  function clearExamples() {
    for (const id of Array.from(state.example)) {
      setVal(id, "");
      markExample(id, false);
    }
    formChanged();
  }

  /** Puts a ForecastRequest into the form; `fromExample` marks the values a PM would not know. An
   * option the request leaves out shows the service's default (GET /v1/forecast/defaults). */
  function fillForm(req, fromExample) {
    const m = req.model || {};
    const d = state.defaults;
    const or = (v, k) => (v === undefined ? d[k] : v);
    state.nodes = (m.nodes || []).map((n) => ({ name: n.name, kind: n.kind, baseline: String(n.baseline),
      std_dev: isNum(n.std_dev) ? String(n.std_dev) : "" }));
    state.changes = (m.changes || []).map((c) => ({ node: c.node, low: String(c.low), likely: String(c.likely), high: String(c.high) }));
    state.funnelEdited = false;
    renderNodes();
    renderChanges();
    // a request saved before the renames carries `coverage` and `confidence`
    setVal("reach", or(m.reach === undefined ? m.coverage : m.reach, "reach"));
    setVal("dilution", m.dilution ? m.dilution : "");
    setVal("period_days", or(m.period_days, "period_days"));
    setVal("unit", m.unit || "");
    setVal("confidence_level", or(m.confidence_level === undefined ? m.confidence : m.confidence_level, "confidence_level"));
    setVal("draws", or(m.draws, "draws"));
    setVal("seed", m.seed === undefined ? "" : m.seed);
    const plan = req.plan;
    $("#plan-on").checked = !!plan;
    const design = (plan && plan.design) || {};
    refreshMetricOptions(plan && plan.metric ? plan.metric : "");
    setVal("std_dev", plan ? plan.std_dev : "");
    setVal("max_days", or(plan ? plan.max_days : undefined, "max_days"));
    setVal("alpha", or(design.alpha, "alpha"));
    setVal("power", or(design.power, "power"));
    const h = req.history || {};
    setVal("win_rate", isNum(h.win_rate) ? h.win_rate : "");
    $("#past").value = (h.past || []).map((p) => p.effect + ", " + p.std_err).join("\n");
    $("#from-ledger").checked = !!h.from_ledger;
    $("#ledger-team").value = (h.from_ledger && h.from_ledger.team) || "";
    // design options the form does not show (variants, ratio, ...) are kept as they were
    state.extraDesign = Object.assign({}, design);
    delete state.extraDesign.alpha;
    delete state.extraDesign.power;
    for (const id of ["std_dev", "win_rate", "past", "seed"]) markExample(id, !!fromExample && $("#" + id).value.trim() !== "");
    syncPlan();
    updateHints();
  }

  class InputError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  /** The request the form describes. Past tests that do not parse fail here, naming their line. */
  function buildRequest() {
    const model = {
      nodes: state.nodes.map((n) => {
        const node = { name: n.name.trim(), kind: n.kind, baseline: fromText(n.baseline) };
        if (n.kind === "value" && (n.std_dev || "").trim() !== "") node.std_dev = fromText(n.std_dev);
        return node;
      }),
      changes: state.changes.map((c) => ({ node: c.node, low: fromText(c.low), likely: fromText(c.likely), high: fromText(c.high) })),
      reach: fromText($("#reach").value),
      period_days: fromText($("#period_days").value),
      draws: fromText($("#draws").value),
      confidence_level: fromText($("#confidence_level").value),
    };
    if ($("#seed").value.trim() !== "") model.seed = fromText($("#seed").value);
    if ($("#dilution").value.trim() !== "") model.dilution = fromText($("#dilution").value);
    if ($("#unit").value.trim() !== "") model.unit = $("#unit").value.trim();
    const req = { model };
    if ($("#plan-on").checked) {
      const design = Object.assign({}, state.extraDesign || {}, {
        alpha: fromText($("#alpha").value),
        power: fromText($("#power").value),
      });
      req.plan = { design, max_days: fromText($("#max_days").value) };
      if ($("#plan-metric").value) req.plan.metric = $("#plan-metric").value;
      if ($("#std_dev").value.trim() !== "") req.plan.std_dev = fromText($("#std_dev").value);
    }
    const past = [];
    $("#past").value.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      const parts = line.split(/[,;\s\t]+/).filter((s) => s !== "");
      const effect = parts.length === 2 ? fromText(parts[0]) : null;
      const stdErr = parts.length === 2 ? fromText(parts[1]) : null;
      if (effect === null || stdErr === null) {
        throw new InputError("history.past[" + past.length + "]", t("not_two_numbers", i + 1, line.trim()));
      }
      past.push({ effect, std_err: stdErr });
    });
    const winRate = $("#win_rate").value.trim();
    const fromLedger = $("#from-ledger").checked;
    if (past.length || winRate !== "" || fromLedger) {
      req.history = { past };
      if (winRate !== "") req.history.win_rate = fromText(winRate);
      if (fromLedger) {
        const team = $("#ledger-team").value.trim();
        req.history.from_ledger = team ? { team } : {};
      }
      // the chance of success says which history it came from
      if (state.example.has("win_rate") || state.example.has("past")) req.history.label = t("example_label");
    }
    // the core writes the answer's sentences (PRD paragraph, formula, plan) in the page's language
    req.language = LANG;
    return req;
  }

  function syncPlan() {
    const on = $("#plan-on").checked;
    $$("#plan-fields input, #plan-fields select").forEach((i) => { i.disabled = !on; });
  }

  /** The test's traffic, as the service derived it in the last projection (plan.daily_units). */
  function updateHints() {
    const hint = $("#traffic-hint");
    const first = state.nodes[0];
    $("#sd-hint").textContent = t("sd_hint");
    if (!first || first.kind !== "count") {
      hint.textContent = t("traffic_needs_count");
      return;
    }
    const report = state.lastReport;
    const plan = report && !state.stale ? report.plan : null;
    const req = state.lastRequest;
    if (!plan || !req) { hint.textContent = ""; return; }
    const top = req.model.nodes[0];
    const set = report.settings;
    hint.textContent = t("traffic", num(top.baseline), top.name, set.period_days === 1 ? t("one_day") : t("n_days", dayCount(set.period_days)),
      share(set.reach, 0), num(plan.daily_units) + " " + top.name);
  }

  function formChanged() {
    updateHints();
    if (state.lastReport && !state.stale) {
      state.stale = true;
      $("#results").classList.add("stale");
      $("#save").disabled = true;
      $("#save-status").textContent = t("press_again");
      $("#status").textContent = t("inputs_changed");
    }
  }

  /** The funnel changed: values that came with the example funnel no longer describe it. */
  function funnelChanged() {
    state.funnelEdited = true;
    for (const id of Array.from(state.example)) markExample(id, true);
    formChanged();
  }

  // ---------- errors, next to the input they name ----------

  function clearErrors(scope) {
    $$(".field-error-row, .field-error, .field-warning", scope).forEach((e) => e.remove());
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
      return t("row_funnel", Number(m[1]) + 1) + (n && n.name ? " (" + n.name + ")" : "") + (m[2] ? ": " + m[2] : "");
    }
    m = /^model\.changes\[(\d+)\](?:\.(\w+))?/.exec(field);
    if (m) {
      const c = state.changes[Number(m[1])];
      return t("row_change", Number(m[1]) + 1) + (c && c.node ? " (" + c.node + ")" : "") + (m[2] ? ": " + m[2] : "");
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
    if (/invalid type: null/.test(r)) r = t("empty_or_nan");
    return r.replace(/ at line \d+ column \d+$/, "");
  }

  /**
   * Shows an error body ({error: {code, message, field}}) in `box`, marks the input it names and moves
   * the focus there. `prefix` is stripped from the field first (the ledger nests the request).
   */
  function showError(box, scope, err, prefix) {
    const e = (err && err.error) || { message: t("unexpected") };
    let field = e.field || "";
    if (prefix && field.startsWith(prefix)) field = field.slice(prefix.length);
    const target = field ? elementFor(field, scope) : null;
    box.replaceChildren();
    if (field) {
      box.append(el("b", { text: describe(field, target) }), " — ", reason(e.message, e.field),
        " ", el("code", { class: "field", text: "(" + field + ")" }));
      if (target && (target.hasAttribute("data-share") || $("[data-share]", target))) {
        box.append(el("div", { class: "hint", text: t("percent_hint") }));
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
  function inlineNote(target, text, kind) {
    const note = el("div", { class: kind || "field-error", text });
    const tr = target.tagName === "TR" ? target : target.closest("tbody tr");
    if (target.closest("label")) {
      target.closest("label").append(note);
    } else if (tr) {
      const cols = Array.from(tr.children).reduce((n, td) => n + (Number(td.getAttribute("colspan")) || 1), 0);
      const row = kind === "field-warning" ? "field-warning-row" : "field-error-row";
      tr.after(el("tr", { class: row }, el("td", { colspan: String(cols) }, note)));
    } else if (target.tagName === "TABLE") {
      target.after(note);
    } else {
      target.append(note);
    }
  }

  /**
   * Notes about inputs that were allowed but look wrong (report.warnings) or that would complete
   * the plan (plan.missing): listed under the form and repeated at the input each names.
   */
  function showWarnings(notes) {
    const box = $("#warnings");
    $$(".field-warning, .field-warning-row").forEach((e) => e.remove());
    if (!notes.length) { box.hidden = true; box.replaceChildren(); return; }
    box.replaceChildren(el("b", { text: t("warnings_title") }),
      el("ul", {}, notes.map((w) => el("li", {}, describe(w.field, elementFor(w.field, $("#forecast-form"))) + " — " + w.message + " ",
        el("code", { class: "field", text: "(" + w.field + ")" })))));
    box.hidden = false;
    for (const w of notes) {
      const target = elementFor(w.field, $("#forecast-form"));
      if (target) inlineNote(target, w.message, "field-warning");
    }
  }

  function hideError(box) {
    box.hidden = true;
    box.replaceChildren();
  }

  // ---------- projecting ----------

  /** The width the charts are shown at, in CSS pixels: the service draws them for it, so that their
   * 12px labels stay 12px on a phone. */
  function chartWidth() {
    let w = $("#interval-chart").clientWidth;
    if (!w) { // not shown yet: the width of the card that stands in its place
      const card = $("#placeholder");
      const cs = getComputedStyle(card);
      w = card.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    }
    return Math.max(280, Math.min(2000, Math.round(w || 560)));
  }

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
    $("#status").textContent = t("projecting");
    const r = await call("POST", "/v1/forecast?charts=svg&chart_width=" + chartWidth(), req);
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
      showError($("#error"), form, r.body && r.body.error ? r.body : { error: { message: t("answered", r.status) } });
    }
  }

  function setNum(id, value, text) {
    const e = $("#" + id);
    e.textContent = text;
    e.setAttribute("data-value", String(value));
  }

  /** An amount with the topline's unit: "+57,600 CNY". */
  function amount(x, unit, signed) {
    const s = num(x, signed);
    return unit && s !== "—" ? s + " " + unit : s;
  }

  function renderReport(report, req) {
    const f = report.forecast;
    state.runs += 1;
    $("#placeholder").hidden = true;
    const box = $("#projection");
    box.hidden = false;
    box.setAttribute("data-run", String(state.runs));
    const unit = f.unit || req.model.unit || "";

    const level = share(f.confidence_level, 0);
    setNum("lift-estimate", f.relative.estimate, pct(f.relative.estimate));
    $("#lift-estimate").className = "big " + (f.relative.estimate >= 0 ? "pos" : "neg");
    setNum("lift-low", f.relative.low, pct(f.relative.low));
    setNum("lift-high", f.relative.high, pct(f.relative.high));
    setNum("lift-median", f.median, pct(f.median));
    $("#lift-level").textContent = level;
    $("#headline-note").textContent = f.headline_note || "";
    // the charts and their notes as the core draws and writes them (the notebook shows the same)
    const charts = report.charts || {};
    $("#interval-chart").innerHTML = charts.lift || "";
    $("#interval-note").textContent = charts.lift_note || "";

    // one row per period length, each with one name (the core chooses them)
    $("#absolute tbody").replaceChildren(...f.periods.map((p) => el("tr", {},
      el("td", { text: p.label }), el("td", { text: amount(p.lift.estimate, unit, true) }),
      el("td", { text: amount(p.lift.low, unit, true) }), el("td", { text: amount(p.lift.high, unit, true) }))));
    const tree = req.model.nodes.map((n) => n.name + " " + (n.kind === "rate" ? share(n.baseline, 2) : num(n.baseline))).join(" × ");
    $("#baseline-note").textContent = t("topline_now", amount(f.baseline, unit, false), f.period || "day", tree);

    $("#tornado").innerHTML = charts.tornado || "";
    $("#tornado-note").textContent = charts.tornado_note || "";

    renderPlan(report);
    updateHints();
    renderChance(report);
    renderPrd(report);
    showWarnings((report.warnings || []).concat((report.plan && report.plan.missing) || []));
  }

  // The page's element ids of the facts that tests and scripts find, by the answer's field each
  // fact formats (the facts, their labels and values are the core's: report.display).
  const FACT_IDS = {
    "plan.metric": "plan-metric-read", "plan.sample_size.n_control": "plan-n-arm", "plan.duration_days": "plan-days",
    "plan.mde_at_max_days.rel_effect": "plan-mde", "plan.power_at_max_days": "plan-power",
    "realism.prob_positive": "prob-positive", "realism.prob_above_mde": "prob-above-mde", "false_positive_risk": "fpr",
  };

  /** The value at a field path of the answer ("plan.sample_size.n_control"). */
  function at(report, field) {
    return field.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), report);
  }

  /**
   * One panel of the core's display into a <dl>: each fact as it comes, its unformatted value
   * (number or name) in data-value; the panel's reason in place of facts when it has none.
   */
  function renderPanel(dl, panel, report) {
    dl.replaceChildren();
    if (!panel) return;
    for (const f of panel.facts || []) {
      const raw = at(report, f.field);
      const attrs = { id: FACT_IDS[f.field] || null, "data-field": f.field, class: f.warn ? "warn" : null,
        "data-value": typeof raw === "number" || typeof raw === "string" ? String(raw) : null };
      dl.append(el("dt", { text: f.label }), el("dd", attrs, f.value, f.note ? el("small", { text: " " + f.note }) : null));
    }
    if (panel.empty) dl.append(el("dd", { class: "muted wide", text: panel.empty }));
  }

  function renderPlan(report) {
    const plan = report.plan;
    const d = report.display || {};
    const top = $("#plan-topline");
    $("#plan-mapping").textContent = (plan && plan.mapping) || "";
    $("#plan-title").textContent = (d.plan && d.plan.title) || "";
    renderPanel($("#plan"), d.plan, report);
    $("#topline-col").hidden = !d.topline;
    $("#topline-title").textContent = (d.topline && d.topline.title) || "";
    renderPanel(top, d.topline, report);
    top.removeAttribute("data-n-arm");
    if (plan && plan.topline) top.setAttribute("data-n-arm", String(plan.topline.sample_size.n_control));
    $("#plan-notes").replaceChildren(...((plan && plan.notes) || []).map((n) => el("li", { text: n })));
  }

  function renderChance(report) {
    const panel = (report.display || {}).chance;
    $("#chance-title").textContent = (panel && panel.title) || "";
    $("#chance-source").textContent = (panel && panel.lead) || "";
    renderPanel($("#chance"), panel, report);
  }

  /**
   * The core's paragraph as it comes, one block per paragraph; the formula (report.forecast.formula,
   * after the core's own label in the answer's language) in code.
   */
  function renderPrd(report) {
    const text = report.prd_paragraph || "";
    const formula = (report.forecast && report.forecast.formula) || "";
    const blocks = text.split("\n\n").map((para) => {
      if (formula && para.endsWith(formula) && para.length > formula.length) {
        const label = para.slice(0, para.length - formula.length);
        return el("p", {}, label, el("code", { id: "prd-formula", text: formula }));
      }
      return el("p", { text: para });
    });
    $("#prd").replaceChildren(...blocks);
    $("#copy-status").textContent = "";
  }

  async function copyPrd() {
    const text = (state.lastReport && state.lastReport.prd_paragraph) || $("#prd").innerText;
    const done = (ok) => { $("#copy-status").textContent = ok ? t("copied") : t("copy_by_hand"); };
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

  // ---------- the ledger ----------

  const TEXT_FIELDS = ["title", "author", "team", "metric"];

  async function save(ev) {
    ev.preventDefault();
    const form = $("#save-form");
    const box = $("#save-error");
    clearErrors(form);
    hideError(box);
    if (!state.lastRequest || state.stale) {
      showError(box, form, { error: { message: t("press_project_first") } });
      return;
    }
    for (const k of TEXT_FIELDS) {
      if ($("#" + k).value.trim() === "") {
        showError(box, form, { error: { field: k, message: t("needs_text") } });
        return;
      }
    }
    const token = $("#token").value.trim();
    if (!token) {
      showError(box, form, { error: { message: t("needs_token") } });
      $("#token").classList.add("invalid");
      $("#token").focus();
      return;
    }
    const body = { request: state.lastRequest };
    for (const k of TEXT_FIELDS) body[k] = $("#" + k).value.trim();
    $("#save").disabled = true;
    $("#save-status").textContent = t("saving");
    const r = await call("POST", "/v1/forecasts", body, token);
    $("#save").disabled = false;
    $("#save-status").textContent = "";
    if (r.status === 201 || r.status === 200) {
      $("#save-status").textContent = t("saved_as", r.body.id);
      $("#save-form").setAttribute("data-saved-id", String(r.body.id));
      await Promise.all([loadPast(), loadCalibration()]);
      return;
    }
    if (missingRoute(r)) {
      showError(box, form, { error: { message: t("no_ledger_save", r.status) } });
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
      showError(box, form, r.body && r.body.error ? r.body : { error: { message: t("answered", r.status) } });
    }
  }

  function query(params) {
    const q = Object.entries(params).filter(([, v]) => v !== "" && v !== undefined).map(([k, v]) => k + "=" + encodeURIComponent(v));
    return q.length ? "?" + q.join("&") : "";
  }

  function filters() {
    return { team: $("#filter-team").value.trim(), author: $("#filter-author").value.trim() };
  }

  function search() {
    return $("#filter-q").value.trim();
  }

  /** An observed outcome in a few words: "+2.10% (+0.50% to +3.70%), inside the interval, significant win". */
  function outcomeText(o) {
    if (!o) return "—";
    const obs = o.observed || {};
    const parts = [pct(obs.relative)];
    if (isNum(obs.low) && isNum(obs.high)) parts[0] += " (" + pct(obs.low) + " to " + pct(obs.high) + ")";
    const rec = o.reconciliation;
    if (obs.scale === "topline" && rec) parts.push(t("reached_note", pct(rec.observed)));
    if (rec) parts.push(rec.covered ? t("inside") : t("outside"));
    if (obs.significant_win) parts.push(t("sig_win"));
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
    msg.textContent = t("loading");
    const r = await call("GET", "/v1/forecasts" + query(Object.assign(filters(), { q: search(), limit: 50 })));
    if (r.status !== 200) {
      table.hidden = true;
      msg.textContent = missingRoute(r) ? t("no_ledger", r.status) : t("cannot_load", reason(r.body && r.body.error && r.body.error.message));
      return;
    }
    const list = (r.body && r.body.forecasts) || [];
    msg.textContent = list.length ? "" : (filters().team || filters().author || search() ? t("no_match") : t("no_forecasts"));
    table.hidden = !list.length;
    $("tbody", table).replaceChildren(...list.map((f) => {
      const rel = f.relative || {};
      return el("tr", { "data-id": String(f.id) },
        el("td", { "data-label": "#", text: String(f.id) }),
        el("td", { "data-label": t("title"), class: "title", text: f.title }),
        el("td", { "data-label": t("author"), text: f.author }),
        el("td", { "data-label": t("team"), text: f.team }),
        el("td", { "data-label": t("metric"), text: f.metric }),
        el("td", { "data-label": t("saved"), text: when(f.created_at) }),
        el("td", { "data-label": t("projected"), class: "estimate", text: pct(rel.estimate) }),
        el("td", { "data-label": t("interval"), class: "interval", text: pct(rel.low) + " to " + pct(rel.high) }),
        el("td", { "data-label": t("outcome"), class: "outcome", text: outcomeText(f.outcome) }),
        el("td", { class: "row-actions" },
          el("button", { type: "button", class: "link open", text: t("open"), onclick: () => openSaved(f.id) }),
          " ",
          el("button", { type: "button", class: "link record", text: f.outcome ? t("update") : t("record"),
            onclick: (ev) => toggleOutcomeForm(ev.target.closest("tr"), f) })));
    }));
  }

  /** An inline form under a ledger row to record the test's observed result. */
  function toggleOutcomeForm(tr, f) {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains("outcome-form")) { next.remove(); return; }
    const input = (id, path, ph) => numberInput({ "data-path": path, "data-share": true, placeholder: ph, class: id });
    const rel = input("o-relative", "observed.relative", "0.021");
    const low = input("o-low", "observed.low", t("optional_ph"));
    const high = input("o-high", "observed.high", t("optional_ph"));
    const scale = el("select", { class: "o-scale", "data-path": "observed.scale" },
      el("option", { value: "reached", text: t("scale_reached") }), el("option", { value: "topline", text: t("scale_topline") }));
    const win = el("input", { type: "checkbox", class: "o-win" });
    const note = el("input", { type: "text", "data-path": "note", placeholder: t("optional_ph"), class: "o-note" });
    const box = $("#outcome-error");
    const form = el("div", { class: "fields" },
      el("label", {}, t("observed_lift"), rel, withReading(rel, true)), el("label", {}, t("obs_low"), low, withReading(low, true)),
      el("label", {}, t("obs_high"), high, withReading(high, true)), el("label", {}, t("obs_scale"), scale),
      el("label", {}, t("note"), note),
      el("label", { class: "check" }, win, " " + t("shipped")),
      el("div", { class: "actions" }, el("button", { type: "button", class: "save-result", text: t("save_result"), onclick: async () => {
        clearErrors(form);
        hideError(box);
        const token = $("#token").value.trim();
        if (!token) {
          showError(box, $("#save-form"), { error: { message: t("needs_token_result") } });
          return;
        }
        const observed = { relative: fromText(rel.value), scale: scale.value, significant_win: win.checked };
        if (low.value.trim() !== "") observed.low = fromText(low.value);
        if (high.value.trim() !== "") observed.high = fromText(high.value);
        const body = { observed };
        if (note.value.trim() !== "") body.note = note.value.trim();
        const r = await call("POST", "/v1/forecasts/" + f.id + "/outcome", body, token);
        if (r.status === 200) {
          await Promise.all([loadPast(), loadCalibration()]);
          return;
        }
        if (missingRoute(r) && !(r.body && r.body.error && r.body.error.field)) {
          showError(box, form, { error: { message: t("no_results_route", r.status) } });
          return;
        }
        showError(box, form, r.body && r.body.error ? r.body : { error: { message: t("answered", r.status) } });
      } })));
    tr.after(el("tr", { class: "outcome-form" }, el("td", { colspan: "10" }, form)));
    rel.focus();
  }

  /** Loads a saved forecast back into the form and shows its stored report. */
  async function openSaved(id) {
    const r = await call("GET", "/v1/forecasts/" + id + "?charts=svg&chart_width=" + chartWidth());
    if (r.status !== 200) {
      $("#past-message").textContent = t("cannot_open", id, reason(r.body && r.body.error && r.body.error.message));
      return;
    }
    const saved = r.body;
    clearErrors($("#forecast-form"));
    hideError($("#error"));
    fillForm(saved.request, false);
    for (const k of TEXT_FIELDS) if (saved[k] !== undefined) $("#" + k).value = saved[k];
    state.lastRequest = saved.request;
    state.lastReport = saved.report;
    state.stale = false;
    $("#results").classList.remove("stale");
    renderReport(saved.report, saved.request);
    $("#status").textContent = t("showing", id);
    window.scrollTo({ top: 0, behavior: "smooth" });
  }

  async function loadCalibration() {
    const msg = $("#calibration-message");
    const table = $("#calibration");
    const r = await call("GET", "/v1/calibration" + query(filters()));
    if (r.status !== 200) {
      table.hidden = true;
      msg.textContent = missingRoute(r) ? t("no_calibration", r.status)
        : t("cannot_calibrate", reason(r.body && r.body.error && r.body.error.message));
      return;
    }
    const c = r.body || {};
    const row = (label, g) => el("tr", {},
      el("td", { "data-label": t("group"), text: label }),
      el("td", { "data-label": t("forecasts"), text: isNum(g.forecasts) ? String(g.forecasts) : "—" }),
      el("td", { "data-label": t("reconciled"), text: isNum(g.reconciled) ? String(g.reconciled) : "—" }),
      el("td", { "data-label": t("coverage_col"), title: isNum(g.coverage_low) ? "Wilson 95% interval " + share(g.coverage_low, 0) + " to " + share(g.coverage_high, 0) : null,
        text: share(g.coverage, 0) + (isNum(g.nominal_coverage) ? " of " + share(g.nominal_coverage, 0) : "") }),
      el("td", { "data-label": t("mae"), text: isNum(g.mean_abs_error) ? (g.mean_abs_error * 100).toFixed(2) + " pp" : "—" }),
      el("td", { "data-label": t("bias"), text: isNum(g.bias) ? (g.bias >= 0 ? "+" : "") + (g.bias * 100).toFixed(2) + " pp" : "—" }),
      el("td", { "data-label": t("hit_rate"), text: share(g.hit_rate, 0) }),
      el("td", { "data-label": t("win_share"), text: share(g.win_share, 0) }));
    const rows = [];
    if (c.overall) rows.push(row(t("all_forecasts"), c.overall));
    // a single team, author or month repeats the overall line: leave it out
    for (const key of ["by_team", "by_author", "by_month"]) {
      const title = t(key);
      const groups = c[key] || [];
      if (groups.length < 2) continue;
      rows.push(el("tr", { class: "group" }, el("td", { colspan: "8", text: title })));
      for (const g of groups) rows.push(row(String(g.key), g));
    }
    const none = !c.overall || !c.overall.forecasts;
    msg.textContent = none ? t("nothing_saved") : (!c.overall.reconciled ? t("none_reconciled") : "");
    table.hidden = none;
    $("tbody", table).replaceChildren(...rows);
  }

  // ---------- start ----------

  async function start() {
    applyStrings();
    $("#forecast-form").addEventListener("submit", project);
    for (const type of ["input", "change"]) {
      $("#forecast-form").addEventListener(type, (e) => {
        if (!e.target.closest("#nodes, #changes")) formChanged();
        // a value the PM typed is theirs, no longer the example's
        if (e.target.id && state.example.has(e.target.id)) markExample(e.target.id, false);
      });
    }
    $$("[data-share]").forEach((input) => {
      if (!input.closest("table")) input.closest("label").append(withReading(input, false));
    });
    $("#clear-examples").addEventListener("click", clearExamples);
    $("#filter-q").addEventListener("keydown", (e) => { if (e.key === "Enter") { loadPast(); } });
    $("#plan-on").addEventListener("change", () => { syncPlan(); formChanged(); });
    $("#add-node").addEventListener("click", () => {
      state.nodes.push({ name: "", kind: "rate", baseline: "", std_dev: "" });
      renderNodes();
      refreshChangeOptions();
      refreshMetricOptions();
      funnelChanged();
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

    const [r, d] = await Promise.all([call("GET", "/assets/example.json"), call("GET", "/v1/forecast/defaults")]);
    state.defaults = d.status === 200 ? d.body : {};
    if (r.status === 200) {
      fillForm(r.body, true);
    } else {
      fillForm({ model: { nodes: [{ name: "units", kind: "count", baseline: 1000 }], changes: [] } }, false);
      showError($("#error"), $("#forecast-form"), { error: { message: t("example_missing", (r.body && r.body.error && r.body.error.message) || r.status) } });
    }
    document.body.setAttribute("data-ready", "true");
    loadPast();
    loadCalibration();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
