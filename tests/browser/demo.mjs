// The demo: the bank, the wallet origin and two shops (edge vendors in workerd), with URLs
// printed. Open the wallet, create it, add demo funds, buy scrip, then read on both shops.
//
//   node tests/browser/demo.mjs [--wallet-port 8700]
//
// Shops and wallet must be different sites for the browser: use the printed URLs (127.0.0.1,
// localhost and the machine's name differ as sites), or map names with your hosts file.

import { join } from "node:path";
import { ROOT, startBank, startVendor, startWalletOrigin, stopAll } from "./harness.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

const walletPort = Number(arg("--wallet-port", 8700));
const walletHost = arg("--wallet-host", "localhost");
const walletOrigin = `http://${walletHost}:${walletPort}`;
// Money moves on its own as it would in production: the bank sweeps every 30 s (expiry,
// recalls, audits, rulings) and the shops run their capture every minute. The bank keeps its
// books and keys in target/demo/bank, so a wallet made in an earlier run still knows it.
const CAPTURE_EVERY_MS = 60_000;
try {
  const bank = await startBank({ dir: join(ROOT, "target/demo/bank"), sweepSecs: 30 });
  await startWalletOrigin(bank, { port: walletPort });
  const a = await startVendor(bank, "shop-a", walletOrigin, { scheduled: true });
  const b = await startVendor(bank, "shop-b", walletOrigin, { scheduled: true });
  const timer = setInterval(() => {
    for (const v of [a, b]) v.capture().catch(() => {});
  }, CAPTURE_EVERY_MS);
  process.on("exit", () => clearInterval(timer));
  console.log(`bank    ${bank.url}`);
  console.log(`wallet  ${walletOrigin}/wallet/`);
  console.log(`shop A  ${a.url}/   (The Daily Fraction, vendor ${a.vendor})`);
  console.log(`shop B  ${b.url}/   (Orbit Notes, vendor ${b.vendor})`);
  console.log("Ctrl-C stops everything.");
  await new Promise((resolve) => {
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
  });
} finally {
  await stopAll();
}
