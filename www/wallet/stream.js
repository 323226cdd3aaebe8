// A stream's meter in the wallet (pay as you read, docs/PROTOCOL.md §5.13): the wallet document
// that signed the stream's order holds its hash chain (in the WASM module's memory, never in
// storage), releases its ticks to the vendor itself, at most one per unit period as this
// document's clock measures it, never past the ticks committed, and closes the stream at the
// vendor, whose receipt settles the order. The shop page only asks: it never sees an element of
// the chain, and asking faster than the period buys nothing.

import { NetCentsError, closeStream, streamLock } from "./wallet.js";

/** How long one unit lasts, for the units that name a time; any other unit is paced at one a second. */
const PERIODS_MS = { second: 1_000, seconds: 1_000, s: 1_000, minute: 60_000, minutes: 60_000, min: 60_000, hour: 3_600_000, hours: 3_600_000, h: 3_600_000 };

/** The least time between two ticks of a stream sold by `unit`, in milliseconds. */
export function periodOf(unit) {
  return PERIODS_MS[String(unit).toLowerCase()] ?? 1_000;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class StreamMeter {
  /**
   * `w`: the wallet (payment module) that signed the stream; `payment`: its answer (`scrip_id`,
   * `stream: {root, ticks}`, `price_micros` the most it may cost); `url`: the item;
   * `unitPriceMicros`, `unit`: the offer's meter.
   */
  constructor(w, payment, url, unitPriceMicros, unit) {
    this.w = w;
    this.scripId = payment.scrip_id;
    this.root = payment.stream.root;
    this.ticks = payment.stream.ticks;
    this.maxMicros = payment.price_micros;
    this.unitPriceMicros = unitPriceMicros;
    this.unit = unit;
    this.url = url;
    this.periodMs = periodOf(unit);
    this.paid = 0; // ticks released and taken by the vendor
    this.lastAt = -Infinity; // when the last tick was released (this document's monotonic clock)
    this.inflight = null; // the tick being released
    this.scheduled = null; // the next tick, due one period after the last
    this.closed = null; // the close, once asked
    this.lock = null; // releases the stream's web lock
  }

  /** Holds the stream's web lock until the stream closes (or this document goes away). */
  async holdLock() {
    if (!navigator.locks) return;
    await new Promise((held) => {
      navigator.locks.request(streamLock(this.scripId), () => {
        held();
        return new Promise((release) => {
          this.lock = release;
        });
      });
    });
  }

  releaseLock() {
    this.lock?.();
    this.lock = null;
  }

  get paidMicros() {
    return this.paid * this.unitPriceMicros;
  }

  /** The meter as the page sees it. */
  view() {
    return { paid: this.paid, ticks: this.ticks, paid_micros: this.paidMicros, max_micros: this.maxMicros };
  }

  /**
   * The page asks for a tick. Released now if a period has passed since the last one; otherwise
   * (or while one is on its way) the request joins the one next tick, due a period after the
   * last: however often the page asks, at most one tick per period is paid.
   */
  request() {
    if (this.closed) return Promise.reject(new NetCentsError("stream_closed", "the stream is closed"));
    if (this.scheduled) return this.scheduled;
    if (!this.inflight && performance.now() - this.lastAt >= this.periodMs) {
      this.inflight = this.release().finally(() => {
        this.inflight = null;
      });
      return this.inflight;
    }
    const after = this.inflight ?? Promise.resolve();
    this.scheduled = after.catch(() => {}).then(async () => {
      const wait = this.lastAt + this.periodMs - performance.now();
      if (wait > 0) await sleep(wait);
      this.scheduled = null;
      if (this.closed) throw new NetCentsError("stream_closed", "the stream is closed");
      this.inflight = this.release().finally(() => {
        this.inflight = null;
      });
      return this.inflight;
    });
    return this.scheduled;
  }

  /** Releases the next tick to the vendor (`POST /netcents/v1/tick`). */
  async release() {
    const index = this.paid + 1;
    if (index > this.ticks) throw new NetCentsError("stream_spent", "every tick the stream committed to is paid");
    const element = this.w.streamElement(this.root, index);
    if (!element) throw new NetCentsError("stream_closed", "this wallet no longer holds the stream");
    this.lastAt = performance.now();
    const res = await fetch(`${new URL(this.url).origin}/netcents/v1/tick`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ scrip: this.scripId, index, element }),
    });
    let body = {};
    try {
      body = await res.json();
    } catch {
      body = {};
    }
    if (!res.ok) throw new NetCentsError(body.code ?? `http_${res.status}`, body.hint ?? "the vendor took no tick");
    // The vendor counts what it proved; the meter never shows more than the wallet released.
    if (Number.isSafeInteger(body.paid)) this.paid = Math.min(index, Math.max(this.paid, body.paid));
    return this.view();
  }

  /**
   * Closes the stream at the vendor (`POST /netcents/v1/close`) and gives its receipt to the
   * wallet, which checks the charge against the ticks and the unit price (an over-charge
   * becomes a dispute). The chain is forgotten. Resolves to `{units, charged_micros,
   * balance_micros, matches}`; the same call again gives the same answer.
   */
  close() {
    this.closed ??= (async () => {
      // A tick on its way is counted before the close.
      await this.inflight?.catch(() => {});
      try {
        const closed = await closeStream(this.url, this.scripId, this.root);
        const outcome = await this.w.onReceipt(this.scripId, closed.receipt);
        this.w.endStream(this.root);
        return { units: closed.units ?? this.paid, charged_micros: outcome.charged_micros, balance_micros: outcome.balance_micros, matches: outcome.matches };
      } finally {
        this.releaseLock();
      }
    })();
    return this.closed;
  }
}
