//! `lrs-bench`: see `lrs-bench --help`. Exit status 0 when the run had no errors, 1 when
//! some requests failed (the report says which), 2 when the run could not happen.

use clap::Parser;
use lrs_bench::cli::{run, Cli, Outcome};
use std::process::ExitCode;

/// The same allocator as the `lrs` server, so in-process figures compare.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(Outcome::Report(report)) => {
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_markdown());
            }
            if report.error_count() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lrs-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
