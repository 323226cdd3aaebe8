// The NetCents dashboards: the bank operator's (served by the bank at /dashboard/, data from
// GET /v1/operator/series) and a vendor's (served by the vendor engine at
// /netcents/v1/dashboard, data from GET /netcents/v1/dashboard/data). One script for both:
// <body data-kind="operator|vendor" data-source="…">.
//
// The token is asked once and kept in sessionStorage (this tab only), sent as
// `Authorization: Bearer …`; a refused token is forgotten and asked again with the reason.
// Charts are uPlot (window.uPlot, loaded before this script); every chart has a caption with a
// text summary and a table of its figures, so nothing depends on seeing a canvas. Amounts are
// integers of micro-units on the wire; they become decimals only here, for people.
"use strict";

(() => {
  const KIND = document.body.dataset.kind === "vendor" ? "vendor" : "operator";
  const SOURCE = document.body.dataset.source;
  const TOKEN_KEY = `netcents-dashboard-token:${KIND}`;
  const main = document.getElementById("main");
  const WHO = KIND === "operator" ? "operator token" : "capture token (CAPTURE_TOKEN)";
  const COLORS = { teal: "#0f766e", blue: "#1d4ed8", amber: "#b45309", purple: "#7c3aed", red: "#b91c1c" };
  const RANGES = [[15, "Last 15 minutes"], [60, "Last hour"], [360, "Last 6 hours"], [1440, "Last 24 hours"], [10080, "Last 7 days"]];

  let currency = "USD";
  let charts = [];
  let minutes = 60;
  let custom = null; // { from_ms, to_ms } of a chosen range (operator)

  /** An element with attributes (`text` sets its text) and children. */
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  function money(micros) {
    const digits = micros % 10_000 === 0 ? 2 : 6;
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: digits }).format(micros / 1e6);
    } catch {
      return `${(micros / 1e6).toFixed(digits)} ${currency}`;
    }
  }

  const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const clock = (ms, long) => new Date(ms).toLocaleString("en-GB", long ? { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" } : { hour: "2-digit", minute: "2-digit" });

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  function setToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage off: the token lives as long as this page
    }
    memoryToken = t;
  }
  let memoryToken = null;

  // ---- the token ---------------------------------------------------------------------------

  function askToken(problem) {
    charts.forEach((c) => c.destroy());
    charts = [];
    const input = el("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, "aria-describedby": problem ? "token-help token-error" : "token-help" });
    const form = el("form", { class: "card token-form", id: "token-form", onsubmit: (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      setToken(t);
      load();
    } },
    el("h2", { text: "Sign in" }),
    el("label", { for: "token", text: `The ${WHO}` }),
    input,
    el("p", { id: "token-help", class: "help", text: KIND === "operator"
      ? "The bank's --operator-token. It stays in this tab only (sessionStorage) and goes to the bank as Authorization: Bearer."
      : "The vendor's CAPTURE_TOKEN. It stays in this tab only (sessionStorage) and goes to this vendor as Authorization: Bearer." }),
    problem ? el("p", { id: "token-error", class: "error", role: "alert", text: problem }) : null,
    el("button", { type: "submit", text: "Open the dashboard" }));
    main.replaceChildren(form);
    input.focus();
  }

  // ---- loading -----------------------------------------------------------------------------

  function url() {
    if (KIND === "vendor") return `${SOURCE}/${minutes}`;
    if (custom) return `${SOURCE}?from_ms=${custom.from_ms}&to_ms=${custom.to_ms}`;
    return `${SOURCE}?minutes=${minutes}`;
  }

  async function load() {
    const t = token() ?? memoryToken;
    if (!t) return askToken(null);
    setStatus("Loading…");
    let res;
    try {
      res = await fetch(url(), { headers: { authorization: `Bearer ${t}` }, cache: "no-store" });
    } catch (e) {
      return showProblem(`The ${KIND === "operator" ? "bank" : "vendor"} did not answer: ${e.message}`);
    }
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) {
      setToken(null);
      return askToken(`This token was refused: ${body.hint ?? "wrong token"}. Enter the ${WHO} again.`);
    }
    if (!res.ok) return showProblem(`${res.status} ${body.code ?? ""}: ${body.hint ?? "no answer"}`);
    render(body);
  }

  function setStatus(text) {
    const s = document.getElementById("status");
    if (s) s.textContent = text;
  }

  function showProblem(text) {
    const p = document.getElementById("problem");
    if (p) {
      p.textContent = text;
      p.hidden = false;
    } else {
      main.replaceChildren(el("p", { id: "problem", class: "error", role: "alert", text }), el("button", { type: "button", onclick: load, text: "Try again" }));
    }
  }

  // ---- the page ----------------------------------------------------------------------------

  function toolbar() {
    const select = el("select", { id: "range", name: "range" },
      RANGES.map(([m, label]) => el("option", { value: m, selected: !custom && m === minutes, text: label })));
    const form = el("form", { class: "toolbar", "aria-label": "Range", onsubmit: (ev) => {
      ev.preventDefault();
      minutes = Number(select.value);
      custom = null;
      if (KIND === "operator") {
        const from = Date.parse(document.getElementById("from").value);
        const to = Date.parse(document.getElementById("to").value);
        if (Number.isFinite(from) && Number.isFinite(to)) custom = { from_ms: from, to_ms: to };
      }
      load();
    } },
    el("div", { class: "field" }, el("label", { for: "range", text: "Range" }), select),
    KIND === "operator" ? el("fieldset", { class: "chosen" },
      el("legend", { text: "Or a chosen range (both, local time)" }),
      el("div", { class: "field" }, el("label", { for: "from", text: "From" }), el("input", { id: "from", type: "datetime-local", value: custom ? local(custom.from_ms) : undefined })),
      el("div", { class: "field" }, el("label", { for: "to", text: "To" }), el("input", { id: "to", type: "datetime-local", value: custom ? local(custom.to_ms) : undefined }))) : null,
    el("div", { class: "buttons" },
      el("button", { type: "submit", text: "Show" }),
      el("button", { type: "button", class: "quiet", onclick: () => { setToken(null); askToken(null); }, text: "Forget the token" })));
    return form;
  }

  function local(ms) {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
    return d.toISOString().slice(0, 16);
  }

  /** A card of the summary: its figure's id, label, text and the numbers the tests read. */
  function card(id, label, text, sub, data = {}) {
    return el("div", { class: "card" },
      el("dt", { text: label }),
      el("dd", { id, "data-micros": data.micros, "data-count": data.count, text }),
      sub ? el("dd", { class: "sub", text: sub }) : null);
  }

  function render(data) {
    charts.forEach((c) => c.destroy());
    charts = [];
    const s = KIND === "vendor" ? data.series : data;
    currency = (s ?? data).currency ?? currency;
    const from = s?.from_ms ?? Date.now() - minutes * 60_000;
    const to = s?.to_ms ?? Date.now();
    const long = to - from > 24 * 3600_000;
    const parts = [
      toolbar(),
      el("p", { id: "status", class: "status", role: "status", text: `Updated at ${new Date().toLocaleTimeString("en-GB")}. Showing ${clock(from, long)} to ${clock(to, long)}, per minute.` }),
      el("p", { id: "problem", class: "error", role: "alert", hidden: !data.bank_error, text: data.bank_error ? `The bank's figures are missing: ${data.bank_error}` : "" }),
    ];
    // The summary.
    const cards = [];
    if (KIND === "operator") {
      const float = s.float_micros.at(-1) ?? 0;
      cards.push(card("sum-float", "Float now", money(float), "held by live scrip", { micros: float }));
      cards.push(card("sum-issued", "Issued", money(s.issued.total_micros), count(s.issued.total_count, "scrip"), { micros: s.issued.total_micros, count: s.issued.total_count }));
    } else {
      const p = data.pending;
      cards.push(card("sum-pending", "Pending", money(p.micros), `on ${count(p.scrip_count, "scrip")}, not yet captured`, { micros: p.micros, count: p.scrip_count }));
    }
    if (s) {
      cards.push(card("sum-captured", "Captured", money(s.captured.total_micros), count(s.captured.total_count, "capture"), { micros: s.captured.total_micros, count: s.captured.total_count }));
      const a = s.audit_states;
      cards.push(card("sum-audits", "Audits", count(s.audits.total_count, "demand"), `${a.open} open, ${a.answered} answered, ${a.expired} expired`, { count: s.audits.total_count }));
      cards.push(card("sum-penalties", "Penalties", money(s.penalties.total_micros), `and ${money(s.clawbacks.total_micros)} clawed back`, { micros: s.penalties.total_micros }));
      const d = s.dispute_states;
      cards.push(card("sum-disputes", "Disputes", count(s.disputes.total_count, "dispute"), `${d.open} open, ${d.answered} answered, ${d.ruled} ruled`, { count: s.disputes.total_count }));
      cards.push(card("sum-rulings", "Ruled refunds", money(s.rulings.total_micros), count(s.rulings.total_count, "refund"), { micros: s.rulings.total_micros, count: s.rulings.total_count }));
    }
    parts.push(el("section", { "aria-labelledby": "h-summary" },
      el("h2", { id: "h-summary", text: "Summary" }),
      el("dl", { class: "cards" }, cards)));
    // The charts.
    const figures = el("div", { class: "figures" });
    parts.push(el("section", { "aria-labelledby": "h-charts" }, el("h2", { id: "h-charts", text: "Minute by minute" }), figures));
    if (typeof window.uPlot !== "function") {
      figures.append(el("p", { class: "note", id: "charts-off", text: "Charts are off: the chart library did not load (the bank serves it with --chart-lib-dir). Every figure is in the tables." }));
    }
    const specs = [];
    if (s) {
      const x = s.minutes_ms;
      if (KIND === "operator") {
        specs.push({ id: "float", title: "Float", money: true, x, series: [["Float at the minute's end", s.float_micros, COLORS.teal]], summary: `The float went from ${money(s.float_micros[0] ?? 0)} to ${money(s.float_micros.at(-1) ?? 0)}.`, fill: true });
        specs.push({ id: "money", title: "Issued and captured per minute", money: true, x, series: [["Issued", s.issued.micros, COLORS.blue], ["Captured", s.captured.micros, COLORS.teal]], summary: `${money(s.issued.total_micros)} issued in ${count(s.issued.total_count, "scrip")}; ${money(s.captured.total_micros)} captured in ${count(s.captured.total_count, "capture")}.` });
        specs.push({ id: "events", title: "Issuance, captures, audits and disputes per minute", x, series: [["Issued", s.issued.count, COLORS.blue], ["Captures", s.captured.count, COLORS.teal], ["Audit demands", s.audits.count, COLORS.amber], ["Disputes", s.disputes.count, COLORS.red]], summary: `${count(s.issued.total_count, "scrip")} issued, ${count(s.captured.total_count, "capture")}, ${count(s.audits.total_count, "audit demand")}, ${count(s.disputes.total_count, "dispute")}.` });
      } else {
        specs.push({ id: "money", title: "Captured per minute", money: true, x, series: [["Captured", s.captured.micros, COLORS.teal]], summary: `${money(s.captured.total_micros)} captured in ${count(s.captured.total_count, "capture")}.` });
        specs.push({ id: "events", title: "Captures, audits and disputes per minute", x, series: [["Captures", s.captured.count, COLORS.teal], ["Audit demands", s.audits.count, COLORS.amber], ["Disputes", s.disputes.count, COLORS.red]], summary: `${count(s.captured.total_count, "capture")}, ${count(s.audits.total_count, "audit demand")}, ${count(s.disputes.total_count, "dispute")}.` });
      }
      specs.push({ id: "penalties", title: "Penalties, clawbacks and ruled refunds per minute", money: true, x, series: [["Penalties", s.penalties.micros, COLORS.red], ["Clawed back", s.clawbacks.micros, COLORS.amber], ["Ruled refunds", s.rulings.micros, COLORS.purple]], summary: `${money(s.penalties.total_micros)} in penalties, ${money(s.clawbacks.total_micros)} clawed back, ${money(s.rulings.total_micros)} refunded by rulings.` });
    }
    for (const spec of specs) figures.append(figure(spec, long));
    // The lists.
    if (KIND === "operator") {
      const rows = s.top_vendors.map((v) => el("tr", {}, el("td", {}, el("code", { text: v.vendor.slice(0, 8) }), " ", el("span", { class: "origin", text: v.origin })), el("td", { class: "num", text: String(v.captures) }), el("td", { class: "num", text: money(v.captured_micros) })));
      parts.push(el("section", { "aria-labelledby": "h-top" },
        el("h2", { id: "h-top", text: "Top vendors by captured money" }),
        rows.length ? scroller("Top vendors", el("table", { id: "top-vendors" },
          el("caption", { class: "visually-hidden", text: "Vendors credited the most captured money in the range" }),
          el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Vendor" }), el("th", { scope: "col", class: "num", text: "Captures" }), el("th", { scope: "col", class: "num", text: "Captured" }))),
          el("tbody", {}, rows))) : el("p", { class: "note", text: "No vendor captured anything in this range." })));
    } else {
      const p = data.pending;
      const rows = p.scrips.map((x) => el("tr", {}, el("td", {}, el("code", { text: x.scrip.slice(0, 12) })), el("td", { class: "num", text: money(x.micros) })));
      parts.push(el("section", { "aria-labelledby": "h-pending" },
        el("h2", { id: "h-pending", text: "Pending takings" }),
        el("p", { class: "note", text: "Payments accepted and not yet captured: the next capture run sends them to the bank." }),
        rows.length ? scroller("Pending takings", el("table", { id: "pending" },
          el("caption", { class: "visually-hidden", text: "Scrip with payments not yet captured" }),
          el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Scrip" }), el("th", { scope: "col", class: "num", text: "Pending" }))),
          el("tbody", {}, rows))) : el("p", { class: "note", text: "Nothing pending." })));
    }
    main.replaceChildren(...parts);
    for (const spec of specs) draw(spec, long);
  }

  function scroller(label, table) {
    return el("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": `${label}: table` }, table);
  }

  function figure(spec, long) {
    const cap = `cap-${spec.id}`;
    const rows = [];
    spec.x.forEach((ms, i) => {
      if (spec.id === "float" ? i === spec.x.length - 1 || spec.series[0][1][i] !== spec.series[0][1][i - 1] : spec.series.some(([, ys]) => ys[i] !== 0)) {
        rows.push(el("tr", {}, el("th", { scope: "row", text: clock(ms, long) }), spec.series.map(([, ys]) => el("td", { class: "num", text: spec.money ? money(ys[i]) : String(ys[i]) }))));
      }
    });
    return el("figure", { class: "card chart-card", id: `fig-${spec.id}` },
      el("figcaption", { id: cap }, el("strong", { text: spec.title }), " ", el("span", { class: "summary", id: `summary-${spec.id}`, text: spec.summary })),
      el("div", { class: "chart", id: `chart-${spec.id}`, role: "img", "aria-labelledby": cap }),
      el("ul", { class: "keys", "aria-label": `Lines of ${spec.title}` }, spec.series.map(([name, , color]) => {
        const sw = el("span", { class: "swatch", "aria-hidden": "true" });
        sw.style.background = color;
        return el("li", {}, sw, name);
      })),
      el("details", {},
        el("summary", { text: `${spec.title}: the figures` }),
        rows.length ? scroller(spec.title, el("table", {},
          el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Minute" }), spec.series.map(([name]) => el("th", { scope: "col", class: "num", text: name })))),
          el("tbody", {}, rows))) : el("p", { class: "note", text: "Nothing in this range." })));
  }

  function draw(spec, long) {
    if (typeof window.uPlot !== "function") return;
    const box = document.getElementById(`chart-${spec.id}`);
    const scale = spec.money ? 1e6 : 1;
    // A minute's figure holds from its start to the next minute's: one more point, at the
    // range's end, gives the last minute its width.
    const end = spec.x.length ? spec.x.at(-1) + 60_000 : 0;
    const data = [[...spec.x, end].map((ms) => ms / 1000), ...spec.series.map(([, ys]) => [...ys, ys.at(-1) ?? 0].map((y) => y / scale))];
    const stepped = window.uPlot.paths.stepped({ align: 1 });
    const opts = {
      width: Math.max(240, box.clientWidth),
      height: 200,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, spec.money ? 0.01 : 1) * 1.1] } },
      axes: [
        { stroke: "#374151", grid: { stroke: "#e5e7eb" }, values: (u, vals) => vals.map((v) => clock(v * 1000, long)) },
        { stroke: "#374151", grid: { stroke: "#e5e7eb" }, size: spec.money ? 70 : 40, values: (u, vals) => vals.map((v) => (spec.money ? money(Math.round(v * 1e6)) : Number.isInteger(v) ? String(v) : "")) },
      ],
      series: [{}, ...spec.series.map(([label, , color], i) => ({ label, stroke: color, width: spec.series.length > 1 ? 3 - i * 0.6 : 2, paths: stepped, fill: spec.fill ? `${color}22` : undefined, points: { show: false } }))],
    };
    charts.push(new window.uPlot(opts, data, box));
  }

  let resizing = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => {
      for (const c of charts) c.setSize({ width: Math.max(240, c.root.parentElement.clientWidth), height: 200 });
    });
  });

  load();
})();
