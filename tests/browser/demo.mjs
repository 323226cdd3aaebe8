// The demo: the bank, the wallet origin, two shops (edge vendors in workerd) and an API sold by
// the word (a vendor on its own server in front of a small app), with a short summary of where
// everything is. Open the wallet, create it, add demo funds, buy scrip, then read on both shops
// (shop A's live page is paid by the second); call the API from `netcents` or a Node agent.
//
//   node tests/browser/demo.mjs [--wallet-host localhost] [--wallet-port 8700]
//                               [--shop-a-port 8701] [--shop-b-port 8702] [--bank-port 8703]
//                               [--api-port 8704]
//
// Shops and wallet must be different sites for the browser: the wallet is on `localhost`, the
// shops on 127.0.0.1. The wallet answers under one name only: a request for another name of it
// (127.0.0.1:8700) is sent to localhost:8700, because another name is another, empty wallet.

import { createServer } from "node:http";
import { join, relative } from "node:path";
import { ROOT, OPERATOR_TOKEN, startBank, startServerVendor, startVendor, startWalletOrigin, stopAll } from "./harness.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const port = (name, fallback) => {
  const p = Number(arg(name, fallback));
  if (!Number.isInteger(p) || p < 1 || p > 65535) {
    console.error(`${name} must be a port number (1-65535), not ${arg(name, fallback)}`);
    process.exit(2);
  }
  return p;
};

const walletPort = port("--wallet-port", 8700);
const walletHost = arg("--wallet-host", "localhost");
const walletOrigin = `http://${walletHost}:${walletPort}`;
const ports = { a: port("--shop-a-port", 8701), b: port("--shop-b-port", 8702), bank: port("--bank-port", 8703), api: port("--api-port", 8704) };

// The API behind the API's vendor: `GET /api/shout?text=…` answers the words in capitals and
// says in `X-NetCents-Units` how many it delivered, which is what the vendor charges.
const API_PRICES = JSON.stringify([{ path: "/api/*", price_micros: 5_000, unit: "word", unit_price_micros: 100 }]);
let apiServer = null;
async function startApi() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method !== "GET" || url.pathname !== "/api/shout") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "not_found", hint: "GET /api/shout?text=some+words" }));
      return;
    }
    const words = (url.searchParams.get("text") ?? "").split(/\s+/).filter(Boolean);
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "x-netcents-units": String(words.length) });
    res.end(words.join(" ").toUpperCase());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiServer = server;
  return `http://127.0.0.1:${server.address().port}`;
}
// Money moves on its own as it would in production: the bank sweeps every 30 s (expiry,
// recalls, audits, rulings) and the shops run their capture every minute. The bank keeps its
// books and keys in target/demo/bank, so a wallet made in an earlier run still knows it.
const CAPTURE_EVERY_MS = 60_000;
const dataDir = join(ROOT, "target/demo/bank");
// The dashboards: the bank serves the operator's (and the charts' library, from npm) and each
// shop its own, behind its capture token.
process.env.NETCENTS_DASHBOARD_DIR = join(ROOT, "www/dashboard");
process.env.NETCENTS_CHART_LIB_DIR = join(ROOT, "js/node_modules/uplot/dist");
const CAPTURE_TOKEN = "demo-shop-token";
let timer = null;
try {
  const bank = await startBank({ dir: dataDir, sweepSecs: 30, port: ports.bank });
  await startWalletOrigin(bank, { port: walletPort, host: walletHost });
  const vars = { CAPTURE_TOKEN };
  const a = await startVendor(bank, "shop-a", walletOrigin, { scheduled: true, port: ports.a, vars });
  const b = await startVendor(bank, "shop-b", walletOrigin, { scheduled: true, port: ports.b, vars });
  const api = await startServerVendor(bank, "api", walletOrigin, { port: ports.api, prices: API_PRICES, upstream: await startApi() });
  timer = setInterval(() => {
    for (const v of [a, b]) v.capture().catch(() => {});
  }, CAPTURE_EVERY_MS);
  const here = (p) => relative(process.cwd(), p) || ".";
  console.log(`
NetCents demo
  wallet  ${walletOrigin}/wallet/   open this one; create the wallet, add demo funds, buy scrip
  shop A  ${a.url}/   The Daily Fraction (vendor ${a.vendor})
  shop B  ${b.url}/   Orbit Notes (vendor ${b.vendor})
  api     ${api.url}/api/shout?text=pay+by+the+word   sold by the word: 0.01¢ a word, at most 0.5¢ a call
          netcents init --bank ${bank.url}, then put money in its account (netcents account --id):
            curl -H 'authorization: Bearer ${OPERATOR_TOKEN}' -H 'content-type: application/json' \\
              -d '{"idempotency_key":"demo-1","account":"<id>","amount_micros":1000000}' ${bank.url}/v1/operator/deposit
          then netcents buy 0.10 and netcents pay '${api.url}/api/shout?text=pay+by+the+word',
          or from Node with wrapFetch (js/fetch) on the same wallet file
  bank    ${bank.url}   operator token: ${OPERATOR_TOKEN}
          e.g. curl -H 'authorization: Bearer ${OPERATOR_TOKEN}' ${bank.url}/v1/operator/check
  dashboards  ${bank.url}/dashboard/ (operator token), ${a.url}/netcents/v1/dashboard and
          ${b.url}/netcents/v1/dashboard (the shops' token: ${CAPTURE_TOKEN})
  data    ${here(dataDir)} (the bank's books, keys and log; kept across runs)
          ${a.dir}, ${b.dir}, ${api.dir} (the shops' and the API's state and logs; removed when the demo stops)
Ctrl-C stops everything.`);
  await new Promise((resolve) => {
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
  });
} catch (e) {
  console.error(`the demo could not start: ${e.message ?? e}`);
  if (/EADDRINUSE|address already in use/i.test(String(e.message ?? e) + String(e.stack ?? ""))) {
    console.error("a port is taken: choose others with --wallet-port, --shop-a-port, --shop-b-port, --bank-port");
  }
  process.exitCode = 1;
} finally {
  // Nothing of the demo keeps this process alive once it stops.
  clearInterval(timer);
  apiServer?.closeAllConnections();
  apiServer?.close();
  await stopAll();
}
