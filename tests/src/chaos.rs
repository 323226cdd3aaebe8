//! A seeded faulty network in front of a service: each request is passed, its answer dropped
//! (the service did the work, the client never hears of it), dropped before it reaches the
//! service, sent twice (the client gets the second answer), or delayed. `calm` passes
//! everything; `faults` counts what was injected.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What the network does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Pass,
    DropAnswer,
    DropRequest,
    Twice,
    Delay,
}

/// A faulty proxy in front of one service.
pub struct Chaos {
    /// Its base URL: use it instead of the service's.
    pub url: String,
    /// While set, every request passes.
    pub calm: Arc<AtomicBool>,
    /// Faults injected so far (answers dropped, requests dropped, requests sent twice).
    pub faults: Arc<AtomicU64>,
    /// While set, the answer to every request whose first line starts with it is dropped
    /// (the service does the work; the client never hears of it), whatever `calm` says.
    pub lose: Arc<Mutex<Option<&'static str>>>,
}

/// A small seeded generator (SplitMix64): the same seed, the same fates in the same order of
/// arrival.
pub struct Seeded(pub u64);

impl Seeded {
    /// The next number.
    pub fn roll(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

async fn read_request(client: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut req = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        req.extend_from_slice(&buf[..n]);
        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&req[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while req.len() < head_end + length {
        let n = client.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        req.extend_from_slice(&buf[..n]);
    }
    // One request a connection, each way.
    let mut lines: Vec<&str> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let mut forward = (lines.join("\r\n") + "\r\n\r\n").into_bytes();
    forward.extend_from_slice(&req[head_end..]);
    Some((head, forward))
}

async fn forward(upstream: &str, request: &[u8]) -> Option<Vec<u8>> {
    let mut server = tokio::net::TcpStream::connect(upstream).await.ok()?;
    server.write_all(request).await.ok()?;
    read_answer(&mut server).await
}

/// One HTTP answer, read to its end (its length, or its last chunk): a server may keep the
/// connection open after it, whatever the request asked.
async fn read_answer(server: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = server.read(&mut buf).await.ok()?;
        if n == 0 {
            return (!answer.is_empty()).then_some(answer);
        }
        answer.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "content-length").then(|| v.trim().parse::<usize>().ok())?
    });
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let done = match length {
            Some(n) => answer.len() >= head_end + n,
            None if chunked => answer[head_end..].ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            return Some(answer);
        }
        let n = server.read(&mut buf).await.ok()?;
        if n == 0 {
            return Some(answer);
        }
        answer.extend_from_slice(&buf[..n]);
    }
}

impl Chaos {
    /// A proxy in front of `upstream` (`http://host:port`) whose fates follow `seed`: of every
    /// ten requests, about `faulty` meet a fault.
    pub async fn start(upstream: &str, seed: u64, faulty: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let calm = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(Mutex::new(Seeded(seed)));
        let lose: Arc<Mutex<Option<&'static str>>> = Arc::new(Mutex::new(None));
        let (c, f, l) = (calm.clone(), faults.clone(), lose.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let roll = rng.lock().unwrap().roll();
                let fate = if c.load(Ordering::SeqCst) || roll % 10 >= faulty {
                    Fate::Pass
                } else {
                    match (roll / 10) % 4 {
                        0 => Fate::DropAnswer,
                        1 => Fate::DropRequest,
                        2 => Fate::Twice,
                        _ => Fate::Delay,
                    }
                };
                let (upstream, f, l) = (upstream.clone(), f.clone(), l.clone());
                tokio::spawn(async move {
                    let Some((head, request)) = read_request(&mut client).await else {
                        return;
                    };
                    let lost = *l.lock().unwrap();
                    let fate = match lost {
                        Some(first) if head.starts_with(first) => Fate::DropAnswer,
                        _ => fate,
                    };
                    if matches!(fate, Fate::DropAnswer | Fate::DropRequest | Fate::Twice) {
                        f.fetch_add(1, Ordering::SeqCst);
                    }
                    let answer = match fate {
                        Fate::DropRequest => return,
                        Fate::Twice => {
                            let _ = forward(&upstream, &request).await;
                            forward(&upstream, &request).await
                        }
                        Fate::Delay => {
                            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
                            forward(&upstream, &request).await
                        }
                        Fate::Pass | Fate::DropAnswer => forward(&upstream, &request).await,
                    };
                    if fate == Fate::DropAnswer {
                        return;
                    }
                    if let Some(answer) = answer {
                        let _ = client.write_all(&answer).await;
                        let _ = client.shutdown().await;
                    }
                });
            }
        });
        Self {
            url,
            calm,
            faults,
            lose,
        }
    }
}
