//! `lrs-bench generate`: the corpus as JSON Lines, for other tools (curl, other LRS
//! benchmarks, fixtures).

use crate::corpus::{Corpus, CorpusConfig};
use anyhow::Context as _;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Number of statements.
    #[arg(long)]
    pub count: u64,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes `count` statements, one compact JSON object per line; returns the bytes written.
pub fn write_jsonl(
    config: &CorpusConfig,
    count: u64,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    let mut corpus = Corpus::new(config.clone());
    let mut bytes = 0u64;
    let mut line = Vec::with_capacity(2048);
    for _ in 0..count {
        line.clear();
        serde_json::to_writer(&mut line, &corpus.next_statement())?;
        line.push(b'\n');
        out.write_all(&line)?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(bytes)
}

/// Runs the subcommand: writes the corpus and a one-line summary on stderr.
pub fn run_generate(config: &CorpusConfig, args: &GenerateArgs) -> anyhow::Result<()> {
    if let Err(e) = config.validate() {
        anyhow::bail!("{e}");
    }
    let bytes = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            write_jsonl(config, args.count, &mut out)
                .with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match write_jsonl(config, args.count, &mut out) {
                Ok(bytes) => bytes,
                // `lrs-bench generate | head` closes the pipe early: not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e).context("writing to standard output"),
            }
        }
    };
    if args.count > 0 {
        // Line bytes include the newline; the statement itself is one byte shorter.
        let average = bytes as f64 / args.count as f64 - 1.0;
        eprintln!(
            "generated {} statements, {bytes} bytes, {average:.0} bytes per statement on average",
            args.count
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_is_one_statement_per_line() {
        let mut out = Vec::new();
        let bytes = write_jsonl(&CorpusConfig::default(), 25, &mut out).unwrap();
        assert_eq!(bytes as usize, out.len());
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 25);
        let expected: Vec<serde_json::Value> =
            Corpus::new(CorpusConfig::default()).take(25).collect();
        for (line, statement) in lines.iter().zip(&expected) {
            assert_eq!(*line, statement.to_string());
        }
    }

    #[test]
    fn writes_a_file() {
        let dir = std::env::temp_dir().join(format!("lrs-bench-generate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("corpus.jsonl");
        run_generate(
            &CorpusConfig::default(),
            &GenerateArgs {
                count: 10,
                out: Some(path.clone()),
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 10);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
