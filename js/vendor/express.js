// Express middleware: sells the priced paths of an Express app for NetCents payments.
//
//   import express from "express";
//   import { netcents } from "@netcents/vendor/express";
//   const app = express();
//   app.use(netcents({ vars: ".dev.vars", db: "vendor.log", settleEvery: 60_000 }));
//   app.get("/paid/article.html", (req, res) => res.send("A paid article"));
//
// Put it first: it answers the 402 with a signed offer, takes the payment through the vendor
// engine (stored before the content goes out), adds the receipt and the access token to the
// app's answer, and serves /netcents/v1/ (transfers, recalls, capture, ticks). An item sold by
// the unit is read from the app (`self`, the app's own URL) while its order is open, and
// charged the `X-NetCents-Units` its route sets.

import { openVendor, INTERNAL_HEADER } from "./index.js";

const BODY_LIMIT = 1 << 20;

function pairs(headers) {
  const out = [];
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) for (const x of v) out.push([k, String(x)]);
    else if (v !== undefined) out.push([k, String(v)]);
  }
  return out;
}

function write(res, a) {
  res.status(a.status);
  for (const [k, v] of a.headers) res.append(k, v);
  res.end(Buffer.from(a.body));
}

async function body(req) {
  if (req.body !== undefined && req.body !== null && !(req.body instanceof Buffer) &&
      typeof req.body === "object" && Object.keys(req.body).length) {
    // A JSON body parser ran first.
    return new Uint8Array(Buffer.from(JSON.stringify(req.body)));
  }
  if (req.body instanceof Buffer) return new Uint8Array(req.body);
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > BODY_LIMIT) throw Object.assign(new Error("the body is too large"), { status: 413 });
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The middleware; `options` as `openVendor`'s, or `{ vendor }` for one already open. */
export function netcents(options = {}) {
  const vendor = options.vendor ?? openVendor(options);
  const middleware = async (req, res, next) => {
    try {
      if (vendor.internal(req.get(INTERNAL_HEADER))) return next();
      const q = req.url.indexOf("?");
      const query = q < 0 ? "" : req.url.slice(q);
      const path = q < 0 ? req.url : req.url.slice(0, q);
      const r = vendor.route(req.method, path);
      if (r.kind === "answer") return write(res, r);
      if (r.kind === "pass") {
        // The app sees the one reading of the path the vendor priced.
        req.url = r.item + query;
        return next();
      }
      const b = req.method === "POST" ? await body(req) : null;
      const out = await vendor.respond(req.method, path, pairs(req.headers), b, query.slice(1));
      if (out.kind === "answer") return write(res, out);
      for (const [k, v] of out.headers) res.append(k, v);
      // Paid: the app's GET route serves the item (a payment may come as a POST).
      req.method = "GET";
      req.url = r.item + query;
      return next();
    } catch (e) {
      if (e && e.status === 413) {
        return res.status(400).json({ code: "bad_json", hint: "the body is larger than 1 MiB" });
      }
      // The engine answers every error it knows; this is the host failing (the store, the
      // network stack): an error answer, not the framework's page.
      console.error("netcents vendor:", e);
      return res.status(500).json({ code: "internal", hint: "the vendor failed to answer; send the same request again" });
    }
  };
  middleware.vendor = vendor;
  return middleware;
}
