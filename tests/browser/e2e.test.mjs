// The wallet end to end in Chromium, against the real bank and two edge vendors in workerd:
// open a wallet, buy scrip, pay on shop A, pay on shop B (the same scrip floats from vendor A
// to vendor B), see receipts and balances in the wallet, refuse a payment over the site's
// budget, and show that a shop page can read neither the wallet's keys nor its storage.
//
// The wallet, shop A and shop B are three different sites (wallet.test, shop-a.test,
// shop-b.test, mapped to 127.0.0.1 by Chromium's host resolver), so the browser partitions
// third-party storage between them exactly as it would on the web.
//
// Screenshots of the main screens go to $WALLET_ARTIFACTS (default target/wallet-e2e).

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "../../js/node_modules/playwright-core/index.mjs";
import { ROOT, scratch, startBank, startVendor, startWalletOrigin, stopAll, freePort, bankCall } from "./harness.mjs";

const ARTIFACTS = process.env.WALLET_ARTIFACTS ?? join(ROOT, "target/wallet-e2e");
mkdirSync(ARTIFACTS, { recursive: true });

let bank;
let vendorA;
let vendorB;
let walletOrigin;
let shopA;
let shopB;
let ctx;

const figures = {};

/** A browser with its own profile (its own storage). */
function launch(profile, extraArgs = []) {
  return chromium.launchPersistentContext(scratch(profile), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1200, height: 820 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP wallet.test 127.0.0.1, MAP shop-a.test 127.0.0.1, MAP shop-b.test 127.0.0.1",
      ...extraArgs,
    ],
  });
}
/** axe-core's checks (WCAG 2.x A and AA) on the page as it is now: no violation. */
async function assertAccessible(page, what) {
  await page.addScriptTag({ path: join(ROOT, "js/node_modules/axe-core/axe.min.js") });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  });
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
}
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });

before(async () => {
  const started = Date.now();
  bank = await startBank();
  const walletPort = await freePort();
  walletOrigin = `http://wallet.test:${walletPort}`;
  await startWalletOrigin(bank, { port: walletPort, host: "wallet.test" });
  // The wallet answers under its one name: another name of the server is another origin, so
  // another, empty wallet; it is sent to the one name.
  const other = await fetch(`http://127.0.0.1:${walletPort}/wallet/`, { redirect: "manual" });
  assert.equal(other.status, 308);
  assert.equal(other.headers.get("location"), `${walletOrigin}/wallet/`);
  [vendorA, vendorB] = await Promise.all([startVendor(bank, "shop-a", walletOrigin), startVendor(bank, "shop-b", walletOrigin)]);
  shopA = `http://shop-a.test:${vendorA.port}`;
  shopB = `http://shop-b.test:${vendorB.port}`;
  figures.start_bank_two_vendors_wallet_ms = Date.now() - started;
  ctx = await launch("profile");
  ctx.on("requestfinished", (r) => {
    const t = r.timing();
    if (t.responseEnd > 1000) console.error(`slow ${r.method()} ${r.url()} ${Math.round(t.responseEnd)} ms`);
  });
  ctx.on("page", (p) => {
    p.on("console", (m) => m.type() === "error" && console.error(`[${p.url()}] ${m.text()}`));
    p.on("pageerror", (e) => console.error(`[${p.url()}] ${e.message}`));
  });
});

after(async () => {
  writeFileSync(join(ARTIFACTS, "figures.json"), `${JSON.stringify(figures, null, 2)}\n`);
  await ctx?.close();
  await stopAll();
});

async function walletPage() {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`${walletOrigin}/wallet/`);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

/** Clicks the pay button of an article page and returns the wallet window it opens. */
async function clickPay(page) {
  const button = page.locator("netcents-pay button:not([disabled])");
  await button.waitFor();
  const [popup] = await Promise.all([page.waitForEvent("popup"), button.click()]);
  await popup.waitForLoadState();
  return popup;
}

/** The site's wallet frame's own wallet (its purse), read from inside the frame. */
async function purseSummary(page) {
  const frame = page.frames().find((f) => f.url().includes("/wallet/frame.html"));
  assert.ok(frame, "the page embeds the site's wallet frame");
  return frame.evaluate(async () => {
    const { default: init, Wallet } = await import("/pkg/netcents_wasm_wallet.js");
    await init();
    return (await Wallet.open("netcents-purse")).summary();
  });
}

async function summary(page) {
  return page.evaluate(async () => {
    const { openWallet } = await import("/wallet/wallet.js");
    return (await openWallet()).summary();
  });
}

test("a wallet buys scrip and pays two vendor sites with the same floating scrip", async () => {
  // Open the wallet, fund the account (demo faucet: an operator deposit), buy one dollar.
  const wallet = await walletPage();
  await shot(wallet, "01-wallet-welcome");
  await assertAccessible(wallet, "the wallet's welcome");
  await wallet.click("#open-account");
  await wallet.waitForSelector("#add-funds");
  await wallet.click("#add-funds");
  await wallet.waitForFunction(() => document.querySelector(".balance-card .sub")?.textContent.includes("$5.00"));
  await wallet.selectOption("#buy-amount", "1000000");
  await wallet.click("#buy");
  await wallet.waitForFunction(() => document.getElementById("spendable")?.textContent === "$1.00");
  await shot(wallet, "02-wallet-funded");
  await assertAccessible(wallet, "the wallet (history)");
  let s = await summary(wallet);
  assert.equal(s.scrips.length, 1);
  const scripId = s.scrips[0].id;
  assert.equal(s.scrips[0].holder, "bank");

  // Shop A: the first purchase on the site asks; the user allows a budget of 5¢.
  const page = await ctx.newPage();
  const seen = [];
  await page.exposeFunction("recordMessage", (m) => seen.push(m));
  // What the shop page itself receives (the init script runs in its frames too: not those).
  await page.addInitScript(() => window === window.top && window.addEventListener("message", (e) => window.recordMessage?.({ origin: e.origin, data: e.data })));
  await page.goto(`${shopA}/read/tiny-payments.html`);
  await page.locator("netcents-pay button").getByText("0.25¢").waitFor();
  await shot(page, "03-shop-a-article");
  let popup = await clickPay(page);
  await popup.waitForSelector("body[data-state='ask']");
  assert.match(await popup.textContent("#price"), /0\.25¢/);
  assert.doesNotMatch(await popup.textContent("#view"), /null|undefined|NaN/, "no stray value on the approval screen");
  assert.equal(await popup.textContent("#budget-left"), "nothing yet");
  // The vendor's signed names for the offer: the shop, the article's title (from its <title>).
  assert.match(await popup.textContent(".merchant .label"), /^The Daily Fraction asks you to pay/);
  assert.match(await popup.textContent("#title"), /The web finally learns to count in fractions of a cent/);
  await popup.setViewportSize({ width: 440, height: 640 });
  await shot(popup, "04-wallet-approve");
  await assertAccessible(popup, "the approval screen");
  assert.equal(await popup.isChecked("#allow"), false, "paying does not grant a budget by default");
  await popup.check("#allow");
  await popup.selectOption("#allow-amount", "50000");
  const closed = popup.waitForEvent("close");
  await popup.click("#approve");
  // This browser gives a cross-site frame no storage (Chromium blocks third-party storage by
  // default): the site gets no purse, and the allowance stays in the wallet, which pays
  // within it in its window without asking.
  await popup.waitForSelector("body[data-purse]");
  assert.equal(await popup.evaluate(() => document.body.dataset.purse), "budget");
  await closed;
  await page.waitForSelector(".netcents-content, #rest p");
  assert.match(await page.textContent("#rest"), /Floating scrip changes the arithmetic/);
  await shot(page, "05-shop-a-paid");

  // A second article on shop A: within the site's budget, no prompt.
  await page.goto(`${shopA}/read/harbour-lights.html`);
  await page.locator("netcents-pay button:not([disabled])").waitFor();
  const clicked = Date.now();
  popup = await clickPay(page);
  const states = [];
  popup.on("console", () => {});
  const watcher = setInterval(async () => {
    try {
      states.push(await popup.evaluate(() => document.body.dataset.state ?? ""));
    } catch {
      // closed
    }
  }, 50);
  await popup.waitForEvent("close");
  clearInterval(watcher);
  assert.ok(!states.includes("ask"), "no prompt within the budget");
  await page.waitForFunction(() => document.querySelector("#rest")?.textContent.includes("rewiring"));
  figures.budgeted_purchase_ms = Date.now() - clicked;
  // Read again within the vendor's access period: the article shows with no payment (the
  // history below still counts three payments).
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#rest")?.textContent.includes("rewiring"));

  // Shop B, another site: the first purchase asks again; the user pays once. The wallet
  // pays with the scrip vendor A holds: it floats from A to B.
  const pageB = await ctx.newPage();
  await pageB.goto(`${shopB}/read/europa-ice.html`);
  await pageB.locator("netcents-pay button").getByText("0.15¢").waitFor();
  await shot(pageB, "06-shop-b-article");
  popup = await clickPay(pageB);
  await popup.waitForSelector("body[data-state='ask']");
  await popup.uncheck("#allow");
  const approvedB = Date.now();
  await Promise.all([popup.waitForEvent("close"), popup.click("#approve")]);
  await pageB.waitForFunction(() => document.querySelector("#rest")?.textContent.includes("Jupiter"));
  figures.floating_purchase_ms = Date.now() - approvedB;
  await shot(pageB, "07-shop-b-paid");

  // The wallet: one scrip, now held by vendor B, three verified receipts, the balances.
  await wallet.bringToFront();
  await wallet.reload();
  await wallet.waitForSelector("body[data-ready='1']");
  s = await summary(wallet);
  assert.equal(s.scrips.length, 1, "one scrip paid both sites");
  assert.equal(s.scrips[0].id, scripId);
  assert.equal(s.scrips[0].holder, vendorB.url, "the scrip floated to vendor B");
  assert.equal(s.scrips[0].balance_micros, 1_000_000 - 2_500 - 2_500 - 1_500);
  const paid = s.history.filter((x) => x.kind === "paid");
  assert.equal(paid.length, 3);
  assert.ok(paid.every((x) => x.check === "matches"));
  assert.deepEqual(paid.map((x) => new URL(x.site).host).reverse(), [new URL(shopA).host, new URL(shopA).host, new URL(shopB).host]);
  assert.equal(await wallet.textContent("#spendable"), "99.35¢");
  assert.equal(await wallet.locator(".history-item[data-kind='paid'] .badge.good").count(), 3);
  await shot(wallet, "08-wallet-history");
  await wallet.click("[data-tab='scrip']");
  await wallet.waitForSelector("#scrip-table");
  assert.match(await wallet.textContent("#scrip-table"), new RegExp(`127\\.0\\.0\\.1:${vendorB.port}`));
  await shot(wallet, "09-wallet-scrip");
  await wallet.click("[data-tab='sites']");
  await wallet.waitForSelector("#sites");
  await shot(wallet, "10-wallet-sites");
  await assertAccessible(wallet, "the wallet (sites)");
  // The tabs move with the arrow keys, one tab in the tab order.
  await wallet.focus("#tab-sites");
  await wallet.keyboard.press("ArrowRight");
  await wallet.waitForSelector("#panel-disputes");
  assert.equal(await wallet.evaluate(() => document.activeElement?.id), "tab-disputes");
  await wallet.keyboard.press("Home");
  await wallet.waitForSelector("#panel-history");
  assert.equal(await wallet.locator("[role=tab][tabindex='0']").count(), 1);
  // On a phone's 390 px screen nothing sticks out of the page.
  await wallet.setViewportSize({ width: 390, height: 844 });
  await wallet.click("[data-tab='scrip']");
  await wallet.waitForSelector("#scrip-table");
  const overflow = await wallet.evaluate(() => [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > 391 && !el.closest(".table-wrap, .tabs"))
    .map((el) => `${el.tagName.toLowerCase()}.${el.className}#${el.id}`));
  assert.deepEqual(overflow, [], "nothing sticks out of a 390 px page (tables and tabs scroll in place)");
  const wide = await wallet.evaluate(() => [...document.querySelectorAll("*")].filter((el) => el.scrollWidth > 392 && getComputedStyle(el).overflowX === "visible").map((el) => `${el.tagName.toLowerCase()}.${el.className}#${el.id}:${el.scrollWidth}/${el.clientWidth}`));
  assert.ok(await wallet.evaluate(() => document.documentElement.scrollWidth <= 390), `the page fits 390 px: ${wide.join(" ")}`);
  await shot(wallet, "10b-wallet-390px");
  await assertAccessible(wallet, "the wallet at 390 px");
  await wallet.setViewportSize({ width: 1200, height: 820 });

  // The vendors agree: B holds the scrip, A handed it on.
  const status = await bankCall(bank, "GET", `/v1/operator/scrip/${scripId}`, undefined, true);
  assert.equal(status.status, 200);

  // Over the budget: the premium investigation costs 5¢, shop A has 4.75¢ left. The wallet asks;
  // the user declines; the page shows a clear error and nothing is paid.
  await page.bringToFront();
  await page.goto(`${shopA}/read/premium-investigation.html`);
  await page.locator("netcents-pay button").getByText("· 5¢").waitFor();
  popup = await clickPay(page);
  await popup.waitForSelector("body[data-state='ask']");
  assert.equal(await popup.textContent("#budget-left"), "4.75¢");
  assert.match(await popup.textContent("#over-budget"), /more than the 4\.75¢ this site may spend/);
  await popup.setViewportSize({ width: 440, height: 640 });
  await shot(popup, "11-wallet-over-budget");
  await Promise.all([popup.waitForEvent("close"), popup.click("#decline")]);
  await page.locator("netcents-pay .error").waitFor();
  assert.match(await page.locator("netcents-pay .error").textContent(), /declined/);
  await shot(page, "12-shop-a-declined");
  s = await summary(wallet);
  assert.equal(s.history.filter((x) => x.kind === "paid").length, 3, "nothing paid");

  // Redeem the scrip vendor B holds: the wallet has B hand it back to the bank, which refunds
  // what is left to the account.
  await wallet.bringToFront();
  await wallet.reload();
  await wallet.waitForSelector("body[data-ready='1']");
  await wallet.click("[data-tab='scrip']");
  const before = (await bankCall(bank, "GET", `/v1/operator/accounts/${s.account}`, undefined, true)).body.balance_micros;
  const redeemClicked = Date.now();
  await wallet.click(`[data-redeem='${scripId}']`);
  await wallet.waitForSelector(".badge:text('redeemed'), .toast.bad");
  figures.redeem_ms = Date.now() - redeemClicked;
  if (await wallet.locator(".toast.bad").count()) assert.fail(await wallet.locator(".toast.bad").textContent());
  const afterRedeem = (await bankCall(bank, "GET", `/v1/operator/accounts/${s.account}`, undefined, true)).body.balance_micros;
  assert.equal(afterRedeem - before, 993_500, "the account got back what the scrip had left");
  await shot(wallet, "13-wallet-redeemed");
  const books = await bankCall(bank, "GET", "/v1/operator/check", undefined, true);
  assert.equal(books.status, 200, JSON.stringify(books.body));

  // What the shop page received from the wallet: only public, signed objects (a payment order,
  // the offer, the bank-signed scrip, a vendor certificate), never a key or the stored state.
  const fromWallet = seen.filter((m) => m.origin === walletOrigin).map((m) => m.data);
  assert.ok(fromWallet.some((m) => m.type === "netcents/order"));
  for (const m of fromWallet) {
    assert.deepEqual(Object.keys(m).filter((k) => !["type", "v", "id", "scrip_id", "body", "ok", "code", "hint", "price_micros", "balance_micros"].includes(k)), []);
    for (const [k, v] of Object.entries(m.body ?? {})) {
      const bytes = Buffer.from(v, "base64url");
      const kind = { order: 4, offer: 3, scrip: 1, holder_cert: 2 }[k];
      assert.equal(bytes[0], 1, `${k}: version`);
      assert.equal(bytes[1], kind, `${k}: a public signed object of kind ${kind}`);
    }
  }
});

test("shop pages cannot read the wallet's keys or storage, and forged messages are refused", async () => {
  const page = await ctx.newPage();
  await page.goto(`${shopA}/read/night-trains.html`);
  // The shop's own storage knows nothing of the wallet.
  const shopView = await page.evaluate(async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name),
    local: Object.keys(localStorage),
    cookies: document.cookie,
  }));
  assert.ok(!shopView.databases.includes("netcents-wallet"));
  assert.deepEqual(shopView.local, []);
  // The wallet origin's storage holds the state, for the wallet only.
  const wallet = await walletPage();
  const stored = await wallet.evaluate(() => new Promise((resolve) => {
    const open = indexedDB.open("netcents-wallet");
    open.onsuccess = () => {
      const get = open.result.transaction("wallet").objectStore("wallet").get("state");
      get.onsuccess = () => resolve(get.result?.length ?? 0);
    };
  }));
  assert.ok(stored > 1000, "the wallet's state is stored on its own origin");
  // A wallet window opened by the shop: its document and storage are out of the page's reach.
  const reach = await page.evaluate(async (walletUrl) => {
    const w = window.open(`${walletUrl}/wallet/`, "probe");
    await new Promise((r) => setTimeout(r, 1500));
    const tries = {};
    for (const [name, f] of Object.entries({
      document: () => w.document.body.innerHTML,
      localStorage: () => w.localStorage.length,
      indexedDB: () => w.indexedDB.open("netcents-wallet"),
      wasm: () => w.eval("1"),
    })) {
      try {
        f();
        tries[name] = "read";
      } catch (e) {
        tries[name] = e.name;
      }
    }
    w.close();
    // Same-named database in the shop's own partition: empty, created fresh.
    const mine = await new Promise((resolve) => {
      const open = indexedDB.open("netcents-wallet");
      open.onupgradeneeded = () => resolve("empty (new database)");
      open.onsuccess = () => resolve(open.result.objectStoreNames.length ? "has stores" : "empty");
    });
    return { tries, mine };
  }, walletOrigin);
  assert.deepEqual(reach.tries, { document: "SecurityError", localStorage: "SecurityError", indexedDB: "SecurityError", wasm: "SecurityError" });
  assert.match(reach.mine, /empty/);

  // Forged messages: a misstated price is refused by the wallet; a page pretending to be
  // another site (the site in the URL is not the sender's origin) gets no answer at all.
  const forged = await page.evaluate(async ({ walletUrl, other }) => {
    const { newId } = await import(`${walletUrl}/messages.js`);
    const ask = async (site, mutate) => {
      const w = window.open(`${walletUrl}/wallet/pay.html#site=${encodeURIComponent(site)}`, "forge");
      const answers = [];
      const on = (e) => e.source === w && answers.push(e.data);
      window.addEventListener("message", on);
      await new Promise((r) => setTimeout(r, 1500));
      const res = await fetch("/article/night-trains.html");
      const offer = await res.json();
      const msg = { type: "netcents/pay", v: 1, id: newId(), url: new URL("/article/night-trains.html", location.href).href, offer: offer.offer, vendor_cert: offer.vendor_cert, price_micros: offer.price_micros, currency: offer.currency };
      mutate(msg);
      w.postMessage(msg, walletUrl);
      await new Promise((r) => setTimeout(r, 2000));
      window.removeEventListener("message", on);
      w.close();
      return answers;
    };
    return {
      misstated: await ask(location.origin, (m) => (m.price_micros = 1)),
      extraField: await ask(location.origin, (m) => (m.order = "AAAA")),
      otherSite: await ask(other, () => {}),
    };
  }, { walletUrl: walletOrigin, other: shopB });
  const results = (list) => list.filter((m) => m.type === "netcents/result");
  assert.equal(results(forged.misstated)[0]?.code, "price_mismatch");
  assert.deepEqual(results(forged.extraField), [], "a message of the wrong shape is ignored");
  assert.deepEqual(forged.otherSite, [], "a window opened for another site never talks to this page");
});

test("an interrupted payment is sent again without paying twice, and another is disputed with the arbiter", async () => {
  const wallet = await walletPage();
  await wallet.selectOption("#buy-amount", "100000");
  await wallet.click("#buy");
  await wallet.waitForFunction(() => document.getElementById("spendable")?.textContent === "10¢");

  // The answer to the paying POST is lost (the connection drops): the page shows an error, the
  // wallet keeps the signed order pending.
  const lose = async (page) => page.route("**/article/**", (route) => (route.request().method() === "POST" ? route.abort("connectionreset") : route.continue()));
  const pageB = await ctx.newPage();
  await lose(pageB);
  await pageB.goto(`${shopB}/read/solar-sails.html`);
  let popup = await clickPay(pageB);
  await popup.waitForSelector("body[data-state='ask']");
  await popup.uncheck("#allow");
  await popup.click("#approve");
  await pageB.locator("netcents-pay .error").waitFor();
  // A sentence for the reader, not the browser's exception text.
  const said = await pageB.locator("netcents-pay .error").textContent();
  assert.match(said, /The shop did not answer\. Your wallet keeps the payment/);
  assert.doesNotMatch(said, /Failed to fetch|TypeError/);

  // The wallet, opened again, sends the pending order again by itself (a pending order blocks
  // its scrip); the vendor answers it with its receipt and charges once.
  await wallet.bringToFront();
  await wallet.reload();
  await wallet.waitForSelector("body[data-ready='1']");
  let s = await summary(wallet);
  assert.ok(s.scrips.every((x) => !x.paying), "nothing left pending");
  const solar = s.history.find((x) => x.kind === "paid" && x.url.endsWith("/article/solar-sails.html"));
  assert.ok(solar, "paid after the wallet sent it again");
  assert.equal(solar.check, "matches");
  assert.equal(s.scrips.find((x) => x.id === solar.scrip).balance_micros, 100_000 - 1_500);

  // Another lost answer, on shop A within its budget, and the vendor stays out of reach of the
  // wallet too: the order stays pending, and the user reports it.
  const pageA = await ctx.newPage();
  await lose(pageA);
  await pageA.goto(`${shopA}/read/night-trains.html`);
  popup = await clickPay(pageA);
  await pageA.locator("netcents-pay .error").waitFor();
  await wallet.bringToFront();
  await lose(wallet);
  await wallet.reload();
  await wallet.waitForSelector("body[data-ready='1']");
  await wallet.click("[data-tab='disputes']");
  await wallet.waitForSelector("[data-report]");
  await wallet.click("[data-report]");
  await wallet.waitForSelector(".history-item .badge.warn");
  s = await summary(wallet);
  assert.equal(s.disputes.length, 1);
  const d = s.disputes[0];
  assert.equal(d.kind, "non_delivery");
  assert.equal(d.state, "open");
  const filed = await bankCall(bank, "GET", `/v1/arbiter/disputes/${d.id}`);
  assert.equal(filed.status, 200, JSON.stringify(filed.body));
  assert.equal(filed.body.state, "open");
  assert.equal(filed.body.vendor, vendorA.vendor);
  await shot(wallet, "14-wallet-disputes");
  await wallet.unroute("**/article/**");
});

// ---- a page that spends past its budget (issue 9, hole 5) ----------------------------------------

/**
 * A hostile shop page on shop A's origin: it asks the wallet to pay, posts the signed order to
 * the vendor (which keeps it: receipt and content), then tells the wallet "refused". With
 * `wrongItem` it posts the order for another article instead, and relays the vendor's answer
 * as it is. Everything it sees is recorded in `window.hostile`.
 */
function hostilePage(wallet, { wrongItem = false } = {}) {
  return `<!doctype html><meta charset="utf-8"><title>Night trains · a hostile page</title>
<link rel="stylesheet" href="/shop.css">
<main style="max-width:40rem;margin:2rem auto;font-family:system-ui"><h1>Night trains</h1>
<p>This page buys the article again and again, keeps what the vendor sends, and tells the wallet each payment was refused.</p>
<button id="buy">Buy</button><pre id="log"></pre></main>
<script type="module">
const WALLET = ${JSON.stringify(wallet)};
const { newId } = await import(WALLET + "/messages.js");
const item = new URL("/article/night-trains.html", location.href).href;
const postTo = new URL(${JSON.stringify(wrongItem ? "/article/harbour-lights.html" : "/article/night-trains.html")}, location.href).href;
window.hostile = { orders: [], kept: [], results: [], vendor: [], done: 0 };
const next = (popup, filter) => new Promise((resolve) => {
  const on = (e) => {
    if (e.source === popup && e.origin === WALLET && filter(e.data)) {
      removeEventListener("message", on);
      resolve(e.data);
    }
  };
  addEventListener("message", on);
});
document.getElementById("buy").onclick = async () => {
  const popup = window.open(WALLET + "/wallet/pay.html#site=" + encodeURIComponent(location.origin), "_blank", "popup,width=440,height=640");
  const ready = next(popup, (m) => m.type === "netcents/ready");
  const offer = await (await fetch(item, { credentials: "omit", headers: { accept: "application/json" } })).json();
  await ready;
  const id = newId();
  const answer = next(popup, (m) => m.id === id && (m.type === "netcents/order" || m.type === "netcents/result"));
  popup.postMessage({ type: "netcents/pay", v: 1, id, url: item, offer: offer.offer, vendor_cert: offer.vendor_cert, price_micros: offer.price_micros, currency: offer.currency }, WALLET);
  const m = await answer;
  if (m.type === "netcents/result") {
    hostile.results.push(m);
    hostile.done++;
    return;
  }
  hostile.orders.push(m.body.order);
  const res = await fetch(postTo, { method: "POST", credentials: "omit", headers: { "content-type": "application/json" }, body: JSON.stringify(m.body) });
  const body = res.ok ? {} : await res.json();
  hostile.kept.push(res.ok ? res.headers.get("x-netcents-receipt") : null);
  hostile.vendor.push({ status: res.status, code: body.code ?? null, refusal: typeof body.refusal === "string" });
  const result = next(popup, (x) => x.id === id && x.type === "netcents/result");
  const refused = { type: "netcents/refused", v: 1, id, scrip_id: m.scrip_id, status: 409, code: "refused", hint: "out of stock" };
  if (typeof body.refusal === "string") refused.refusal = body.refusal;
  popup.postMessage(refused, WALLET);
  hostile.results.push(await result);
  hostile.done++;
  document.getElementById("log").textContent = JSON.stringify(hostile.results, null, 1);
};
</script>`;
}

/** The price the customer signed in a payment order (base64url): §4.4, after scrip, payee, offer. */
function orderPrice(b64) {
  const bytes = Buffer.from(b64, "base64url");
  assert.equal(bytes[1], 4, "a payment order");
  return Number(bytes.readBigUInt64BE(2 + 16 + 17 + 32));
}

async function walletCall(wallet, fn, arg) {
  return wallet.evaluate(async ([source, a]) => {
    const mod = await import("/wallet/wallet.js");
    const w = await mod.openWallet();
    return new Function("w", "mod", "a", `return (${source})(w, mod, a);`)(w, mod, a);
  }, [fn.toString(), arg]);
}

/** Clicks the hostile page's button `tries` times; declines when the wallet asks. */
async function hostileTries(page, tries, shots = {}) {
  let asked = 0;
  for (let i = 0; i < tries; i++) {
    const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#buy")]);
    const finished = page.waitForFunction((n) => window.hostile.done === n, i + 1).then(() => "done");
    const asking = popup.waitForSelector("body[data-state='ask']").then(() => "ask");
    finished.catch(() => {});
    asking.catch(() => {});
    if ((await Promise.race([finished, asking])) === "ask") {
      asked++;
      await popup.setViewportSize({ width: 440, height: 640 });
      if (shots.ask) await shot(popup, shots.ask);
      await popup.click("#decline");
      await finished;
    } else if (shots.pending && !popup.isClosed()) {
      await popup.waitForSelector("body[data-state]").catch(() => {});
      await popup.setViewportSize({ width: 440, height: 640 }).catch(() => {});
      await shot(popup, shots.pending).catch(() => {});
      delete shots.pending;
    }
    if (!popup.isClosed()) await popup.close();
  }
  return asked;
}

test("a page that says 'refused' while its vendor keeps the orders cannot spend past the budget", async () => {
  const BUDGET = 5_000;
  const TRIES = 4;
  const wallet = await walletPage();
  // Enough scrip for every try (a pending order holds its scrip): only the budget can stop it.
  await walletCall(wallet, async (w, mod, n) => {
    await mod.bankPost("/demo/faucet", { account: await mod.ensureAccount(w) });
    for (let i = 0; i < n; i++) await mod.buyScrip(w, 100_000);
  }, TRIES);
  await walletCall(wallet, (w, mod, a) => w.setBudget(a.site, a.budget), { site: shopA, budget: BUDGET });
  let s = await summary(wallet);
  const before = s.budgets.find((b) => b.site === shopA);
  assert.equal(before.limit_micros - before.spent_micros, BUDGET);
  const refusedBefore = s.history.filter((x) => x.kind === "refused").length;
  const pendingBefore = s.scrips.filter((x) => x.status === "paying").map((x) => x.id);

  // The vendor keeps every order and tells the wallet too that it refused, without signing it.
  await ctx.route(`${shopA}/article/**`, async (route) => {
    const r = route.request();
    const origin = (await r.allHeaders()).origin;
    if (r.method() !== "POST" || origin !== walletOrigin) return route.continue();
    return route.fulfill({ status: 409, headers: { "access-control-allow-origin": "*", "content-type": "application/json" }, body: JSON.stringify({ code: "refused", hint: "out of stock" }) });
  });
  const page = await ctx.newPage();
  // Served from shop A's own origin (a page the vendor serves, its content replaced), so the
  // browser treats it as the shop's page in every respect.
  await page.goto(`${shopA}/`);
  await page.setContent(hostilePage(walletOrigin));
  await page.waitForFunction(() => window.hostile !== undefined);
  const asked = await hostileTries(page, TRIES, { pending: "15-wallet-unconfirmed", ask: "16-wallet-budget-spent" });
  const hostile = await page.evaluate(() => window.hostile);

  // Everything the wallet signed for this page stays within the budget, though the vendor kept
  // every order and the page said each one was refused.
  const signed = hostile.orders.map(orderPrice);
  const total = signed.reduce((a, x) => a + x, 0);
  assert.ok(total <= BUDGET, `the wallet signed ${total} for the page, over its budget of ${BUDGET}`);
  assert.equal(signed.length, 2, "two payments of 2.5¢ fit a budget of 5¢");
  assert.ok(hostile.kept.every((r) => typeof r === "string"), "the vendor kept every order");
  assert.equal(asked, TRIES - signed.length, "then the wallet asks the user");
  assert.deepEqual(hostile.results.map((r) => r.code), [...signed.map(() => "payment_pending"), ...Array(asked).fill("declined")]);

  // The wallet shows the orders as pending (not refused), counted against the budget.
  s = await summary(wallet);
  const pending = s.scrips.filter((x) => x.status === "paying" && !pendingBefore.includes(x.id));
  assert.equal(pending.length, signed.length);
  assert.ok(pending.every((x) => x.paying.site === shopA && x.paying.budgeted));
  assert.equal(s.history.filter((x) => x.kind === "refused").length, refusedBefore, "nothing recorded as refused");
  const budget = s.budgets.find((b) => b.site === shopA);
  assert.equal(budget.spent_micros, before.spent_micros + total);
  assert.equal(budget.pending_micros, before.pending_micros + total);
  await wallet.bringToFront();
  await wallet.reload();
  await wallet.waitForSelector("body[data-ready='1']");
  await wallet.click("[data-tab='disputes']");
  await wallet.waitForSelector("[data-pending]");
  for (const x of pending) assert.match(await wallet.textContent(`[data-pending='${x.id}']`), /Payment pending.*no receipt and no signed refusal/s);
  await shot(wallet, "17-wallet-pending");

  // The vendor answers the wallet again: the wallet's own resend of the same order gets the
  // receipt the page hid. Paid once; the budget stays spent.
  await ctx.unrouteAll();
  await wallet.click(`[data-resend='${pending[0].id}']`);
  await wallet.waitForSelector(`[data-pending='${pending[0].id}']`, { state: "detached" });
  s = await summary(wallet);
  const recovered = s.history.find((x) => x.kind === "paid" && x.scrip === pending[0].id);
  assert.equal(recovered?.check, "matches");
  assert.equal(recovered.receipt_digest.length, 64);
  assert.equal(s.budgets.find((b) => b.site === shopA).spent_micros, before.spent_micros + total);
  await page.close();
});

test("a refusal the vendor did not sign gives nothing back: the wallet's own resend settles the order", async () => {
  const wallet = await walletPage();
  await walletCall(wallet, async (w, mod) => {
    await mod.bankPost("/demo/faucet", { account: await mod.ensureAccount(w) });
    await mod.buyScrip(w, 100_000);
  });
  await walletCall(wallet, (w, mod, a) => w.setBudget(a.site, a.budget), { site: shopA, budget: 5_000 });
  let s = await summary(wallet);
  const before = s.budgets.find((b) => b.site === shopA);
  const refusedBefore = s.history.filter((x) => x.kind === "refused").length;

  // The page posts the order for one article to another one: the vendor refuses it (the offer
  // sells another item); the page passes the vendor's answer on.
  const page = await ctx.newPage();
  await page.goto(`${shopA}/`);
  await page.setContent(hostilePage(walletOrigin, { wrongItem: true }));
  await page.waitForFunction(() => window.hostile !== undefined);
  await hostileTries(page, 1, { pending: "18-wallet-refused" });
  const hostile = await page.evaluate(() => window.hostile);
  assert.equal(hostile.orders.length, 1);
  assert.equal(hostile.kept[0], null, "the vendor did not take the order");
  // An order sent for another item is refused without a signature (the vendor may accept it,
  // or may have accepted it, for its own item), so the page's report gives nothing back: the
  // wallet sends the same order to its own item itself, and the vendor accepts it there.
  assert.equal(hostile.vendor[0].refusal, false, `the vendor signed a refusal of ${hostile.vendor[0].code}`);
  s = await summary(wallet);
  const budget = s.budgets.find((b) => b.site === shopA);
  const price = orderPrice(hostile.orders[0]);
  assert.equal(budget.spent_micros, before.spent_micros + price, "paid once, by the wallet's own resend");
  assert.equal(budget.pending_micros, before.pending_micros, "nothing left pending");
  assert.equal(s.history.filter((x) => x.kind === "refused").length, refusedBefore, "nothing recorded as refused");
  const paid = s.history.find((x) => x.kind === "paid" && x.check === "matches");
  assert.ok(paid, "the receipt of the wallet's own resend is kept");
  await page.close();
});


test("a wallet backed up in one browser is restored in another, and only with its passphrase", async () => {
  const wallet = await walletPage();
  const before = await summary(wallet);
  assert.ok(before.account, "a wallet with an account");
  await wallet.fill("#backup-pass", "a long enough passphrase");
  const [download] = await Promise.all([wallet.waitForEvent("download"), wallet.click("#backup")]);
  const file = join(scratch("backup"), "netcents-wallet.backup");
  await download.saveAs(file);

  const other = await launch("profile-restored");
  try {
    const page = await other.newPage();
    await page.goto(`${walletOrigin}/wallet/`);
    await page.waitForSelector("body[data-ready='1']");
    // Another passphrase: a sentence, and still no wallet.
    await page.setInputFiles("#restore-file", file);
    await page.fill("#restore-pass", "not the passphrase");
    await page.click("#restore");
    await page.locator(".toast.bad").waitFor();
    assert.match(await page.locator(".toast.bad").textContent(), /does not open with this passphrase/);
    assert.ok(!(await summary(page)).account, "no wallet was made");
    await page.setInputFiles("#restore-file", file);
    await page.fill("#restore-pass", "a long enough passphrase");
    await page.click("#restore");
    await page.waitForSelector("#spendable");
    const restored = await summary(page);
    assert.equal(restored.account, before.account);
    assert.equal(restored.account_public_key, before.account_public_key);
    assert.deepEqual(restored.scrips.map((x) => x.id).sort(), before.scrips.map((x) => x.id).sort());
    assert.equal(restored.history.length, before.history.length);
    await shot(page, "19-wallet-restored");
  } finally {
    await other.close();
  }
});

test("a wallet that meets another bank says so, keeps everything, and lets the user back it up or start anew", async () => {
  const other = await launch("profile-other-bank");
  try {
    const page = await other.newPage();
    await page.goto(`${walletOrigin}/wallet/`);
    await page.waitForSelector("body[data-ready='1']");
    await page.click("#open-account");
    await page.waitForSelector("#spendable");
    const made = await summary(page);
    assert.ok(made.account);

    // The page now talks to a bank with another arbiter key (the demo restarted afresh).
    const keys = (await bankCall(bank, "GET", "/v1/keys")).body;
    const forged = { ...keys, arbiter: { public_key: keys.bank[0].public_key } };
    await other.route("**/v1/keys", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(forged) }));
    await page.reload();
    await page.waitForSelector("body[data-ready='other-bank']");
    assert.match(await page.textContent("#other-bank"), /belongs to another bank/);
    assert.ok(await page.isDisabled("#start-new"), "no fresh start before the backup");
    await shot(page, "20-wallet-other-bank");
    await page.fill("#backup-pass", "another long passphrase");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#backup")]);
    const file = join(scratch("backup-other"), "netcents-wallet.backup");
    await download.saveAs(file);

    // The user starts a new wallet for this bank, then (the bank being its own again) brings
    // the old one back from the backup: nothing was lost.
    await other.unroute("**/v1/keys");
    await page.check("#backup-saved");
    await Promise.all([page.waitForEvent("load"), page.click("#start-new")]);
    await page.waitForSelector("body[data-ready='1']");
    await page.waitForSelector("#open-account");
    await page.setInputFiles("#restore-file", file);
    await page.fill("#restore-pass", "another long passphrase");
    await page.click("#restore");
    await page.waitForSelector("#spendable");
    const back = await summary(page);
    assert.equal(back.account, made.account);
    assert.equal(back.account_public_key, made.account_public_key);
  } finally {
    await other.close();
  }
});

test("within a site's purse a purchase opens no window, and the page can neither read the purse nor spend past it", async () => {
  // A browser that gives cross-site frames their own partitioned storage, as Firefox and Safari
  // do by default and Chromium does with third-party cookies allowed.
  const other = await launch("profile-purse", ["--disable-features=TrackingProtection3pcd"]);
  try {
    const wallet = await other.newPage();
    await wallet.goto(`${walletOrigin}/wallet/`);
    await wallet.waitForSelector("body[data-ready='1']");
    await wallet.click("#open-account");
    await wallet.waitForSelector("#add-funds");
    await wallet.click("#add-funds");
    await wallet.waitForFunction(() => document.querySelector(".balance-card .sub")?.textContent.includes("$5.00"));
    await wallet.selectOption("#buy-amount", "1000000");
    await wallet.click("#buy");
    await wallet.waitForFunction(() => document.getElementById("spendable")?.textContent === "$1.00");

    // The first purchase asks; the user allows 5¢: the site's frame gets a purse of 5¢.
    const page = await other.newPage();
    const article = `${shopA}/read/tiny-payments.html`;
    await page.goto(article);
    let popup = await clickPay(page);
    await popup.waitForSelector("body[data-state='ask']");
    await popup.check("#allow");
    await popup.selectOption("#allow-amount", "50000");
    const closed = popup.waitForEvent("close");
    await popup.click("#approve");
    await popup.waitForSelector("body[data-purse]");
    assert.equal(await popup.evaluate(() => document.body.dataset.purse), "given", "the site's frame got its purse");
    await popup.setViewportSize({ width: 440, height: 640 });
    await shot(popup, "14-wallet-purse-given");
    await closed;
    await page.waitForSelector("#rest p");
    const account = (await summary(wallet)).account;
    const funded = (await bankCall(bank, "GET", `/v1/operator/accounts/${account}`, undefined, true)).body.balance_micros;
    assert.equal(funded, 5_000_000 - 1_000_000 - 50_000, "the purse came from the account");

    // Twenty purchases of 0.25¢ (the vendor's access cookie cleared each time, so each pays):
    // no window, no question; click to content timed.
    const windows = [];
    page.on("popup", (p) => windows.push(p));
    // The frame asks the bank for its keys once, not on every page it is on.
    const keyFetches = [];
    other.on("request", (r) => r.url().endsWith("/v1/keys") && keyFetches.push(r.url()));
    const times = [];
    for (let i = 0; i < 20; i += 1) {
      await other.clearCookies();
      await page.goto(article);
      const button = page.locator("netcents-pay button:not([disabled])");
      await button.waitFor();
      await page.waitForFunction(() => document.querySelector("iframe[src*='frame.html']"));
      // Timed in the page: from the click to the content in place (the button's `netcents-paid`).
      await page.evaluate(() => {
        window.__paid = new Promise((resolve) => {
          let t0 = 0;
          document.addEventListener("click", () => { t0 = performance.now(); }, { capture: true, once: true });
          document.addEventListener("netcents-paid", () => resolve(performance.now() - t0), { once: true });
        });
      });
      await button.click();
      times.push(await page.evaluate(() => window.__paid));
      await page.waitForFunction(() => document.querySelector("#rest")?.textContent.includes("Floating scrip changes the arithmetic"));
    }
    assert.equal(windows.length, 0, "no window within the purse");
    assert.deepEqual(keyFetches, [], "twenty pages with the frame, no request for the bank's keys");
    await shot(page, "15-shop-a-paid-from-purse");
    times.sort((a, b) => a - b);
    const ms = (x) => Math.round(x * 10) / 10;
    figures.purse_purchase_ms = { n: times.length, p50: ms(times[10]), p90: ms(times[18]), max: ms(times[19]) };
    const purse = await purseSummary(page);
    assert.equal(purse.scrips.length, 1);
    assert.equal(purse.scrips[0].balance_micros, 0, "twenty purchases spent the purse");
    assert.equal(purse.history.filter((x) => x.kind === "paid").length, 20);
    assert.ok(purse.history.filter((x) => x.kind === "paid").every((x) => x.check === "matches"));

    // The page cannot read the frame's document or its storage: its own has no purse.
    const reach = await page.evaluate(async () => {
      const frame = document.querySelector("iframe[src*='frame.html']");
      let doc = "read";
      try {
        void frame.contentWindow.document.body;
      } catch {
        doc = "blocked";
      }
      const dbs = (await indexedDB.databases()).map((d) => d.name);
      return { doc, dbs };
    });
    assert.equal(reach.doc, "blocked");
    assert.ok(!reach.dbs.includes("netcents-purse") && !reach.dbs.includes("netcents-wallet"), `the page's storage: ${reach.dbs}`);

    // The page's own script asks the frame to pay once more, past the purse: refused, no order.
    await other.clearCookies();
    await page.goto(article);
    await page.locator("netcents-pay button:not([disabled])").waitFor();
    const forged = await page.evaluate(async (walletOrigin) => {
      const res = await fetch(document.querySelector("netcents-pay").href, { headers: { accept: "application/json" } });
      const offer = await res.json();
      const frame = document.querySelector("iframe[src*='frame.html']").contentWindow;
      const got = new Promise((resolve) => {
        addEventListener("message", (e) => {
          if (e.source === frame && e.data?.type !== "netcents/ready") resolve(e.data);
        });
      });
      frame.postMessage({ type: "netcents/pay", v: 1, id: "forged-payment-1", url: document.querySelector("netcents-pay").href, offer: offer.offer,
        vendor_cert: offer.vendor_cert, price_micros: offer.price_micros, currency: offer.currency }, walletOrigin);
      return got;
    }, walletOrigin);
    assert.equal(forged.type, "netcents/result");
    assert.equal(forged.ok, false);
    assert.equal(forged.code, "needs_approval");
    // Over the purse, the button opens the window, which asks.
    popup = await clickPay(page);
    await popup.waitForSelector("body[data-state='ask']");
    assert.equal(await popup.isChecked("#allow"), false);
    await Promise.all([popup.waitForEvent("close"), popup.click("#decline")]);
    assert.equal((await purseSummary(page)).history.filter((x) => x.kind === "paid").length, 20, "nothing more paid");
    // The customer's wallet lists the purse it gave (it holds no key of it).
    await wallet.bringToFront();
    await wallet.reload();
    await wallet.waitForSelector("body[data-ready='1']");
    await wallet.click("[data-tab='sites']");
    await wallet.waitForSelector("#purses");
    assert.match(await wallet.textContent("#purses"), new RegExp(`${new URL(shopA).host}.*5¢`));
    await shot(wallet, "16-wallet-purses");
    const books = await bankCall(bank, "GET", "/v1/operator/check", undefined, true);
    assert.equal(books.status, 200, JSON.stringify(books.body));
  } finally {
    await other.close();
  }
});
