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
  const vendor = options.vendor ?? openVendor(options);
  const middleware = async (c, next) => {
    if (vendor.internal(c.req.header(INTERNAL_HEADER))) return next();
    const url = new URL(c.req.url);
    const r = vendor.route(c.req.method, url.pathname);
    if (r.kind === "answer") return response(r);
    if (r.kind === "pass") return next();
    const body = c.req.method === "POST" ? new Uint8Array(await c.req.arrayBuffer()) : null;
    const out = await vendor.respond(c.req.method, url.pathname, [...c.req.raw.headers], body);
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
