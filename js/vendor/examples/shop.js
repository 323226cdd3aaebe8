// A shop on its own server, in one command: a folder of content whose priced paths are sold
// for NetCents payments, with Express or with Hono.
//
//   node examples/shop.js --framework express --port 8788 --vars .dev.vars --content ./public --db shop.log
//
// `--upstream URL` serves what the folder does not have from the app at URL (path and query
// forwarded; its status, content type, `X-NetCents-Units` and body come back): an API sold by
// the unit reports there what it delivered.
//
// The configuration is what `netcents-vendor onboard` writes (VENDOR_KEY, VENDOR_CERT,
// VENDOR_ID) with BANK_URL, PRICES, … (the environment overrides the file).

import path from "node:path";
import fs from "node:fs";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    framework: { type: "string", default: "express" },
    port: { type: "string", default: "8788" },
    host: { type: "string", default: "127.0.0.1" },
    vars: { type: "string", default: ".dev.vars" },
    content: { type: "string", default: "public" },
    db: { type: "string", default: "shop.log" },
    "settle-secs": { type: "string", default: "60" },
    upstream: { type: "string" },
  },
});
const port = Number(a.port);
const content = path.resolve(a.content);
const self = `http://${a.host}:${port}`;
const options = { vars: a.vars, db: a.db, self, settleEvery: Number(a["settle-secs"]) * 1000 };
const types = { ".html": "text/html; charset=utf-8", ".json": "application/json", ".txt": "text/plain; charset=utf-8" };

// The content's file for a canonical item name, or nothing (names never leave the folder).
function file(item) {
  const f = path.join(content, item);
  return f.startsWith(content + path.sep) && fs.existsSync(f) && fs.statSync(f).isFile() ? f : null;
}
options.exists = async (item) => file(item) !== null || (await upstream(item))?.status === 200;

// The upstream app's answer to `GET pathAndQuery`, or nothing without one.
async function upstream(pathAndQuery) {
  if (!a.upstream) return null;
  const res = await fetch(new URL(pathAndQuery, a.upstream));
  const headers = {};
  for (const h of ["content-type", "x-netcents-units"]) {
    const v = res.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
}
const unknown = (p) => ({ code: "unknown_route", hint: `${p} is not sold and only GET serves free content` });

let server;
if (a.framework === "express") {
  const { default: express } = await import("express");
  const { netcents } = await import("@netcents/vendor/express");
  const app = express();
  app.use(netcents(options));
  app.get("/{*any}", async (req, res) => {
    const f = file(req.path);
    const up = f ? null : await upstream(req.url);
    if (up) return res.status(up.status).set(up.headers).send(up.body);
    if (!f) return res.status(404).json({ code: "not_found", hint: `no content named ${req.path}` });
    res.type(types[path.extname(f)] ?? "application/octet-stream").send(fs.readFileSync(f));
  });
  // Anything else is an error answer ({code, hint}), as the other vendor kinds answer.
  app.use((req, res) => res.status(404).json(unknown(req.path)));
  server = app.listen(port, a.host);
} else if (a.framework === "hono") {
  const { Hono } = await import("hono");
  const { serve } = await import("@hono/node-server");
  const { netcents } = await import("@netcents/vendor/hono");
  const app = new Hono();
  app.use(netcents({ ...options, app }));
  app.get("*", async (c) => {
    const url = new URL(c.req.url);
    const f = file(url.pathname);
    const up = f ? null : await upstream(url.pathname + url.search);
    if (up) return c.body(up.body, up.status, up.headers);
    if (!f) return c.json({ code: "not_found", hint: `no content named ${c.req.path}` }, 404);
    return c.body(fs.readFileSync(f), 200, { "content-type": types[path.extname(f)] ?? "application/octet-stream" });
  });
  app.notFound((c) => c.json(unknown(c.req.path), 404));
  server = serve({ fetch: app.fetch, port, hostname: a.host });
} else {
  console.error(`--framework must be express or hono, not ${a.framework}`);
  process.exit(2);
}
console.log(`netcents shop (${a.framework}) on ${self}`);
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => { server.close(); process.exit(0); });
