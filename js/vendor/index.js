// @netcents/vendor: the NetCents vendor engine (Rust, in WebAssembly) with a JavaScript host:
// a store, HTTP to the bank and to other vendors, and the app's goods. The engine makes every
// decision (the offer, the payment, the desk, capture, audits, recalls, disputes); this file
// only carries bytes. The Express and Hono middleware (./express.js, ./hono.js) use it.

import fs from "node:fs";
import crypto from "node:crypto";
import { initSync, Vendor } from "./pkg/netcents_vendor_js.js";
import { FileStore } from "./file-store.js";
import { readVars } from "./vars.js";

let ready = false;
function init() {
  if (ready) return;
  const wasm = fs.readFileSync(new URL("./pkg/netcents_vendor_js_bg.wasm", import.meta.url));
  initSync({ module: wasm });
  ready = true;
}

export { FileStore, readVars };

/** The header that lets the vendor read its own app's goods (disputes) without paying. */
export const INTERNAL_HEADER = "x-netcents-internal";

/**
 * Opens a vendor. `options`: `vars` (an object of VENDOR_KEY, VENDOR_CERT, BANK_URL, PRICES…,
 * or the path of a `.dev.vars` file), `store` (default: a FileStore at `options.db`, default
 * `netcents-vendor.log`), `exists(item)` (whether the app has the item; default: yes),
 * `goods(item)` (its bytes for a dispute; default: a GET of the item from `options.self`, the
 * app's own base URL), `deliver(item, query)` (the app's answer `{status, headers, body}` to
 * `GET item?query` for an item sold by the unit, its `X-NetCents-Units` header saying what was
 * delivered; default: that GET from `options.self`), `settleEvery` (ms between settling runs;
 * 0: never, call `settle()`).
 */
export function openVendor(options = {}) {
  init();
  const vars = typeof options.vars === "string" || options.vars === undefined
    ? readVars(options.vars)
    : { ...options.vars };
  const store = options.store ?? FileStore.open(options.db ?? "netcents-vendor.log");
  const secret = crypto.randomBytes(24).toString("base64url");
  const timeoutMs = options.timeoutMs ?? 15000;
  const host = {
    get: (k) => store.get(k),
    list: (p) => store.list(p),
    commit: (e) => store.commit(e),
    async request(method, url, body) {
      const res = await fetch(url, {
        method,
        body: body ?? undefined,
        headers: body ? { "content-type": "application/json" } : {},
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: res.status, text: await res.text() };
    },
    async exists(item) {
      return options.exists ? Boolean(await options.exists(item)) : true;
    },
    async goods(item) {
      if (options.goods) return options.goods(item);
      if (!options.self) return null;
      const res = await fetch(new URL(item, options.self), {
        headers: { [INTERNAL_HEADER]: secret },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return res.ok ? new Uint8Array(await res.arrayBuffer()) : null;
    },
    // An item sold by the unit: the app's whole answer, read while the order is open.
    async deliver(item, query) {
      if (options.deliver) return options.deliver(item, query);
      if (!options.self) return null;
      const res = await fetch(new URL(query ? `${item}?${query}` : item, options.self), {
        headers: { [INTERNAL_HEADER]: secret },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: res.status, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) };
    },
  };
  const engine = new Vendor(vars, host);
  let timer = null;
  const vendor = {
    id: engine.id,
    engine,
    store,
    /** Whether a request carries this process's own secret (its goods for a dispute). */
    /** The header that reads the app's own goods without paying (this process only). */
    internalHeaders: () => ({ [INTERNAL_HEADER]: secret }),
    internal: (value) => typeof value === "string" && value.length === secret.length &&
      crypto.timingSafeEqual(Buffer.from(value), Buffer.from(secret)),
    route: (method, path) => engine.route(method, path),
    respond: (method, path, headers, body, query) =>
      engine.respond(method, path, headers, body ?? undefined, query || undefined),
    settle: () => engine.settle(),
    close() {
      if (timer) clearInterval(timer);
      store.close?.();
    },
  };
  if (options.settleEvery) {
    timer = setInterval(() => {
      vendor.settle().catch((e) => console.warn(`netcents: settling failed: ${e.message}`));
    }, options.settleEvery);
    timer.unref?.();
  }
  return vendor;
}
