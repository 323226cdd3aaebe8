// @netcents/fetch: a fetch that pays HTTP 402 NetCents offers from the command-line wallet's
// file. Every protocol decision (is the offer acceptable, which scrip pays, what does the
// vendor's answer mean, what is sent again) is the wallet machine's, the same Rust code as
// the `netcents` command (pkg/, built from node-wallet/); this file does HTTP, the file and
// the lock.

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import wasm from "./pkg/netcents_node_wallet.js";

const { NodeWallet } = wasm;

/** The CLI's default spending cap of a run (`netcents pay --max 0.01`), in micro-units. */
const DEFAULT_CAP = 10_000;
/** A lock directory without a pid, or a takeover directory, is stale after this long. */
const LOCK_GRACE_MS = 10_000;

/** An error of a payment: `code` is stable (snake_case), `hint` says what to do. */
export class NetCentsError extends Error {
  constructor(code, hint, extra = {}) {
    super(`${code}: ${hint}`);
    this.name = "NetCentsError";
    this.code = code;
    this.hint = hint;
    Object.assign(this, extra);
  }
}

/** The wallet machine's errors (JS `Error`s with `code` and `hint`) as `NetCentsError`s. */
function asNetCents(e) {
  if (e instanceof NetCentsError) return e;
  if (e && typeof e.code === "string" && typeof e.hint === "string") {
    return new NetCentsError(e.code, e.hint);
  }
  return e;
}

function wholeMicros(name, v, fallback) {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new NetCentsError("bad_value", `${name} must be a whole, non-negative number of micro-units`);
  }
  return v;
}

/**
 * Wraps `fetch`: a 402 answer with a NetCents offer is paid from the wallet file and the
 * request sent again with the payment; every other answer is returned as it is.
 */
export function wrapFetch(fetch, options = {}) {
  if (typeof fetch !== "function") throw new TypeError("wrapFetch: the first argument must be a fetch function");
  if (typeof options.wallet !== "string" || options.wallet === "") {
    throw new NetCentsError("bad_value", "options.wallet must be the path of a wallet file (`netcents init` makes one)");
  }
  const wallet = resolve(options.wallet);
  const maxPerCall = wholeMicros("maxPerCall", options.maxPerCall, DEFAULT_CAP);
  const maxPerRun = wholeMicros("maxPerRun", options.maxPerRun, DEFAULT_CAP);
  const lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
  const log = typeof options.log === "function" ? options.log : () => {};
  const payments = [];
  let spent = 0;
  let followedDisputes = false;

  /** The request again, with `extra` headers (a Request is cloned, so its body can be resent). */
  function send(input, init, extra) {
    if (typeof Request !== "undefined" && input instanceof Request) {
      const headers = new Headers(input.headers);
      for (const [k, v] of Object.entries(extra)) headers.set(k, v);
      return fetch(new Request(input.clone(), { headers }));
    }
    const headers = new Headers(init?.headers);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    return fetch(input, { ...init, headers });
  }

  async function netcentsFetch(input, init) {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const first = await send(input, init, {});
    const offer = await offerOf(first);
    if (!offer) return first;
    await first.body?.cancel().catch(() => {});
    return withWallet(wallet, lockTimeoutMs, async (w, save) => {
      // What earlier runs left unanswered goes first: it blocks its scrip until settled, and
      // may be this very call's payment (a lost answer), which is then not paid again.
      const earlier = await recover(w, save, url, offer);
      if (earlier) return earlier;
      let current = offer;
      const token = w.access(url);
      if (token) {
        const again = await send(input, init, { "X-NetCents-Access": token });
        const renewed = await offerOf(again);
        if (!renewed) {
          log(`read ${url} again with the access bought earlier: nothing paid`);
          return again;
        }
        // The vendor no longer honours the token: it is forgotten, and the item paid again.
        w.accessRefused(url);
        await save();
        current = renewed;
      }
      let signed;
      try {
        signed = w.pay(url, current, maxPerCall, maxPerRun - spent);
      } catch (e) {
        throw asNetCents(e);
      }
      spent += signed.price_micros;
      // The order is stored before it is sent: if its answer is lost, the next call sends
      // the same bytes again and the vendor answers with the same receipt.
      await save();
      let answer = await pay(w, save, url, signed.scrip_id, () => send(input, init, { [signed.header]: signed.value }));
      if (answer.settled.outcome === "pending") {
        // An unsigned refusal may not be final: the same order once more gets its receipt,
        // or the vendor's signed refusal (PROTOCOL.md §12.3).
        answer = await pay(w, save, url, signed.scrip_id, () => send(input, init, { [signed.header]: signed.value }));
      }
      const { res, settled } = answer;
      if (settled.outcome === "paid") {
        const access = res.headers.get("x-netcents-access");
        if (access) {
          w.onAccess(url, access, current.access_ms);
          await save();
        }
        const receipt = res.headers.get("x-netcents-receipt");
        // An item sold by the unit is charged what was used, at most what was authorised
        // (PROTOCOL.md §5.13): the rest goes back to the run's cap.
        const charged = settled.charged_micros;
        spent -= signed.price_micros - charged;
        payments.push({ url, price_micros: charged, most_micros: signed.price_micros, vendor: signed.vendor, item: signed.item, scrip_id: signed.scrip_id, receipt });
        log(`paid ${charged} micro-units to vendor ${signed.vendor} for ${signed.item}`);
        if (settled.dispute) log(`${settled.hint}`);
        return res;
      }
      if (settled.outcome === "refused") {
        // The vendor's signed refusal of exactly this order: nothing was paid; or, for an item
        // sold by the unit whose app failed, the receipt of what it charged.
        spent -= signed.price_micros - (settled.charged_micros || 0);
        throw new NetCentsError(settled.code, settled.hint || `the vendor refused the payment (${res.status})`, { status: res.status });
      }
      throw new NetCentsError(settled.code || "unanswered",
        `${settled.hint ? `${settled.hint}; ` : ""}the payment for ${url} is unanswered: the same order is sent again, unchanged, on the next call`,
        { status: res.status, pending: true });
    });
  }

  /** Sends a payment, gives the answer to the machine and saves what it made of it. */
  async function pay(w, save, url, scripId, sendIt) {
    let res;
    try {
      res = await sendIt();
    } catch (e) {
      throw new NetCentsError("unanswered",
        `paying ${url}: no answer (${e?.message ?? e}); the same order is sent again, unchanged, on the next call`,
        { pending: true, cause: e });
    }
    const body = res.status === 200 ? "" : await res.clone().text();
    let settled;
    try {
      settled = w.settle(scripId, res.status, res.headers.get("x-netcents-receipt") ?? undefined, body);
    } catch (e) {
      throw asNetCents(e);
    }
    await save();
    return { res, settled };
  }

  /** Sends again what earlier runs stored and never saw answered; follows disputes. */
  async function recover(w, save, url, offer) {
    let mine = null;
    for (const p of w.pending()) {
      let res;
      try {
        res = await fetch(p.url, { headers: { [p.header]: p.value } });
      } catch (e) {
        log(`an earlier payment for ${p.url} is still unanswered (${e?.message ?? e}); it is sent again on the next call`);
        continue;
      }
      const body = res.status === 200 ? "" : await res.clone().text();
      let receipt = res.headers.get("x-netcents-receipt") ?? undefined;
      if (res.status === 200 && receipt === undefined && p.stream_root) {
        // A stream an earlier run left open: its vendor closes it now, and the close's
        // receipt settles it (PROTOCOL.md §5.13).
        try {
          receipt = (await closeStream(p.url, p.scrip_id, p.stream_root)).receipt;
        } catch (e) {
          log(`an earlier stream on ${p.url} is still open (${e?.hint ?? e?.message ?? e}); it is closed on the next call`);
          continue;
        }
      }
      let settled;
      try {
        settled = w.settle(p.scrip_id, res.status, receipt, body);
      } catch (e) {
        log(`an earlier payment for ${p.url} is still unanswered (${e?.hint ?? e}); it is sent again on the next call`);
        continue;
      }
      await save();
      if (settled.outcome === "paid") {
        log(`an earlier payment for ${p.url} went through: receipt kept`);
        if (p.url === url && mine === null) {
          const access = res.headers.get("x-netcents-access");
          if (access) {
            w.onAccess(url, access, offer.access_ms);
            await save();
          }
          payments.push({ url, price_micros: p.price_micros, scrip_id: p.scrip_id, receipt: res.headers.get("x-netcents-receipt"), earlier: true });
          mine = res;
        }
      } else if (settled.outcome === "refused") {
        log(`an earlier payment for ${p.url} was refused (${settled.code}): nothing was paid`);
      } else {
        log(`an earlier payment for ${p.url} is still unanswered; it is sent again on the next call`);
      }
    }
    if (!followedDisputes) {
      followedDisputes = true;
      await followBank(w, save);
    }
    return mine;
  }

  /** Issuance requests and disputes of earlier runs, once per wrapped fetch (as the CLI per run). */
  async function followBank(w, save) {
    const bank = w.bank;
    const post = (path, body) => fetch(`${bank}${path}`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    try {
      for (const req of w.unansweredIssues()) {
        const res = await post("/v1/issue", { request: req.request });
        const v = await res.json().catch(() => ({}));
        if (res.status === 200 && typeof v.scrip === "string") w.onIssued(v.scrip);
        else w.issueRefused(req.scrip_id, String(v.code ?? ""));
        await save();
      }
      for (const dispute of w.unsentDisputes()) {
        const res = await post("/v1/arbiter/disputes", { dispute });
        const text = await res.text();
        if (res.status !== 200) continue;
        const id = JSON.parse(text).dispute;
        if (typeof id === "string") {
          w.onDisputeAnswer(id, text);
          await save();
        }
      }
      for (const id of w.openDisputes()) {
        const res = await fetch(`${bank}/v1/arbiter/disputes/${id}`);
        if (res.status !== 200) continue;
        if (w.onDisputeAnswer(id, await res.text())) log(`the arbiter ruled on dispute ${id}: the payment it names is settled`);
        await save();
      }
    } catch (e) {
      // The bank is out of reach: asked again by the next wrapped fetch or `netcents` run.
      log(`the bank did not answer (${e?.hint ?? e?.message ?? e}); asked again on the next run`);
    }
  }

  /** `POST /netcents/v1/<op>` at the vendor of `url`: its JSON answer, or a NetCentsError. */
  async function vendorCall(url, op, body) {
    const at = new URL(`/netcents/v1/${op}`, url);
    let res;
    try {
      res = await fetch(at, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    } catch (e) {
      throw new NetCentsError("unanswered", `${at}: no answer (${e?.message ?? e})`, { cause: e });
    }
    const v = await res.json().catch(() => ({}));
    if (res.status !== 200) {
      throw new NetCentsError(String(v.code ?? "failed"), String(v.hint ?? `${at} answered ${res.status}`), { status: res.status });
    }
    return v;
  }

  /** Closes the stream open on `scripId` at the vendor of `url`: `{receipt, units, charged_micros}`. */
  function closeStream(url, scripId, root) {
    return vendorCall(url, "close", { scrip: scripId, root });
  }

  /**
   * Pays a stream (PROTOCOL.md §5.13) of `url`, an item sold by the unit: signs an order for
   * `ticks` ticks (within the caps at the most they may cost), opens it, hands the content to
   * `onOpen(response)`, releases one tick every `every` ms until `ticks`, `stopAfter` or the
   * `signal` aborts, then closes it; the close's receipt settles the order at the ticks paid.
   * Resolves to `{url, ticks, released, price_micros, most_micros, receipt}`.
   */
  async function stream(url, { ticks, every = 1000, stopAfter, signal, onOpen, onTick } = {}) {
    if (!Number.isSafeInteger(ticks) || ticks < 1) {
      throw new NetCentsError("bad_value", "ticks must be a whole number of ticks, at least 1");
    }
    const first = await fetch(url);
    const offer = await offerOf(first);
    if (!offer) throw new NetCentsError("bad_offer", `${url} answered ${first.status}, not a NetCents offer: there is no stream to pay`);
    return withWallet(wallet, lockTimeoutMs, async (w, save) => {
      await recover(w, save, url, offer);
      let signed;
      try {
        signed = w.payStream(url, offer, ticks, maxPerCall, maxPerRun - spent);
      } catch (e) {
        throw asNetCents(e);
      }
      spent += signed.price_micros;
      await save();
      let opened;
      try {
        opened = await fetch(url, { headers: { [signed.header]: signed.value } });
      } catch (e) {
        throw new NetCentsError("unanswered",
          `opening the stream of ${url}: no answer (${e?.message ?? e}); the next call sends the same order again and closes the stream`,
          { pending: true, cause: e });
      }
      const receipt = opened.headers.get("x-netcents-receipt") ?? undefined;
      if (opened.status !== 200 || receipt !== undefined) {
        // Refused, or settled before any tick: the answer settles the order as any other.
        const body = opened.status === 200 ? "" : await opened.clone().text();
        let settled;
        try {
          settled = w.settle(signed.scrip_id, opened.status, receipt, body);
        } catch (e) {
          throw asNetCents(e);
        }
        await save();
        if (settled.outcome !== "pending") spent -= signed.price_micros - (settled.charged_micros || 0);
        throw new NetCentsError(settled.code || "refused",
          settled.hint || `the vendor did not open the stream (${opened.status})`,
          { status: opened.status, pending: settled.outcome === "pending" });
      }
      await onOpen?.(opened);
      const last = Math.min(ticks, stopAfter ?? ticks);
      let released = 0;
      for (let i = 1; i <= last && !signal?.aborted; i++) {
        if (i > 1 && every > 0) await sleep(every, undefined, { signal }).catch(() => {});
        if (signal?.aborted) break;
        try {
          await vendorCall(url, "tick", { scrip: signed.scrip_id, index: i, element: w.streamElement(signed.scrip_id, i) });
        } catch (e) {
          log(`the vendor took no more ticks after ${released}: ${e?.hint ?? e}`);
          break;
        }
        released = i;
        onTick?.(i);
      }
      const closed = await closeStream(url, signed.scrip_id, w.streamRoot(signed.scrip_id));
      let settled;
      try {
        settled = w.settle(signed.scrip_id, 200, closed.receipt, "");
      } catch (e) {
        throw asNetCents(e);
      }
      await save();
      const charged = settled.charged_micros;
      spent -= signed.price_micros - charged;
      payments.push({ url, price_micros: charged, most_micros: signed.price_micros, vendor: signed.vendor, item: signed.item, scrip_id: signed.scrip_id, receipt: closed.receipt });
      log(`streamed ${closed.units} ticks of ${signed.item}: paid ${charged} micro-units to vendor ${signed.vendor}`);
      if (settled.dispute) log(`${settled.hint}`);
      return { url, ticks: closed.units, released, price_micros: charged, most_micros: signed.price_micros, receipt: closed.receipt };
    });
  }

  Object.defineProperties(netcentsFetch, {
    /** Pays a stream of an item sold by the unit: see `stream` above. */
    stream: { value: stream },
    /** What this fetch has paid so far, in micro-units. */
    spentMicros: { get: () => spent },
    /** The payments this fetch made: `{url, price_micros, vendor, item, scrip_id, receipt}`. */
    payments: { get: () => payments.slice() },
  });
  return netcentsFetch;
}

/** The NetCents offer of a 402 answer, or null (another answer, or another kind of payment). */
async function offerOf(res) {
  if (res.status !== 402) return null;
  const body = await res.clone().text().catch(() => "");
  return NodeWallet.offerOf(res.headers.get("www-authenticate") ?? undefined, res.headers.get("payment-required") ?? undefined, body);
}

/** Reads the balance of a wallet file (the scrip, what is pending), under the lock. */
export async function summary(wallet, { lockTimeoutMs = 120_000 } = {}) {
  return withWallet(resolve(wallet), lockTimeoutMs, async (w) => w.summary());
}

// ---- the wallet file and its lock --------------------------------------------------------

/** Calls of this process on one wallet take turns before they take the lock directory. */
const turns = new Map();
/** The lock directories this process holds now. */
const held = new Set();

async function withWallet(path, lockTimeoutMs, fn) {
  const before = turns.get(path) ?? Promise.resolve();
  let done;
  const mine = new Promise((resolve) => { done = resolve; });
  const queue = before.then(() => mine);
  turns.set(path, queue);
  await before;
  try {
    const release = await lockDir(path, lockTimeoutMs);
    let w;
    try {
      let text;
      try {
        text = await readFile(path, "utf8");
      } catch (e) {
        if (e.code === "ENOENT") {
          throw new NetCentsError("no_wallet", `no wallet at ${path}: create one with \`netcents init --bank URL\``);
        }
        throw e;
      }
      try {
        w = NodeWallet.load(text);
      } catch (e) {
        throw asNetCents(e);
      }
      return await fn(w, () => saveFile(path, w.save()));
    } finally {
      w?.free();
      await release();
    }
  } finally {
    done();
    if (turns.get(path) === queue) turns.delete(path);
  }
}

/** Writes the wallet durably, as the CLI: a temporary file of its own, fsync, rename, fsync of the folder. */
async function saveFile(path, text) {
  const tmp = `${path}.${process.pid}.${Date.now()}${randomBytes(4).toString("hex")}.tmp`;
  try {
    const f = await open(tmp, "wx", 0o600);
    try {
      await f.writeFile(text);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new NetCentsError("storage", `saving the wallet to ${path}: ${e?.message ?? e}`, { cause: e });
  }
  try {
    const d = await open(dirname(path) || ".", "r");
    try { await d.sync(); } finally { await d.close(); }
  } catch {
    // Folders cannot be opened for fsync everywhere; the rename is done.
  }
}

/**
 * Takes `<wallet>.lock.d`, the lock directory the `netcents` command takes too (while it also
 * holds its OS file lock `<wallet>.lock`): mkdir is atomic, the maker writes its pid, and a
 * directory whose pid is no longer a live process is taken over (cli/src/main.rs, module doc).
 * Resolves to the release function.
 */
async function lockDir(path, timeoutMs) {
  const dir = `${path}.lock.d`;
  const deadline = Date.now() + timeoutMs;
  let pause = 10;
  for (;;) {
    try {
      await mkdir(dir);
      const tmp = join(dir, "pid.tmp");
      await writeFile(tmp, `${process.pid}\nnode\n`);
      await rename(tmp, join(dir, "pid"));
      held.add(dir);
      return async () => {
        held.delete(dir);
        if (readOwner(dir) === String(process.pid)) {
          await rm(join(dir, "pid"), { force: true });
          await rmdir(dir).catch(() => {});
        }
      };
    } catch (e) {
      if (e.code === "ENOENT" && !existsSync(dirname(path))) {
        throw new NetCentsError("no_wallet", `no wallet at ${path}: its folder does not exist`);
      }
      if (e.code !== "EEXIST") throw e;
    }
    const owner = readOwner(dir);
    if (await isStale(dir, owner)) {
      await takeOver(dir, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new NetCentsError("wallet_locked",
        `${basename(path)} is in use by process ${owner ?? "?"} (${dir}); waited ${timeoutMs} ms: try again when it is done, or raise lockTimeoutMs`);
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 200);
  }
}

function readOwner(dir) {
  try {
    const pid = readFileSync(join(dir, "pid"), "utf8").split("\n")[0].trim();
    return pid === "" ? null : pid;
  } catch {
    return null;
  }
}

async function olderThanGrace(p) {
  try {
    return Date.now() - (await stat(p)).mtimeMs > LOCK_GRACE_MS;
  } catch {
    return false;
  }
}

async function isStale(dir, owner) {
  if (owner === null) return olderThanGrace(dir);
  // This process's own pid: live while it holds the directory, else left behind by it.
  if (owner === String(process.pid)) return !held.has(dir);
  return !processRuns(owner);
}

function processRuns(pidText) {
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (existsSync("/proc/self")) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = s.slice(s.lastIndexOf(")") + 1).trim().split(/\s+/)[0];
      return state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/** Removes the stale `dir` (which named `seen`) under the takeover directory, only if it still names `seen`. */
async function takeOver(dir, seen) {
  const guard = `${dir}.takeover`;
  try {
    await mkdir(guard);
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
    if (await olderThanGrace(guard)) await rmdir(guard).catch(() => {});
    else await sleep(10);
    return;
  }
  try {
    if (readOwner(dir) === seen && (await isStale(dir, seen))) {
      await rm(join(dir, "pid"), { force: true });
      await rm(join(dir, "pid.tmp"), { force: true });
      await rmdir(dir).catch(() => {});
    }
  } finally {
    await rmdir(guard).catch(() => {});
  }
}
