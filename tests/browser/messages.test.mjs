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
