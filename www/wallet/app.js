// The wallet's main page: balance, scrip, history with receipts, sites and budgets, disputes.

import {
  openWallet, ensureAccount, buyScrip, buyCoins, coinFaces, retryIssues, retryCoins, redeem, resend, resendPending,
  exchange, retryExchanges,
  syncDisputes, backup, restore, money, shortId, when, siteName, h, bankGet, bankPost,
} from "./wallet.js";

const app = document.getElementById("app");
const chip = document.getElementById("account-chip");
let tab = new URLSearchParams(location.search).get("tab") ?? "history";
let demo = null;
let accountBalance = null;
let buyAnonymous = false; // the buy box's choice, kept across renders

const ICONS = {
  paid: '<path d="M6 3h9l4 4v14H6z"/><path d="M14 3v5h5M9 12h7M9 16h7"/>',
  issued: '<circle cx="12" cy="12" r="8"/><path d="M14.5 9.5a3 3 0 1 0 0 5M12 6.5v2M12 15.5v2"/>',
  refused: '<circle cx="12" cy="12" r="8"/><path d="M7 17 17 7"/>',
  redeemed: '<path d="M9 14 4 9l5-5"/><path d="M4 9h10a6 6 0 0 1 0 12h-3"/>',
  dispute: '<path d="M12 4v16M6 20h12M5 8h14M5 8l-2.5 6a3 3 0 0 0 5 0zM19 8l-2.5 6a3 3 0 0 0 5 0z"/>',
  wait: '<path d="M7 3h10M7 21h10M8 3c0 5 8 5 8 9s-8 4-8 9M16 3c0 5-8 5-8 9"/>',
  lock: '<rect x="5" y="10" width="14" height="10" rx="2"/><path d="M8 10V7a4 4 0 0 1 8 0v3"/>',
};

function icon(name) {
  const span = document.createElement("span");
  span.className = "svg-icon";
  span.innerHTML = `<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[name]}</svg>`;
  return span;
}

function toast(text, bad = false) {
  document.querySelectorAll(".toast").forEach((t) => t.remove());
  const t = h(`div.toast${bad ? ".bad" : ""}`, { role: "status" }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 3500);
}

async function busy(button, work, { rerender = true } = {}) {
  button.disabled = true;
  try {
    await work();
  } catch (e) {
    toast(e.hint ?? e.message ?? String(e), true);
  } finally {
    button.disabled = false;
    if (rerender) await render();
  }
}

async function loadDemo(account) {
  if (demo === null) {
    try {
      demo = await bankGet("/demo/info");
    } catch {
      demo = false;
    }
  }
  accountBalance = null;
  if (demo && account) {
    try {
      accountBalance = (await bankGet(`/demo/account/${account}`)).balance_micros;
    } catch {
      accountBalance = null;
    }
  }
}

/** A wallet's backup file, sealed under a passphrase the user chooses (at least 10 characters). */
function backupBox(w, { rerender = true } = {}) {
  const pass = h("input", { id: "backup-pass", type: "password", placeholder: "Passphrase (10 characters or more)", "aria-label": "Backup passphrase", autocomplete: "new-password" });
  const save = h("button", { id: "backup" }, "Back up this wallet");
  save.onclick = () => busy(save, async () => {
    const sealed = await backup(w, pass.value);
    const a = h("a", { href: URL.createObjectURL(new Blob([sealed], { type: "application/octet-stream" })), download: "netcents-wallet.backup" });
    document.body.append(a);
    a.click();
    a.remove();
    pass.value = "";
    toast("Backup saved. Keep the file and its passphrase apart: together they are your wallet.");
  }, { rerender });
  return h("div.actions", { style: "margin-top:0.8rem" }, pass, save);
}

/** Makes this (new) wallet from a backup file of another browser or of `netcents export`. */
function restoreBox(w) {
  const file = h("input", { id: "restore-file", type: "file", "aria-label": "Backup file" });
  const pass = h("input", { id: "restore-pass", type: "password", placeholder: "Its passphrase", "aria-label": "Backup passphrase", autocomplete: "current-password" });
  const go = h("button", { id: "restore" }, "Restore");
  go.onclick = () => busy(go, async () => {
    const f = file.files?.[0];
    if (!f) throw new Error("Choose the backup file first.");
    await restore(w, new Uint8Array(await f.arrayBuffer()), pass.value);
    // The backup's wallet knows its bank: this bank must be the same one.
    await w.setBank(await bankGet("/v1/keys"));
    toast("Your wallet is back.");
  });
  return h("div.restore", {}, h("p", {}, "Have a backup? Restore your wallet from it."), h("div.actions", {}, file, pass, go));
}

/**
 * The wallet in this browser was made with another bank than the one this page talks to (the
 * demo restarted from scratch, or the page moved to another bank): nothing is lost, and the user
 * chooses. Keep it: save its backup and open it where its bank is. Or start a new wallet for
 * this bank, once the backup is saved.
 */
function otherBank(w, hint) {
  const saved = h("input", { id: "backup-saved", type: "checkbox" });
  const fresh = h("button", { id: "start-new", disabled: true }, "Start a new wallet here");
  saved.onchange = () => {
    fresh.disabled = !saved.checked;
  };
  fresh.onclick = async () => {
    fresh.disabled = true;
    await w.reset();
    location.reload();
  };
  return h("section.welcome", { id: "other-bank" },
    h("h1", {}, "This wallet belongs to another bank"),
    h("p", {}, "The bank this page works with is not the one your wallet was made with ",
      `(${hint}). Your keys and scrip are still here, untouched. Keep them: back the wallet up and `,
      "restore the backup where its bank is. Or start a new wallet for this bank."),
    centered(backupBox(w, { rerender: false })),
    h("label", { style: "display:block;margin-top:1rem" }, saved, " I saved a backup of this wallet, or I do not need its scrip"),
    centered(h("div.actions", {}, fresh)));
}

function centered(el) {
  el.style.justifyContent = "center";
  return el;
}

function welcome(w) {
  const open = h("button.primary", { id: "open-account" }, "Create my wallet");
  open.onclick = () => busy(open, async () => {
    await ensureAccount(w);
    toast("Your wallet is ready.");
  });
  return h("section.welcome", {},
    h("span.coin", { style: "width:56px;height:56px;font-size:1.6rem;margin:auto" }, "¢"),
    h("h1", {}, "Pay for the web a fraction of a cent at a time"),
    h("p", {}, "NetCents keeps a little prepaid scrip in this wallet. Articles, images and APIs cost a ",
      "tenth of a cent or less; your wallet signs each payment and checks every receipt."),
    open,
    h("div.steps", {},
      h("div.step", {}, h("b", {}, "1. Create"), "A private key is made in this window and never leaves it."),
      h("div.step", {}, h("b", {}, "2. Buy scrip"), "Move a dollar from your bank account into scrip."),
      h("div.step", {}, h("b", {}, "3. Read"), "Click a NetCents button on any site; approve once, or set a budget.")),
    restoreBox(w));
}

function hero(w, s) {
  const cur = s.currency ?? "USD";
  const buy = h("select", { id: "buy-amount", "aria-label": "Amount" },
    h("option", { value: "100000" }, money(100_000, cur)),
    h("option", { value: "1000000", selected: true }, money(1_000_000, cur)),
    h("option", { value: "5000000" }, money(5_000_000, cur)));
  const buyButton = h("button.primary", { id: "buy" }, "Buy scrip");
  // Anonymous scrip: bought as coins the bank signs blind, so it cannot tell which account paid
  // for the scrip they become (docs/PROTOCOL.md §5.11). The RSA code loads on the first purchase.
  const anonymous = h("input", { type: "checkbox", id: "buy-anonymous" });
  anonymous.checked = buyAnonymous;
  const faces = h("div.sub.coin-faces", { id: "coin-faces", "aria-live": "polite" });
  const showFaces = async () => {
    buyAnonymous = anonymous.checked;
    buyButton.textContent = anonymous.checked ? "Buy anonymous scrip" : "Buy scrip";
    if (!anonymous.checked) {
      faces.replaceChildren();
      return;
    }
    let split = null;
    try {
      split = await coinFaces(w, Number(buy.value));
    } catch {
      split = null;
    }
    faces.replaceChildren(split
      ? h("span", {}, `As ${split.length} ${split.length === 1 ? "coin" : "coins"}: `, split.map((f) => h("span.face", {}, money(f, cur))))
      : "The bank issues no coins for this amount now.");
  };
  anonymous.onchange = showFaces;
  buy.onchange = showFaces;
  showFaces();
  buyButton.onclick = () => busy(buyButton, async () => {
    const micros = Number(buy.value);
    let bought;
    try {
      bought = anonymous.checked ? await buyCoins(w, micros) : await buyScrip(w, micros);
    } catch (e) {
      // The bank debits the account for the scrip: say so in the account's terms.
      if (e.code === "insufficient_balance") {
        const has = accountBalance === null ? "" : ` has ${money(accountBalance, cur)}`;
        throw new Error(`Your bank account${has}: not enough for ${money(micros, cur)} of scrip. Add funds to it first.`);
      }
      throw e;
    }
    toast(anonymous.checked
      ? `Bought ${money(micros, cur)} of anonymous scrip as ${bought.length === 1 ? "a coin" : `${bought.length} coins`} (${bought.map((f) => money(f, cur)).join(" + ")}). Each becomes scrip at its first payment.`
      : `Bought ${money(micros, cur)} of scrip.`);
  });
  const actions = h("div.actions", {}, buy, buyButton,
    h("label.anonymous", { title: "The bank signs the coins blind: it sees your account pay, never which scrip the coins become." }, anonymous, "Anonymous"));
  if (demo?.faucet) {
    const fund = h("button", { id: "add-funds" }, "Add demo funds");
    fund.onclick = () => busy(fund, async () => {
      await bankPost("/demo/faucet", { account: s.account });
      toast(`Added ${money(demo.faucet_micros, cur)} to your bank account.`);
    });
    actions.append(fund);
  }
  const live = s.scrips.filter((x) => x.status === "live" || x.status === "paying");
  const awaiting = s.scrips.filter((x) => x.status === "paying").reduce((a, x) => a + x.balance_micros, 0);
  const paid = s.history.filter((x) => x.kind === "paid");
  const spent = paid.reduce((a, x) => a + x.amount_micros, 0);
  const coins = s.coins ?? [];
  const coinsTotal = coins.reduce((a, c) => a + c.face_micros, 0);
  return h("section.hero", {},
    h("div.card.balance-card", {},
      h("div.label", {}, "Spendable scrip"),
      h("div.big", { id: "spendable" }, money(s.spendable_micros, cur)),
      h("div.sub", {}, `${live.length} live scrip · `,
        accountBalance === null ? "bank account" : `bank account ${money(accountBalance, cur)}`,
        awaiting ? ` · ${money(awaiting, cur)} in a payment awaiting its receipt` : ""),
      coins.length
        ? h("div.sub", { id: "coins-held" }, `+ ${money(coinsTotal, cur)} in ${coins.length} anonymous ${coins.length === 1 ? "coin" : "coins"}`)
        : null,
      s.minting ? h("div.sub", { id: "coins-minting" }, `${s.minting} ${s.minting === 1 ? "request" : "requests"} for coins awaiting the bank`) : null,
      actions, faces),
    h("div.card", {},
      h("div.label", {}, "This wallet"),
      h("div.rows", { style: "margin-top:0.6rem" },
        h("div", {}, "Payments", h("b", { id: "payments" }, String(paid.length))),
        h("div", {}, "Spent", h("b", {}, money(spent, cur))),
        h("div", {}, "Sites with a budget", h("b", {}, String(s.budgets.filter((b) => b.limit_micros > b.spent_micros).length))),
        h("div", {}, "Receipts checked", h("b", {}, `${paid.filter((x) => x.check === "matches").length} of ${paid.length}`))),
      backupBox(w)));
}

/** The anonymous coins held: each becomes a scrip, named by no account, at its first payment. */
function coinsTable(s) {
  const cur = s.currency ?? "USD";
  if (!s.coins?.length) return null;
  return h("div", { style: "margin-top:1.2rem" },
    h("h2.section", {}, "Anonymous coins"),
    h("p.sub", {}, "Signed blind by the bank: it saw your account pay for them, and will never know which scrip they become. Each becomes a scrip at its first payment, not before, so the time you bought it does not give you away."),
    h("table", { id: "coins" },
      h("thead", {}, h("tr", {}, h("th", {}, "Coin"), h("th.num", {}, "Face"), h("th", {}, "Expires"), h("th", {}, "Status"))),
      h("tbody", {}, [...s.coins].sort((a, b) => b.face_micros - a.face_micros).map((c) => h("tr", { "data-coin": c.scrip_id },
        h("td", {}, h("span.coin.small", { "aria-hidden": "true" }, "¢"), h("span.mono", {}, shortId(c.scrip_id))),
        h("td.num", {}, h("b", {}, money(c.face_micros, cur))),
        h("td", {}, new Date(c.expires_at_ms).toLocaleDateString()),
        h("td", {}, h("span.badge.info", {}, "held")))))));
}

function scripTab(w, s) {
  const coins = coinsTable(s);
  if (!s.scrips.length) return h("div", {}, coins ?? h("div.empty", {}, "No scrip yet. Buy some above to start paying."));
  return h("div", {}, scripTable(w, s), coins);
}

function scripTable(w, s) {
  const cur = s.currency ?? "USD";
  const badge = { live: "good", paying: "info", redeeming: "warn", redeemed: "", expired: "bad" };
  return h("table", { id: "scrip-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Scrip"), h("th", {}, "Held by"), h("th.num", {}, "Balance"),
      h("th.num", {}, "Payments"), h("th", {}, "Status"), h("th", {}, h("span.visually-hidden", {}, "Action")))),
    h("tbody", {}, s.scrips.map((x) => {
      // Redeeming anonymous scrip names the account it refunds: the bank then knows it was yours.
      const red = h("button.ghost", { "data-redeem": x.id, title: x.anonymous ? "What is left goes back to your bank account, which then names this scrip as yours." : null }, "Redeem");
      red.onclick = () => busy(red, async () => {
        const refund = await redeem(w, x.id);
        toast(`Redeemed: ${money(refund, cur)} back to your bank account.`);
      });
      // Exchanging keeps the change anonymous: new coins, signed blind.
      let ex = null;
      if (x.anonymous) {
        ex = h("button.ghost", { "data-exchange": x.id, title: "What is left becomes new anonymous coins, which the bank cannot link to this scrip." }, "Exchange");
        ex.onclick = () => busy(ex, async () => {
          const faces = await exchange(w, x.id);
          const total = faces.reduce((a, b) => a + b, 0);
          toast(`Exchanged: ${money(total, cur)} in ${faces.length} new anonymous coin${faces.length === 1 ? "" : "s"}.`);
        });
      }
      const pct = Math.round((100 * x.balance_micros) / x.face_micros);
      return h("tr", { "data-scrip": x.id },
        h("td", {}, h("div.mono", {}, shortId(x.id)),
          h("div.sub", {}, `issued ${when(x.issued_at_ms)}`, x.anonymous ? h("span.badge.x", { style: "margin-left:0.4rem" }, "anonymous") : null)),
        h("td", {}, x.status === "redeemed" ? "returned to the bank" : x.holder === "bank" ? "NetCents bank" : siteName(x.holder)),
        h("td.num", {}, h("div", { class: "scrip-balance" }, money(x.balance_micros, cur)),
          h("div.bar", {}, h("span", { style: `width:${pct}%` })),
          h("div.sub", {}, `of ${money(x.face_micros, cur)}`)),
        h("td.num", {}, String(x.receipts)),
        h("td", {}, h(`span.badge.${badge[x.status] || "x"}`, {}, x.status)),
        h("td", {}, x.status === "live" ? h("div.actions", { style: "margin-top:0" }, ex, red) : null));
    })));
}

function historyTab(s) {
  const cur = s.currency ?? "USD";
  if (!s.history.length) return h("div.empty", {}, "Nothing yet. Payments and their receipts will show here.");
  return h("div.card", { id: "history" }, s.history.map((x) => {
    let title;
    let detail;
    let amount;
    if (x.kind === "paid") {
      title = siteName(x.site || x.vendor);
      detail = `${new URL(x.url).pathname} · receipt #${x.seq} · scrip ${shortId(x.scrip)} left ${money(x.balance_after_micros, cur)}`;
      amount = h("div.amount.out", {}, `−${money(x.amount_micros, cur)}`);
    } else if (x.kind === "issued") {
      title = "Bought scrip";
      detail = `scrip ${shortId(x.scrip)}`;
      amount = h("div.amount.in", {}, `+${money(x.amount_micros, cur)}`);
    } else if (x.kind === "refused") {
      title = `Refused by ${siteName(x.site)}`;
      detail = `${x.url ? new URL(x.url).pathname : ""} · ${x.code.replaceAll("_", " ")}`;
      amount = h("div.amount", {}, "—");
    } else {
      title = "Redeemed scrip";
      detail = `scrip ${shortId(x.scrip)} refunded to your bank account`;
      amount = h("div.amount.in", {}, money(x.amount_micros, cur));
    }
    const check = x.kind === "paid"
      ? h(`span.badge.${x.check === "matches" ? "good" : "bad"}`, { style: "margin-left:0.5rem" },
        x.check === "matches" ? "receipt verified" : "receipt contradicts")
      : null;
    return h("div.history-item", { "data-kind": x.kind },
      h(`div.icon.${x.kind}`, {}, icon(x.kind)),
      h("div", {}, h("div.title", {}, title, check), h("div.sub", {}, `${when(x.at_ms)} · ${detail}`)),
      amount,
      x.kind === "paid"
        ? h("details.receipt", {}, h("summary", {}, "Signed receipt"),
          h("pre", {}, `vendor ${x.vendor}\nsequence ${x.seq}, balance after ${money(x.balance_after_micros, cur)}\ndigest ${x.receipt_digest}\n\n${x.receipt}`))
        : null);
  }));
}

function pursesTable(s) {
  const cur = s.currency ?? "USD";
  if (!s.purses?.length) return null;
  return h("div", {},
    h("h3", {}, "Purses given to sites"),
    h("p.sub", {}, "A purse lets a site charge you without a window, up to its amount, from the site's own page. What it does not spend comes back to your account when it expires."),
    h("table", { id: "purses" },
      h("thead", {}, h("tr", {}, h("th", {}, "Site"), h("th.num", {}, "Amount"), h("th", {}, "Given"), h("th", {}, "Expires"))),
      h("tbody", {}, s.purses.map((p) => h("tr", { "data-purse": p.scrip },
        h("td", {}, h("b", {}, siteName(p.site)), h("div.sub", {}, p.site)),
        h("td.num", {}, money(p.face_micros, cur)),
        h("td", {}, when(p.at_ms)),
        h("td", {}, p.expired ? h("span.badge", {}, "expired: the rest came back") : when(p.expires_at_ms)))))));
}

function sitesTab(w, s) {
  const purses = pursesTable(s);
  if (!s.budgets.length) {
    return h("div", {}, purses ?? h("div.empty", {}, "No site may charge you without asking. When you approve a payment you can let that site charge small amounts up to a budget."));
  }
  return h("div", {}, budgetsTable(w, s), purses);
}

function budgetsTable(w, s) {
  const cur = s.currency ?? "USD";
  return h("table", { id: "sites" },
    h("thead", {}, h("tr", {}, h("th", {}, "Site"), h("th.num", {}, "Paid"), h("th.num", {}, "Budget left"), h("th", {}, h("span.visually-hidden", {}, "Action")))),
    h("tbody", {}, s.budgets.map((b) => {
      // Everything paid to the site from this wallet, approved one by one or within the budget.
      const paid = s.history.filter((x) => x.kind === "paid" && x.site === b.site).reduce((a, x) => a + x.amount_micros, 0);
      const left = Math.max(0, b.limit_micros - b.spent_micros);
      const revoke = h(left ? "button.ghost.danger" : "button.ghost", {}, left ? "Revoke" : "Allow 5¢");
      revoke.onclick = () => busy(revoke, () => w.setBudget(b.site, left ? 0 : 50_000));
      return h("tr", { "data-site": b.site },
        h("td", {}, h("b", {}, siteName(b.site)), h("div.sub", {}, b.site)),
        h("td.num", {}, money(paid, cur),
          b.spent_micros ? h("div.sub", {}, `${money(b.spent_micros, cur)} within the budget`) : null,
          b.pending_micros ? h("div.sub", {}, `${money(b.pending_micros, cur)} pending`) : null),
        h("td.num", {}, left ? money(left, cur) : h("span.badge", {}, "asks every time")),
        h("td", {}, revoke));
    })));
}

function disputesTab(w, s) {
  const sync = h("button", { id: "sync-disputes" }, "File and refresh");
  sync.onclick = () => busy(sync, () => syncDisputes(w));
  const cur = s.currency ?? "USD";
  const paying = s.scrips.filter((x) => x.status === "paying");
  const pending = paying.map((x) => {
    const again = h("button", { "data-resend": x.id }, "Send again");
    again.onclick = () => busy(again, async () => {
      const answer = await resend(w, x.id);
      toast(answer.paid ? "The shop confirmed the payment." : `The shop refused the payment (signed): ${answer.refused.code.replaceAll("_", " ")}. Nothing was paid.`);
    });
    const report = h("button.ghost.danger", { "data-report": x.id }, "Report non-delivery");
    report.onclick = () => busy(report, async () => {
      await w.nonDelivery(x.id);
      await syncDisputes(w);
      toast("Reported to the arbiter.");
    });
    const reported = s.disputes.some((d) => d.scrip === x.id && d.kind === "non_delivery");
    const p = x.paying;
    const what = p?.url ? `${money(p.price_micros, cur)} to ${siteName(p.site)} · ${new URL(p.url).pathname}` : `scrip ${shortId(x.id)}`;
    const budget = p?.budgeted ? " It counts against the site's budget until then." : "";
    return h("div.history-item", { "data-pending": x.id }, h("div.icon.refused", {}, icon("wait")),
      h("div", {}, h("div.title", {}, "Payment pending", h("span.badge.info", { style: "margin-left:0.5rem" }, "pending")),
        h("div.sub", {}, `${what} · no receipt and no signed refusal yet.${budget} Send it again (never charged twice), or report that nothing came.`)),
      h("div.actions", { style: "margin:0" }, again, reported ? null : report));
  });
  const list = s.disputes.map((d) => h("div.history-item", {},
    h("div.icon.refused", {}, icon("dispute")),
    h("div", {}, h("div.title", {}, d.kind === "balance" ? "Balance dispute" : "Non-delivery",
      h("span.badge.warn", { style: "margin-left:0.5rem" }, d.verdict || d.state)),
      h("div.sub", {}, `${when(d.at_ms)} · ${siteName(d.vendor)} · scrip ${shortId(d.scrip)}`)),
    h("div.mono", {}, shortId(d.id))));
  if (!list.length && !pending.length) {
    return h("div", {}, h("div.empty", {}, "No disputes. Every receipt matched what this wallet signed."));
  }
  return h("div", {}, h("div.card", {}, pending, list), h("div.actions", {}, sync));
}

async function render() {
  const w = await openWallet();
  const s = await w.summary();
  if (!s.account) {
    chip.hidden = true;
    app.replaceChildren(welcome(w));
    document.body.dataset.ready = "1";
    return;
  }
  await loadDemo(s.account);
  chip.hidden = false;
  chip.textContent = `account ${shortId(s.account)}`;
  const tabs = [
    ["history", "History", s.history.length],
    ["scrip", "Scrip", s.scrips.length + (s.coins?.length ?? 0)],
    ["sites", "Sites & budgets", s.budgets.length + (s.purses?.length ?? 0)],
    ["disputes", "Disputes", s.disputes.length + s.scrips.filter((x) => x.status === "paying").length],
  ];
  // A tab list (WAI-ARIA): one tab in the tab order, arrow keys, Home and End move between tabs.
  const select = (id, focus) => {
    tab = id;
    render().then(() => focus && document.getElementById(`tab-${id}`)?.focus());
  };
  const bar = h("div.tabs", { role: "tablist", "aria-label": "Wallet" }, tabs.map(([id, label, n], i) => {
    const b = h("button", {
      role: "tab", id: `tab-${id}`, "aria-selected": String(tab === id), "aria-controls": `panel-${id}`,
      tabindex: tab === id ? "0" : "-1", "data-tab": id,
    }, label, h("span.count", { "aria-label": `(${n})` }, String(n)));
    b.onclick = () => select(id, false);
    b.onkeydown = (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      select(tabs[(to + tabs.length) % tabs.length][0], true);
    };
    return b;
  }));
  const content = { scrip: scripTab(w, s), history: historyTab(s), sites: sitesTab(w, s), disputes: disputesTab(w, s) }[tab];
  const body = h("div.table-wrap", { role: "tabpanel", id: `panel-${tab}`, "aria-labelledby": `tab-${tab}`, tabindex: "0" }, content);
  app.replaceChildren(hero(w, s), bar, body,
    h("div.note", {}, icon("lock"), h("span", {}, "Your keys and scrip live only in this wallet's own storage. Shops talk to it through its own window, or the hidden wallet frame of a site you gave a purse, and never see them; each payment is checked against what you allowed that site.")));
  document.body.dataset.ready = "1";
}

(async () => {
  try {
    const w = await openWallet();
    await retryIssues(w);
    await retryCoins(w);
    await retryExchanges(w);
    await resendPending(w);
    await render();
  } catch (e) {
    if (e.code === "bank_changed" && e.wallet) {
      app.replaceChildren(otherBank(e.wallet, e.hint));
      document.body.dataset.ready = "other-bank";
      return;
    }
    app.replaceChildren(h("div.empty", {}, `The wallet could not start: ${e.hint ?? e.message}`));
    document.body.dataset.ready = "error";
  }
})();

// Another window of this wallet (the payment window) changed the state: show it.
const refresh = () => document.body.dataset.ready === "1" && render().catch(() => {});
window.addEventListener("focus", refresh);
new BroadcastChannel("netcents-wallet").onmessage = refresh;
