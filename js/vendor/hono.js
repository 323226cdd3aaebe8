// Hono middleware: sells the priced paths of a Hono app for NetCents payments (Node; the
// engine reads its WebAssembly from disk).
//
//   import { Hono } from "hono";
//   import { netcents } from "@netcents/vendor/hono";
//   const app = new Hono();
//   app.use(netcents({ app, vars: ".dev.vars", db: "vendor.log", settleEvery: 60_000 }));
//   app.get("/paid/article.html", (c) => c.text("A paid article"));
//
// `app` lets a payment sent as a POST (or to a path written another way) be served by the
// app's GET route of the item.

import { openVendor, INTERNAL_HEADER } from "./index.js";

const BODY_LIMIT = 1 << 20;

// The request's body, at most 1 MiB (a payment bundle, a transfer request).
async function body(req) {
  const chunks = [];
  let size = 0;
  if (req.body) {
    for await (const c of req.body) {
      size += c.length;
      if (size > BODY_LIMIT) return null;
      chunks.push(c);
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function response(a) {
  return new Response(a.status === 204 ? null : a.body, { status: a.status, headers: a.headers });
}

function withHeaders(res, extra) {
  const h = new Headers(res.headers);
  for (const [k, v] of extra) h.append(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
}

/** The middleware; `options` as `openVendor`'s with `app`, or `{ vendor, app }`. */
export function netcents(options = {}) {
  // An item sold by the unit is read from the app itself while its order is open.
  const deliver = options.deliver ?? (options.app && (async (item, query) => {
    const res = await options.app.request(query ? `${item}?${query}` : item, { headers: vendor.internalHeaders() });
    return { status: res.status, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) };
  }));
  const vendor = options.vendor ?? openVendor({ ...options, deliver });
  const middleware = async (c, next) => {
    try {
      return await sell(c, next);
    } catch (e) {
      // The engine answers every error it knows; this is the host failing (the store, the
      // network stack): an error answer, not the framework's page.
      console.error("netcents vendor:", e);
      return Response.json(
        { code: "internal", hint: "the vendor failed to answer; send the same request again" },
        { status: 500 },
      );
    }
  };
  const sell = async (c, next) => {
    if (vendor.internal(c.req.header(INTERNAL_HEADER))) return next();
    const url = new URL(c.req.url);
    const r = vendor.route(c.req.method, url.pathname);
    if (r.kind === "answer") return response(r);
    if (r.kind === "pass") return next();
    let b = null;
    if (c.req.method === "POST") {
      b = await body(c.req.raw);
      if (b === null) {
        return Response.json({ code: "bad_json", hint: "the body is larger than 1 MiB" }, { status: 400 });
      }
    }
    const out = await vendor.respond(c.req.method, url.pathname, [...c.req.raw.headers], b, url.search.slice(1));
    if (out.kind === "answer") return response(out);
    if (c.req.method === "GET" && r.item === url.pathname) {
      await next();
      c.res = withHeaders(c.res, out.headers);
      return;
    }
    if (!options.app) {
      return Response.json(
        { code: "internal", hint: "the vendor cannot serve this payment: pass `app` to netcents()" },
        { status: 500 },
      );
    }
    const res = await options.app.request(r.item + url.search, { headers: vendor.internalHeaders() });
    return withHeaders(res, out.headers);
  };
  middleware.vendor = vendor;
  return middleware;
}
