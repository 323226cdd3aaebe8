//! The OpenAPI 3.1 documents of the bank and of a vendor, built from the body types and the
//! route tables below. `docs/openapi/bank.json` and `docs/openapi/vendor.json` are these
//! documents as the services serve them (`GET /openapi.json` at the bank,
//! `GET /netcents/v1/openapi.json` at a vendor); a test fails when they differ.

use netcents_core::codes::{CODES, Party};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::{ErrorBody, bank as b, vendor as v};

/// Who may call a route.
#[derive(Clone, Copy)]
enum Caller {
    /// Anyone.
    Anyone,
    /// The operator, with its bearer token.
    Operator,
    /// A party's signed read (`?at&signature`, §6.2), or the operator's token.
    SignedRead,
    /// The vendor's operator, with the capture token when one is configured.
    CaptureToken,
}

struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    caller: Caller,
    request: Option<Schema>,
    answers: Vec<(u16, &'static str, Schema)>,
}

fn op(method: &'static str, path: &'static str, summary: &'static str, caller: Caller) -> Op {
    Op {
        method,
        path,
        summary,
        caller,
        request: None,
        answers: Vec::new(),
    }
}

impl Op {
    fn takes<T: JsonSchema>(mut self, g: &mut SchemaGenerator) -> Self {
        self.request = Some(g.subschema_for::<T>());
        self
    }

    fn gives<T: JsonSchema>(
        mut self,
        g: &mut SchemaGenerator,
        status: u16,
        what: &'static str,
    ) -> Self {
        self.answers.push((status, what, g.subschema_for::<T>()));
        self
    }

    /// `402` on a priced path: the offer, or a payment refused for its balance
    /// (`insufficient_balance`, a 402 of the core's).
    fn offers(mut self, g: &mut SchemaGenerator) -> Self {
        let one_of = json!({
            "oneOf": [g.subschema_for::<v::Offered>(), g.subschema_for::<ErrorBody>()]
        });
        let schema = Schema::try_from(one_of).expect("an object is a schema");
        self.answers.push((
            402,
            "the offer to pay; or a payment refused for its balance",
            schema,
        ));
        self
    }
}

fn generator() -> SchemaGenerator {
    let mut s = SchemaSettings::draft2020_12();
    s.definitions_path = "/components/schemas".into();
    s.meta_schema = None;
    s.into_generator()
}

/// The bank's and the arbiter's document.
#[must_use]
pub fn bank() -> Value {
    use Caller::{Anyone, Operator, SignedRead};
    let g = &mut generator();
    let ops = vec![
        op(
            "get",
            "/healthz",
            "The bank's health: its store answers",
            Anyone,
        )
        .gives::<b::Health>(g, 200, "healthy"),
        op(
            "get",
            "/v1/keys",
            "The bank's keys, the arbiter's key, the currency and the audit policy",
            Anyone,
        )
        .gives::<b::Keys>(g, 200, "the keys"),
        op(
            "post",
            "/v1/accounts",
            "Open an account for a key its opener holds",
            Anyone,
        )
        .takes::<b::OpenAccount>(g)
        .gives::<b::AccountOpened>(g, 200, "the account"),
        op(
            "get",
            "/v1/accounts/{id}",
            "An account's balance, read by its own key",
            SignedRead,
        )
        .gives::<b::Account>(g, 200, "the account"),
        op("post", "/v1/issue", "Buy scrip", Anyone)
            .takes::<b::Issue>(g)
            .gives::<b::Issued>(g, 200, "the scrip"),
        op("post", "/v1/coins", "Buy anonymous coins, blind", Anyone)
            .takes::<b::IssueCoins>(g)
            .gives::<b::CoinsIssued>(g, 200, "the blind signatures"),
        op(
            "post",
            "/v1/coins/activate",
            "Trade a coin for its anonymous scrip",
            Anyone,
        )
        .takes::<b::Activate>(g)
        .gives::<b::Activated>(g, 200, "the scrip"),
        op(
            "post",
            "/v1/coins/exchange",
            "What is left on an anonymous scrip buys new coins, blind",
            Anyone,
        )
        .takes::<b::Exchange>(g)
        .gives::<b::Exchanged>(g, 200, "the blind signatures")
        .gives::<b::Exchanged>(g, 202, "pending at the holder named"),
        op(
            "post",
            "/v1/vendors",
            "Register a vendor, or renew or re-key its certificate",
            Anyone,
        )
        .takes::<b::RegisterVendor>(g)
        .gives::<b::Registered>(g, 200, "the certificate"),
        op(
            "post",
            "/v1/transfer",
            "A vendor asks the bank, as holder, for a scrip",
            Anyone,
        )
        .takes::<b::TransferAsk>(g)
        .gives::<b::Handed>(g, 200, "the hand-over"),
        op(
            "post",
            "/v1/capture",
            "A vendor's batch of claims: all captured or none",
            Anyone,
        )
        .takes::<b::Capture>(g)
        .gives::<b::Captured>(g, 200, "what was credited"),
        op(
            "get",
            "/v1/vendors/{vendor}/audits",
            "A vendor's open audit demands",
            SignedRead,
        )
        .gives::<b::AuditDemands>(g, 200, "the demands"),
        op(
            "post",
            "/v1/audits/{id}",
            "A vendor answers an audit demand",
            Anyone,
        )
        .takes::<b::AuditAnswer>(g)
        .gives::<b::AuditOutcome>(g, 200, "the outcome"),
        op(
            "post",
            "/v1/redeem",
            "A customer redeems what a scrip holds",
            Anyone,
        )
        .takes::<b::Redeem>(g)
        .gives::<b::Redemption>(g, 200, "redeemed")
        .gives::<b::Redemption>(g, 202, "pending at the holder named"),
        op(
            "post",
            "/v1/returned",
            "A holder hands a scrip back to the bank",
            Anyone,
        )
        .takes::<b::Returned>(g)
        .gives::<b::Redemption>(g, 200, "closed"),
        op(
            "get",
            "/v1/recalls/{holder}",
            "The recalls a holder must answer",
            SignedRead,
        )
        .gives::<b::Recalls>(g, 200, "the recalls"),
        op(
            "post",
            "/v1/arbiter/disputes",
            "A customer files a dispute",
            Anyone,
        )
        .takes::<b::FileDispute>(g)
        .gives::<b::DisputeView>(g, 200, "the dispute"),
        op(
            "get",
            "/v1/arbiter/disputes/{id}",
            "A dispute's state",
            Anyone,
        )
        .gives::<b::DisputeView>(g, 200, "the dispute"),
        op(
            "get",
            "/v1/arbiter/disputes/{id}/goods",
            "The goods of a ruled dispute, for its customer",
            SignedRead,
        )
        .gives::<b::DisputeGoods>(g, 200, "the goods"),
        op(
            "get",
            "/v1/vendors/{vendor}/disputes",
            "A vendor's open disputes",
            SignedRead,
        )
        .gives::<b::Disputes>(g, 200, "the disputes"),
        op(
            "post",
            "/v1/arbiter/disputes/{id}/answer",
            "The disputed vendor answers",
            Anyone,
        )
        .takes::<b::DisputeAnswer>(g)
        .gives::<b::DisputeView>(g, 200, "the dispute"),
        op(
            "post",
            "/v1/arbiter/disputes/{id}/ruling",
            "Rule on a dispute, once",
            Anyone,
        )
        .gives::<b::DisputeView>(g, 200, "the ruled dispute"),
        op(
            "post",
            "/v1/operator/deposit",
            "Money into an account",
            Operator,
        )
        .takes::<b::Funding>(g)
        .gives::<b::Balance>(g, 200, "the balance"),
        op(
            "post",
            "/v1/operator/withdraw",
            "Money out of an account",
            Operator,
        )
        .takes::<b::Funding>(g)
        .gives::<b::Balance>(g, 200, "the balance"),
        op(
            "get",
            "/v1/operator/accounts/{id}",
            "Any account, with its key and ledger name",
            Operator,
        )
        .gives::<b::Account>(g, 200, "the account"),
        op(
            "get",
            "/v1/operator/scrip/{id}",
            "A scrip's state at the bank",
            Operator,
        )
        .gives::<b::ScripView>(g, 200, "the scrip"),
        op(
            "post",
            "/v1/operator/recall",
            "Recall a scrip from its holder",
            Operator,
        )
        .takes::<b::OperatorRecall>(g)
        .gives::<b::RecallIssued>(g, 200, "the recall"),
        op(
            "post",
            "/v1/operator/sweep",
            "Run the expiry sweep now",
            Operator,
        )
        .gives::<b::SweepCounts>(g, 200, "what it did"),
        op("get", "/v1/operator/check", "Check the books", Operator).gives::<b::BooksCheck>(
            g,
            200,
            "the check",
        ),
    ];
    document(
        g,
        "NetCents bank and arbiter",
        "Issuance, vendor certificates, transfers from the bank, capture, audits, redemption, \
         recalls and the arbiter (docs/PROTOCOL.md §12.1). `GET /metrics` (Prometheus text) \
         is not part of the API.",
        ops,
        &[Party::Core, Party::Bank],
    )
}

/// A vendor's document: the priced paths and `/netcents/v1/`.
#[must_use]
pub fn vendor() -> Value {
    use Caller::{Anyone, CaptureToken};
    let g = &mut generator();
    let ops = vec![
        op(
            "get",
            "/{item}",
            "A priced item: its offer, or with a payment or an access token, its content",
            Anyone,
        )
        .offers(g),
        op(
            "post",
            "/{item}",
            "Pay for a priced item and get it",
            Anyone,
        )
        .takes::<v::PaymentBundle>(g)
        .offers(g),
        op(
            "get",
            "/netcents/v1/vendor",
            "Who the vendor is and what it sells",
            Anyone,
        )
        .gives::<v::VendorInfo>(g, 200, "the vendor"),
        op(
            "post",
            "/netcents/v1/transfer",
            "Another vendor, or a wallet relaying a redemption, asks for the scrip",
            Anyone,
        )
        .takes::<b::TransferAsk>(g)
        .gives::<v::Handover>(g, 200, "the hand-over"),
        op(
            "post",
            "/netcents/v1/tick",
            "A stream's tick: the next element of the customer's hash chain (§5.13)",
            Anyone,
        )
        .takes::<v::Tick>(g)
        .gives::<v::Ticked>(g, 200, "the ticks paid"),
        op(
            "post",
            "/netcents/v1/close",
            "The customer ends its stream: the receipt charges the ticks paid (§5.13)",
            Anyone,
        )
        .takes::<v::CloseStream>(g)
        .gives::<v::Closed>(g, 200, "the stream's receipt"),
        op(
            "post",
            "/netcents/v1/recall",
            "The bank's recall, relayed by whoever holds it",
            Anyone,
        )
        .takes::<v::RecallAsk>(g)
        .gives::<v::RecallHandover>(g, 200, "the hand-over to the bank"),
        op(
            "post",
            "/netcents/v1/capture",
            "Run the capture now (the Cron Trigger runs the same)",
            CaptureToken,
        )
        .gives::<v::CaptureRun>(g, 200, "what it did"),
    ];
    let mut doc = document(
        g,
        "NetCents vendor",
        "The vendor's priced paths and its protocol routes (docs/PROTOCOL.md §12.2). A paid \
         answer is the content itself, with the receipt in `X-NetCents-Receipt` and the access \
         token in `X-NetCents-Access`.",
        ops,
        &[Party::Core, Party::Edge],
    );
    paid_answers(&mut doc);
    doc
}

/// The priced paths' answers that are content, not JSON, and their headers.
fn paid_answers(doc: &mut Value) {
    let header = |d: &str| json!({ "description": d, "schema": { "type": "string" } });
    let content = json!({
        "description": "the content, paid (or covered by the access token)",
        "headers": {
            "X-NetCents-Receipt": header("`Signed<Receipt>`, base64url (absent when an access token served it)"),
            "X-NetCents-Access": header("the access token for the item"),
            "X-NetCents-Replay": header("`1` when the order was accepted before"),
        },
        "content": { "*/*": { "schema": {} } },
    });
    for method in ["get", "post"] {
        doc["paths"]["/{item}"][method]["responses"]["200"] = content.clone();
        doc["paths"]["/{item}"][method]["parameters"] = json!([
            { "name": "item", "in": "path", "required": true, "schema": { "type": "string" },
              "description": "the item name: the path, each byte spelled one way (§12.2)" },
            { "name": "X-NetCents-Payment", "in": "header", "required": false,
              "schema": { "type": "string" },
              "description": "base64url of the payment bundle's JSON (`PaymentBundle`), for a GET" },
            { "name": "X-NetCents-Access", "in": "header", "required": false,
              "schema": { "type": "string" }, "description": "an access token for the item" },
        ]);
    }
}

fn document(
    g: &mut SchemaGenerator,
    title: &str,
    description: &str,
    ops: Vec<Op>,
    parties: &[Party],
) -> Value {
    let error = g.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for o in ops {
        let entry = paths.entry(o.path).or_insert_with(|| json!({}));
        entry[o.method] = operation(&o, &error);
    }
    let mut schemas = g.take_definitions(true);
    close_objects(&mut schemas);
    let codes: Vec<&str> = CODES
        .iter()
        .filter(|c| c.status != 0 && c.parties.iter().any(|p| parties.contains(p)))
        .map(|c| c.code)
        .collect();
    if let Some(code) = schemas
        .get_mut("ErrorBody")
        .and_then(|e| e["properties"].get_mut("code"))
    {
        code["enum"] = json!(codes);
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": title, "version": "1", "description": description },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer",
                            "description": "the operator's token (bank), the capture token (vendor)" },
            },
        },
    })
}

fn operation(o: &Op, error: &Schema) -> Value {
    let mut params: Vec<Value> = o
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let mut op = json!({ "summary": o.summary, "operationId": operation_id(o) });
    match o.caller {
        Caller::Anyone => {}
        Caller::Operator | Caller::CaptureToken => op["security"] = json!([{ "bearer": [] }]),
        Caller::SignedRead => {
            params.push(json!({ "name": "at", "in": "query", "required": false,
                "schema": { "type": "integer", "minimum": 0 }, "description": "the reader's time, ms" }));
            params.push(json!({ "name": "signature", "in": "query", "required": false,
                "schema": { "type": "string" }, "description": "the reader's signature, base64url (§6.2)" }));
            op["security"] = json!([{}, { "bearer": [] }]);
        }
    }
    if !params.is_empty() {
        op["parameters"] = json!(params);
    }
    if let Some(r) = &o.request {
        op["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": r } } });
    }
    let mut responses = Map::new();
    for (status, what, schema) in &o.answers {
        responses.insert(
            status.to_string(),
            json!({ "description": what, "content": { "application/json": { "schema": schema } } }),
        );
    }
    responses.insert(
        "default".into(),
        json!({ "description": "an error: a registered code (§9) and its status",
                "content": { "application/json": { "schema": error } } }),
    );
    op["responses"] = Value::Object(responses);
    op
}

fn operation_id(o: &Op) -> String {
    let mut id = String::from(o.method);
    for part in o
        .path
        .split('/')
        .filter(|p| !p.is_empty() && *p != "v1" && *p != "netcents")
    {
        id.push('_');
        id.extend(
            part.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_'),
        );
    }
    id
}

/// Answers carry no field their schema does not name: a client may ignore an unknown one,
/// but the services never send one.
fn close_objects(schemas: &mut Map<String, Value>) {
    fn close(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(close);
            }
            Value::Array(a) => a.iter_mut().for_each(close),
            _ => {}
        }
    }
    schemas.values_mut().for_each(close);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(name: &str) -> (std::path::PathBuf, String) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/openapi")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        (path, text)
    }

    /// `docs/openapi/*.json` are the documents the types and the routes make. Run with
    /// `NETCENTS_WRITE_OPENAPI=1` to write them after a change of a body or a route.
    #[test]
    fn the_committed_documents_are_the_generated_ones() {
        for (name, doc) in [("bank.json", bank()), ("vendor.json", vendor())] {
            let text = format!("{}\n", serde_json::to_string_pretty(&doc).expect("json"));
            let (path, old) = committed(name);
            if std::env::var_os("NETCENTS_WRITE_OPENAPI").is_some() {
                std::fs::write(&path, &text).expect("write the document");
            } else {
                assert!(
                    old == text,
                    "{} is not the generated document: run `NETCENTS_WRITE_OPENAPI=1 cargo test -p netcents-api --features openapi` and commit it",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn every_error_code_of_a_service_is_in_its_document() {
        let doc = bank();
        let codes = &doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"];
        for c in [
            "unknown_route",
            "idempotency_conflict",
            "stale_sequence",
            "bad_json",
        ] {
            assert!(
                codes.as_array().is_some_and(|a| a.contains(&json!(c))),
                "{c} in {codes}"
            );
        }
        let doc = vendor();
        let codes = &doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"];
        for c in ["bad_path", "payment_required", "stale_sequence"] {
            assert!(
                codes.as_array().is_some_and(|a| a.contains(&json!(c))),
                "{c} in {codes}"
            );
        }
    }

    #[test]
    fn every_path_parameter_is_declared_and_every_operation_has_an_error_answer() {
        for doc in [bank(), vendor()] {
            for (path, item) in doc["paths"].as_object().expect("paths") {
                for (_, op) in item.as_object().expect("item") {
                    assert!(op["responses"]["default"].is_object(), "{path}");
                    for name in path
                        .split('/')
                        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    {
                        let declared = op["parameters"].as_array().is_some_and(|ps| {
                            ps.iter().any(|p| p["name"] == name && p["in"] == "path")
                        });
                        assert!(declared, "{path}: {name}");
                    }
                }
            }
        }
    }
}
