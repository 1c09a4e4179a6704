//! `shoeboxd`, the photo box service: `serve`, `user add`, `doctor`.

mod config;
mod logging;
mod mqtt;
mod open;
mod serve;
mod systemd;

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

#[derive(Parser)]
#[command(name = "shoeboxd", version, about = "The Shoebox photo box service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// TOML configuration file; without it the built-in defaults apply.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (catalogue and library).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address and port to listen on.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Compare the library on disk with the catalogue and report differences (changes nothing).
    Doctor {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from the first line of standard input.
    Add {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make the user a server admin.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        common: Common,
    },
}

fn load(common: &Common, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
    let overrides = Overrides { data_dir: common.data_dir.clone(), listen };
    Ok(config::load(common.config.as_deref(), &overrides)?)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shoeboxd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { common, listen } => {
            let config = load(&common, listen)?;
            logging::init(&config.log.level);
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(serve::serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command: UserCommand::Add { name, password_stdin: _, admin, common } } => {
            let config = load(&common, None)?;
            logging::init(&config.log.level);
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password).context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let user = open::add_user(&config, &name, password, admin)?;
            println!("created user {} (id {}{})", user.username, user.id, if admin { ", admin" } else { "" });
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { common } => {
            let config = load(&common, None)?;
            logging::init(&config.log.level);
            let report = open::doctor(&config)?;
            println!("checked {} assets", report.assets_checked);
            for p in &report.rows_without_files {
                println!("row without file: {p}");
            }
            for p in &report.files_without_rows {
                println!("file without row: {p}");
            }
            for p in &report.size_mismatches {
                println!("size differs from the catalogue: {p}");
            }
            if report.is_consistent() {
                println!("library and catalogue agree");
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
    }
}
