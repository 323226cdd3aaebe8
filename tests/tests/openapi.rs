//! The OpenAPI documents against the running services: the bank binary and a vendor in workerd
//! serve the committed documents, and every operation they describe answers, even to an empty
//! or unauthorised request, with a body its document describes and never with a server error.
//! (Every other end-to-end test checks each answer it gets against the documents too:
//! `netcents_e2e::openapi::conforms`, called by `send`, `offer`, `send_payment`.)
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use netcents_e2e::{Bank, Vendor, http, openapi, send};
use serde_json::{Value, json};

async fn served(url: &str) -> Value {
    let res = http().get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{url}");
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("application/json"), "{url}: {kind}");
    res.json().await.unwrap()
}

/// Calls every operation of `doc` at `base` with an empty body and made-up path parameters:
/// `send` checks each answer against the document.
async fn every_operation(base: &str, doc: &Value) -> usize {
    let c = http();
    let mut calls = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path: String = template
            .split('/')
            .map(|s| match s {
                "{item}" => "paid/article.html",
                s if s.starts_with('{') => "00ff",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let url = format!("{base}{path}");
            let (m, body) = match method.as_str() {
                "get" => (reqwest::Method::GET, None),
                "post" => (reqwest::Method::POST, Some(json!({}))),
                other => panic!("{template}: method {other}"),
            };
            let (status, answer) = send(&c, m, &url, body.as_ref(), false).await;
            assert!(status < 500, "{method} {url}: {status} {answer}");
            calls += 1;
        }
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_services_serve_their_documents_and_answer_as_they_describe() {
    let bank = Bank::start().await;
    let vendor = Vendor::start(&bank, "openapi").await;

    let doc = served(&format!("{}/openapi.json", bank.url)).await;
    assert_eq!(
        &doc,
        openapi::committed("bank.json"),
        "the bank serves docs/openapi/bank.json"
    );
    assert_eq!(doc["openapi"], "3.1.0");
    let vdoc = served(&vendor.at("/netcents/v1/openapi.json")).await;
    assert_eq!(
        &vdoc,
        openapi::committed("vendor.json"),
        "the vendor serves docs/openapi/vendor.json"
    );

    let bank_calls = every_operation(&bank.url, &doc).await;
    let vendor_calls = every_operation(&vendor.url, &vdoc).await;
    assert!(
        bank_calls >= 26 && vendor_calls >= 6,
        "{bank_calls} {vendor_calls}"
    );

    // An answer the document does not describe fails the check that every test makes.
    let wrong = std::panic::catch_unwind(|| {
        openapi::conforms(
            "GET",
            &format!("{}/v1/keys", bank.url),
            None,
            200,
            &json!({ "currency": "XNC" }),
        );
    });
    assert!(
        wrong.is_err(),
        "a keys answer without its keys does not conform"
    );
    let undocumented = std::panic::catch_unwind(|| {
        openapi::conforms(
            "DELETE",
            &format!("{}/v1/keys", bank.url),
            None,
            200,
            &json!({}),
        );
    });
    assert!(
        undocumented.is_err(),
        "an operation the documents lack fails"
    );
}
