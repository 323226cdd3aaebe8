// Types of the NetCents pay button (pay.js).

/** An error with a stable code: `declined`, `insufficient_balance`, `needs_approval`,
 * `popup_blocked`, `wallet_closed`, `wallet_timeout`, `network`, or a vendor's wire code
 * (`docs/PROTOCOL.md` §9). */
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
}

export type OfferAnswer = { paid: false; offer: Offer } | { paid: true; response: Response };

/** Asks the vendor for `url` without paying. */
export declare function fetchOffer(url: string): Promise<OfferAnswer>;

/** Opens the wallet window; call it synchronously from a click handler. */
export declare function openWallet(): Window;

/** Pays for `url` and resolves to the vendor's paid response (its body is the content; the
 * header `X-NetCents-Receipt` carries the receipt the wallet checked). */
export declare function pay(url: string, options?: { popup?: Window; offer?: Offer }): Promise<Response>;

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
