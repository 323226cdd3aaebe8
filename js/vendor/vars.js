// Reads a `.dev.vars` file (NAME=value lines, as `netcents-vendor onboard` writes it) into an
// object; the environment overrides it.
import fs from "node:fs";

export function readVars(file, env = process.env) {
  const out = {};
  if (file) {
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const t = line.trim();
      if (!t || t.startsWith("#")) continue;
      const i = t.indexOf("=");
      if (i > 0) out[t.slice(0, i).trim()] = t.slice(i + 1).trim().replace(/^"(.*)"$/, "$1");
    }
  }
  for (const k of ["VENDOR_KEY", "VENDOR_CERT", "VENDOR_ID", "BANK_URL", "PRICES", "CURRENCY",
    "ACCESS_TTL_SECONDS", "OFFER_TTL_SECONDS", "CAPTURE_TOKEN", "SHOP_NAME"]) {
    if (env[k]) out[k] = env[k];
  }
  return out;
}
