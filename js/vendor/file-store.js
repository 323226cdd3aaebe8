// The durable default store for Node: every key in memory, every commit appended to one log
// file and fsynced before it resolves (commits that arrive together share one write and one
// fsync). Opening replays the log, drops a torn last record (never acknowledged), and rewrites
// the log compactly. One process per store: a lock directory `<path>.lock.d` holds the pid.

import fs from "node:fs";
import path from "node:path";

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

function lock(file) {
  const dir = `${file}.lock.d`;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
      return dir;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      let pid = NaN;
      try {
        pid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
      } catch {}
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new Error(`the store ${file} is in use by process ${pid}: one process per store (or give each process its own)`);
      }
      // A dead process's lock, or one half made: take it over.
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

const group = (key) => {
  const i = key.indexOf(":");
  const j = i < 0 ? -1 : key.indexOf(":", i + 1);
  return j < 0 ? key : key.slice(0, j);
};

export class FileStore {
  /** Opens (or creates) the store at `file`. */
  static open(file) {
    return new FileStore(file);
  }

  constructor(file) {
    this.file = path.resolve(file);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.lockDir = lock(this.file);
    this.map = new Map();
    this.groups = new Map(); // "o:<scrip>" → Set of keys; "c" → Set …
    this.queue = [];
    this.flushing = null;
    if (fs.existsSync(this.file)) {
      const lines = fs.readFileSync(this.file, "utf8").split("\n");
      for (const line of lines) {
        if (!line) continue;
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          break; // a torn last record: never acknowledged
        }
        this.#apply(rec);
      }
    }
    // Compact: the live keys, one record, then replace the log.
    const tmp = `${this.file}.${process.pid}.tmp`;
    const all = [...this.map].map(([k, v]) => [k, Buffer.from(v).toString("base64")]);
    const fd = fs.openSync(tmp, "w");
    if (all.length) fs.writeSync(fd, JSON.stringify(all) + "\n");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.file);
    const d = fs.openSync(path.dirname(this.file), "r");
    fs.fsyncSync(d);
    fs.closeSync(d);
    this.fd = fs.openSync(this.file, "a");
  }

  #apply(rec) {
    for (const [k, v] of rec) {
      const g = group(k);
      if (v === null) {
        this.map.delete(k);
        this.groups.get(g)?.delete(k);
      } else {
        this.map.set(k, new Uint8Array(Buffer.from(v, "base64")));
        if (!this.groups.has(g)) this.groups.set(g, new Set());
        this.groups.get(g).add(k);
        const t = g.split(":")[0];
        if (t !== g) {
          if (!this.groups.has(t)) this.groups.set(t, new Set());
          this.groups.get(t).add(k);
        }
      }
    }
  }

  async get(key) {
    return this.map.get(key);
  }

  async list(prefix) {
    const parts = prefix.split(":");
    const g = parts.length >= 3 ? parts.slice(0, 2).join(":") : parts[0];
    const keys = this.groups.get(g) ?? [];
    const out = [];
    for (const k of keys) {
      if (k.startsWith(prefix) && this.map.has(k)) out.push([k, this.map.get(k)]);
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }

  /** Writes `entries` ([key, bytes | null]) together; resolves once they are on disk. */
  commit(entries) {
    const rec = entries.map(([k, v]) => [k, v === null ? null : Buffer.from(v).toString("base64")]);
    return new Promise((resolve, reject) => {
      this.queue.push({ rec, resolve, reject });
      if (!this.flushing) this.flushing = this.#flush();
    });
  }

  async #flush() {
    while (this.queue.length) {
      const batch = this.queue.splice(0);
      const text = batch.map((b) => JSON.stringify(b.rec) + "\n").join("");
      try {
        await new Promise((ok, fail) => fs.write(this.fd, text, (e) => (e ? fail(e) : ok())));
        await new Promise((ok, fail) => fs.fdatasync(this.fd, (e) => (e ? fail(e) : ok())));
        // Readers see a write only once it is durable.
        for (const b of batch) this.#apply(b.rec);
        for (const b of batch) b.resolve();
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.flushing = null;
  }

  /** Closes the log and releases the lock. */
  close() {
    fs.closeSync(this.fd);
    fs.rmSync(this.lockDir, { recursive: true, force: true });
  }
}
