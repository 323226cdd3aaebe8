//! A private PostgreSQL 15 cluster for one test (`initdb` + `pg_ctl` as the `postgres` user,
//! trust on loopback), stopped in immediate mode when dropped.

use std::path::Path;
use std::process::Command;

use crate::{TempDir, free_port};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The cluster.
pub struct Cluster {
    dir: TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn pg(args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// Creates and starts it.
    pub fn start() -> Self {
        assert!(
            Path::new(PG_BIN).join("initdb").exists(),
            "PostgreSQL 15 is needed and {PG_BIN}/initdb is missing: apt-get install postgresql (./x setup does)"
        );
        let dir = TempDir::new("pg");
        let chown = Command::new("chown")
            .arg("postgres")
            .arg(&dir.0)
            .status()
            .unwrap();
        assert!(chown.success(), "chown postgres {}", dir.0.display());
        let data = dir.0.to_str().unwrap().to_owned();
        pg(&[
            &format!("{PG_BIN}/initdb"),
            "-D",
            &data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]);
        let port = free_port();
        let opts = format!("-p {port} -k {data} -c listen_addresses=127.0.0.1");
        let log = format!("{data}/log");
        pg(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            &data,
            "-o",
            &opts,
            "-l",
            &log,
            "-w",
            "start",
        ]);
        Self { dir, port }
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.0.to_str().unwrap_or_default().to_owned();
        let _ = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                &format!("{PG_BIN}/pg_ctl"),
                "-D",
                &data,
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}
