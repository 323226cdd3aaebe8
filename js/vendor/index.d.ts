/** The vendor's records: a key-value store whose commits are atomic and durable before they resolve. */
export interface Store {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every entry whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<[string, Uint8Array][]>;
  commit(entries: [string, Uint8Array | null][]): Promise<void>;
  close?(): void;
}

export interface VendorOptions {
  /** VENDOR_KEY, VENDOR_CERT, BANK_URL, PRICES, CURRENCY, ACCESS_TTL_SECONDS, … or a `.dev.vars` path. */
  vars?: Record<string, string> | string;
  /** The store (default: a FileStore at `db`). */
  store?: Store;
  /** The FileStore's file (default `netcents-vendor.log`). */
  db?: string;
  /** Whether the app has `item` for sale (default: yes). Nothing is offered or charged otherwise. */
  exists?(item: string): boolean | Promise<boolean>;
  /** The bytes of `item`, for the answer to a dispute. */
  goods?(item: string): Promise<Uint8Array | null>;
  /** The app's answer to `GET item?query` for an item sold by the unit (a `PRICES` rule with
   * `unit`), read while its order is open: its `X-NetCents-Units` header says the units delivered,
   * which are charged (at most the order's maximum; nothing unless the status is 200). Default:
   * that GET from `self`. */
  deliver?(item: string, query: string): Promise<{ status: number; headers: [string, string][]; body: Uint8Array } | null>;
  /** The app's own base URL: the default `goods` and `deliver` read items there. */
  self?: string;
  /** Milliseconds between settling runs (capture, audits, recalls, disputes); 0 or absent: call `settle()`. */
  settleEvery?: number;
  /** Timeout of requests to the bank and other vendors (ms, default 15000). */
  timeoutMs?: number;
}

export interface Answer { kind: "answer"; status: number; headers: [string, string][]; body: Uint8Array }
export interface Serve { kind: "serve"; headers: [string, string][] }
export type Route = Answer | { kind: "pass"; item: string } | { kind: "own" } | { kind: "priced"; item: string };

export interface CaptureRun {
  claims: number;
  credited_micros: number;
  refused: { scrip: string; segment: number; answer: { code: string; hint: string } }[];
  audits_answered: number;
  recalls_answered: number;
  disputes_answered: number;
}

export interface NetCentsVendor {
  readonly id: string;
  readonly store: Store;
  route(method: string, path: string): Route;
  /** `query`: the request's query without `?`, passed to `deliver` for an item sold by the unit. */
  respond(method: string, path: string, headers: [string, string][], body?: Uint8Array | null, query?: string): Promise<Answer | Serve>;
  internal(headerValue: string | undefined): boolean;
  internalHeaders(): Record<string, string>;
  settle(): Promise<CaptureRun>;
  close(): void;
}

export declare const INTERNAL_HEADER: string;
export declare function openVendor(options?: VendorOptions): NetCentsVendor;
export declare function readVars(file?: string, env?: Record<string, string | undefined>): Record<string, string>;
export { FileStore } from "./file-store.js";
