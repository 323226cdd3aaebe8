// Types of the NetCents pay button (pay.js).

/** An error with a stable code: `declined`, `insufficient_balance`, `needs_approval`,
 * `popup_blocked`, `wallet_closed`, `wallet_timeout`, `network`, or a vendor's wire code
 * (`docs/PROTOCOL.md` §9). Streams add `not_metered` (the item is not sold by the unit),
 * `bad_value` (ticks out of 1..100,000, or costing more than the offer's maximum),
 * `stream_spent` (every tick committed is paid), `stream_closed` (the stream is closed),
 * `payment_pending` (the vendor did not close the stream: the wallet closes it when it next
 * opens). */
export declare class PaymentError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, hint: string);
}

/** The vendor's `402 Payment Required` answer. */
export interface Offer {
  /** The signed offer, base64url of its canonical bytes. */
  offer: string;
  /** The bank-signed vendor certificate, base64url. */
  vendor_cert: string;
  /** The price in micro-units (10⁻⁶ of the currency unit). */
  price_micros: number;
  /** ISO 4217 code. */
  currency: string;
  /** The vendor's id, hex. */
  vendor: string;
  /** What is sold (the URL path). */
  item: string;
  /** When the offer lapses, milliseconds since the epoch. */
  valid_until_ms?: number;
  /** For an item sold by the unit (`second`, `word`…): `price_micros` is then the most one
   * order may take. */
  unit?: string;
  /** For an item sold by the unit: the price of one unit. */
  unit_price_micros?: number;
}

export type OfferAnswer = { paid: false; offer: Offer } | { paid: true; response: Response };

/** Asks the vendor for `url` without paying. */
export declare function fetchOffer(url: string): Promise<OfferAnswer>;

/** Opens the wallet window; call it synchronously from a click handler. */
export declare function openWallet(): Window;

/** Pays for `url` and resolves to the vendor's paid response (its body is the content; the
 * header `X-NetCents-Receipt` carries the receipt the wallet checked). */
export declare function pay(url: string, options?: { popup?: Window; offer?: Offer }): Promise<Response>;

/** A stream's meter, as the wallet counts it. */
export interface StreamMeter {
  /** Ticks paid (units read). */
  paid: number;
  /** Ticks committed: the stream ends when they are all paid. */
  ticks: number;
  /** What the ticks paid cost so far. */
  paid_micros: number;
  /** The most the stream may cost (ticks × unit price), approved and held until it closes. */
  max_micros: number;
  /** The stream is closed. */
  ended: boolean;
}

/** A closed stream, from its receipt (checked by the wallet). */
export interface StreamSettled {
  /** The units charged. */
  units: number;
  /** The charge: units × unit price. */
  charged_micros: number;
  /** What is left on the scrip that paid. */
  balance_micros: number | undefined;
}

/** A stream being paid (pay as you read). The wallet window holds its hash chain and releases
 * the ticks to the vendor itself: at most one per unit period (one a second for an item sold
 * by the second), whatever the page asks, never past the ticks committed. */
export interface Stream {
  /** The vendor's answer to the stream's order: its body is the content. */
  readonly response: Response;
  readonly unit: string;
  readonly unitPriceMicros: number;
  readonly currency: string;
  /** Ticks committed. */
  readonly ticks: number;
  /** The latest meter. */
  readonly meter: StreamMeter;
  /** Called with every new meter. */
  onmeter: ((meter: StreamMeter) => void) | null;
  /** Asks for one more tick; resolves to the meter after the tick this request got (requests
   * faster than the unit period share one tick), or rejects with a `PaymentError`. */
  tick(): Promise<StreamMeter>;
  /** Closes the stream at the vendor; resolves once its receipt settled the payment. */
  stop(): Promise<StreamSettled>;
  /** Settles when the stream closes, however it closes (stop, the wallet window's Stop, the
   * wallet window closed: `wallet_closed`). */
  readonly closed: Promise<StreamSettled>;
}

/** Pays `url`, an item sold by the unit, as a stream of at most `ticks` units (1 to 100,000).
 * Call it from a click handler: within the site's purse its wallet frame pays with no window,
 * otherwise the wallet window opens and asks (or pass `popup` from `openWallet()`, or `frame`
 * from `walletFrame()`, to choose). Resolves once the vendor opened the stream. */
export declare function stream(
  url: string,
  options: { ticks: number; popup?: Window; frame?: Window; offer?: Offer; onmeter?: (meter: StreamMeter) => void },
): Promise<Stream>;

/** The site's hidden wallet frame (made once per page), or null if it does not answer. */
export declare function walletFrame(): Promise<Window | null>;

export interface PaidDetail {
  price_micros: number | undefined;
  receipt: string | null;
}

export interface ErrorDetail {
  code: string;
  hint: string;
}

/** `<netcents-pay href="/article/42" label="Read on" target="#body">` */
export declare class NetCentsPay extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The absolute URL sold. */
  readonly href: string;
  /** The current offer, once loaded. */
  offer: Offer | null;
  addEventListener(type: "netcents-paid", listener: (ev: CustomEvent<PaidDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: "netcents-error", listener: (ev: CustomEvent<ErrorDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "netcents-pay": NetCentsPay;
  }
  interface HTMLElementEventMap {
    "netcents-paid": CustomEvent<PaidDetail>;
    "netcents-error": CustomEvent<ErrorDetail>;
  }
}
