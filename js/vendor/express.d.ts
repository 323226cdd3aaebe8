import type { NetCentsVendor, VendorOptions } from "./index.js";

export interface ExpressMiddleware {
  (req: unknown, res: unknown, next: (e?: unknown) => void): Promise<void>;
  readonly vendor: NetCentsVendor;
}

/** Sells the priced paths of an Express app; use it first (`app.use(netcents(…))`). */
export declare function netcents(options?: VendorOptions & { vendor?: NetCentsVendor }): ExpressMiddleware;
