// The payment window: opened by pay.js on a shop page, on the wallet's own origin (first
// party, so one wallet serves every site whatever the browser's storage partitioning). It
// checks the offer, asks the user when the site's budget does not cover the price, signs the
// payment order, hands it to the page to post to the vendor, and checks the receipt the page
// brings back. Keys never leave this origin; the page only ever sees public signed objects.

// The payment module: the wallet without what only the wallet's own pages do (opening the
// account, buying, redeeming, backups), on the same stored state; smaller to load.
import init, { Wallet } from "../pkg/netcents_wasm_pay.js";
import { DB_NAME, bankGet, money, siteName, h, resend, resendPending, syncDisputes, activateFor } from "./wallet.js";
import { StreamMeter, periodOf } from "./stream.js";
import { check, VERSION } from "../messages.js";

const view = document.getElementById("view");
document.getElementById("wallet-origin").textContent = location.host;
const opener = window.opener;
// The site the opener says it is; every message must come from exactly that origin (checked
// by the browser in event.origin), so a page cannot pretend to be another site.
const site = new URLSearchParams(location.hash.slice(1)).get("site");
const channel = new BroadcastChannel("netcents-wallet");
const ALLOW_CHOICES = [10_000, 50_000, 100_000, 500_000];
const RECEIPT_TIMEOUT_MS = 60_000;
// A purse lasts a week; what the site has not spent by then comes back to the account.
export const PURSE_LIFETIME_MS = 7 * 24 * 3600 * 1000;
const PURSE_WAIT_MS = 2_000;

let request = null; // the pay request being served
let payment = null; // the signed payment handed to the page
let approval = null;
let coin = null; // the anonymous coin that becomes scrip for this payment, when no scrip covers it
let purseFace = 0; // the budget the user allowed the site with this payment, to make a purse of
let receiptTimer = null;
// A stream (pay as you read, docs/PROTOCOL.md §5.13): its meter, which holds the stream's chain
// in this window's memory and releases the ticks; the stream lives as long as this window.
let meter = null;
let streamEnd = null; // the stream's close and settlement, once asked
let lastAsked = 0; // when the page last asked for a tick

/** The wallet of this origin, in the payment module, with the bank's keys recorded. */
async function openWallet() {
  await init();
  const w = await Wallet.open(DB_NAME);
  await w.setBank(await bankGet("/v1/keys"));
  return w;
}

function send(msg) {
  opener.postMessage({ v: VERSION, ...msg }, site);
}

function result(ok, extra = {}) {
  // Keep to the message shape pay.js accepts (a code of [a-z0-9_], a hint of 512 at most).
  if (extra.code !== undefined && !/^[a-z0-9_]{1,64}$/.test(extra.code)) extra.code = "internal";
  if (extra.hint !== undefined) extra.hint = String(extra.hint).slice(0, 500);
  send({ type: "netcents/result", id: request.id, ok, ...extra });
}

function show(...children) {
  // replaceChildren would write a null as the text "null".
  view.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

function status(kind, title, text, ...more) {
  const mark = { good: "✓", bad: "!", wait: h("div.spinner") }[kind];
  show(h("div.status", { "data-status": kind }, h(`div.mark.${kind}`, {}, mark), h("h2", {}, title), h("p", {}, text), ...more));
}

function fail(code, hint, title = "Payment not made") {
  status("bad", title, hint);
  if (request) result(false, { code, hint });
  document.body.dataset.state = "failed";
}

function closeSoon(ms) {
  setTimeout(() => window.close(), ms);
}

async function onPay(w, m) {
  request = m;
  status("wait", "Checking the offer…", siteName(site));
  let quote;
  try {
    // A stream is quoted at the most its ticks may cost (`not_metered`, `bad_value` when the
    // offer allows no such stream); it is approved, and counted against the budget, at that.
    quote = await w.quote(site, m.url, m.offer, m.vendor_cert, m.type === "netcents/stream" ? m.ticks : undefined);
  } catch (e) {
    return fail(e.code ?? "bad_offer", e.hint ?? String(e));
  }
  // The page must not misstate the price or the currency it shows the user.
  if (quote.max_micros !== m.price_micros || quote.currency !== m.currency) {
    return fail("price_mismatch", "The page stated another price than the vendor's signed offer.");
  }
  if (m.type === "netcents/stream") {
    quote.stream = { ticks: m.ticks, unit: quote.unit, unit_price_micros: quote.unit_price_micros, max_micros: quote.max_micros };
  }
  // No scrip covers the price, but an anonymous coin does: it becomes its scrip once the
  // payment is approved (not before: the bank learns of a coin only when it is spent).
  coin = quote.affordable ? null : await w.coinFor(quote.price_micros).catch(() => null);
  if (!quote.affordable && !coin) {
    const open = h("button.primary", { onclick: () => window.open("./", "_blank") }, "Open wallet");
    status("bad", "Not enough scrip", `This costs ${money(quote.price_micros, quote.currency)}; your scrip covers ${money(quote.spendable_micros, quote.currency)}. Buy scrip in your wallet, then try again.`, h("div.actions", { style: "justify-content:center" }, open));
    result(false, { code: "insufficient_balance", hint: "The wallet has no scrip that covers the price." });
    return;
  }
  if (quote.decision === "auto") {
    approval = ["budget", 0];
    return pay(w, quote);
  }
  // What the site's purse has left (its frame says so; nothing here depends on it), and the
  // vendor's names for the offer, if its signed label checks out (else none are shown).
  const [frame, names] = await Promise.all([
    findFrame(400),
    m.label ? w.offerLabel(m.offer, m.vendor_cert, m.label).catch(() => null) : Promise.resolve(null),
  ]);
  ask(w, quote, frame ? frame.left : null, names);
}

function ask(w, quote, purseLeft, names) {
  const cur = quote.currency;
  const choice = h("select", { id: "allow-amount", "aria-label": "Budget" },
    ALLOW_CHOICES.filter((c) => c >= quote.price_micros).map((c, i) => h("option", { value: String(c), selected: i === 1 }, money(c, cur))));
  const allow = h("input", { type: "checkbox", id: "allow" });
  const payButton = h("button.primary", { id: "approve" }, `Pay ${money(quote.price_micros, cur)}`);
  const decline = h("button", { id: "decline" }, "Decline");
  payButton.onclick = () => {
    // This payment is approved once; an allowed budget becomes the site's purse once paid.
    approval = ["once", 0];
    purseFace = allow.checked && choice.value ? Number(choice.value) : 0;
    pay(w, quote);
  };
  decline.onclick = () => {
    fail("declined", "You declined the payment in your wallet.", "Payment declined");
    closeSoon(900);
  };
  // A stream is approved once, at its most; a budget is allowed on fixed-price payments only.
  const canAllow = !quote.stream && ALLOW_CHOICES.some((c) => c >= quote.price_micros);
  const st = quote.stream;
  const allowed = Math.max(Number(quote.budget_left_micros ?? 0), Number(purseLeft ?? 0));
  show(
    h("div.merchant", {},
      h("div.label", {}, st ? `${names?.shop ?? siteName(site)} asks you to pay as you read, up to` : `${names?.shop ?? siteName(site)} asks you to pay`),
      h("div.price", { id: "price" }, money(quote.price_micros, cur)),
      st ? h("div.item", { id: "rate" }, `${money(st.unit_price_micros, cur)} a ${st.unit} · ${st.ticks} ${st.unit}s at most · you pay only what you read`) : null,
      h("div.site", { id: "shop" }, names ? names.shop : siteName(site), names ? h("span.sub", {}, ` · ${siteName(site)}`) : null),
      names?.title ? h("div.item", { id: "title" }, `“${names.title}”`) : null,
      h("div.item.sub", {}, new URL(request.url).pathname)),
    h("div.rows", {},
      h("div", {}, "Paid to", h("b", {}, quote.vendor_origins[0] ? siteName(quote.vendor_origins[0]) : quote.vendor.slice(0, 8))),
      h("div", {}, "Your scrip", h("b", {}, money(quote.spendable_micros, cur))),
      coin ? h("div", { id: "coin-used" }, "Paid from", h("b", {}, `an anonymous coin of ${money(coin.face_micros, cur)}`)) : null,
      h("div", {}, "Left to spend here without asking", h("b", { id: "budget-left" }, allowed > 0 ? money(allowed, cur) : "nothing yet"))),
    allowed > 0
      ? h("div.warning", { id: "over-budget" }, `This is more than the ${money(allowed, cur)} this site may spend without asking, so your wallet asks you.`)
      : null,
    canAllow ? h("label.allow", {}, allow, `Let ${names?.shop ?? siteName(site)} charge up to`, choice, "without asking") : null,
    h("div.buttons", {}, decline, payButton));
  if (st) payButton.textContent = `Start · up to ${money(quote.price_micros, cur)}`;
  document.body.dataset.state = "ask";
}

async function pay(w, quote, retried = false) {
  status("wait", `Paying ${money(quote.price_micros, quote.currency)}…`, approval[0] === "budget" ? `Within your budget for ${siteName(site)}.` : siteName(site));
  try {
    if (coin) {
      // The approved payment's coin becomes its scrip now (the same coin again gets the same scrip).
      await activateFor(w, quote.price_micros);
      coin = null;
      channel.postMessage("changed");
    }
    payment = await w.pay(site, request.url, request.offer, request.vendor_cert, approval[0], approval[1], quote.stream?.ticks);
    if (quote.stream) {
      // The chain stays in this window; its lock tells other wallet documents the stream is live.
      meter = new StreamMeter(w, payment, request.url, quote.stream.unit_price_micros, quote.stream.unit);
      await meter.holdLock();
    }
  } catch (e) {
    return fail(e.code ?? "internal", e.hint ?? String(e));
  }
  channel.postMessage("changed");
  document.getElementById("scrip-chip").hidden = false;
  document.getElementById("scrip-chip").textContent = `scrip ${payment.scrip_id.slice(0, 6)}…`;
  const body = { order: payment.order, offer: payment.offer, scrip: payment.scrip };
  if (payment.holder_cert) body.holder_cert = payment.holder_cert;
  if (payment.stream) body.stream = payment.stream;
  send({ type: "netcents/order", id: request.id, scrip_id: payment.scrip_id, body });
  if (meter) status("wait", "Opening the stream…", `Up to ${money(quote.price_micros, quote.currency)} · ${siteName(site)}`);
  receiptTimer = setTimeout(() => {
    status("bad", "No receipt yet", "The shop has not confirmed the payment. If the content never arrives, report it from your wallet's Disputes tab.");
  }, RECEIPT_TIMEOUT_MS);
  payment.quote = quote;
  payment.retried = retried;
}

async function onReceipt(w, m) {
  clearTimeout(receiptTimer);
  let outcome;
  try {
    outcome = await w.onReceipt(m.scrip_id, m.receipt);
  } catch (e) {
    return fail(e.code ?? "bad_receipt", `The shop's receipt does not check out: ${e.hint ?? e}`);
  }
  return paid(w, outcome);
}

function paid(w, outcome) {
  channel.postMessage("changed");
  const q = payment.quote;
  if (meter) {
    // The vendor settled the stream at once (its content failed): the receipt says the charge.
    meter.releaseLock();
    w.endStream(meter.root);
    q.price_micros = outcome.charged_micros;
  }
  if (!outcome.matches) {
    // The content came, but the vendor's signed balance contradicts ours: the evidence goes
    // to the arbiter.
    syncDisputes(w).catch(() => {});
    status("bad", "Paid, but the receipt is wrong", "The shop signed a balance that contradicts your wallet. A dispute was sent to the arbiter.");
    result(true, { price_micros: q.price_micros, balance_micros: outcome.balance_micros });
    closeSoon(4000);
    return;
  }
  status("good", `Paid ${money(q.price_micros, q.currency)}`, `Receipt verified · scrip left ${money(outcome.balance_micros, q.currency)}`);
  result(true, { price_micros: q.price_micros, balance_micros: outcome.balance_micros });
  if (purseFace > 0) {
    const face = purseFace;
    purseFace = 0;
    return givePurse(w, face, q).finally(() => {
      document.body.dataset.state = "paid";
      closeSoon(2000);
    });
  }
  document.body.dataset.state = "paid";
  closeSoon(approval[0] === "budget" ? 500 : 1200);
}

// The site's wallet frame, a child of the page that opened this window: it answers a
// greeting of the wallet's origin that names its site with a fresh purse key.
function findFrame(waitMs = PURSE_WAIT_MS) {
  return new Promise((resolve) => {
    const done = (v) => {
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      resolve(v);
    };
    const onMessage = (ev) => {
      if (ev.origin !== location.origin || !ev.source) return;
      const m = check(ev.data);
      if (m && m.type === "netcents/purse-key" && m.site === site) done({ frame: ev.source, key: m.key, left: m.left_micros });
      // A frame without storage says so at once: no purse for this site.
      else if (m && m.type === "netcents/purse-done" && !m.ok) done(null);
    };
    const timer = setTimeout(() => done(null), waitMs);
    window.addEventListener("message", onMessage);
    try {
      for (let i = 0; i < opener.length; i += 1) opener[i].postMessage({ type: "netcents/purse-hello", v: VERSION, site }, location.origin);
    } catch {
      done(null);
    }
  });
}

function purseDone(frame) {
  return new Promise((resolve) => {
    const done = (v) => {
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      resolve(v);
    };
    const onMessage = (ev) => {
      if (ev.source !== frame || ev.origin !== location.origin) return;
      const m = check(ev.data);
      if (m && m.type === "netcents/purse-done") done(m);
    };
    const timer = setTimeout(() => done({ ok: false, code: "timeout", hint: "the site's wallet frame did not answer" }), 15_000);
    window.addEventListener("message", onMessage);
  });
}

/**
 * The user allowed the site `face` without asking: the site's wallet frame gets a purse of
 * `face`, issued from the account for a key the frame made (docs/PROTOCOL.md §12.3, "Purses").
 * Without a frame, or if the bank cannot issue it, the allowance stays in this wallet (the
 * window then opens and pays within it without asking).
 */
async function givePurse(w, face, q) {
  status("wait", `Setting up ${money(face, q.currency)} for ${siteName(site)}…`, "Later purchases on this site up to that amount need no window.");
  const found = await findFrame();
  let done = { ok: false };
  if (found) {
    try {
      const req = await w.purseRequest(site, found.key, face, PURSE_LIFETIME_MS);
      const waiting = purseDone(found.frame);
      found.frame.postMessage({ type: "netcents/purse", v: VERSION, request: req.request }, location.origin);
      done = await waiting;
    } catch (e) {
      done = { ok: false, code: e.code, hint: e.hint };
    }
  }
  channel.postMessage("changed");
  if (done.ok) {
    status("good", `Paid ${money(q.price_micros, q.currency)}`,
      `${siteName(site)} may now spend up to ${money(face, q.currency)} from your account without asking, for 7 days; what it does not spend comes back.`);
    document.body.dataset.purse = "given";
    return;
  }
  await w.setBudget(site, face);
  document.body.dataset.purse = "budget";
  status("good", `Paid ${money(q.price_micros, q.currency)}`, `${siteName(site)} may spend up to ${money(face, q.currency)} more without asking.`);
}

async function onRefused(w, m) {
  clearTimeout(receiptTimer);
  // A stream the vendor did not open: no document streams it now, so resend may close it.
  meter?.releaseLock();
  // The page's word proves nothing: only the vendor's signed refusal of this very order, checked
  // in the wallet, drops the order and gives the budget back.
  let outcome = { refused: false };
  if (m.refusal) {
    try {
      outcome = await w.onRefused(m.scrip_id, m.refusal, m.transfer ?? undefined);
    } catch {
      outcome = { refused: false };
    }
  }
  if (outcome.refused) return refusedForGood(w, outcome, m.hint, Boolean(m.transfer));
  // Ask the vendor ourselves, with the same order (never a second charge): it answers with the
  // receipt if it kept the order, or with its signed refusal.
  status("wait", "Checking with the shop…", "The page says the payment was refused; your wallet asks the shop itself.");
  let answer;
  try {
    answer = await resend(w, m.scrip_id);
  } catch {
    return unconfirmed(m.code);
  }
  channel.postMessage("changed");
  if (answer.paid) return paid(w, answer.paid);
  return refusedForGood(w, answer.refused, answer.hint, answer.transfer);
}

function refusedForGood(w, outcome, hint, withTransfer) {
  channel.postMessage("changed");
  // (A stream is not signed again: its page asks anew.)
  if (outcome.code === "balance_mismatch" && withTransfer && !payment.retried && !meter) {
    // The scrip came to the vendor with another balance than our mirror's (§5.4): the wallet
    // moved to the handed-over balance; pay again with a new order, as approved.
    return pay(w, payment.quote, true);
  }
  fail(outcome.code, `The shop refused the payment: ${hint || outcome.code.replaceAll("_", " ")}`);
}

// The page said "refused" and nothing the wallet can check says so: the vendor may have kept the
// order. It stays pending and counted against this site's budget.
function unconfirmed(code) {
  const q = payment.quote;
  status("bad", "Payment not confirmed",
    `The page says the shop refused it (${code.replaceAll("_", " ")}), but the shop did not sign a refusal. ` +
    `Your wallet keeps this ${money(q.price_micros, q.currency)} payment pending and counted against the budget of ${siteName(site)} ` +
    "until the shop sends its receipt or a signed refusal. You can send it again, or report it, from your wallet's Disputes tab.");
  document.body.dataset.state = "pending";
  result(false, { code: "payment_pending", hint: "The wallet keeps the payment pending: the refusal carries no vendor signature." });
}

// ---- a stream: the meter, the ticks, the close ------------------------------------------------

// The vendor opened the stream (the page says so; a page that lies only gets its ticks refused
// by the vendor). The window shows the meter until the stream closes.
function opened(w) {
  clearTimeout(receiptTimer);
  const q = payment.quote;
  const stop = h("button.primary", { id: "stop-stream", onclick: () => stopStream(w, "user") }, "Stop");
  show(
    h("div.merchant", {},
      h("div.label", {}, `Paying ${siteName(site)} as you read`),
      h("div.price", { id: "meter-paid" }, money(0, q.currency)),
      h("div.item", { id: "meter-units" }, ""),
      h("div.item.sub", {}, new URL(request.url).pathname)),
    h("div.rows", {},
      h("div", {}, "Rate", h("b", {}, `${money(q.stream.unit_price_micros, q.currency)} a ${q.stream.unit}`)),
      h("div", {}, "At most", h("b", { id: "meter-max" }, `${money(q.price_micros, q.currency)} (${q.stream.ticks} ${q.stream.unit}s)`))),
    h("div.buttons", {}, stop));
  document.body.dataset.state = "streaming";
  drawMeter();
  lastAsked = performance.now();
  // The stream ends with its page: closed when the page goes away, or stops asking for ticks.
  const idleMs = Math.max(60_000, 3 * periodOf(q.stream.unit));
  const watch = setInterval(() => {
    if (streamEnd) return clearInterval(watch);
    if (opener.closed) stopStream(w, "closed");
    else if (performance.now() - lastAsked > idleMs) stopStream(w, "idle");
  }, 1_000);
  send({ type: "netcents/meter", id: request.id, ...meter.view() });
}

function drawMeter() {
  const q = payment.quote;
  const paid = document.getElementById("meter-paid");
  if (!paid) return;
  paid.textContent = money(meter.paidMicros, q.currency);
  document.getElementById("meter-units").textContent = `${meter.paid} of ${meter.ticks} ${q.stream.unit}s paid`;
}

// The page asks for a tick: the meter releases at most one per unit period, whatever the page
// asks; the answer is the meter after the tick this request got (or why there was none).
function onTick(m) {
  lastAsked = performance.now();
  if (streamEnd) {
    send({ type: "netcents/meter", id: request.id, n: m.n, ...meter.view(), code: "stream_closed", ended: true });
    return;
  }
  meter.request().then(
    (view) => {
      drawMeter();
      send({ type: "netcents/meter", id: request.id, n: m.n, ...view });
    },
    (e) => {
      const code = /^[a-z0-9_]{1,64}$/.test(e.code ?? "") ? e.code : "network";
      send({ type: "netcents/meter", id: request.id, n: m.n, ...meter.view(), code, hint: String(e.hint ?? e.message ?? e).slice(0, 500) });
    },
  );
}

// Closes the stream at the vendor and settles the order with its receipt; the same call again
// waits for the same close. `why`: "page", "user", "closed" (the page went away), "idle".
function stopStream(w, why) {
  streamEnd ??= (async () => {
    const q = payment.quote;
    status("wait", "Closing the stream…", siteName(site));
    let out;
    try {
      out = await meter.close();
    } catch (e) {
      // The order stays pending, its most counted: the wallet closes the stream when it next opens.
      send({ type: "netcents/meter", id: request.id, ...meter.view(), code: "payment_pending", ended: true });
      fail(e.code ?? "network", `The shop did not close the stream (${e.hint ?? e}). Your wallet closes it the next time it opens; you pay only the ${q.stream.unit}s paid.`, "Stream not closed yet");
      return;
    }
    channel.postMessage("changed");
    if (!out.matches) syncDisputes(w).catch(() => {});
    send({ type: "netcents/meter", id: request.id, ...meter.view(), ended: true });
    result(true, { price_micros: out.charged_micros, charged_micros: out.charged_micros, units: out.units, balance_micros: out.balance_micros });
    const back = q.price_micros - out.charged_micros;
    status(out.matches ? "good" : "bad", `Paid ${money(out.charged_micros, q.currency)} for ${out.units} ${q.stream.unit}${out.units === 1 ? "" : "s"}`,
      out.matches
        ? `Receipt verified · ${money(back, q.currency)} of the ${money(q.price_micros, q.currency)} maximum stays yours · scrip left ${money(out.balance_micros, q.currency)}`
        : "The shop charged more than the ticks you paid. A dispute was sent to the arbiter.");
    document.body.dataset.state = "paid";
    document.body.dataset.stream = why;
    closeSoon(why === "closed" ? 0 : 2000);
  })();
  return streamEnd;
}

(async () => {
  if (!opener || !site) {
    status("bad", "Nothing to pay", "This window opens from a NetCents button on a shop's page.");
    return;
  }
  let w;
  try {
    w = await openWallet();
  } catch (e) {
    status("bad", "Wallet unavailable", e.hint ?? String(e));
    return;
  }
  const s = await w.summary();
  if (!s.account) {
    status("bad", "No wallet yet", "Create your wallet and buy scrip first.", h("div.actions", { style: "justify-content:center" }, h("button.primary", { onclick: () => window.open("./", "_blank") }, "Open wallet")));
  }
  // A payment left pending (its answer lost) blocks its scrip: settle it first, then pay.
  let queue = s.scrips.some((x) => x.paying) ? resendPending(w) : Promise.resolve();
  window.addEventListener("message", (ev) => {
    // Only the window that opened us, from the origin it claimed.
    if (ev.source !== opener || ev.origin !== site) return;
    const m = check(ev.data);
    if (!m) return;
    // A stream's ticks and stop are answered at once, never queued behind a tick being paced.
    if (meter && request && m.id === request.id) {
      if (m.type === "netcents/tick") return onTick(m);
      if (m.type === "netcents/stop") return stopStream(w, "page");
    }
    queue = queue.then(async () => {
      if ((m.type === "netcents/pay" || m.type === "netcents/stream") && request === null) await onPay(w, m);
      else if (request && m.id === request.id && payment && m.scrip_id === payment.scrip_id) {
        if (m.type === "netcents/receipt") await onReceipt(w, m);
        else if (m.type === "netcents/refused") await onRefused(w, m);
        else if (m.type === "netcents/opened" && meter && !streamEnd) opened(w);
      }
    });
  });
  send({ type: "netcents/ready" });
  document.body.dataset.ready = "1";
})();
