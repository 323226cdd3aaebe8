import type { Store } from "./index.js";

/** The durable default store for Node: one append-only log file, fsynced before each commit resolves; one process per file. */
export declare class FileStore implements Store {
  static open(file: string): FileStore;
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<[string, Uint8Array][]>;
  commit(entries: [string, Uint8Array | null][]): Promise<void>;
  close(): void;
}
