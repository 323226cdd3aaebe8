/** Amounts are whole numbers of micro-units (1,000,000 = one unit of the wallet's currency). */

/** An error of a payment: `code` is stable (snake_case), `hint` says what to do. */
export declare class NetCentsError extends Error {
  readonly name: "NetCentsError";
  /** `above_max_per_call`, `above_max_per_run`, `insufficient_balance`, `unanswered`,
   * `wallet_locked`, `no_wallet`, `bad_wallet`, `storage`, `bad_value`, or a code of the
   * wallet machine or of the vendor's refusal (`stale_sequence`, `scrip_expired`, …). */
  readonly code: string;
  readonly hint: string;
  /** The vendor's HTTP status, when it answered. */
  readonly status?: number;
  /** The order was sent and is unanswered: it is sent again, unchanged, on the next call. */
  readonly pending?: boolean;
  constructor(code: string, hint: string, extra?: Record<string, unknown>);
}

export interface WrapFetchOptions {
  /** The wallet file of the `netcents` command (`netcents init --bank URL --wallet PATH`). */
  wallet: string;
  /** The most one call may pay. Default 10000 (the CLI's default cap). */
  maxPerCall?: number;
  /** The most the wrapped fetch may pay over all its calls. Default 10000. */
  maxPerRun?: number;
  /** How long to wait for the wallet's lock (another run using it). Default 120000 ms. */
  lockTimeoutMs?: number;
  /** Where to say what happened (payments, earlier payments settled). Default: silent. */
  log?: (line: string) => void;
}

/** A payment the wrapped fetch made. */
export interface NetCentsPayment {
  url: string;
  /** What the payment took: its price, or for an item sold by the unit what was charged. */
  price_micros: number;
  /** For an item sold by the unit: the most the payment was authorised to take. */
  most_micros?: number;
  vendor?: string;
  item?: string;
  scrip_id: string;
  /** The vendor's signed receipt, base64url (also kept in the wallet file). */
  receipt: string | null;
  /** Paid by an earlier run whose answer was lost, and settled by resending its order. */
  earlier?: boolean;
}

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface StreamOptions {
  /** The ticks authorised: the order may take at most `ticks × unit price` (within the caps). */
  ticks: number;
  /** Milliseconds between ticks (default 1000: one tick a second). */
  every?: number;
  /** Release at most this many ticks, then close. */
  stopAfter?: number;
  /** Aborting it stops the ticks and closes the stream. */
  signal?: AbortSignal;
  /** The vendor's answer that opened the stream (its body is the content). */
  onOpen?: (response: Response) => void | Promise<void>;
  /** Called after each tick the vendor took, with its number. */
  onTick?: (tick: number) => void;
}

export interface StreamResult {
  url: string;
  /** The ticks charged (the vendor's receipt). */
  ticks: number;
  /** The ticks released. */
  released: number;
  /** What the stream took. */
  price_micros: number;
  /** The most it was authorised to take. */
  most_micros: number;
  /** The vendor's signed receipt, base64url. */
  receipt: string;
}

export interface NetCentsFetch extends Fetch {
  /** What this fetch has paid so far (orders unanswered included). */
  readonly spentMicros: number;
  /** The payments this fetch made. */
  readonly payments: NetCentsPayment[];
  /**
   * Pays a stream of `url`, an item sold by the unit (PROTOCOL.md §5.13): one order for
   * `ticks` ticks, then one tick every `every` ms (a hash of a chain only this process knows),
   * then the close, whose receipt settles the order at the ticks paid. A stream left open (the
   * process stopped) is closed by the next call from the same wallet file.
   */
  stream(url: string, options: StreamOptions): Promise<StreamResult>;
}

/**
 * A fetch that pays `402` answers carrying a NetCents offer (the native `WWW-Authenticate` /
 * JSON body, or x402 v2's `PAYMENT-REQUIRED` with a `netcents` entry) from the wallet file,
 * within the caps, and sends the request again with the payment. Other answers are returned
 * as they are. Rejects with a `NetCentsError` when it will not or cannot pay.
 */
export declare function wrapFetch(fetch: Fetch, options: WrapFetchOptions): NetCentsFetch;

/** The wallet as `netcents balance` shows it (no secret), read under the wallet's lock. */
export declare function summary(
  wallet: string,
  options?: { lockTimeoutMs?: number },
): Promise<import("./pkg/netcents_node_wallet.js").NodeSummary>;
