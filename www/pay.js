// The NetCents pay button. A site embeds it with one script tag and one element:
//
//   <script type="module" src="https://wallet.example/pay.js"></script>
//   <netcents-pay href="/article/42"></netcents-pay>
//
// It fetches the vendor's 402 offer for `href`, shows the price, and on click pays: within the
// purse the customer allowed this site, the site's hidden wallet frame (the wallet's origin,
// its storage partitioned to this site) signs the payment order with no window; otherwise it
// opens the NetCents wallet in its own window (first party), which checks the offer, asks the
// user, signs and hands the order back. The button posts the order to the vendor, gives the
// receipt to the wallet to check, and shows the content. The page never sees a key or the
// wallet's storage: only public, signed objects pass.

import { check, newId, VERSION } from "./messages.js";

const WALLET_ORIGIN = new URL(import.meta.url).origin;
const WALLET_PAY_URL = new URL("./wallet/pay.html", import.meta.url).href;
const WALLET_FRAME_URL = new URL("./wallet/frame.html", import.meta.url).href;
const WALLET_TIMEOUT_MS = 120_000;
// How long a click waits for the site's wallet frame before it opens the window instead.
const FRAME_WAIT_MS = 1_500;

/** An error with a stable code (`declined`, `insufficient_balance`, a vendor's wire code…). */
export class PaymentError extends Error {
  constructor(code, hint) {
    super(hint);
    this.name = "PaymentError";
    this.code = code;
    this.hint = hint;
  }
}

function fromBase64url(text) {
  const s = text.replace(/-/g, "+").replace(/_/g, "/");
  return atob(s + "=".repeat((4 - (s.length % 4)) % 4));
}

async function errorOf(res) {
  try {
    const body = await res.json();
    return { code: body.code ?? `http_${res.status}`, hint: body.hint ?? res.statusText, transfer: body.transfer, refusal: body.refusal };
  } catch {
    return { code: `http_${res.status}`, hint: res.statusText || "the vendor failed" };
  }
}

/**
 * Asks the vendor for `url` without paying. Resolves to `{ paid: false, offer }` with the
 * vendor's 402 offer, or `{ paid: true, response }` when the content is free or already paid.
 */
export async function fetchOffer(url) {
  const res = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json, text/html;q=0.9" } });
  if (res.status === 402) {
    const offer = await res.json();
    for (const k of ["offer", "vendor_cert"]) {
      if (typeof offer[k] !== "string") throw new PaymentError("bad_offer", "the vendor's 402 answer carries no signed offer");
    }
    return { paid: false, offer };
  }
  if (!res.ok) {
    const e = await errorOf(res);
    throw new PaymentError(e.code, e.hint);
  }
  return { paid: true, response: res };
}

function waitFor(popup, filter, timeoutMs) {
  return new Promise((resolve, reject) => {
    const done = (f) => {
      clearInterval(poll);
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      f();
    };
    const onMessage = (ev) => {
      // Only the wallet window we opened, from the wallet's origin, with a well-formed message.
      if (ev.source !== popup || ev.origin !== WALLET_ORIGIN) return;
      const m = check(ev.data);
      if (m && filter(m)) done(() => resolve(m));
    };
    const poll = setInterval(() => {
      if (popup.closed) done(() => reject(new PaymentError("wallet_closed", "The wallet window was closed before the payment was made.")));
    }, 250);
    const timer = setTimeout(() => done(() => reject(new PaymentError("wallet_timeout", "The wallet did not answer in time."))), timeoutMs);
    window.addEventListener("message", onMessage);
  });
}

let frameReady = null;

/**
 * The site's wallet frame: a hidden frame of the wallet's origin, made once per page, which
 * holds the purse the customer allowed this site and pays within it without a window
 * (docs/PROTOCOL.md §12.3, "Purses"). Resolves to its window once it is ready, or null if it
 * does not answer.
 */
export function walletFrame() {
  frameReady ??= new Promise((resolve) => {
    const iframe = document.createElement("iframe");
    iframe.src = WALLET_FRAME_URL;
    iframe.title = "NetCents wallet";
    iframe.hidden = true;
    iframe.setAttribute("aria-hidden", "true");
    iframe.style.display = "none";
    const onMessage = (ev) => {
      if (ev.source !== iframe.contentWindow || ev.origin !== WALLET_ORIGIN) return;
      const m = check(ev.data);
      if (!m || m.type !== "netcents/ready") return;
      window.removeEventListener("message", onMessage);
      // The frame takes the origin of this greeting, set by the browser, as its site.
      iframe.contentWindow.postMessage({ type: "netcents/hello", v: VERSION }, WALLET_ORIGIN);
      resolve(iframe.contentWindow);
    };
    window.addEventListener("message", onMessage);
    (document.body ?? document.documentElement).append(iframe);
  });
  return frameReady;
}

function within(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(null), ms))]);
}

/** Opens the wallet window. Call it from the click handler itself, or the browser blocks it. */
export function openWallet() {
  const w = 440;
  const hgt = 640;
  const left = Math.max(0, (window.screenX ?? 0) + (window.outerWidth - w) / 2);
  const top = Math.max(0, (window.screenY ?? 0) + (window.outerHeight - hgt) / 2);
  const popup = window.open(
    `${WALLET_PAY_URL}#site=${encodeURIComponent(location.origin)}`,
    "netcents-wallet",
    `popup,width=${w},height=${hgt},left=${Math.round(left)},top=${Math.round(top)}`,
  );
  if (!popup) throw new PaymentError("popup_blocked", "The browser blocked the wallet window: allow pop-ups for this site.");
  return popup;
}

/**
 * Pays for `url` with the wallet in `popup` (from `openWallet()`), or with the site's wallet
 * frame (`frame`, from `walletFrame()`: within the site's purse only, else it fails with
 * `needs_approval`), using `offer` (from `fetchOffer`) if given. Resolves to the vendor's
 * response, whose body is the content.
 */
export async function pay(url, { popup, frame, offer } = {}) {
  const absolute = new URL(url, location.href).href;
  const wallet = frame ?? popup ?? openWallet();
  try {
    const ready = frame ? Promise.resolve() : waitFor(wallet, (m) => m.type === "netcents/ready", WALLET_TIMEOUT_MS);
    let current = offer;
    if (!current || (current.valid_until_ms && current.valid_until_ms - Date.now() < 10_000)) {
      const first = await fetchOffer(absolute);
      if (first.paid) {
        if (!frame) wallet.close();
        return first.response;
      }
      current = first.offer;
    }
    await ready;
    const id = newId();
    const answered = waitFor(wallet, (m) => m.id === id && (m.type === "netcents/order" || m.type === "netcents/result"), WALLET_TIMEOUT_MS);
    const request = {
      type: "netcents/pay", v: VERSION, id, url: absolute, offer: current.offer, vendor_cert: current.vendor_cert,
      price_micros: current.price_micros, currency: current.currency,
    };
    // The vendor's signed names for the offer (its shop, the item's title), for the wallet to show.
    if (typeof current.label === "string") request.label = current.label;
    wallet.postMessage(request, WALLET_ORIGIN);
    let m = await answered;
    // The wallet may sign again after a refusal it can answer (balance handed over, §5.4).
    for (;;) {
      if (m.type === "netcents/result") {
        if (!m.ok) throw new PaymentError(m.code ?? "declined", m.hint ?? "The wallet did not pay.");
        throw new PaymentError("internal", "The wallet finished without a receipt.");
      }
      const body = m.body;
      const res = await fetch(absolute, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const next = waitFor(wallet, (x) => x.id === id && (x.type === "netcents/result" || x.type === "netcents/order"), WALLET_TIMEOUT_MS);
      const receipt = res.headers.get("x-netcents-receipt");
      if (res.ok && receipt) {
        wallet.postMessage({ type: "netcents/receipt", v: VERSION, id, scrip_id: m.scrip_id, receipt }, WALLET_ORIGIN);
        const r = await next;
        if (r.type !== "netcents/result" || !r.ok) throw new PaymentError(r.code ?? "bad_receipt", r.hint ?? "The wallet rejected the receipt.");
        return res;
      }
      const e = res.ok ? { code: "no_receipt", hint: "the vendor answered without a receipt" } : await errorOf(res);
      const refused = { type: "netcents/refused", v: VERSION, id, scrip_id: m.scrip_id, status: res.ok ? 502 : res.status, code: /^[a-z0-9_]{1,64}$/.test(e.code) ? e.code : "refused", hint: String(e.hint).slice(0, 500) };
      if (typeof e.transfer === "string") refused.transfer = e.transfer;
      // The vendor's signed refusal: the wallet checks it before it gives the budget back.
      if (typeof e.refusal === "string") refused.refusal = e.refusal;
      wallet.postMessage(refused, WALLET_ORIGIN);
      m = await next;
      // The wallet sent the order again itself and the vendor answered it with a receipt:
      // paid once; the same order again fetches the content (the vendor never charges twice).
      if (m.type === "netcents/result" && m.ok) {
        const again = await fetch(absolute, { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        if (again.ok) return again;
        throw new PaymentError("no_content", "The wallet has the receipt, but the vendor did not send the content.");
      }
    }
  } catch (e) {
    if (!frame && !wallet.closed && e.code !== "declined") setTimeout(() => wallet.closed || wallet.close(), 2500);
    throw e instanceof PaymentError ? e : new PaymentError("network", e.message ?? String(e));
  }
}

/** The most ticks one stream commits to (docs/PROTOCOL.md §5.13). */
const MAX_TICKS = 100_000;

/**
 * A stream being paid (pay as you read): from `stream()`. `response` is the vendor's answer to
 * the stream's order (its body is the content). `tick()` asks the wallet to pay one more unit:
 * the wallet releases at most one tick per unit period (a second for an item sold by the
 * second), whatever the page asks, and never past the ticks committed; every request resolves
 * to the meter after the tick it got (requests made faster than the period share one tick),
 * or rejects with a `PaymentError` saying why no tick was paid. `stop()` closes the stream at
 * the vendor and resolves once the receipt settled it: `{units, charged_micros,
 * balance_micros}`. `onmeter` is called with every new meter; `meter` is the latest.
 */
class Stream {
  constructor(wallet, id, response, offer, ticks, first) {
    this.response = response;
    this.unit = offer.unit;
    this.unitPriceMicros = offer.unit_price_micros;
    this.currency = offer.currency;
    this.ticks = ticks;
    this.meter = { paid: first.paid, ticks: first.ticks, paid_micros: first.paid_micros, max_micros: first.max_micros, ended: false };
    this.onmeter = null;
    this.wallet = wallet;
    this.id = id;
    this.n = 0;
    this.waiting = new Map(); // tick request number → {resolve, reject}
    let settle;
    this.closed = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A page that never waits for the close does not see it reject unhandled.
    this.closed.catch(() => {});
    this.settled = false;
    const end = (f) => {
      if (this.settled) return;
      this.settled = true;
      clearInterval(poll);
      window.removeEventListener("message", onMessage);
      for (const w of this.waiting.values()) w.reject(new PaymentError("stream_closed", "The stream is closed."));
      this.waiting.clear();
      f();
    };
    const onMessage = (ev) => {
      if (ev.source !== wallet || ev.origin !== WALLET_ORIGIN) return;
      const m = check(ev.data);
      if (!m || m.id !== id) return;
      if (m.type === "netcents/meter") {
        this.meter = { paid: m.paid, ticks: m.ticks, paid_micros: m.paid_micros, max_micros: m.max_micros, ended: Boolean(m.ended) };
        const w = m.n !== undefined ? this.waiting.get(m.n) : undefined;
        if (w) {
          this.waiting.delete(m.n);
          if (m.code) w.reject(new PaymentError(m.code, m.hint ?? "No tick was paid."));
          else w.resolve(this.meter);
        }
        try {
          this.onmeter?.(this.meter);
        } catch {
          // The page's own callback failing changes nothing in the stream.
        }
      } else if (m.type === "netcents/result") {
        if (m.ok) end(() => settle.resolve({ units: m.units ?? 0, charged_micros: m.charged_micros ?? m.price_micros ?? 0, balance_micros: m.balance_micros }));
        else end(() => settle.reject(new PaymentError(m.code ?? "internal", m.hint ?? "The wallet did not close the stream.")));
      }
    };
    // The wallet window closed before the stream: the wallet closes the stream when it next opens.
    const poll = setInterval(() => {
      if (wallet.closed) end(() => settle.reject(new PaymentError("wallet_closed", "The wallet window was closed: the wallet closes the stream the next time it opens.")));
    }, 250);
    window.addEventListener("message", onMessage);
  }

  /** Asks the wallet for one more tick; resolves to the meter after it. */
  tick() {
    if (this.settled) return Promise.reject(new PaymentError("stream_closed", "The stream is closed."));
    this.n += 1;
    const n = this.n;
    return new Promise((resolve, reject) => {
      this.waiting.set(n, { resolve, reject });
      this.wallet.postMessage({ type: "netcents/tick", v: VERSION, id: this.id, n }, WALLET_ORIGIN);
    });
  }

  /** Closes the stream; resolves to `{units, charged_micros, balance_micros}` from the receipt. */
  stop() {
    if (!this.settled && !this.wallet.closed) this.wallet.postMessage({ type: "netcents/stop", v: VERSION, id: this.id }, WALLET_ORIGIN);
    return this.closed;
  }
}

/**
 * Pays `url`, an item sold by the unit, as a stream of at most `ticks` units (pay as you
 * read, docs/PROTOCOL.md §5.13), using `offer` (from `fetchOffer`) if given. Call it from the
 * click handler: within the purse the customer allowed this site, the site's wallet frame pays
 * the stream with no window; otherwise (or with `popup`, from `openWallet()`) the wallet window
 * asks the user (or the site's budget covers it) for the most the stream may cost, `ticks` ×
 * the unit price. The wallet signs the order and keeps the stream's hash chain in its own
 * document (the frame or the window): the page never sees it. Resolves to a `Stream` once the
 * vendor opened the stream; `onmeter` is called with every new meter. The wallet window shows
 * the meter and a Stop button for as long as the stream lasts; it closes the stream itself when
 * the page goes away.
 */
export async function stream(url, { ticks, popup, frame, offer, onmeter } = {}) {
  if (!Number.isSafeInteger(ticks) || ticks < 1 || ticks > MAX_TICKS) {
    throw new PaymentError("bad_value", `ticks is a whole number from 1 to ${MAX_TICKS}`);
  }
  const absolute = new URL(url, location.href).href;
  if (!popup && !frame) {
    if (!offer) {
      const first = await fetchOffer(absolute);
      if (first.paid) throw new PaymentError("not_metered", "This content is free or already paid: there is no stream to pay.");
      offer = first.offer;
    }
    // The site's frame first (no window within its purse); over the purse, or without one, the
    // window asks (still within the click's activation).
    const f = await within(walletFrame(), FRAME_WAIT_MS);
    if (f) {
      try {
        return await stream(absolute, { ticks, frame: f, offer, onmeter });
      } catch (e) {
        if (e.code !== "needs_approval") throw e;
      }
    }
    return stream(absolute, { ticks, popup: openWallet(), offer, onmeter });
  }
  const wallet = frame ?? popup;
  try {
    const ready = frame ? Promise.resolve() : waitFor(wallet, (m) => m.type === "netcents/ready", WALLET_TIMEOUT_MS);
    let current = offer;
    if (!current || (current.valid_until_ms && current.valid_until_ms - Date.now() < 10_000)) {
      const first = await fetchOffer(absolute);
      if (first.paid) throw new PaymentError("not_metered", "This content is free or already paid: there is no stream to pay.");
      current = first.offer;
    }
    if (!current.unit || !current.unit_price_micros) throw new PaymentError("not_metered", "This item is not sold by the unit: pay it with pay().");
    await ready;
    const id = newId();
    const answered = waitFor(wallet, (m) => m.id === id && (m.type === "netcents/order" || m.type === "netcents/result"), WALLET_TIMEOUT_MS);
    const request = {
      type: "netcents/stream", v: VERSION, id, url: absolute, offer: current.offer, vendor_cert: current.vendor_cert,
      price_micros: current.price_micros, currency: current.currency, ticks,
    };
    if (typeof current.label === "string") request.label = current.label;
    wallet.postMessage(request, WALLET_ORIGIN);
    const m = await answered;
    if (m.type === "netcents/result") throw new PaymentError(m.ok ? "internal" : (m.code ?? "declined"), m.hint ?? "The wallet did not pay.");
    const res = await fetch(absolute, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(m.body),
    });
    const receipt = res.headers.get("x-netcents-receipt");
    const next = (types) => waitFor(wallet, (x) => x.id === id && types.includes(x.type), WALLET_TIMEOUT_MS);
    if (res.ok && !receipt) {
      // Open: the content now, the receipt when the stream closes.
      const first = next(["netcents/meter", "netcents/result"]);
      wallet.postMessage({ type: "netcents/opened", v: VERSION, id, scrip_id: m.scrip_id }, WALLET_ORIGIN);
      const x = await first;
      if (x.type === "netcents/result") throw new PaymentError(x.code ?? "internal", x.hint ?? "The wallet did not open the stream.");
      const s = new Stream(wallet, id, res, current, ticks, x);
      s.onmeter = onmeter ?? null;
      return s;
    }
    if (res.ok) {
      // Settled at once (the vendor's content failed, or the order was settled before): the
      // receipt says what it took.
      const done = next(["netcents/result"]);
      wallet.postMessage({ type: "netcents/receipt", v: VERSION, id, scrip_id: m.scrip_id, receipt }, WALLET_ORIGIN);
      const r = await done;
      if (!r.ok) throw new PaymentError(r.code ?? "bad_receipt", r.hint ?? "The wallet rejected the receipt.");
      throw new PaymentError("stream_closed", "The shop settled the stream at once, before any tick.");
    }
    const e = await errorOf(res);
    const refused = { type: "netcents/refused", v: VERSION, id, scrip_id: m.scrip_id, status: res.status, code: /^[a-z0-9_]{1,64}$/.test(e.code) ? e.code : "refused", hint: String(e.hint).slice(0, 500) };
    if (typeof e.transfer === "string") refused.transfer = e.transfer;
    if (typeof e.refusal === "string") refused.refusal = e.refusal;
    const done = next(["netcents/result", "netcents/order"]);
    wallet.postMessage(refused, WALLET_ORIGIN);
    const r = await done;
    throw new PaymentError(r.type === "netcents/result" && !r.ok ? (r.code ?? e.code) : e.code, e.hint);
  } catch (e) {
    if (!frame && !wallet.closed && e.code !== "declined") setTimeout(() => wallet.closed || wallet.close(), 2500);
    throw e instanceof PaymentError ? e : new PaymentError("network", e.message ?? String(e));
  }
}

const STYLE = `
:host { display: block; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
.box { border: 1px solid #d8dee9; border-radius: 14px; padding: 1.1rem 1.2rem; background: linear-gradient(180deg, #ffffff, #f6f9fb); display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
.lead { color: #334155; font-size: 0.95rem; line-height: 1.4; }
.lead b { color: inherit; font-weight: 750; }
button { font: inherit; font-weight: 650; border: none; border-radius: 999px; padding: 0.6rem 1.15rem; background: #0f766e; color: #fff; cursor: pointer; display: inline-flex; gap: 0.5rem; align-items: center; white-space: nowrap; }
button:hover { background: #0d655e; }
button:disabled { opacity: 0.6; cursor: progress; }
.coin { width: 20px; height: 20px; border-radius: 50%; display: inline-grid; place-items: center; background: #fff; color: #0f766e; font-weight: 800; font-size: 0.75rem; }
.error { color: #b91c1c; font-size: 0.9rem; margin-top: 0.5rem; width: 100%; }
.small { color: #64748b; font-size: 0.8rem; width: 100%; }
`;

function priceText(micros, currency) {
  if (currency === "USD" && micros < 1_000_000) return `${(micros / 10_000).toFixed(4).replace(/0+$/, "").replace(/\.$/, "")}¢`;
  const units = (micros / 1_000_000).toFixed(micros % 10_000 === 0 ? 2 : 6).replace(/(\.\d\d\d*?)0+$/, "$1");
  return currency === "USD" ? `$${units}` : `${units} ${currency}`;
}

/**
 * `<netcents-pay href="/article/42" label="Read the article">`: fetches the offer, shows the
 * price, pays on click and puts the content in place of the button (or into `target`, a CSS
 * selector). Events: `netcents-paid` (detail: {price_micros, receipt}; from the content's
 * holder, once the content is in place) and `netcents-error` (detail: {code, hint}).
 */
export class NetCentsPay extends HTMLElement {
  static observedAttributes = ["href", "label"];

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.offer = null;
    this.error = null;
  }

  connectedCallback() {
    this.render("Loading price…", true);
    this.load();
    walletFrame();
  }

  attributeChangedCallback(name, old, value) {
    if (name === "href" && old !== null && old !== value && this.isConnected) this.load();
  }

  get href() {
    return new URL(this.getAttribute("href") ?? "", location.href).href;
  }

  render(lead, disabled = false, error = "") {
    const label = this.getAttribute("label") ?? "Unlock";
    const price = this.offer ? ` · ${priceText(this.offer.price_micros, this.offer.currency)}` : "";
    this.shadowRoot.innerHTML = `<style>${STYLE}</style><div class="box" part="box"><div class="lead" part="lead"></div><button part="button" ${disabled ? "disabled" : ""}><span class="coin">¢</span><span class="label"></span></button>${error ? '<div class="error" role="alert" part="error"></div>' : ""}<div class="small">Paid with NetCents · your wallet asks in its own window unless you allowed this site a budget</div></div>`;
    this.shadowRoot.querySelector(".lead").innerHTML = lead;
    this.shadowRoot.querySelector(".label").textContent = `${label}${price}`;
    if (error) this.shadowRoot.querySelector(".error").textContent = error;
    this.shadowRoot.querySelector("button").onclick = () => this.buy();
  }

  async load() {
    try {
      const r = await fetchOffer(this.href);
      if (r.paid) return this.show(r.response);
      this.offer = r.offer;
      this.render(`Continue reading for <b>${priceText(this.offer.price_micros, this.offer.currency)}</b>.`, false, this.error ?? "");
    } catch (e) {
      this.render("This content is not available right now.", false, e.hint ?? String(e));
    }
  }

  async buy() {
    this.error = null;
    this.render("Paying…", true);
    // Within the purse the customer allowed this site, the site's wallet frame pays with no
    // window; over it, or without one, the wallet window asks (still within this click).
    const frame = await within(walletFrame(), FRAME_WAIT_MS);
    if (frame) {
      try {
        return await this.paid(await pay(this.href, { frame, offer: this.offer }));
      } catch (e) {
        if (e.code !== "needs_approval") {
          this.failed(e);
          this.load();
          return;
        }
      }
    }
    let popup;
    try {
      popup = openWallet();
    } catch (e) {
      return this.failed(e);
    }
    this.render("Waiting for your wallet…", true);
    try {
      await this.paid(await pay(this.href, { popup, offer: this.offer }));
    } catch (e) {
      this.failed(e);
      this.load();
    }
  }

  async paid(res) {
    const receipt = res.headers.get("x-netcents-receipt");
    // The button gives its place to the content: the event comes from the content's holder,
    // which is in the document (a detached button's event would reach no listener).
    const holder = await this.show(res);
    holder.dispatchEvent(new CustomEvent("netcents-paid", { bubbles: true, detail: { price_micros: this.offer?.price_micros, receipt } }));
  }

  failed(e) {
    const messages = {
      declined: "You declined the payment.",
      insufficient_balance: "Your wallet has no scrip that covers this price. Buy scrip in your wallet and try again.",
      needs_approval: "This payment needs your approval in the wallet.",
      popup_blocked: "Your browser blocked the wallet window. Allow pop-ups for this site and try again.",
      wallet_closed: "The wallet window was closed before paying.",
      network: "The shop did not answer. Your wallet keeps the payment and sends it again by itself; you are never charged twice for it.",
    };
    const text = messages[e.code] ?? `The payment did not go through: ${e.hint ?? e.message}`;
    this.error = text;
    this.render(this.offer ? `Continue reading for <b>${priceText(this.offer.price_micros, this.offer.currency)}</b>.` : "", false, text);
    this.dispatchEvent(new CustomEvent("netcents-error", { bubbles: true, detail: { code: e.code, hint: e.hint ?? e.message } }));
  }

  async show(res) {
    const html = await res.text();
    const selector = this.getAttribute("target");
    const target = selector ? document.querySelector(selector) : null;
    const doc = new DOMParser().parseFromString(html, "text/html");
    const content = doc.querySelector("[data-netcents-content]") ?? doc.body;
    const nodes = Array.from(content.childNodes).filter((n) => n.nodeName !== "SCRIPT");
    if (target) {
      target.replaceChildren(...nodes);
      this.remove();
      return target;
    }
    const div = document.createElement("div");
    div.className = "netcents-content";
    div.append(...nodes);
    this.replaceWith(div);
    return div;
  }
}

if (!customElements.get("netcents-pay")) customElements.define("netcents-pay", NetCentsPay);
