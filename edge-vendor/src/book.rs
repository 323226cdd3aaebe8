//! `VendorBook`: one Durable Object per vendor (named `book`) that lists the scrips this
//! vendor held, so that capture can find them, and keeps the capture batch in flight: a batch
//! is stored here before it is sent and sent again, unchanged, until the bank answers (its
//! `batch` id makes the retry safe, `docs/PROTOCOL.md` §6).

use serde_json::json;
use worker::SqlStorageValue;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

/// The vendor's book of scrips and its capture batch in flight.
#[durable_object]
pub struct VendorBook {
    state: State,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scrips (id TEXT PRIMARY KEY, settled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS pending (k TEXT PRIMARY KEY, v TEXT NOT NULL);
";

impl DurableObject for VendorBook {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op = req.path().trim_start_matches('/').to_owned();
        let body = crate::net::call_of(&mut req).await?;
        let sql = self.state.storage().sql();
        // Every operation below is synchronous: it runs whole, with no other request between.
        sql.exec(SCHEMA, None)?;
        let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
        let answer = match op.as_str() {
            "add" => {
                sql.exec(
                    "INSERT INTO scrips (id) VALUES (?) ON CONFLICT (id) DO UPDATE SET settled = 0",
                    vec![text("scrip").into()],
                )?;
                json!({ "ok": true })
            }
            "settle" => {
                sql.exec(
                    "UPDATE scrips SET settled = 1 WHERE id = ?",
                    vec![text("scrip").into()],
                )?;
                json!({ "ok": true })
            }
            // Whether this vendor ever held the scrip: a tick or a close for any other is
            // refused before the scrip's own object is called (and so created).
            "has" => {
                let known = sql
                    .exec(
                        "SELECT 1 FROM scrips WHERE id = ?",
                        vec![text("scrip").into()],
                    )?
                    .raw()
                    .next()
                    .is_some();
                json!({ "known": known })
            }
            "list" => {
                let ids: Vec<String> = sql
                    .exec("SELECT id FROM scrips WHERE settled = 0 ORDER BY id", None)?
                    .raw()
                    .filter_map(|r| match r.ok()?.into_iter().next()? {
                        SqlStorageValue::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                json!({ "scrips": ids })
            }
            "batch_get" => {
                let v: Vec<String> = sql
                    .exec("SELECT v FROM pending WHERE k = 'batch'", None)?
                    .raw()
                    .filter_map(|r| match r.ok()?.into_iter().next()? {
                        SqlStorageValue::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                json!({ "batch": v.into_iter().next() })
            }
            "batch_put" => {
                sql.exec(
                    "INSERT OR REPLACE INTO pending (k, v) VALUES ('batch', ?)",
                    vec![text("batch").into()],
                )?;
                json!({ "ok": true })
            }
            "batch_clear" => {
                sql.exec("DELETE FROM pending WHERE k = 'batch'", None)?;
                json!({ "ok": true })
            }
            _ => {
                return Ok(Response::from_json(
                    &json!({ "code": "unknown_route", "hint": format!("no operation {op}") }),
                )?
                .with_status(404));
            }
        };
        Response::from_json(&answer)
    }
}
