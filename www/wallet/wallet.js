// The wallet pages' shared module: loads the WASM wallet, talks to the bank (same origin:
// the bank serves the wallet under /wallet/), and formats money. Every secret stays inside
// the WASM modules and this origin's IndexedDB; nothing here ever sees one: the wallet module
// hands the coins' and the backup's modules what they work on itself, through the callbacks
// the pages pass it.

export const DB_NAME = "netcents-wallet";
export const SCRIP_LIFETIME_MS = 30 * 24 * 3600 * 1000;

let opened = null;
let lastKeys = null; // the bank's GET /v1/keys answer when the wallet opened
const lazy = new Map();

/**
 * A module of the wallet that the pages load only when first needed (`../pkg/<name>.js`): the
 * RSA blind signatures of anonymous coins, the backup's sealing. A failed load is tried again
 * on the next call.
 */
function loadModule(name) {
  if (!lazy.has(name)) {
    lazy.set(name, import(`../pkg/${name}.js`).then(async (m) => {
      await m.default();
      return m;
    }).catch((e) => {
      lazy.delete(name);
      throw e;
    }));
  }
  return lazy.get(name);
}

/** The coins module (`blind`, `unblind`): fetched the first time the user buys anonymous scrip. */
export const loadCoins = () => loadModule("netcents_wasm_coins");
/** The backup module (`seal`, `open`): fetched the first time the user backs up or restores. */
export const loadBackup = () => loadModule("netcents_wasm_backup");

/**
 * The wallet of this origin, with the bank's keys recorded. The full wallet module is imported
 * here, when a wallet page opens it: the payment window and the purse frame, which import this
 * file's helpers, load their own smaller module and never fetch this one.
 */
export function openWallet() {
  opened ??= (async () => {
    const { default: init, Wallet } = await import("../pkg/netcents_wasm_wallet.js");
    await init();
    const w = await Wallet.open(DB_NAME);
    const keys = await bankGet("/v1/keys");
    lastKeys = keys;
    try {
      await w.setBank(keys);
    } catch (e) {
      // A wallet made with another bank: the page offers a way forward with this wallet.
      if (e.code === "bank_changed") throw new NetCentsError("bank_changed", e.hint, { wallet: w });
      throw e;
    }
    return w;
  })();
  return opened;
}

/** An error of the bank, a vendor or the wallet: a stable code and a hint for humans. */
export class NetCentsError extends Error {
  constructor(code, hint, extra = {}) {
    super(hint);
    this.code = code;
    this.hint = hint;
    Object.assign(this, extra);
  }
}

async function answer(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const code = body?.code ?? `http_${res.status}`;
    throw new NetCentsError(code, body?.hint ?? res.statusText, { status: res.status, body });
  }
  return { status: res.status, body };
}

export async function bankGet(path) {
  return (await answer(await fetch(path, { headers: { accept: "application/json" } }))).body;
}

export async function bankPost(path, body) {
  return answer(
    await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

/** Opens the customer's account if this wallet has none (a retry is the same request). */
export async function ensureAccount(w) {
  const s = await w.summary();
  if (s.account) return s.account;
  const opening = await w.accountOpening();
  const { body } = await bankPost("/v1/accounts", opening);
  await w.setAccount(body.account);
  return body.account;
}

/** Buys a scrip of `micros`: the request (with its fresh key) is stored before it is sent. */
export async function buyScrip(w, micros) {
  const req = await w.issueRequest(micros, SCRIP_LIFETIME_MS);
  return sendIssue(w, req);
}

export async function sendIssue(w, req) {
  try {
    const { body } = await bankPost("/v1/issue", { request: req.request });
    return await w.onIssued(body.scrip);
  } catch (e) {
    // The wallet decides whether the refusal is final (it forgets the request) or not.
    if (e.code) await w.issueRefused(req.scrip_id, e.code);
    throw e;
  }
}

/**
 * Buys anonymous scrip worth `micros` (docs/PROTOCOL.md §5.11): the wallet splits it into coins
 * of the bank's denominations, blinds each with the coins module, stores the request with the
 * keys and blindings, and only then sends it; the bank signs blind, the wallet unblinds, checks
 * and holds the coins. Each coin becomes a scrip at its first payment (`activateFor`), so the
 * bank's clock does not link the purchase to the spending. Resolves to the coins' faces.
 */
export async function buyCoins(w, micros) {
  const [keys, coins] = await Promise.all([bankGet("/v1/keys"), loadCoins()]);
  const req = await w.coinsRequest(micros, keys.denominations ?? [], coins.blind);
  await sendCoins(w, req.request, coins);
  return req.faces;
}

async function sendCoins(w, request, coins) {
  let body;
  try {
    ({ body } = await bankPost("/v1/coins", { request }));
  } catch (e) {
    // The wallet decides whether the refusal is final (it forgets the request) or not.
    if (e.code) await w.coinsRefused(request, e.code);
    throw e;
  }
  return w.onCoins(request, body.signatures, coins.unblind);
}

/** Sends again the requests for coins that got no answer; loads the coins module only then. */
export async function retryCoins(w) {
  const pending = await w.unansweredCoins();
  if (!pending.length) return;
  const coins = await loadCoins();
  for (const request of pending) {
    try {
      await sendCoins(w, request, coins);
    } catch {
      // Kept for the next retry unless refused for good.
    }
  }
}

/**
 * Exchanges what is left on the anonymous scrip `scripId` for new anonymous coins, signed blind
 * (`docs/PROTOCOL.md` §5.11): the change stays as unlinkable as the scrip. When a vendor holds
 * the scrip, it hands the scrip back to the bank on the exchange order, as for a redemption.
 * Resolves to the new coins' faces.
 */
export async function exchange(w, scripId) {
  const coins = await loadCoins();
  const keys = lastKeys ?? (await bankGet("/v1/keys"));
  const r = await w.exchangeRequest(scripId, keys.denominations ?? [], coins.blind);
  await sendExchange(w, r, coins);
  return r.faces;
}

async function sendExchange(w, r, coins) {
  const body = { order: r.order, coins: r.coins };
  let answered;
  try {
    answered = await bankPost("/v1/coins/exchange", body);
    if (answered.status === 202 && answered.body.origin) {
      await handBack(answered.body.origin, r.order);
      answered = await bankPost("/v1/coins/exchange", body);
    }
  } catch (e) {
    // The wallet decides whether the refusal is final (the scrip is its owner's again) or not.
    if (e.code) await w.coinsRefused(r.order, e.code);
    throw e;
  }
  if (!answered.body.signatures) throw new NetCentsError("pending", "the bank has not signed the coins yet");
  return w.onCoins(r.order, answered.body.signatures, coins.unblind);
}

/** Sends again the exchanges that got no answer; loads the coins module only then. */
export async function retryExchanges(w) {
  const pending = await w.unansweredExchanges();
  if (!pending.length) return;
  const coins = await loadCoins();
  for (const r of pending) {
    try {
      await sendExchange(w, r, coins);
    } catch {
      // Kept for the next retry unless refused for good.
    }
  }
}

/**
 * A payment of `priceMicros` that no scrip covers: the held coin of the least face that covers
 * it becomes its scrip now (`POST /v1/coins/activate`; the same coin again gets the same scrip).
 * Resolves to the scrip id, or null when no coin covers the price.
 */
export async function activateFor(w, priceMicros) {
  const coin = await w.coinFor(priceMicros);
  if (!coin) return null;
  const { body } = await bankPost("/v1/coins/activate", { coin: coin.coin });
  return w.onActivated(body.scrip);
}

/** The faces `micros` of anonymous scrip would be bought as, or null if it cannot be. */
export async function coinFaces(w, micros) {
  const keys = lastKeys ?? (await bankGet("/v1/keys"));
  return w.coinFaces(micros, keys.denominations ?? []);
}

/** The whole wallet sealed under `passphrase`: a backup file's bytes. */
export async function backup(w, passphrase) {
  const { seal } = await loadBackup();
  return w.backup(passphrase, seal);
}

/** Makes this (new) wallet from a backup file's bytes. */
export async function restore(w, bytes, passphrase) {
  const { open } = await loadBackup();
  return w.restore(bytes, passphrase, open);
}

/** Sends again the issuance requests that got no answer (a timeout, a closed tab). */
export async function retryIssues(w) {
  for (const req of await w.unansweredIssues()) {
    try {
      await sendIssue(w, req);
    } catch {
      // Kept for the next retry unless refused for good.
    }
  }
}

/**
 * The vendor at `origin`, holding a scrip, hands it back to the bank on `order` (a redemption's
 * or an exchange's), and the bank takes the hand-over (`POST /v1/returned`): its answer.
 */
async function handBack(origin, order) {
  const held = await answer(
    await fetch(`${origin.replace(/\/$/, "")}/netcents/v1/transfer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ order }),
    }),
  );
  return bankPost("/v1/returned", { chain: held.body.chain ?? [], transfer: held.body.transfer });
}

/**
 * Redeems a scrip: the bank refunds what is left to the account. When a vendor holds the
 * scrip, the wallet asks that vendor to hand it back (with the redemption order as authority)
 * and gives the bank the certificate.
 */
export async function redeem(w, scripId) {
  const r = await w.redeem(scripId);
  let { status, body } = await bankPost("/v1/redeem", { account: r.account, order: r.order });
  // The holder the order names (the wallet's mirror) hands the scrip back; the bank's own
  // idea of the holder lags behind vendor-to-vendor transfers until they are captured.
  const holder = r.holder_origin ?? body.origin;
  if (status === 202 && holder) ({ body } = await handBack(holder, r.order));
  if (body.refund_micros === undefined) throw new NetCentsError("pending", "the bank has not refunded the scrip yet");
  await w.onRedeemed(scripId, body.refund_micros);
  return body.refund_micros;
}

/**
 * Closes the stream open on `scripId` at the vendor of `url` (`POST /netcents/v1/close`, with the
 * stream's root: docs/PROTOCOL.md §5.13). Resolves to the vendor's `{receipt, units,
 * charged_micros}`; the receipt settles the wallet's order (`onReceipt`).
 */
export async function closeStream(url, scripId, root) {
  const { body } = await answer(
    await fetch(`${new URL(url).origin}/netcents/v1/close`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ scrip: scripId, root }),
    }),
  );
  if (typeof body?.receipt !== "string") throw new NetCentsError("no_receipt", "the vendor closed the stream without a receipt");
  return body;
}

/** The web lock a live stream's wallet document holds, so that no other one closes the stream. */
export function streamLock(scripId) {
  return `netcents-stream-${scripId}`;
}

/**
 * Runs `f` unless a live wallet document holds the stream of `scripId` (its web lock, see
 * stream.js): a stream is closed by the document that releases its ticks, or, once that
 * document is gone, by the next one that finds the order pending.
 */
function unlessStreaming(scripId, f) {
  if (!navigator.locks) return f();
  return navigator.locks.request(streamLock(scripId), { ifAvailable: true }, (lock) => {
    if (!lock) throw new NetCentsError("stream_live", "a wallet window is paying this stream", { pending: true });
    return f();
  });
}

/**
 * Sends a pending payment again, unchanged (after a timeout, a lost answer, or a page that says
 * the vendor refused it): the vendor answers a repeated order with the same receipt and never
 * charges twice. A stream's order left open (its page closed before the stream did) is closed
 * at the vendor now, as the command-line wallet does, and its receipt settles it at the ticks
 * paid; a stream another wallet document still pays is left alone. Resolves to `{ paid: outcome }`
 * when the vendor answers with a receipt the wallet checked, or `{ refused: outcome, hint, transfer }`
 * when it answers with a refusal it signed for this order (the budget comes back; `transfer`: a
 * hand-over certificate came too). Anything else (no answer, an unsigned refusal) proves
 * nothing: the payment stays pending and this throws.
 */
export async function resend(w, scripId) {
  const p = await w.pendingPayment(scripId);
  if (p.stream) return unlessStreaming(scripId, () => sendAgain(w, scripId, p));
  return sendAgain(w, scripId, p);
}

async function sendAgain(w, scripId, p) {
  const body = { order: p.order, offer: p.offer, scrip: p.scrip };
  if (p.holder_cert) body.holder_cert = p.holder_cert;
  if (p.stream) body.stream = p.stream;
  const res = await fetch(p.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  let receipt = res.headers.get("x-netcents-receipt");
  // The stream is open at the vendor (this order opened it, or opens it now): close it.
  if (res.ok && !receipt && p.stream) receipt = (await closeStream(p.url, scripId, p.stream.root)).receipt;
  if (res.ok && receipt) return { paid: await w.onReceipt(scripId, receipt) };
  let e = {};
  try {
    e = await res.json();
  } catch {
    e = {};
  }
  const refusal = typeof e.refusal === "string" ? e.refusal : undefined;
  const transfer = typeof e.transfer === "string" ? e.transfer : undefined;
  if (refusal) {
    const outcome = await w.onRefused(scripId, refusal, transfer);
    if (outcome.refused) return { refused: outcome, hint: e.hint ?? "", transfer: transfer !== undefined };
  }
  throw new NetCentsError(e.code ?? `http_${res.status}`, e.hint ?? "the vendor did not answer the payment", { pending: true });
}

/**
 * Sends every pending payment again, unchanged (when the wallet opens and before the payment
 * window pays): a pending order blocks its scrip until a receipt or the vendor's signed refusal
 * settles it, so the wallet does not wait for the user to find it. An order still unanswered
 * stays pending and is sent again on the next use.
 */
export async function resendPending(w) {
  const s = await w.summary();
  for (const x of s.scrips.filter((x) => x.paying)) {
    try {
      await resend(w, x.id);
    } catch {
      // Still pending: sent again on the next use.
    }
  }
}

/** Files the signed disputes not yet sent, and refreshes the state of the others. */
export async function syncDisputes(w) {
  for (const dispute of await w.unsentDisputes()) {
    const { body } = await bankPost("/v1/arbiter/disputes", { dispute });
    await w.onDisputeState(body.dispute, body.state, body.verdict ?? "");
    if (typeof body.ruling === "string") await w.onRuling(body.ruling);
  }
  const s = await w.summary();
  for (const d of s.disputes.filter((d) => d.state !== "ruled" && d.state !== "unsent")) {
    try {
      const body = await bankGet(`/v1/arbiter/disputes/${d.id}`);
      // The signed ruling is checked in the wallet (a refund or void settles a pending payment
      // and gives its budget back); the rest of the answer is only shown.
      if (typeof body.ruling === "string") await w.onRuling(body.ruling);
      else await w.onDisputeState(d.id, body.state, body.verdict ?? "");
    } catch {
      // The arbiter is not reachable, or its answer does not check out: try again later.
    }
  }
}

const SYMBOL = { USD: "$", EUR: "€", GBP: "£" };

/** Money for humans: below one unit in cents ("0.25¢", "4.5¢"), above in units ("$1.20"). */
export function money(micros, currency = "USD") {
  const n = Number(micros);
  const sym = SYMBOL[currency];
  if (currency === "USD" && n >= 0 && n < 1_000_000) {
    return `${trim((n / 10_000).toFixed(4))}¢`;
  }
  const units = n / 1_000_000;
  const digits = n % 10_000 === 0 ? 2 : 6;
  const text = trim(units.toFixed(digits), 2);
  return sym ? `${sym}${text}` : `${text} ${currency}`;
}

function trim(s, keep = 0) {
  if (!s.includes(".")) return s;
  let [i, f] = s.split(".");
  f = f.replace(/0+$/, "");
  while (f.length < keep) f += "0";
  return f ? `${i}.${f}` : i;
}

export function shortId(id) {
  return id ? `${id.slice(0, 6)}…${id.slice(-4)}` : "";
}

export function when(ms) {
  const d = new Date(ms);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toDateString() === today.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

export function siteName(origin) {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}

/** Builds an element: h("div.card", {onclick}, children...). */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
