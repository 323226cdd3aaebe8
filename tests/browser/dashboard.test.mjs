// The dashboards in Chromium, against the real bank and a real server vendor
// (`netcents-vendor serve`): the command-line wallet pays some articles, the vendor captures
// (every claim audited: the bank runs with a 100% audit floor, and the capture run answers the
// audit), then pays one more that stays pending; the operator's dashboard (the bank's
// /dashboard/) and the vendor's (/netcents/v1/dashboard) must ask for their token, refuse a
// wrong one saying so, draw their charts, show the books' figures in their summaries, pass
// axe-core, and fit a 390 px screen. A Worker vendor (workerd) serves the same vendor
// dashboard: the wallet's scrip floats to it for one more article, pending there.
//
// Needs: cargo build -p netcents-bank -p netcents-vendor -p netcents-cli; the Worker built
// (edge_build, scripts/edge.sh); (cd js && npm ci)
// for playwright-core, axe-core and uPlot; Chromium at /usr/bin/chromium (or $CHROMIUM).
// Screenshots go to $WALLET_ARTIFACTS (default target/wallet-e2e): dashboard-operator.png,
// dashboard-vendor.png, dashboard-390.png.

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "../../js/node_modules/playwright-core/index.mjs";
import { OPERATOR_TOKEN, ROOT, WWW, bankCall, deposit, freePort, onboardVendor, scratch, startBank, startVendor, stopAll } from "./harness.mjs";

const ARTIFACTS = process.env.WALLET_ARTIFACTS ?? join(ROOT, "target/wallet-e2e");
mkdirSync(ARTIFACTS, { recursive: true });
const CAPTURE_TOKEN = "dashboard-test-capture-token";
const CHART_LIB = join(ROOT, "js/node_modules/uplot/dist");

// The bank (started by the harness, which passes the environment on) serves the dashboard
// from the repository and uPlot from npm's folder, and audits every claim.
process.env.NETCENTS_DASHBOARD_DIR = join(ROOT, "www/dashboard");
process.env.NETCENTS_CHART_LIB_DIR = CHART_LIB;
process.env.NETCENTS_AUDIT_FLOOR_PPM = "1000000";

function binary(name, crate) {
  const p = join(ROOT, "target/debug", name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run cargo build -p ${crate}`);
  return p;
}

let bank;
let vendor;
let vendorProc;
let browser;
const errors = [];

/** The server vendor selling www/shop-a, with a capture token; settles only when asked. */
async function startServerVendor() {
  const dir = scratch("server-vendor");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const creds = await onboardVendor(bank, url);
  const content = join(dir, "content");
  cpSync(join(WWW, "shop-a"), content, { recursive: true });
  const log = openSync(join(dir, "vendor.log"), "a");
  vendorProc = spawn(binary("netcents-vendor", "netcents-vendor"), [
    "serve", "--listen", `127.0.0.1:${port}`, "--content", content, "--db", join(dir, "vendor.db"), "--settle-secs", "0",
  ], {
    cwd: dir, detached: true, stdio: ["ignore", log, log],
    env: {
      ...process.env, RUST_LOG: "warn", BANK_URL: bank.url, CURRENCY: "USD", CAPTURE_TOKEN,
      VENDOR_KEY: creds.seedHex, VENDOR_CERT: creds.cert, VENDOR_ID: creds.vendor,
      PRICES: readFileSync(join(WWW, "shop-a/prices.json"), "utf8").trim(),
    },
  });
  let exited = false;
  vendorProc.on("exit", () => (exited = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`the vendor exited:\n${readFileSync(join(dir, "vendor.log"), "utf8")}`);
    try {
      if ((await fetch(`${url}/netcents/v1/vendor`)).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("the vendor did not start in 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, ...creds };
}

/** The command-line wallet, its file in a scratch folder; `--json` answers parsed. */
function wallet(file) {
  const cli = binary("netcents", "netcents-cli");
  return (...args) => JSON.parse(execFileSync(cli, ["--wallet", file, "--json", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } }));
}

async function capture() {
  const res = await fetch(`${vendor.url}/netcents/v1/capture`, { method: "POST", headers: { authorization: `Bearer ${CAPTURE_TOKEN}` } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

async function assertAccessible(page, what) {
  await page.addScriptTag({ path: join(ROOT, "js/node_modules/axe-core/axe.min.js") });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  });
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
}

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** The figure a summary card shows, as the page's data attributes carry it. */
const figure = (page, id, what = "micros") => page.getAttribute(`#${id}`, `data-${what}`).then(Number);

async function signIn(page, token) {
  await page.fill("#token", token);
  await page.click("#token-form button[type=submit]");
}

let paid;
let captured;
let w;

before(async () => {
  assert.ok(existsSync(join(CHART_LIB, "uPlot.iife.min.js")), "uPlot is missing: run (cd js && npm ci)");
  bank = await startBank();
  vendor = await startServerVendor();
  // A customer: an account with 5.00, a scrip of 1.00, three articles paid.
  w = wallet(join(scratch("cli-wallet"), "wallet.json"));
  const opened = w("init", "--bank", bank.url);
  const account = opened.account ?? opened.account_id;
  assert.match(account ?? "", /^[0-9a-f]{32}$/, JSON.stringify(opened));
  await deposit(bank, account, 5_000_000);
  w("buy", "1.00");
  const articles = ["tiny-payments", "harbour-lights", "night-trains"].map((a) => `${vendor.url}/article/${a}.html`);
  paid = w("pay", "--max", "0.05", ...articles);
  captured = await capture();
  assert.equal(captured.credited_micros, 3 * 2500, JSON.stringify(captured));
  assert.equal(captured.audits_answered, 1, "every claim is audited and the run answers it");
  // One more payment, not captured: pending at the vendor (an article read again within its
  // access period costs nothing).
  w("pay", "--max", "0.05", `${vendor.url}/article/premium-investigation.html`, `${vendor.url}/article/tiny-payments.html`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (vendorProc?.pid && vendorProc.exitCode === null) {
    try {
      process.kill(-vendorProc.pid, "SIGTERM");
    } catch {
      // gone
    }
    await new Promise((r) => (vendorProc.exitCode !== null ? r() : vendorProc.once("exit", r)));
  }
  await stopAll();
});

async function newPage(width = 1200, height = 900) {
  // axe-core goes in as an inline script, which the dashboards' CSP refuses: the test's own
  // script only is let past it.
  const page = await browser.newPage({ viewport: { width, height }, bypassCSP: true });
  // The 401 of the wrong token each test sends on purpose is the one error expected.
  page.on("console", (m) => m.type() === "error" && !/status of 401/.test(m.text()) && errors.push(`[${page.url()}] ${m.text()}`));
  page.on("pageerror", (e) => errors.push(`[${page.url()}] ${e.message}`));
  return page;
}

test("the operator's dashboard asks for the token, charts the books and matches them", async () => {
  assert.ok(paid, "the payments ran");
  const books = await bankCall(bank, "GET", "/v1/operator/series?minutes=60", undefined, true);
  assert.equal(books.status, 200, JSON.stringify(books.body));
  const check = await bankCall(bank, "GET", "/v1/operator/check", undefined, true);
  assert.equal(check.body.balanced, true, JSON.stringify(check.body));

  const page = await newPage();
  await page.goto(`${bank.url}/dashboard/`);
  await page.waitForSelector("#token-form");
  await assertAccessible(page, "the operator's sign-in");
  // A wrong token is refused, and the page says so.
  await signIn(page, "not-the-token");
  await page.waitForSelector("#token-error");
  assert.match(await page.textContent("#token-error"), /refused.*wrong operator token/i);
  await signIn(page, OPERATOR_TOKEN);
  await page.waitForSelector("#sum-captured");
  await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 3);

  assert.equal(await figure(page, "sum-float"), Number(check.body.float_micros), "the float is the books' float");
  assert.equal(await figure(page, "sum-float"), books.body.float_micros.at(-1));
  assert.equal(await figure(page, "sum-captured"), 3 * 2500);
  assert.equal(await figure(page, "sum-captured"), books.body.captured.total_micros);
  assert.equal(await figure(page, "sum-captured", "count"), books.body.captured.total_count);
  assert.equal(await figure(page, "sum-issued"), books.body.issued.total_micros);
  assert.equal(await figure(page, "sum-issued", "count"), 1);
  assert.equal(await figure(page, "sum-audits", "count"), 1);
  assert.match(await page.textContent("#sum-captured"), /\$0\.0075/);
  assert.match(await page.textContent("#top-vendors"), new RegExp(vendor.vendor.slice(0, 8)));
  assert.match(await page.textContent("#summary-money"), /\$0\.0075 captured in 1 capture/);
  // Each chart is labelled by its caption; its table has the figures.
  for (const id of ["float", "money", "events", "penalties"]) {
    const labelled = await page.getAttribute(`#chart-${id}`, "aria-labelledby");
    assert.equal(labelled, `cap-${id}`);
    assert.equal(await page.getAttribute(`#chart-${id}`, "role"), "img");
  }
  await page.click("#fig-money details summary");
  assert.match(await page.textContent("#fig-money table"), /\$0\.0075/);
  await assertAccessible(page, "the operator's dashboard");
  await shot(page, "dashboard-operator");

  // The token stays for the tab: a reload needs no sign-in.
  await page.reload();
  await page.waitForSelector("#sum-captured");
  assert.equal(await page.$("#token-form"), null);

  // A phone's width: one column, nothing wider than the screen, the charts redrawn to fit.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => [...document.querySelectorAll(".chart canvas")].every((c) => c.getBoundingClientRect().right <= 390));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `the page is ${overflow} px wide on a 390 px screen`);
  await assertAccessible(page, "the operator's dashboard at 390 px");
  await shot(page, "dashboard-390");
  await page.close();
});

test("the vendor's dashboard shows its captured and pending takings behind its capture token", async () => {
  const page = await newPage();
  // The data is not public.
  const open = await fetch(`${vendor.url}/netcents/v1/dashboard/data`);
  assert.equal(open.status, 401);
  assert.equal((await open.json()).code, "unauthorized");

  await page.goto(`${vendor.url}/netcents/v1/dashboard`);
  await page.waitForSelector("#token-form");
  await signIn(page, "wrong");
  await page.waitForSelector("#token-error");
  assert.match(await page.textContent("#token-error"), /refused.*wrong capture token/i);
  await signIn(page, CAPTURE_TOKEN);
  await page.waitForSelector("#sum-pending");
  await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 3);
  assert.equal(await figure(page, "sum-captured"), captured.credited_micros);
  assert.equal(await figure(page, "sum-audits", "count"), 1);
  assert.equal(await figure(page, "sum-pending"), 50_000, "the payment after the capture");
  assert.equal(await figure(page, "sum-pending", "count"), 1, "one scrip");
  const own = await bankCall(bank, "GET", `/v1/vendors/${vendor.vendor}/series?minutes=60`, undefined, true);
  assert.equal(await figure(page, "sum-captured"), own.body.captured.total_micros);
  assert.equal(await page.$("#sum-float"), null, "no operator figures here");
  await assertAccessible(page, "the vendor's dashboard");
  await shot(page, "dashboard-vendor");
  await page.close();
  assert.deepEqual(errors, [], "no console error on either dashboard");
});

test("a Worker vendor serves the same dashboard, with its own pending takings", async () => {
  const worker = await startVendor(bank, "shop-b", "http://wallet.invalid", { vars: { CAPTURE_TOKEN } });
  // The scrip the server vendor holds floats to the Worker for one article of 0.0015.
  w("pay", "--max", "0.01", `${worker.url}/article/europa-ice.html`);
  const open = await fetch(`${worker.url}/netcents/v1/dashboard/data`);
  assert.equal(open.status, 401);
  assert.equal((await open.json()).code, "unauthorized");
  const page = await newPage(800, 900);
  await page.goto(`${worker.url}/netcents/v1/dashboard`);
  await page.waitForSelector("#token-form");
  await signIn(page, CAPTURE_TOKEN);
  await page.waitForSelector("#sum-pending");
  await page.waitForFunction(() => document.querySelectorAll(".chart canvas").length >= 3);
  assert.equal(await figure(page, "sum-pending"), 1500);
  assert.equal(await figure(page, "sum-pending", "count"), 1);
  assert.equal(await figure(page, "sum-captured"), 0, "the Worker captured nothing yet");
  assert.equal(await page.$("#problem:not([hidden])"), null, "the bank's figures came");
  await assertAccessible(page, "the Worker's dashboard");
  await shot(page, "dashboard-worker");
  await page.close();
  assert.deepEqual(errors, [], "no console error on the Worker's dashboard");
});
