// Starts the real parts for the browser tests and the demo: the bank binary, two edge vendors
// in workerd (`wrangler dev`), and the wallet origin (static www/ plus the bank's API), each
// in its own process group so that it can be stopped whole (TERM, poll, KILL).

import { spawn } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, openSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const OPERATOR_TOKEN = "wallet-test-operator-token";
// The pages served (the wallet, pay.js, the shops); another copy can be named to test an older build.
export const WWW = resolve(process.env.NETCENTS_WWW ?? join(ROOT, "www"));
const HOST = "127.0.0.1";

const groups = [];
const scratchDirs = [];

/** A fresh directory, removed by `stopAll` unless WALLET_KEEP_SCRATCH is set (logs live there). */
export function scratch(tag) {
  const parent = process.env.WALLET_SCRATCH ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, `netcents-${tag}-`));
  scratchDirs.push(dir);
  return dir;
}

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function spawnGroup(name, cmd, args, opts) {
  const log = openSync(opts.log, "a");
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, detached: true, stdio: ["ignore", log, log] });
  const g = { name, child, log: opts.log, exited: false };
  child.on("exit", () => (g.exited = true));
  groups.push(g);
  return g;
}

function tail(g) {
  try {
    return readFileSync(g.log, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(g, what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (g.exited) throw new Error(`${g.name} exited before ${what}:\n${tail(g)}`);
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${g.name}: ${what} timed out:\n${tail(g)}`);
    await sleep(100);
  }
}

/** Stops every process group started here: TERM, poll until gone, then KILL. */
export async function stopAll() {
  for (const g of groups.splice(0).reverse()) {
    if (g.server) {
      g.server.closeAllConnections?.();
      await new Promise((r) => g.server.close(r));
      continue;
    }
    if (g.exited || !(g.child.pid > 0)) continue;
    try {
      process.kill(-g.child.pid, "SIGTERM");
    } catch {
      continue;
    }
    const deadline = Date.now() + 5000;
    while (!g.exited && Date.now() < deadline) await sleep(100);
    if (!g.exited) {
      try {
        process.kill(-g.child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  if (!process.env.WALLET_KEEP_SCRATCH) {
    for (const d of scratchDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

// ---- the bank -------------------------------------------------------------------------------

export function bankBinary() {
  const candidates = [process.env.NETCENTS_BANK_BIN, join(ROOT, "target/debug/netcents-bank"), join(ROOT, "target/release/netcents-bank")].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the bank binary is missing (${candidates.join(", ")}): run cargo build -p netcents-bank`);
  return found;
}

/**
 * Starts the bank. `dir`: where it keeps its database and keys (kept across restarts; a
 * scratch folder by default); `sweepSecs`: how often it sweeps (expiry, recalls, audits,
 * rulings; 0, the tests' default, sweeps only when asked); `port`: a fixed port (a free one by
 * default).
 */
export async function startBank({ dir = scratch("bank"), sweepSecs = 0, port } = {}) {
  mkdirSync(dir, { recursive: true });
  port ??= await freePort();
  const url = `http://${HOST}:${port}`;
  const g = spawnGroup("the bank", bankBinary(), [
    "--database-url", `sqlite://${dir}/bank.db`, "--key-dir", join(dir, "keys"), "serve", "--listen", `${HOST}:${port}`,
    "--operator-token", OPERATOR_TOKEN, "--sweep-secs", String(sweepSecs), "--dev-origins",
  ], { cwd: dir, log: join(dir, "bank.log"), env: { RUST_LOG: "warn" } });
  await waitUntil(g, "/healthz", async () => (await fetch(`${url}/healthz`)).ok, 30_000);
  return { url, dir };
}

async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}

export async function bankCall(bank, method, path, body, operator = false) {
  const res = await fetch(`${bank.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(operator ? { authorization: `Bearer ${OPERATOR_TOKEN}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await json(res) };
}

export async function deposit(bank, account, micros) {
  const r = await bankCall(bank, "POST", "/v1/operator/deposit", { idempotency_key: randomBytes(12).toString("hex"), account, amount_micros: micros }, true);
  if (r.status !== 200) throw new Error(`deposit: ${r.status} ${JSON.stringify(r.body)}`);
}

// ---- Ed25519 in Node, for the vendors' onboarding (the wallet signs in WASM) ------------------

function keyFromSeed(seed) {
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const pub = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(-32);
  return { key, pub };
}

const b64url = (b) => Buffer.from(b).toString("base64url");
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };

/** The canonical bytes of `AccountRequest { RegisterVendor }`, signed (docs/PROTOCOL.md §3, §4.11). */
function registerVendorRequest(accountHex, signer, vendorPub, origins) {
  const body = Buffer.concat([
    Buffer.from([1, 11]), Buffer.from(accountHex, "hex"), randomBytes(16), u64(Date.now()),
    Buffer.from([1]), vendorPub, u32(origins.length),
    ...origins.flatMap((o) => [u32(Buffer.byteLength(o)), Buffer.from(o)]),
  ]);
  const msg = Buffer.concat([Buffer.from("NetCents/1 account-request/account-key\0"), body]);
  return Buffer.concat([body, sign(null, msg, signer.key)]);
}

/** The account key's signature over its own opening (core/src/auth.rs, `Message::open_account`). */
function accountProof(kind, signer, idempotencyKey) {
  const text = (t) => [u32(Buffer.byteLength(t)), Buffer.from(t)];
  const msg = Buffer.concat([
    Buffer.from("NetCents/1 open-account/account-key\0"), ...text(kind), signer.pub, ...text(idempotencyKey),
  ]);
  return sign(null, msg, signer.key);
}

/** Opens a vendor account, funds its bond and registers the vendor answering at `origin`. */
export async function onboardVendor(bank, origin) {
  const account = keyFromSeed(randomBytes(32));
  const idempotencyKey = randomBytes(12).toString("hex");
  const opened = await bankCall(bank, "POST", "/v1/accounts", {
    idempotency_key: idempotencyKey, kind: "vendor", public_key: account.pub.toString("hex"),
    signature: b64url(accountProof("vendor", account, idempotencyKey)),
  });
  if (opened.status !== 200) throw new Error(`vendor account: ${JSON.stringify(opened.body)}`);
  await deposit(bank, opened.body.account, 20_000_000);
  const seed = randomBytes(32);
  const vendor = keyFromSeed(seed);
  const request = registerVendorRequest(opened.body.account, account, vendor.pub, [origin]);
  const reg = await bankCall(bank, "POST", "/v1/vendors", { request: b64url(request) });
  if (reg.status !== 200) throw new Error(`vendor registration: ${JSON.stringify(reg.body)}`);
  return { vendor: reg.body.vendor, cert: reg.body.vendor_cert, seedHex: seed.toString("hex"), account: opened.body.account };
}

// ---- vendors in workerd -------------------------------------------------------------------------

export function workerMain() {
  const main = join(ROOT, "edge-vendor/build/index.js");
  if (!existsSync(main)) throw new Error(`the edge vendor is not built (${main}): run edge_build from scripts/edge.sh`);
  return main;
}

/** Copies a shop's pages for a vendor, with the wallet's origin written into the pay.js tag. */
function shopAssets(shop, walletOrigin) {
  const out = scratch(`${shop}-assets`);
  cpSync(join(WWW, shop), out, { recursive: true });
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".html")) writeFileSync(p, readFileSync(p, "utf8").replaceAll("__NETCENTS_WALLET__", walletOrigin));
    }
  };
  walk(out);
  rmSync(join(out, "prices.json"));
  return out;
}

/** The demo shops' names, as their vendors name themselves in their offers' labels. */
export const SHOP_NAMES = { "shop-a": "The Daily Fraction", "shop-b": "Orbit Notes" };

/**
 * Registers a vendor selling `www/<shop>` and starts it in workerd. `scheduled`: it gets its
 * cron trigger (the capture run) and `capture()` fires it, as Cloudflare would on schedule.
 * `vars`: more `[vars]` of the Worker (e.g. `CAPTURE_TOKEN`).
 */
export async function startVendor(bank, shop, walletOrigin, { scheduled = false, port, vars = {} } = {}) {
  const dir = scratch(shop);
  port ??= await freePort();
  const url = `http://${HOST}:${port}`;
  const creds = await onboardVendor(bank, url);
  const prices = readFileSync(join(WWW, shop, "prices.json"), "utf8").trim();
  writeFileSync(join(dir, ".dev.vars"), `VENDOR_KEY=${creds.seedHex}\nVENDOR_CERT=${creds.cert}\nVENDOR_ID=${creds.vendor}\n`);
  writeFileSync(join(dir, "wrangler.toml"), `name = "netcents-${shop}"
main = "${workerMain()}"
compatibility_date = "2026-04-01"
[assets]
directory = "${shopAssets(shop, walletOrigin)}"
binding = "ASSETS"
run_worker_first = true
html_handling = "none"
not_found_handling = "none"
[vars]
BANK_URL = "${bank.url}"
CURRENCY = "USD"
PRICES = '${prices}'
ACCESS_TTL_SECONDS = "600"
OFFER_TTL_SECONDS = "300"
SHOP_NAME = "${SHOP_NAMES[shop] ?? shop}"
ORIGIN_URL = ""
${Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(String(v))}\n`).join("")}[[durable_objects.bindings]]
name = "SCRIP"
class_name = "ScripCustody"
[[durable_objects.bindings]]
name = "BOOK"
class_name = "VendorBook"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["ScripCustody", "VendorBook"]
${scheduled ? '[triggers]\ncrons = ["*/5 * * * *"]\n' : ""}`);
  const wrangler = join(ROOT, "js/node_modules/.bin/wrangler");
  if (!existsSync(wrangler)) throw new Error("wrangler is missing: run (cd js && npm ci)");
  const g = spawnGroup(`wrangler dev (${shop})`, wrangler, [
    "dev", "--local", "-c", "wrangler.toml", "--ip", HOST, "--port", String(port), "--inspector-port", String(await freePort()),
    "--persist-to", join(dir, "state"), "--show-interactive-dev-session=false", "--log-level", "warn",
    ...(scheduled ? ["--test-scheduled"] : []),
  ], {
    cwd: dir, log: join(dir, "wrangler.log"),
    env: { CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true", WRANGLER_LOG_PATH: join(dir, "logs"), WRANGLER_REGISTRY_PATH: join(dir, "registry"), XDG_CONFIG_HOME: join(dir, "config") },
  });
  await waitUntil(g, "/netcents/v1/vendor", async () => (await fetch(`${url}/netcents/v1/vendor`)).status === 200, 90_000);
  // The capture run, as the cron trigger starts it (`wrangler dev` runs triggers on request).
  const capture = async () => (await fetch(`${url}/__scheduled?cron=*/5+*+*+*+*`)).ok;
  return { url, port, shop, ...creds, dir, capture };
}

// ---- vendors on their own server ------------------------------------------------------------

/** The `netcents-vendor` binary: `NETCENTS_VENDOR_BIN`, or the debug or release build. */
export function vendorBinary() {
  const candidates = [process.env.NETCENTS_VENDOR_BIN, join(ROOT, "target/debug/netcents-vendor"), join(ROOT, "target/release/netcents-vendor")].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the server vendor binary is missing (${candidates.join(", ")}): run cargo build -p netcents-vendor`);
  return found;
}

/**
 * Registers a vendor selling `www/<shop>` and starts it on its own server (`netcents-vendor
 * serve` over the shop's files, SQLite), at `www/<shop>/prices.json` or `prices` (the PRICES
 * JSON); with `upstream`, in front of the app at that URL instead (`--upstream`). The same HTTP
 * contract as the Worker's, from the other vendor kind.
 */
export async function startServerVendor(bank, shop, walletOrigin, { port, prices, upstream } = {}) {
  const dir = scratch(`${shop}-server`);
  port ??= await freePort();
  const url = `http://${HOST}:${port}`;
  const creds = await onboardVendor(bank, url);
  prices ??= readFileSync(join(WWW, shop, "prices.json"), "utf8").trim();
  writeFileSync(join(dir, ".dev.vars"), `VENDOR_KEY=${creds.seedHex}\nVENDOR_CERT=${creds.cert}\nVENDOR_ID=${creds.vendor}\nBANK_URL=${bank.url}\nCURRENCY=USD\nPRICES=${prices}\nACCESS_TTL_SECONDS=600\nOFFER_TTL_SECONDS=300\nSHOP_NAME=${SHOP_NAMES[shop] ?? shop}\n`);
  const g = spawnGroup(`netcents-vendor (${shop})`, vendorBinary(), [
    "serve", "--listen", `${HOST}:${port}`, ...(upstream ? ["--upstream", upstream] : ["--content", shopAssets(shop, walletOrigin)]), "--db", join(dir, "vendor.db"),
    "--vars", join(dir, ".dev.vars"), "--settle-secs", "0",
  ], { cwd: dir, log: join(dir, "vendor.log"), env: { RUST_LOG: "warn" } });
  await waitUntil(g, "/netcents/v1/vendor", async () => (await fetch(`${url}/netcents/v1/vendor`)).status === 200, 30_000);
  return { url, port, shop, ...creds, dir };
}

// ---- the wallet's origin ---------------------------------------------------------------------

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".ts": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png" };
export const FAUCET_MICROS = 5_000_000;

/**
 * The wallet's origin: `www/` as static files (pay.js and its imports readable cross-origin,
 * since shop pages load pay.js as a module), the bank's `/v1/` API proxied (the bank serves the
 * wallet in production, so the wallet calls it same-origin), and, with `demo`, a faucet that
 * deposits play money into the customer's account (an operator's action, for the demo only).
 * `host`: the wallet's one name; a request for another name of the same server (127.0.0.1 for
 * localhost, say) is sent there, since another name is another origin, so another, empty wallet.
 */
export async function startWalletOrigin(bank, { port, demo = true, host } = {}) {
  port ??= await freePort();
  const www = WWW;
  if (!existsSync(join(www, "pkg/netcents_wasm_wallet_bg.wasm"))) throw new Error("www/pkg is missing: run wallet_build (scripts/wallet.sh)");
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (host && req.headers.host !== `${host}:${port}` && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(308, { location: `http://${host}:${port}${req.url}` });
      res.end();
      return;
    }
    try {
      if (url.pathname.startsWith("/v1/") || url.pathname === "/healthz") {
        const body = req.method === "GET" || req.method === "HEAD" ? undefined : await new Promise((r) => { const c = []; req.on("data", (d) => c.push(d)); req.on("end", () => r(Buffer.concat(c))); });
        const up = await fetch(`${bank.url}${url.pathname}${url.search}`, { method: req.method, headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body });
        res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/json" });
        res.end(Buffer.from(await up.arrayBuffer()));
        return;
      }
      if (demo && url.pathname.startsWith("/demo/")) return demoRoute(bank, req, res, url);
      let path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
      if (path.endsWith("/")) path += "index.html";
      const file = join(www, path);
      if (!file.startsWith(www) || !existsSync(file) || statSync(file).isDirectory()) {
        res.writeHead(url.pathname === "/" ? 302 : 404, url.pathname === "/" ? { location: "/wallet/" } : { "content-type": "text/plain" });
        res.end(url.pathname === "/" ? "" : "not found");
        return;
      }
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "access-control-allow-origin": "*", "cache-control": "no-store", "x-content-type-options": "nosniff" });
      res.end(readFileSync(file));
    } catch (e) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "unreachable", hint: String(e.message ?? e) }));
    }
  });
  await new Promise((r) => server.listen(port, HOST, r));
  groups.push({ name: "wallet origin", server });
  return { port, server };
}

async function demoRoute(bank, req, res, url) {
  const send = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === "/demo/info") return send(200, { faucet: true, faucet_micros: FAUCET_MICROS });
  const account = url.pathname.match(/^\/demo\/account\/([0-9a-f]{32})$/);
  if (account) {
    const r = await bankCall(bank, "GET", `/v1/operator/accounts/${account[1]}`, undefined, true);
    return send(r.status, r.status === 200 ? { balance_micros: r.body.balance_micros } : r.body);
  }
  if (url.pathname === "/demo/faucet" && req.method === "POST") {
    const body = JSON.parse(await new Promise((r) => { let s = ""; req.on("data", (d) => (s += d)); req.on("end", () => r(s || "{}")); }));
    if (!/^[0-9a-f]{32}$/.test(body.account ?? "")) return send(400, { code: "bad_field", hint: "account: 32 hex digits" });
    await deposit(bank, body.account, FAUCET_MICROS);
    return send(200, { deposited_micros: FAUCET_MICROS });
  }
  return send(404, { code: "unknown_route", hint: url.pathname });
}

export const sha256 = (b) => createHash("sha256").update(b).digest("hex");
