// The messages between a shop page (pay.js) and the wallet window, and their checks. Both
// sides check every message: its sender (window and origin, by the caller) and its exact shape
// here. Nothing secret is ever in a message: offers, certificates, payment orders, receipts
// and the bank-signed scrip are all public, signed objects.

export const VERSION = 1;

const ID = /^[A-Za-z0-9_-]{8,64}$/;
const B64 = /^[A-Za-z0-9_-]+={0,2}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const CODE = /^[a-z0-9_]{1,64}$/;
const CURRENCY = /^[A-Z]{3}$/;

const kinds = {
  id: (v) => typeof v === "string" && ID.test(v),
  url: (v) => {
    if (typeof v !== "string" || v.length > 2048) return false;
    try {
      const u = new URL(v);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  },
  b64: (v) => typeof v === "string" && v.length <= 16384 && B64.test(v),
  hex32: (v) => typeof v === "string" && HEX32.test(v),
  hex64: (v) => typeof v === "string" && HEX64.test(v),
  micros: (v) => Number.isSafeInteger(v) && v >= 0,
  // A number of a stream's ticks (docs/PROTOCOL.md §5.13: at most 100,000 a stream).
  count: (v) => Number.isSafeInteger(v) && v >= 0 && v <= 100_000,
  ticks: (v) => Number.isSafeInteger(v) && v >= 1 && v <= 100_000,
  stream: (v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) &&
    check({ type: "netcents/stream-commit", v: VERSION, ...v }) !== null,
  currency: (v) => typeof v === "string" && CURRENCY.test(v),
  code: (v) => typeof v === "string" && CODE.test(v),
  text: (v) => typeof v === "string" && v.length <= 512,
  status: (v) => Number.isInteger(v) && v >= 100 && v <= 599,
  bool: (v) => typeof v === "boolean",
  body: (v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) &&
    check({ type: "netcents/body", v: VERSION, ...v }) !== null,
};

// Field name → kind; a trailing "?" marks an optional field.
const shapes = {
  "netcents/ready": {},
  "netcents/pay": { id: "id", url: "url", offer: "b64", vendor_cert: "b64", price_micros: "micros", currency: "currency", "label?": "b64" },
  "netcents/order": { id: "id", scrip_id: "hex32", body: "body" },
  "netcents/body": { order: "b64", offer: "b64", scrip: "b64", "holder_cert?": "b64", "stream?": "stream" },
  // A stream (pay as you read, docs/PROTOCOL.md §5.13). The page asks for a stream of `ticks`
  // at most; the wallet signs its order (the body's `stream`: the root of a hash chain that
  // never leaves the wallet, and the ticks committed), the page posts it, and says the vendor
  // opened the stream. The page asks for ticks; the wallet releases at most one per unit
  // period, itself, to the vendor, and answers each request with the meter. `stop` closes the
  // stream at the vendor; the receipt settles it (`result` with `units` and `charged_micros`).
  "netcents/stream": { id: "id", url: "url", offer: "b64", vendor_cert: "b64", price_micros: "micros", currency: "currency", ticks: "ticks", "label?": "b64" },
  "netcents/stream-commit": { root: "hex64", ticks: "ticks" },
  "netcents/opened": { id: "id", scrip_id: "hex32" },
  "netcents/tick": { id: "id", n: "micros" },
  "netcents/stop": { id: "id" },
  // The stream's meter: the ticks paid, the ticks committed, what they cost so far, and the
  // most the stream may cost. `n`: the page's tick request it answers; `code`: why no tick
  // was paid (the stream ended, the vendor refused it); `ended`: the stream is closed.
  "netcents/meter": { id: "id", paid: "count", ticks: "ticks", paid_micros: "micros", max_micros: "micros", "n?": "micros", "code?": "code", "hint?": "text", "ended?": "bool" },
  "netcents/receipt": { id: "id", scrip_id: "hex32", receipt: "b64" },
  // What the page says the vendor answered. Only `refusal` (the vendor's signed refusal) can
  // make the wallet give the budget back; the rest is the page's word, shown, never trusted.
  "netcents/refused": { id: "id", scrip_id: "hex32", status: "status", code: "code", hint: "text", "transfer?": "b64", "refusal?": "b64" },
  "netcents/result": { id: "id", ok: "bool", "code?": "code", "hint?": "text", "price_micros?": "micros", "balance_micros?": "micros", "units?": "count", "charged_micros?": "micros" },
  // The page greets the site's wallet frame (wallet/frame.html) once it is ready: the frame
  // takes the greeting's origin, set by the browser, as its site for good.
  "netcents/hello": {},
  // Between the wallet window and the site's wallet frame, both of the wallet's origin (the
  // page never sees these): the window asks the frame for its purse key, signs the purse's
  // issuance for it, and the frame has the bank issue it (docs/PROTOCOL.md §12.3, "Purses").
  "netcents/purse-hello": { site: "url" },
  "netcents/purse-key": { site: "url", key: "hex64", left_micros: "micros" },
  "netcents/purse": { request: "b64" },
  "netcents/purse-done": { ok: "bool", "scrip_id?": "hex32", "code?": "code", "hint?": "text" },
};

/** The message if it has exactly the shape of its type, else null. */
export function check(msg) {
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) return null;
  if (Object.getPrototypeOf(msg) !== Object.prototype) return null;
  const shape = shapes[msg.type];
  if (!shape || msg.v !== VERSION) return null;
  const allowed = new Set(["type", "v"]);
  for (const [key, kind] of Object.entries(shape)) {
    const optional = key.endsWith("?");
    const name = optional ? key.slice(0, -1) : key;
    allowed.add(name);
    const value = msg[name];
    if (value === undefined || value === null) {
      if (optional) continue;
      return null;
    }
    if (!kinds[kind](value)) return null;
  }
  for (const key of Object.keys(msg)) if (!allowed.has(key)) return null;
  return msg;
}

/** A fresh message id. */
export function newId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
