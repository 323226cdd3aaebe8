// The site's wallet frame: a hidden document of the wallet's origin that pay.js embeds in a
// shop page. Browsers partition a third-party frame's storage by the top-level site, so this
// frame's IndexedDB belongs to the wallet's origin within this one site: the page cannot read
// it (another origin), and no other site's frame can (another partition). It holds the site's
// purse: a scrip issued from the customer's account for a key made here, once the customer
// allowed the site a budget in the wallet window. Within the purse it pays the site's offers
// with no window and no question; anything over it, or without one, goes to the window
// (`needs_approval`). The protocol is the window's (messages.js); see docs/PROTOCOL.md §12.3,
// "Purses", for the threat analysis.

// The payment module: the wallet without what only the wallet's own pages do (opening the
// account, buying, redeeming, backups); smaller to load in every shop page.
import init, { Wallet } from "../pkg/netcents_wasm_pay.js";
import { check, VERSION } from "../messages.js";
import { bankGet, resend, resendPending, retryIssues, sendIssue, syncDisputes } from "./wallet.js";
import { StreamMeter, periodOf } from "./stream.js";

export const PURSE_DB = "netcents-purse";
const WALLET_ORIGIN = location.origin;
const parent = window.parent;

let site = null; // the embedding page's origin, from the browser (event.origin), fixed at hello
let payment = null; // the payment being served: { id, scrip_id, m, retried, meter? }

// Whether this browser gives the frame storage at all, asked before the WASM module loads: a
// frame without storage costs the page one small document and nothing more.
function storageAvailable() {
  return new Promise((resolve) => {
    try {
      // A database of its own: opening the purse's here would make it without its store.
      const req = indexedDB.open(`${PURSE_DB}-probe`);
      req.onsuccess = () => {
        req.result.close();
        resolve(true);
      };
      req.onerror = () => resolve(false);
      req.onblocked = () => resolve(true);
    } catch {
      resolve(false);
    }
  });
}

async function open() {
  if (!(await storageAvailable())) throw new Error("no storage");
  await init();
  const w = await Wallet.open(PURSE_DB);
  // The bank's keys are fetched once, not on every page the frame is on: again only when a
  // purse is adopted, or when a certificate names a key the frame does not know (rotation).
  if ((await w.summary()).currency === null) await refreshKeys(w);
  return w;
}

async function refreshKeys(w) {
  await w.setBank(await bankGet("/v1/keys"));
}

function toPage(msg) {
  parent.postMessage({ v: VERSION, ...msg }, site);
}

function result(id, ok, extra = {}) {
  if (extra.code !== undefined && !/^[a-z0-9_]{1,64}$/.test(extra.code)) extra.code = "internal";
  if (extra.hint !== undefined) extra.hint = String(extra.hint).slice(0, 500);
  toPage({ type: "netcents/result", id, ok, ...extra });
}

// While this frame pays a stream, other payments of the page go to the window.
function streaming(m) {
  if (!payment?.meter || payment.end) return false;
  result(m.id, false, { code: "needs_approval", hint: "The site's wallet frame is paying a stream: the wallet asks in its window." });
  return true;
}

// The wallet's quote of the page's offer, or null once the page is answered why not: the offer
// checked (the bank's keys asked again for a certificate signed with a key issued since), at the
// price and currency the page stated. With `ticks`, a stream's, priced at the most its ticks
// may cost.
async function checkedQuote(w, m, ticks) {
  let quote;
  try {
    quote = await w.quote(site, m.url, m.offer, m.vendor_cert, ticks).catch(async (e) => {
      // A certificate signed with a bank key issued since the frame last asked: ask again.
      if (e.code !== "unknown_key") throw e;
      await refreshKeys(w);
      return w.quote(site, m.url, m.offer, m.vendor_cert, ticks);
    });
  } catch (e) {
    result(m.id, false, { code: e.code ?? "bad_offer", hint: e.hint ?? String(e) });
    return null;
  }
  if (quote.max_micros !== m.price_micros || quote.currency !== m.currency) {
    result(m.id, false, { code: "price_mismatch", hint: "The page stated another price than the vendor's signed offer." });
    return null;
  }
  return quote;
}

async function onPay(w, m) {
  if (streaming(m)) return;
  payment = null;
  const quote = await checkedQuote(w, m);
  if (!quote) return;
  if (quote.decision !== "auto" || !quote.affordable) {
    return result(m.id, false, { code: "needs_approval", hint: "The site's purse does not cover this price: the wallet asks in its window." });
  }
  return sign(w, m, false);
}

// A stream within the purse (pay as you read, docs/PROTOCOL.md §5.13): its most, ticks × the
// unit price, must be within what the site may still spend here; this frame then holds the
// stream's chain for as long as the page lives, and releases the ticks, paced, to the vendor
// itself, as the wallet window does. Over the purse, the window asks (`needs_approval`).
async function onStream(w, m) {
  if (streaming(m)) return;
  payment = null;
  const quote = await checkedQuote(w, m, m.ticks);
  if (!quote) return;
  if (quote.decision !== "auto" || !quote.affordable) {
    return result(m.id, false, { code: "needs_approval", hint: "The site's purse does not cover this stream: the wallet asks in its window." });
  }
  let p;
  let meter;
  try {
    p = await w.pay(site, m.url, m.offer, m.vendor_cert, "budget", 0, m.ticks);
    meter = new StreamMeter(w, p, m.url, quote.unit_price_micros, quote.unit);
    await meter.holdLock();
  } catch (e) {
    return result(m.id, false, { code: e.code ?? "internal", hint: e.hint ?? String(e) });
  }
  // A stream is not signed again after a refusal: its page asks anew.
  payment = { id: m.id, scrip_id: p.scrip_id, m, retried: true, meter, end: null };
  const body = { order: p.order, offer: p.offer, scrip: p.scrip, stream: p.stream };
  if (p.holder_cert) body.holder_cert = p.holder_cert;
  toPage({ type: "netcents/order", id: m.id, scrip_id: p.scrip_id, body });
}

function onOpened(w) {
  const { meter, id } = payment;
  let lastAsked = performance.now();
  payment.asked = () => {
    lastAsked = performance.now();
  };
  // A page that stops asking for ticks has its stream closed (a closed page takes this frame
  // with it: the stream is then closed when the frame next opens on this site).
  const idleMs = Math.max(60_000, 3 * periodOf(meter.unit));
  const watch = setInterval(() => {
    if (!payment || payment.meter !== meter || payment.end) return clearInterval(watch);
    if (performance.now() - lastAsked > idleMs) stopStream(w);
  }, 1_000);
  toPage({ type: "netcents/meter", id, ...meter.view() });
}

function onTick(m) {
  const { meter } = payment;
  payment.asked?.();
  if (payment.end) {
    toPage({ type: "netcents/meter", id: m.id, n: m.n, ...meter.view(), code: "stream_closed", ended: true });
    return;
  }
  meter.request().then(
    (view) => toPage({ type: "netcents/meter", id: m.id, n: m.n, ...view }),
    (e) => {
      const code = /^[a-z0-9_]{1,64}$/.test(e.code ?? "") ? e.code : "network";
      toPage({ type: "netcents/meter", id: m.id, n: m.n, ...meter.view(), code, hint: String(e.hint ?? e.message ?? e).slice(0, 500) });
    },
  );
}

function stopStream(w) {
  const current = payment;
  current.end ??= (async () => {
    const { meter, id } = current;
    try {
      const out = await meter.close();
      if (!out.matches) syncDisputes(w).catch(() => {});
      toPage({ type: "netcents/meter", id, ...meter.view(), ended: true });
      result(id, true, { price_micros: out.charged_micros, charged_micros: out.charged_micros, units: out.units, balance_micros: out.balance_micros });
    } catch (e) {
      toPage({ type: "netcents/meter", id, ...meter.view(), code: "payment_pending", ended: true });
      result(id, false, { code: e.code ?? "network", hint: `The shop did not close the stream: ${e.hint ?? e}. The wallet closes it the next time it opens.` });
    }
    if (payment === current) payment = null;
  })();
  return current.end;
}

async function sign(w, m, retried) {
  let p;
  try {
    p = await w.pay(site, m.url, m.offer, m.vendor_cert, "budget", 0);
  } catch (e) {
    return result(m.id, false, { code: e.code ?? "internal", hint: e.hint ?? String(e) });
  }
  payment = { id: m.id, scrip_id: p.scrip_id, m, retried };
  const body = { order: p.order, offer: p.offer, scrip: p.scrip };
  if (p.holder_cert) body.holder_cert = p.holder_cert;
  toPage({ type: "netcents/order", id: m.id, scrip_id: p.scrip_id, body });
}

async function onReceipt(w, m) {
  let outcome;
  try {
    outcome = await w.onReceipt(m.scrip_id, m.receipt);
  } catch (e) {
    return result(m.id, false, { code: e.code ?? "bad_receipt", hint: `The shop's receipt does not check out: ${e.hint ?? e}` });
  }
  paid(w, m.id, outcome);
}

function paid(w, id, outcome) {
  // A receipt that contradicts the wallet's balance is evidence for the arbiter.
  if (!outcome.matches) syncDisputes(w).catch(() => {});
  const { meter } = payment;
  if (meter) {
    // The vendor settled the stream at once (its content failed): the receipt says the charge.
    meter.releaseLock();
    w.endStream(meter.root);
  }
  result(id, true, { price_micros: meter ? outcome.charged_micros : payment.m.price_micros, balance_micros: outcome.balance_micros });
  payment = null;
}

async function onRefused(w, m) {
  // A stream the vendor did not open: nothing streams it now, so the resend may close it.
  payment.meter?.releaseLock();
  // The page's word proves nothing: only the vendor's signed refusal of this very order gives
  // the purse's budget back (the rule is the wallet machine's, as in the window).
  let outcome = { refused: false };
  if (m.refusal) {
    try {
      outcome = await w.onRefused(m.scrip_id, m.refusal, m.transfer ?? undefined);
    } catch {
      outcome = { refused: false };
    }
  }
  let withTransfer = Boolean(m.transfer);
  if (!outcome.refused) {
    let answer;
    try {
      answer = await resend(w, m.scrip_id);
    } catch {
      return result(m.id, false, { code: "payment_pending", hint: "The wallet keeps the payment pending: the refusal carries no vendor signature." });
    }
    if (answer.paid) return paid(w, m.id, answer.paid);
    outcome = answer.refused;
    withTransfer = answer.transfer;
  }
  if (outcome.code === "balance_mismatch" && withTransfer && !payment.retried) return sign(w, payment.m, true);
  result(m.id, false, { code: outcome.code, hint: `The shop refused the payment: ${m.hint || outcome.code.replaceAll("_", " ")}` });
  payment = null;
}

// The wallet window hands this frame a purse: it asks for a fresh key, signs the purse's
// issuance from the customer's account for it, and this frame has the bank issue the scrip.
async function onPurse(w, m, reply) {
  if (m.type === "netcents/purse-hello") {
    if (site === null || m.site !== site) return;
    // What the site can still spend here without asking: its budget, within the purse's scrip.
    const s = await w.summary();
    const b = s.budgets.find((x) => x.site === site);
    const left = b ? Math.min(Math.max(0, b.limit_micros - b.spent_micros), s.spendable_micros) : 0;
    reply({ type: "netcents/purse-key", site, key: w.purseKey(), left_micros: left });
    return;
  }
  try {
    await refreshKeys(w);
    const req = await w.adoptPurse(site, m.request);
    const scripId = await sendIssue(w, req);
    reply({ type: "netcents/purse-done", ok: true, scrip_id: scripId });
  } catch (e) {
    const code = /^[a-z0-9_]{1,64}$/.test(e.code ?? "") ? e.code : "internal";
    reply({ type: "netcents/purse-done", ok: false, code, hint: String(e.hint ?? e).slice(0, 500) });
  }
}

(async () => {
  // Only directly in a top-level page: the frame's site is that page's origin, and its storage
  // partition is that page's site.
  if (parent === window || parent !== window.top) return;
  // A browser that gives cross-site frames no storage (Chromium by default, or a user who
  // blocks third-party cookies) leaves the frame without a purse: it answers every payment
  // `needs_approval` and every purse `storage`, and the window keeps the allowance itself.
  let w = null;
  try {
    w = await open();
  } catch {
    w = null;
  }
  let queue = w ? Promise.all([resendPending(w), retryIssues(w)]).catch(() => {}) : Promise.resolve();
  window.addEventListener("message", (ev) => {
    const m = check(ev.data);
    if (!m) return;
    if (ev.source === parent) {
      if (m.type === "netcents/hello") {
        if (site === null) site = ev.origin;
        return;
      }
      if (ev.origin !== site) return;
      // A stream's ticks and stop are answered at once, never queued behind a tick being paced.
      if (payment?.meter && m.id === payment.id) {
        if (m.type === "netcents/tick") return onTick(m);
        if (m.type === "netcents/stop") return stopStream(w);
      }
      queue = queue.then(async () => {
        if ((m.type === "netcents/pay" || m.type === "netcents/stream") && !w) result(m.id, false, { code: "needs_approval", hint: "This browser gives the wallet's frame no storage on this site: the wallet asks in its window." });
        else if (m.type === "netcents/pay") await onPay(w, m);
        else if (m.type === "netcents/stream") await onStream(w, m);
        else if (payment && m.id === payment.id && m.scrip_id === payment.scrip_id) {
          if (m.type === "netcents/receipt") await onReceipt(w, m);
          else if (m.type === "netcents/refused") await onRefused(w, m);
          else if (m.type === "netcents/opened" && payment.meter && !payment.end) onOpened(w);
        }
      });
      return;
    }
    // Another document of the wallet's origin: the wallet window handing over a purse.
    if (ev.origin !== WALLET_ORIGIN || !ev.source || site === null) return;
    if (m.type !== "netcents/purse-hello" && m.type !== "netcents/purse") return;
    const reply = (msg) => ev.source.postMessage({ v: VERSION, ...msg }, WALLET_ORIGIN);
    if (!w) {
      if (m.site === site) reply({ type: "netcents/purse-done", ok: false, code: "storage", hint: "this browser gives the wallet's frame no storage on this site" });
      return;
    }
    queue = queue.then(() => onPurse(w, m, reply));
  });
  parent.postMessage({ type: "netcents/ready", v: VERSION }, "*");
})();
