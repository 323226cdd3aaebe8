// Pay as you read in Chromium (docs/PROTOCOL.md §5.13), against the real bank and a shop sold by
// the second, at each vendor kind (the Worker in workerd, and the server vendor): the reader
// opens the live page, approves the stream's most in the wallet window, the meter runs, the
// reader stops, and the receipt's charge is the ticks paid × the unit price, which is exactly
// what the wallet's balance lost. The shop page's script is the adversary: asking for twenty
// ticks at once buys at most the paced ones, and it never sees an element of the chain (the
// wallet window releases the ticks to the vendor itself). A stream within the site's budget is
// held at its most until its receipt gives the rest back; a stream left open when its windows
// close is closed by the wallet the next time it opens. Within the site's purse, the site's
// wallet frame pays the stream the same way, with no window.
//
// Screenshots: $WALLET_ARTIFACTS (default target/wallet-e2e), printed by the test.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "../../js/node_modules/playwright-core/index.mjs";
import { ROOT, scratch, startBank, startServerVendor, startVendor, startWalletOrigin, stopAll, freePort } from "./harness.mjs";

const ARTIFACTS = process.env.WALLET_ARTIFACTS ?? join(ROOT, "target/wallet-e2e");
mkdirSync(ARTIFACTS, { recursive: true });

const UNIT_PRICE = 100; // www/shop-a/prices.json: /live/* at 100 micro-units a second
const MAX = 30_000; // … and at most 30,000 an order
const TICKS = 300; // the live page asks for five minutes
const LIVE = "/read/storm-night.html";
const ITEM = "/live/storm-night.html";

let bank;
let walletOrigin;
const browsers = [];

function launch(profile) {
  return chromium.launchPersistentContext(scratch(profile), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 760 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP wallet.test 127.0.0.1, MAP shop-a.test 127.0.0.1",
    ],
  });
}

before(async () => {
  bank = await startBank();
  const walletPort = await freePort();
  walletOrigin = `http://wallet.test:${walletPort}`;
  await startWalletOrigin(bank, { port: walletPort, host: "wallet.test" });
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  await stopAll();
});

async function walletPage(ctx) {
  const page = await ctx.newPage();
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

/** axe-core's checks (WCAG 2.x A and AA) on the page as it is now: no violation. */
async function assertAccessible(page, what) {
  await page.addScriptTag({ path: join(ROOT, "js/node_modules/axe-core/axe.min.js") });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
  });
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
}

const spendable = (s) => s.scrips.reduce((n, x) => n + x.balance_micros, 0);

/** Opens the live page and starts reading: resolves to the page and its wallet window. */
async function startReading(ctx, shop) {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.error(`[shop page] ${e.message}`));
  await page.goto(`${shop}${LIVE}`);
  await page.waitForSelector("#live[data-ready='1']");
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#live-start")]);
  popup.on("pageerror", (e) => console.error(`[wallet window] ${e.message}`));
  await popup.waitForLoadState();
  return { page, popup };
}

/** Waits until the page's meter shows at least `n` ticks paid. */
async function meterAt(page, n) {
  await page.waitForFunction((k) => Number(document.getElementById("live")?.dataset.paid ?? -1) >= k, n, { timeout: 30_000 });
  return Number(await page.evaluate(() => document.getElementById("live").dataset.paid));
}

for (const kind of ["worker", "server"]) {
  test(`pay as you read at the ${kind} vendor: a paced meter, a stop, the charge of the ticks paid`, async () => {
    const vendor = kind === "worker"
      ? await startVendor(bank, "shop-a", walletOrigin)
      : await startServerVendor(bank, "shop-a", walletOrigin);
    const shop = `http://shop-a.test:${vendor.port}`;
    const offer = await (await fetch(`${vendor.url}${ITEM}`)).json();
    assert.equal(offer.unit, "second");
    assert.equal(offer.unit_price_micros, UNIT_PRICE);
    assert.equal(offer.price_micros, MAX);

    const ctx = await launch(`profile-stream-${kind}`);
    browsers.push(ctx);
    // Every tick sent, by whom: only the wallet window may release them.
    const ticks = [];
    const shopRequests = [];
    ctx.on("request", (r) => {
      if (r.isNavigationRequest()) return;
      const from = r.frame()?.page();
      if (r.url().endsWith("/netcents/v1/tick")) ticks.push({ body: JSON.parse(r.postData() ?? "{}"), fromShopPage: from?.url().startsWith(shop) ?? false });
      if (from?.url().startsWith(shop)) shopRequests.push(`${r.url()} ${r.postData() ?? ""}`);
    });
    // Everything the shop page receives by message (the init script runs in every frame: only the page's).
    await ctx.addInitScript(() => {
      if (!location.host.startsWith("shop-a.test")) return;
      window.__seen = [];
      window.addEventListener("message", (e) => window.__seen.push(JSON.stringify(e.data)));
    });

    // A wallet with $1 of scrip.
    const wallet = await walletPage(ctx);
    await wallet.click("#open-account");
    await wallet.waitForSelector("#add-funds");
    await wallet.click("#add-funds");
    await wallet.waitForFunction(() => document.querySelector(".balance-card .sub")?.textContent.includes("$5.00"));
    await wallet.selectOption("#buy-amount", "1000000");
    await wallet.click("#buy");
    await wallet.waitForFunction(() => document.getElementById("spendable")?.textContent === "$1.00");
    const start = await summary(wallet);
    assert.equal(spendable(start), 1_000_000);

    // 1. The reader starts: the wallet window asks for the stream's most, once.
    const { page, popup } = await startReading(ctx, shop);
    await popup.waitForSelector("#approve");
    assert.equal(await popup.textContent("#price"), "3¢", "the most the stream may cost");
    assert.match(await popup.textContent("#rate"), /0\.01¢ a second · 300 seconds at most/);
    await popup.click("#approve");
    await popup.waitForSelector("body[data-state='streaming']");
    await page.waitForSelector("#live[data-state='reading']");
    assert.ok((await page.textContent("#live-text")).includes("Not one of the new lamps went out"), "the content came with the open stream");
    const pending = (await summary(wallet)).scrips.find((x) => x.paying);
    assert.ok(pending, "the stream's order is pending while it runs");
    const scripId = pending.id;

    // 2. The meter runs a few seconds.
    await meterAt(page, 3);
    const shotPath = join(ARTIFACTS, `stream-meter-${kind}.png`);
    await page.screenshot({ path: shotPath });
    await popup.screenshot({ path: join(ARTIFACTS, `stream-wallet-meter-${kind}.png`) });
    console.log(`screenshot of the meter: ${shotPath}`);
    await assertAccessible(page, "the live page's meter");
    await assertAccessible(popup, "the wallet window's meter");

    // 3. The page's script asks for twenty ticks at once: at most the paced ones are paid
    // (one now if a second has passed since the last, and one a second after it).
    const burst = await page.evaluate(async () => {
      const s = window.liveStream;
      const before = s.meter.paid;
      const got = await Promise.allSettled(Array.from({ length: 20 }, () => s.tick()));
      return { before, after: s.meter.paid, paid: got.map((g) => (g.status === "fulfilled" ? g.value.paid : -1)) };
    });
    assert.ok(burst.after - burst.before <= 2, `twenty tick requests at once paid ${burst.after - burst.before} ticks`);
    assert.ok(burst.paid.every((p) => p >= burst.before && p <= burst.before + 2), `each request got the paced meter: ${burst.paid}`);

    // 4. The reader stops: the stream closes at the vendor and its receipt settles the order.
    await page.click("#live-stop");
    await page.waitForSelector("#live[data-state='stopped']");
    const units = Number(await page.evaluate(() => document.getElementById("live").dataset.units));
    const charged = Number(await page.evaluate(() => document.getElementById("live").dataset.chargedMicros));
    assert.ok(units >= 3, `${units} seconds paid`);
    assert.equal(charged, units * UNIT_PRICE, "the receipt charges the ticks paid at the unit price");
    assert.ok((await page.textContent("#final-charge")).includes(`${charged / 10_000}¢`));
    await page.screenshot({ path: join(ARTIFACTS, `stream-stopped-${kind}.png`) });
    // The vendor took exactly the ticks released, each released by the wallet window.
    const released = ticks.filter((t) => t.body.scrip === scripId);
    assert.ok(released.length >= units, "every tick paid was released");
    assert.equal(Math.max(...released.map((t) => t.body.index)), units, "the receipt counts the last tick released");
    assert.ok(ticks.every((t) => !t.fromShopPage), "the shop page sent no tick");
    // The page never saw an element of the chain: not in a message, not in a request.
    const seen = await page.evaluate(() => window.__seen.join("\n"));
    const outgoing = shopRequests.join("\n");
    for (const t of released) {
      assert.ok(!seen.includes(t.body.element), "an element reached the shop page");
      assert.ok(!outgoing.includes(t.body.element), "an element left from the shop page");
    }
    assert.equal(await page.evaluate(() => { try { return String(window.liveStream.wallet.document.body); } catch (e) { return e.name; } }), "SecurityError", "the page cannot read the wallet window");
    const s1 = await summary(wallet);
    assert.equal(spendable(start) - spendable(s1), charged, "the balance moved by the charge, not the maximum");
    assert.ok(!s1.scrips.some((x) => x.paying), "the order is settled");
    const paid1 = s1.history.find((x) => x.kind === "paid" && x.scrip === scripId);
    assert.equal(paid1.amount_micros, charged);
    assert.equal(paid1.check, "matches");
    await page.close();

    // 5. Within the site's budget the stream needs no approval, and is held at its most until
    // the receipt gives the rest back.
    await wallet.evaluate(async (site) => {
      const { openWallet } = await import("/wallet/wallet.js");
      await (await openWallet()).setBudget(site, 50_000);
    }, shop);
    const second = await startReading(ctx, shop);
    await second.popup.waitForSelector("body[data-state='streaming']");
    const held = (await summary(wallet)).budgets.find((b) => b.site === shop);
    assert.equal(held.spent_micros, MAX, "the stream's most is counted while it runs");
    await meterAt(second.page, 2);
    const ended = await second.page.evaluate(() => window.liveStream.stop());
    assert.equal(ended.charged_micros, ended.units * UNIT_PRICE);
    const s2 = await summary(wallet);
    assert.equal(s2.budgets.find((b) => b.site === shop).spent_micros, ended.charged_micros, "the receipt gave the rest back");
    assert.equal(spendable(s1) - spendable(s2), ended.charged_micros);
    await second.page.close();

    // 6. Never past the ticks committed: the page's own stream of two ticks pays two, and no more.
    const short = await ctx.newPage();
    await short.goto(`${shop}${LIVE}`);
    await short.waitForSelector("#live[data-ready='1']");
    await short.evaluate(({ wallet, item }) => {
      const b = document.createElement("button");
      b.id = "two-ticks";
      b.textContent = "Two seconds";
      document.body.prepend(b);
      b.onclick = async () => {
        const { openWallet, stream } = await import(`${wallet}/pay.js`);
        const popup = openWallet();
        window.two = await stream(item, { ticks: 2, popup });
      };
    }, { wallet: walletOrigin, item: ITEM });
    await short.click("#two-ticks");
    await short.waitForFunction(() => window.two);
    const spent = await short.evaluate(async () => {
      const s = window.two;
      const paid = [(await s.tick()).paid, (await s.tick()).paid];
      const third = await s.tick().then(() => "paid", (e) => e.code);
      const done = await s.stop();
      return { paid, third, max: s.meter.max_micros, done };
    });
    assert.deepEqual(spent.paid, [1, 2]);
    assert.equal(spent.third, "stream_spent", "no tick past the ticks committed");
    assert.equal(spent.max, 2 * UNIT_PRICE);
    assert.deepEqual([spent.done.units, spent.done.charged_micros], [2, 2 * UNIT_PRICE]);
    const s2b = await summary(wallet);
    assert.equal(spendable(s2) - spendable(s2b), 2 * UNIT_PRICE);
    await short.close();

    // 7. A stream left open: its wallet window and its page close mid-stream. The order stays
    // pending, its most held; the wallet closes the stream when it next opens.
    const third = await startReading(ctx, shop);
    await third.popup.waitForSelector("body[data-state='streaming']");
    const paidBefore = await meterAt(third.page, 2);
    const openScrip = (await summary(wallet)).scrips.find((x) => x.paying)?.id;
    assert.ok(openScrip);
    await third.popup.close();
    await third.page.close();
    const left = await summary(wallet);
    assert.ok(left.scrips.find((x) => x.id === openScrip).paying, "still pending after its windows closed");
    await wallet.close();
    const next = await walletPage(ctx);
    const s3 = await summary(next);
    assert.ok(!s3.scrips.some((x) => x.paying), "the next load closed and settled the stream");
    const charged3 = spendable(s2b) - spendable(s3);
    const lastReleased = Math.max(...ticks.filter((t) => t.body.scrip === openScrip).map((t) => t.body.index));
    assert.equal(charged3 % UNIT_PRICE, 0);
    assert.ok(charged3 / UNIT_PRICE >= paidBefore && charged3 / UNIT_PRICE <= lastReleased, `charged ${charged3} for ${paidBefore} to ${lastReleased} ticks released`);
    const paids = s3.history.filter((x) => x.kind === "paid");
    assert.equal(paids.length, 4);
    assert.ok(paids.every((x) => x.check === "matches"));
    assert.ok(paids.some((x) => x.amount_micros === charged3));
    assert.equal(s3.budgets.find((b) => b.site === shop).spent_micros, ended.charged_micros + 2 * UNIT_PRICE + charged3, "the rest of its most came back");
    await ctx.close();
  });
}

/** The site's wallet frame's own wallet (its purse), read from inside the frame. */
async function purseSummary(page) {
  const frame = page.frames().find((f) => f.url().includes("/wallet/frame.html"));
  assert.ok(frame, "the page embeds the site's wallet frame");
  return frame.evaluate(async () => {
    const { default: init, Wallet } = await import("/pkg/netcents_wasm_pay.js");
    await init();
    return (await Wallet.open("netcents-purse")).summary();
  });
}

test("within the site's purse the frame pays the stream: no window, the same pacing, closed on the frame's next load if left open", async () => {
  const vendor = await startVendor(bank, "shop-a", walletOrigin);
  const shop = `http://shop-a.test:${vendor.port}`;
  // A browser that gives cross-site frames their own partitioned storage (as Firefox and Safari
  // do by default, and Chromium with third-party cookies allowed): the site's frame holds a purse.
  const ctx = await chromium.launchPersistentContext(scratch("profile-stream-purse"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 760 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-features=TrackingProtection3pcd",
      "--host-resolver-rules=MAP wallet.test 127.0.0.1, MAP shop-a.test 127.0.0.1",
    ],
  });
  browsers.push(ctx);
  const ticks = [];
  ctx.on("request", (r) => {
    if (r.isNavigationRequest() || !r.url().endsWith("/netcents/v1/tick")) return;
    ticks.push({ body: JSON.parse(r.postData() ?? "{}"), fromFrame: r.frame().url().includes("/wallet/frame.html") });
  });
  const wallet = await walletPage(ctx);
  await wallet.click("#open-account");
  await wallet.waitForSelector("#add-funds");
  await wallet.click("#add-funds");
  await wallet.waitForFunction(() => document.querySelector(".balance-card .sub")?.textContent.includes("$5.00"));
  await wallet.selectOption("#buy-amount", "1000000");
  await wallet.click("#buy");
  await wallet.waitForFunction(() => document.getElementById("spendable")?.textContent === "$1.00");

  // The first purchase on the site asks; the user allows 5¢: the site's frame gets a purse.
  const article = await ctx.newPage();
  await article.goto(`${shop}/read/tiny-payments.html`);
  const button = article.locator("netcents-pay button:not([disabled])");
  await button.waitFor();
  const [popup] = await Promise.all([article.waitForEvent("popup"), button.click()]);
  await popup.waitForSelector("body[data-state='ask']");
  await popup.check("#allow");
  await popup.selectOption("#allow-amount", "50000");
  await popup.click("#approve");
  await popup.waitForSelector("body[data-purse]");
  assert.equal(await popup.evaluate(() => document.body.dataset.purse), "given");
  await article.close();

  // Reading live within the purse: no window; the frame releases the ticks.
  const page = await ctx.newPage();
  const windows = [];
  page.on("popup", (p) => windows.push(p));
  await page.goto(`${shop}${LIVE}`);
  await page.waitForSelector("#live[data-ready='1']");
  await page.waitForFunction(() => document.querySelector("iframe[src*='frame.html']"));
  await page.click("#live-start");
  await page.waitForSelector("#live[data-state='reading']");
  const during = await purseSummary(page);
  assert.equal(during.budgets[0].spent_micros, MAX, "the stream's most is held against the purse's budget");
  await meterAt(page, 2);
  const burst = await page.evaluate(async () => {
    const s = window.liveStream;
    const before = s.meter.paid;
    await Promise.allSettled(Array.from({ length: 20 }, () => s.tick()));
    return { before, after: s.meter.paid };
  });
  assert.ok(burst.after - burst.before <= 2, `twenty tick requests at once paid ${burst.after - burst.before} ticks`);
  await page.click("#live-stop");
  await page.waitForSelector("#live[data-state='stopped']");
  const units = Number(await page.evaluate(() => document.getElementById("live").dataset.units));
  const charged = Number(await page.evaluate(() => document.getElementById("live").dataset.chargedMicros));
  assert.ok(units >= 2);
  assert.equal(charged, units * UNIT_PRICE);
  assert.equal(windows.length, 0, "no wallet window within the purse");
  assert.ok(ticks.length > 0 && ticks.every((t) => t.fromFrame), "every tick came from the site's wallet frame");
  const after = await purseSummary(page);
  assert.equal(after.scrips[0].balance_micros, 50_000 - charged, "the purse paid the charge, not the most");
  assert.equal(after.budgets[0].spent_micros, charged, "the receipt gave the rest of the most back");
  assert.ok(!after.scrips.some((x) => x.paying));

  // Left open: the page closes mid-stream, and the frame with it. The next page of the site
  // loads the frame, which closes the stream and settles it at the ticks paid.
  await page.click("#live-start");
  await page.waitForSelector("#live[data-state='reading']");
  const paidBefore = await meterAt(page, 2);
  await page.close();
  const next = await ctx.newPage();
  await next.goto(`${shop}/read/tiny-payments.html`);
  await next.waitForFunction(() => document.querySelector("iframe[src*='frame.html']"));
  let settled;
  for (let i = 0; i < 100; i += 1) {
    settled = await purseSummary(next).catch(() => null);
    if (settled && !settled.scrips.some((x) => x.paying)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(!settled.scrips.some((x) => x.paying), "the frame's next load closed the stream");
  const charged2 = after.scrips[0].balance_micros - settled.scrips[0].balance_micros;
  assert.equal(charged2 % UNIT_PRICE, 0);
  assert.ok(charged2 / UNIT_PRICE >= paidBefore, `charged ${charged2} after ${paidBefore} ticks`);
  assert.equal(settled.budgets[0].spent_micros, charged + charged2);
  assert.ok(settled.history.filter((x) => x.kind === "paid").every((x) => x.check === "matches"));
  await ctx.close();
});
