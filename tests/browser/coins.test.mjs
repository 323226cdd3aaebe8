// Anonymous scrip in the browser wallet, in Chromium, against the real bank (its RSA
// denominations) and a vendor in workerd: the wallet page loads without the coins module; the
// user buys anonymous scrip (the module comes with the first purchase), sees the coins' faces
// and the coins held; a payment no scrip covers is paid with a coin, which becomes its scrip
// only then; the bank's books name no account for that scrip, though the account paid for the
// coins.
//
// Screenshots go to $WALLET_ARTIFACTS (default target/wallet-e2e): 30-wallet-coin-faces.png,
// 31-wallet-coins.png, 32-wallet-approve-with-coin.png, 33-wallet-after-coin-payment.png.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "../../js/node_modules/playwright-core/index.mjs";
import { ROOT, bankBinary, bankCall, freePort, scratch, startBank, startVendor, startWalletOrigin, stopAll } from "./harness.mjs";

const ARTIFACTS = process.env.WALLET_ARTIFACTS ?? join(ROOT, "target/wallet-e2e");
mkdirSync(ARTIFACTS, { recursive: true });

let bank;
let vendor;
let walletOrigin;
let shop;
let ctx;
const coinsFetched = []; // every request for the coins module, page by page
const moduleFetches = []; // every request for a wallet module, with the document that made it
const figures = {}; // timings, written to coins-figures.json beside the screenshots

before(async () => {
  bank = await startBank();
  const walletPort = await freePort();
  walletOrigin = `http://wallet.test:${walletPort}`;
  await startWalletOrigin(bank, { port: walletPort, host: "wallet.test" });
  vendor = await startVendor(bank, "shop-a", walletOrigin);
  shop = `http://shop-a.test:${vendor.port}`;
  ctx = await chromium.launchPersistentContext(scratch("coins-profile"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1200, height: 820 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP wallet.test 127.0.0.1, MAP shop-a.test 127.0.0.1",
    ],
  });
  ctx.on("request", (r) => r.url().includes("netcents_wasm_coins") && coinsFetched.push(r.url()));
  // Which document fetched the full wallet module: the payment window loads its own, smaller one.
  ctx.on("request", (r) => {
    if (/netcents_wasm_(wallet|pay)/.test(r.url())) {
      let from = "";
      try { from = r.frame().url(); } catch { /* a worker: no frame */ }
      moduleFetches.push({ url: r.url(), from });
    }
  });
  ctx.on("requestfinished", (r) => {
    if (r.url().endsWith("/v1/coins/activate")) figures.activate_request_ms = Math.round(r.timing().responseEnd);
    if (r.url().endsWith("netcents_wasm_coins_bg.wasm")) figures.coins_module_fetch_ms = Math.round(r.timing().responseEnd);
  });
  ctx.on("page", (p) => {
    p.on("console", (m) => m.type() === "error" && console.error(`[${p.url()}] ${m.text()}`));
    p.on("pageerror", (e) => console.error(`[${p.url()}] ${e.message}`));
  });
});

after(async () => {
  writeFileSync(join(ARTIFACTS, "coins-figures.json"), `${JSON.stringify(figures, null, 2)}\n`);
  await ctx?.close();
  await stopAll();
});

const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** axe-core's checks (WCAG 2.x A and AA) on the page as it is now: no violation. */
async function assertAccessible(page, what) {
  await page.addScriptTag({ path: join(ROOT, "js/node_modules/axe-core/axe.min.js") });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  });
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
}

async function walletPage(page) {
  await page.goto(`${walletOrigin}/wallet/`);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

async function summary(page) {
  return page.evaluate(async () => {
    const { openWallet } = await import("/wallet/wallet.js");
    return (await openWallet()).summary();
  });
}

/** What the bank's operator sees of a scrip (`netcents-bank scrip show`, on its database). */
function scripShow(id) {
  const out = execFileSync(bankBinary(), ["--database-url", `sqlite://${bank.dir}/bank.db`, "scrip", "show", id, "--json"], { encoding: "utf8" });
  return JSON.parse(out);
}

test("anonymous scrip: bought as coins with the coins module fetched then, paid with at a shop, named by no account", async () => {
  const wallet = await walletPage(ctx.pages()[0] ?? (await ctx.newPage()));
  await wallet.click("#open-account");
  await wallet.waitForSelector("#add-funds");
  await wallet.click("#add-funds");
  await wallet.waitForFunction(() => document.querySelector(".balance-card .sub")?.textContent.includes("$5.00"));
  // A page that buys no coins never fetches the coins module: not on the first load, not on
  // a reload, not with the anonymous choice off.
  await walletPage(wallet);
  assert.deepEqual(coinsFetched, [], "the coins module is not fetched by a page that buys no coins");
  const account = (await summary(wallet)).account;
  const keys = await (await fetch(`${bank.url}/v1/keys`)).json();
  assert.ok(keys.denominations.length >= 12, "the bank publishes its denominations");

  // The anonymous choice shows the faces the amount is bought as, before anything is bought.
  await wallet.check("#buy-anonymous");
  await wallet.selectOption("#buy-amount", "1000000");
  await wallet.waitForFunction(() => document.querySelector("#coin-faces")?.textContent.includes("As 1 coin: $1.00"));
  await wallet.selectOption("#buy-amount", "100000");
  await wallet.waitForFunction(() => document.querySelector("#coin-faces")?.textContent.includes("As 1 coin: 10¢"));
  await shot(wallet, "30-wallet-coin-faces");
  assert.deepEqual(coinsFetched, [], "showing the faces needs no RSA");

  // Buy 10¢, then $1.00, of anonymous scrip: the coins module comes with the first purchase.
  let clicked = Date.now();
  await wallet.click("#buy");
  await wallet.waitForSelector(".toast:not(.bad)");
  figures.first_anonymous_purchase_ms = Date.now() - clicked;
  assert.match(await wallet.textContent(".toast"), /Bought 10¢ of anonymous scrip as a coin \(10¢\)/);
  assert.ok(coinsFetched.some((u) => u.endsWith("netcents_wasm_coins_bg.wasm")), "the first purchase fetched the coins module");
  await wallet.selectOption("#buy-amount", "1000000");
  await wallet.waitForFunction(() => document.querySelector("#coin-faces")?.textContent.includes("$1.00"));
  clicked = Date.now();
  await wallet.click("#buy");
  await wallet.waitForFunction(() => document.querySelector(".toast")?.textContent.includes("$1.00 of anonymous scrip"));
  figures.second_anonymous_purchase_ms = Date.now() - clicked;
  let s = await summary(wallet);
  assert.deepEqual(s.coins.map((c) => c.face_micros).sort((a, b) => a - b), [100_000, 1_000_000]);
  assert.equal(s.minting, 0);
  assert.equal(s.scrips.length, 0, "a coin is no scrip until its first payment");
  assert.equal(s.spendable_micros, 0);
  const account1 = await bankCall(bank, "GET", `/v1/operator/accounts/${account}`, undefined, true);
  assert.equal(account1.body.balance_micros, 5_000_000 - 1_100_000, "the account paid for the coins");
  // The bank has signed the coins blind: it knows no scrip of theirs yet.
  for (const c of s.coins) {
    assert.equal((await bankCall(bank, "GET", `/v1/operator/scrip/${c.scrip_id}`, undefined, true)).status, 404);
  }
  assert.match(await wallet.textContent("#coins-held"), /\+ \$1\.10 in 2 anonymous coins/);
  await wallet.click("[data-tab='scrip']");
  await wallet.waitForSelector("#coins");
  assert.equal(await wallet.locator("#coins tbody tr").count(), 2);
  assert.match(await wallet.textContent("#coins"), /\$1\.00[\s\S]*10¢/);
  await shot(wallet, "31-wallet-coins");
  await assertAccessible(wallet, "the wallet with coins");

  // Another load of the page, with nothing left to ask the bank: no coins module.
  const fetchedBefore = coinsFetched.length;
  const again = await walletPage(await ctx.newPage());
  assert.equal(coinsFetched.length, fetchedBefore, "a page load that buys no coins does not fetch the module");
  await again.close();

  // A payment of 0.25¢ no scrip covers: the least coin that covers it (10¢) becomes its scrip
  // once the user approves, and pays.
  const page = await ctx.newPage();
  await page.goto(`${shop}/read/tiny-payments.html`);
  const button = page.locator("netcents-pay button:not([disabled])");
  await button.getByText("0.25¢").waitFor();
  const [popup] = await Promise.all([page.waitForEvent("popup"), button.click()]);
  await popup.waitForSelector("body[data-state='ask']");
  const fromWindow = moduleFetches.filter((f) => f.from.includes("/wallet/pay.html"));
  assert.ok(fromWindow.some((f) => f.url.endsWith("netcents_wasm_pay_bg.wasm")), `the payment window loads the pay module: ${JSON.stringify(fromWindow)}`);
  assert.ok(!fromWindow.some((f) => f.url.includes("netcents_wasm_wallet")), `the payment window fetches nothing of the full wallet module: ${JSON.stringify(fromWindow)}`);
  assert.match(await popup.textContent("#coin-used"), /an anonymous coin of 10¢/);
  await popup.setViewportSize({ width: 440, height: 640 });
  await shot(popup, "32-wallet-approve-with-coin");
  await assertAccessible(popup, "the approval screen paying with a coin");
  const dime = s.coins.find((c) => c.face_micros === 100_000);
  assert.equal((await bankCall(bank, "GET", `/v1/operator/scrip/${dime.scrip_id}`, undefined, true)).status, 404, "not activated before the approval");
  const closed = popup.waitForEvent("close");
  clicked = Date.now();
  await popup.click("#approve");
  await page.waitForFunction(() => document.querySelector("#rest")?.textContent.includes("Floating scrip changes the arithmetic"));
  figures.approved_payment_with_coin_activation_ms = Date.now() - clicked;
  await closed;

  await walletPage(wallet);
  s = await summary(wallet);
  assert.deepEqual(s.coins.map((c) => c.face_micros), [1_000_000], "the dollar coin is still a coin");
  assert.equal(s.scrips.length, 1);
  assert.equal(s.scrips[0].id, dime.scrip_id, "the 10¢ coin became the scrip that paid");
  assert.equal(s.scrips[0].anonymous, true);
  assert.equal(s.scrips[0].balance_micros, 100_000 - 2_500);
  const paid = s.history.filter((x) => x.kind === "paid");
  assert.equal(paid.length, 1);
  assert.equal(paid[0].check, "matches");

  // The bank's books: the scrip the coin became is held by the vendor and names no account,
  // though this account paid for the coin.
  const status = await bankCall(bank, "GET", `/v1/operator/scrip/${dime.scrip_id}`, undefined, true);
  assert.equal(status.status, 200);
  const shown = scripShow(dime.scrip_id);
  assert.ok("account" in shown, JSON.stringify(shown));
  assert.equal(shown.account, null, "the anonymous scrip names no account");
  assert.equal(shown.face_micros, 100_000);
  const coinsBooks = await bankCall(bank, "GET", "/v1/operator/check", undefined, true);
  assert.equal(coinsBooks.status, 200, JSON.stringify(coinsBooks.body));

  await wallet.click("[data-tab='scrip']");
  await wallet.waitForSelector("#scrip-table");
  assert.match(await wallet.textContent(`[data-scrip='${dime.scrip_id}']`), /anonymous/);
  await shot(wallet, "33-wallet-after-coin-payment");

  // The change: what is left (9.75¢, held by the vendor) becomes new coins, blind. The vendor
  // hands the scrip back to the bank on the exchange order; 0.05¢ waits, below the smallest coin.
  await wallet.click(`[data-exchange='${dime.scrip_id}']`);
  await wallet.waitForFunction(() => document.querySelector(".toast")?.textContent.includes("Exchanged"));
  assert.match(await wallet.textContent(".toast"), /Exchanged: 9\.7¢ in 5 new anonymous coins/);
  s = await summary(wallet);
  assert.deepEqual(
    s.coins.map((c) => c.face_micros).sort((a, b) => b - a),
    [1_000_000, 50_000, 20_000, 20_000, 5_000, 2_000],
    "the dollar coin and the change's five",
  );
  assert.equal(s.scrips.find((x) => x.id === dime.scrip_id)?.status, "redeemed", "the old scrip is spent");
  const after = scripShow(dime.scrip_id);
  assert.equal(after.status, "closed", JSON.stringify(after));
  const books = await bankCall(bank, "GET", "/v1/operator/check", undefined, true);
  assert.equal(books.body.balanced, true, JSON.stringify(books.body));
  await wallet.waitForSelector("#coins");
  await shot(wallet, "34-wallet-after-exchange");
});
