//! The books check.

use super::*;

/// The books check: postings balance, the cached balances agree with the postings, no account
/// is below zero, and the float equals the sum of live scrip balances.
pub struct CheckBooks;
work!(CheckBooks, check_books);

async fn check_books(_: &CheckBooks, tx: &mut Tx) -> WorkResult {
    let from_postings = tx.balances_from_postings().await?;
    let cached = tx.cached_balances().await?;
    let mut problems: Vec<String> = Vec::new();
    let total: i128 = from_postings.iter().map(|(_, b)| b).sum();
    if total != 0 {
        problems.push(format!("postings sum to {total}, not 0"));
    }
    let posted: HashMap<&str, i128> = from_postings
        .iter()
        .map(|(a, b)| (a.as_str(), *b))
        .collect();
    for (account, balance) in &cached {
        let p = posted.get(account.as_str()).copied().unwrap_or(0);
        if p != *balance {
            problems.push(format!("{account}: cached {balance}, postings say {p}"));
        }
    }
    for (account, balance) in &from_postings {
        if account != "external" && *balance < 0 {
            problems.push(format!("{account} is below zero: {balance}"));
        }
    }
    let mut outstanding: i128 = 0;
    let mut scrips = 0u64;
    let mut after = String::new();
    loop {
        let page = tx.scrip_page(&after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (id, bytes, stored) in &page {
            let book = core_bank::ScripBook::from_bytes(bytes).map_err(ApiError::internal)?;
            let o = i128::from(book.outstanding().0);
            if o != i128::from(*stored) {
                problems.push(format!(
                    "scrip {id}: stored outstanding {stored}, book says {o}"
                ));
            }
            outstanding += o;
            scrips += 1;
        }
    }
    let float = posted.get("float").copied().unwrap_or(0);
    if float != outstanding {
        problems.push(format!(
            "float is {float} but live scrip hold {outstanding}"
        ));
    }
    let deposited = -posted.get("external").copied().unwrap_or(0);
    let counted = tx.total_deposited().await?;
    if counted != deposited {
        problems.push(format!(
            "deposits counted {counted}, postings say {deposited}"
        ));
    }
    Ok(Reply::of(&api::BooksCheck {
        balanced: problems.is_empty(),
        problems,
        float_micros: float.to_string(),
        outstanding_micros: outstanding.to_string(),
        deposited_micros: deposited.to_string(),
        penalties_micros: posted.get("penalties").copied().unwrap_or(0).to_string(),
        accounts: posted.len() as u64,
        // Every account and bond opened, posted to or not: a refused request adds none.
        balances: cached.len() as u64,
        scrips,
    }))
}
