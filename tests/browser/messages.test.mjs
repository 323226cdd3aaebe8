// The message checks shared by pay.js and the wallet window (www/messages.js).

import assert from "node:assert/strict";
import { test } from "node:test";
import { check, newId, VERSION } from "../../www/messages.js";

const b64 = "AQQAAAAAAAAAAAAAAAAAAAAA";
const pay = () => ({ type: "netcents/pay", v: VERSION, id: newId(), url: "https://shop.example/article/1", offer: b64, vendor_cert: b64, price_micros: 2500, currency: "USD" });

test("well-formed messages pass", () => {
  assert.ok(check(pay()));
  assert.ok(check({ type: "netcents/ready", v: 1 }));
  assert.ok(check({ type: "netcents/order", v: 1, id: newId(), scrip_id: "ab".repeat(16), body: { order: b64, offer: b64, scrip: b64 } }));
  assert.ok(check({ type: "netcents/result", v: 1, id: newId(), ok: false, code: "declined", hint: "no" }));
});

const stream = () => ({ ...pay(), type: "netcents/stream", ticks: 300 });
const root = "ab".repeat(32);

test("a stream's messages pass", () => {
  assert.ok(check(stream()));
  assert.ok(check({ type: "netcents/order", v: 1, id: newId(), scrip_id: "ab".repeat(16), body: { order: b64, offer: b64, scrip: b64, stream: { root, ticks: 300 } } }));
  assert.ok(check({ type: "netcents/opened", v: 1, id: newId(), scrip_id: "ab".repeat(16) }));
  assert.ok(check({ type: "netcents/tick", v: 1, id: newId(), n: 7 }));
  assert.ok(check({ type: "netcents/stop", v: 1, id: newId() }));
  assert.ok(check({ type: "netcents/meter", v: 1, id: newId(), n: 7, paid: 3, ticks: 300, paid_micros: 300, max_micros: 30000 }));
  assert.ok(check({ type: "netcents/meter", v: 1, id: newId(), paid: 300, ticks: 300, paid_micros: 30000, max_micros: 30000, code: "stream_spent", ended: true }));
  assert.ok(check({ type: "netcents/result", v: 1, id: newId(), ok: true, price_micros: 300, charged_micros: 300, units: 3, balance_micros: 999700 }));
});

test("a stream's malformed messages are refused", () => {
  const order = (s) => ({ type: "netcents/order", v: 1, id: newId(), scrip_id: "ab".repeat(16), body: { order: b64, offer: b64, scrip: b64, stream: s } });
  const bad = [
    { ...stream(), ticks: 0 }, { ...stream(), ticks: 100_001 }, { ...stream(), ticks: 2.5 }, { ...stream(), ticks: "300" },
    order({ root: "AB".repeat(32), ticks: 3 }), order({ root, ticks: 0 }), order({ root, ticks: 3, seed: root }), order("ab"),
    // Nothing of the chain ever travels in a message: a tick names no element, the meter has none.
    { type: "netcents/tick", v: 1, id: newId(), n: 1, element: root },
    { type: "netcents/meter", v: 1, id: newId(), paid: 1, ticks: 3, paid_micros: 100, max_micros: 300, element: root },
  ];
  for (const m of bad) assert.equal(check(m), null, JSON.stringify(m));
});

test("anything else is refused", () => {
  const bad = [
    null, "netcents/pay", [], { ...pay(), v: 2 }, { ...pay(), type: "netcents/steal" }, { ...pay(), extra: 1 },
    { ...pay(), price_micros: -1 }, { ...pay(), price_micros: 1.5 }, { ...pay(), price_micros: "2500" },
    { ...pay(), url: "javascript:alert(1)" }, { ...pay(), offer: "not base64!" }, { ...pay(), currency: "usd" },
    { ...pay(), id: "x" }, { type: "netcents/order", v: 1, id: newId(), scrip_id: "ab".repeat(16), body: { order: b64, offer: b64, scrip: b64, key: b64 } },
    Object.assign(Object.create({ polluted: true }), pay()),
  ];
  for (const m of bad) assert.equal(check(m), null, JSON.stringify(m));
});
