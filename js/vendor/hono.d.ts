import type { NetCentsVendor, VendorOptions } from "./index.js";

export interface HonoMiddleware {
  (c: unknown, next: () => Promise<void>): Promise<Response | void>;
  readonly vendor: NetCentsVendor;
}

/** Sells the priced paths of a Hono app; `app` serves the item of a payment sent as a POST. */
export declare function netcents(
  options?: VendorOptions & { vendor?: NetCentsVendor; app?: { request(path: string, init?: RequestInit | Request): Response | Promise<Response> } },
): HonoMiddleware;
