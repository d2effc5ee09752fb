//! Real `lrs` processes for tests that kill them: the binary, its environment for a
//! backing, and a child handle that kills the process when dropped.

use super::{Backing, Stack, KEY, SECRET};
use std::process::{Child, Command, Stdio};

pub fn lrs_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lrs")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Environment for an `lrs` process on this backing.
pub fn process_env(backing: &Backing, port: u16) -> Vec<(String, String)> {
    let c = backing.config();
    let mut env = vec![
        ("LRS_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("LRS_DATA_DIR".into(), c.data_dir.display().to_string()),
        ("LRS_BOOTSTRAP_CREDENTIAL".into(), format!("{KEY}:{SECRET}")),
        ("LRS_LOG_LEVEL".into(), "warn".into()),
    ];
    if backing.stack == Stack::Kafka {
        env.extend([
            ("LRS_LOG".into(), "kafka".into()),
            ("LRS_STORE".into(), "postgres".into()),
            (
                "LRS_STORE_URL".into(),
                c.store_url.clone().unwrap_or_default(),
            ),
            ("LRS_KAFKA__BROKERS".into(), c.kafka.brokers.clone()),
            ("LRS_KAFKA__TOPIC".into(), c.kafka.topic.clone()),
            ("LRS_KAFKA__PARTITIONS".into(), "8".into()),
            (
                "LRS_PROJECTOR__CONSUMER".into(),
                c.projector.consumer.clone(),
            ),
        ]);
    }
    env
}

/// A child `lrs` process, killed when dropped so a failing test leaves nothing running.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn_lrs(args: &[&str], env: &[(String, String)]) -> Proc {
    Proc(
        Command::new(lrs_bin())
            .args(args)
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lrs"),
    )
}
