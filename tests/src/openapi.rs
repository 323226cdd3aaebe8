//! Every answer the tests get from the bank and the vendors, and every JSON request they send,
//! is checked against the services' OpenAPI documents (`docs/openapi/`, what `GET
//! /openapi.json` serves): an answer the document does not describe fails the test that got it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The committed documents: the bank's and the vendor's.
fn documents() -> &'static (Value, Value) {
    static DOCS: OnceLock<(Value, Value)> = OnceLock::new();
    DOCS.get_or_init(|| {
        let read = |name: &str| -> Value {
            let path = crate::root().join("docs/openapi").join(name);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).expect("an OpenAPI document is JSON")
        };
        (read("bank.json"), read("vendor.json"))
    })
}

/// The committed document of a service: `bank.json` or `vendor.json`.
#[must_use]
pub fn committed(name: &str) -> &'static Value {
    let (bank, vendor) = documents();
    if name == "bank.json" { bank } else { vendor }
}

/// The document and the operation that describe `method` on `path` (no query).
fn operation(method: &str, path: &str) -> Option<(&'static Value, &'static Value, String)> {
    let (bank, vendor) = documents();
    let doc = if path.starts_with("/v1/") || path == "/healthz" {
        bank
    } else {
        vendor
    };
    let method = method.to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').collect();
    let paths = doc["paths"].as_object()?;
    let exact = paths.iter().find(|(template, item)| {
        let t: Vec<&str> = template.split('/').collect();
        item.get(&method).is_some()
            && t.len() == segments.len()
            && t.iter()
                .zip(&segments)
                .all(|(t, s)| t.starts_with('{') || t == s)
            && *template != "/{item}"
    });
    let found = exact.or_else(|| {
        (!path.starts_with("/netcents/v1/") && doc == vendor)
            .then(|| paths.get_key_value("/{item}"))
            .flatten()
    })?;
    Some((doc, &found.1[&method], found.0.clone()))
}

fn check(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    static CACHE: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
    let key = format!("{}|{schema}", doc["info"]["title"]);
    let errors: Vec<String> = {
        let mut cache = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let validator = cache.entry(key).or_insert_with(|| {
            let mut root = schema.clone();
            if let Some(o) = root.as_object_mut() {
                o.insert("components".into(), doc["components"].clone());
            }
            jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: schema: {e}"))
        });
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    };
    assert!(
        errors.is_empty(),
        "{what} does not conform to the OpenAPI document:\n{}\nbody: {instance}",
        errors.join("\n")
    );
}

/// Checks one exchange: the JSON request (if any, when it succeeded) and the answer, by status. Content answers
/// (a paid item's 200) and non-JSON answers are described as such and not checked here.
///
/// # Panics
/// When the document has no operation for the request, or either body does not conform.
pub fn conforms(method: &str, url: &str, request: Option<&Value>, status: u16, answer: &Value) {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let path = path.split('?').next().unwrap_or(path);
    // The Worker's CPU self-measurement (`SELFTEST = "1"`, benchmarks only) is not an API.
    if path == "/metrics"
        || path == "/openapi.json"
        || path == "/netcents/v1/openapi.json"
        || path == "/netcents/v1/selftest"
    {
        return;
    }
    let (doc, op, template) = operation(method, path)
        .unwrap_or_else(|| panic!("{method} {path}: no operation in the OpenAPI documents"));
    let what = format!("{method} {template} ({path})");
    // A request the service accepted is one its document describes (tests send bad ones on
    // purpose: those must get a described error, checked below).
    if let (Some(body), Some(schema), true) = (
        request,
        op.pointer("/requestBody/content/application~1json/schema"),
        status < 400,
    ) {
        check(doc, schema, body, &format!("the request of {what}"));
    }
    let responses = &op["responses"];
    let response = responses
        .get(status.to_string())
        .unwrap_or(&responses["default"]);
    if let Some(schema) = response.pointer("/content/application~1json/schema") {
        if status < 400 && responses.get(status.to_string()).is_none() {
            panic!("{what}: status {status} is not in the document: {answer}");
        }
        check(
            doc,
            schema,
            answer,
            &format!("the {status} answer of {what}"),
        );
    } else {
        assert!(
            response.get("content").is_some(),
            "{what}: status {status} has no description"
        );
    }
}
