//! `shoebox`: the command line of the client.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use shoebox_client::api::BoxApi;
use shoebox_client::credentials::{self, Credentials};
use shoebox_client::push::{push, PushOptions};
use shoebox_client::transfers::{State, Transfers};
use shoebox_client::{default_transfers_path, wifi, ClientError};

#[derive(Parser)]
#[command(name = "shoebox", version, about = "Find your Shoebox on the network and back photos up to it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the boxes that answer on the local network.
    Discover {
        /// How long to listen, in seconds.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Sign in and keep a device token for this computer.
    Login {
        /// The box's address (http://HOST:PORT); found on the network when left out.
        #[arg(long)]
        server: Option<String>,
        /// The user name; asked for when left out.
        #[arg(long)]
        user: Option<String>,
        /// Read the password from standard input instead of asking for it.
        #[arg(long)]
        password_stdin: bool,
        /// The box's API key, if its owner set one.
        #[arg(long)]
        api_key: Option<String>,
    },
    /// Upload every photo and video of a folder the box does not have yet.
    Push {
        dir: PathBuf,
        /// A title for the photos of this push.
        #[arg(long)]
        title: Option<String>,
        /// Tags, comma separated.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// The workspace to upload to.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Upload only when this computer is on Wi-Fi.
        #[arg(long)]
        wifi_only: bool,
        /// Upload only when this computer is on the Wi-Fi with this name.
        #[arg(long)]
        ssid: Option<String>,
    },
    /// How many files are in each transfer state.
    Status {
        /// Also list the files that failed, with the reason.
        #[arg(long)]
        verbose: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shoebox: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Discover { timeout } => discover(timeout).await,
        Command::Login { server, user, password_stdin, api_key } => login(server, user, password_stdin, api_key).await,
        Command::Push { dir, title, tags, workspace, wifi_only, ssid } => {
            push_folder(dir, title, tags, workspace, wifi_only, ssid).await
        }
        Command::Status { verbose } => status(verbose),
    }
}

async fn discover(timeout: u64) -> anyhow::Result<()> {
    let found = shoebox_mdns::browse(Duration::from_secs(timeout)).await?;
    if found.is_empty() {
        bail!(ClientError::NoBoxFound);
    }
    println!("{:<24} {:<28} {:>5}  {:<9} ID", "NAME", "ADDRESS", "PORT", "VERSION");
    for b in &found {
        let addresses: Vec<String> = b.addresses.iter().map(ToString::to_string).collect();
        println!(
            "{:<24} {:<28} {:>5}  {:<9} {}",
            b.name,
            addresses.join(","),
            b.port,
            b.version.as_deref().unwrap_or("?"),
            b.id.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

/// The box to talk to: the given URL, or the one box that answers on the network.
async fn find_server(server: Option<String>) -> anyhow::Result<(String, String)> {
    if let Some(url) = server {
        return Ok((url.trim_end_matches('/').to_string(), "/api/v1".to_string()));
    }
    let found = shoebox_mdns::browse(Duration::from_secs(3)).await?;
    match found.as_slice() {
        [] => bail!(ClientError::NoBoxFound),
        [one] => {
            let url = one.api_url().context("the box announced no address")?;
            let base = url.strip_suffix(&one.api).unwrap_or(&url).to_string();
            eprintln!("found {} at {base}", one.name);
            Ok((base, one.api.clone()))
        }
        many => {
            let names: Vec<String> =
                many.iter().filter_map(|b| b.api_url().map(|u| format!("{} {u}", b.name))).collect();
            bail!(ClientError::SeveralBoxes(names.join(", ")))
        }
    }
}

async fn login(
    server: Option<String>,
    user: Option<String>,
    password_stdin: bool,
    api_key: Option<String>,
) -> anyhow::Result<()> {
    let (server, api_path) = find_server(server).await?;
    let api = BoxApi::new(&server, &api_path)?.with_api_key(api_key.clone());
    let health = api.health().await?;
    let username = match user {
        Some(u) => u,
        None => prompt("user name: ")?,
    };
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!("password for {username} on {}: ", health.name))?
    };
    let session = api.login(&username, &password).await?;
    let signed_in = api.with_token(Some(session));
    let host = host_name().unwrap_or_else(|| "this computer".into());
    let token = signed_in.create_device_token(&format!("shoebox client on {host}")).await?;
    // The login token has done its job; the device token is what stays.
    signed_in.logout().await?;
    let path = credentials::default_path()?;
    credentials::save(
        &path,
        &Credentials {
            server: server.clone(),
            api_path,
            device_id: health.device_id,
            box_name: health.name.clone(),
            username: username.clone(),
            token,
            api_key,
        },
    )?;
    println!("signed in to {} ({server}) as {username}; device token kept in {}", health.name, path.display());
    Ok(())
}

/// This computer's name: what the box records as the uploading device and names the token after.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?.trim().to_string();
    (!name.is_empty()).then_some(name)
}

fn prompt(question: &str) -> anyhow::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

async fn push_folder(
    dir: PathBuf,
    title: Option<String>,
    tags: Vec<String>,
    workspace: String,
    wifi_only: bool,
    want_ssid: Option<String>,
) -> anyhow::Result<()> {
    let creds = credentials::load(&credentials::default_path()?)?;
    let ssid = wifi::current_ssid();
    match (&want_ssid, &ssid) {
        (Some(want), None) => bail!(ClientError::Wifi(format!(
            "cannot tell which Wi-Fi this computer is on (tried iwgetid, nmcli, iw); not uploading without {want:?}"
        ))),
        (Some(want), Some(on)) if want != on => {
            bail!(ClientError::Wifi(format!("on Wi-Fi {on:?}, not {want:?}; not uploading")))
        }
        (None, None) if wifi_only => {
            bail!(ClientError::Wifi("not on Wi-Fi (or it cannot be read); not uploading (--wifi-only)".into()))
        }
        _ => {}
    }
    let api = BoxApi::new(&creds.server, &creds.api_path)?
        .with_token(Some(creds.token.clone()))
        .with_api_key(creds.api_key.clone())
        .with_ssid(ssid);
    let transfers = Transfers::open(&default_transfers_path()?)?;
    let mut opts = PushOptions::new(dir);
    opts.title = title;
    opts.tags = tags.into_iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    opts.workspace = workspace;
    opts.device = host_name();
    let report = push(&api, &transfers, &creds.device_id, &opts).await?;
    println!(
        "{} files: {} uploaded, {} already on the box, {} deleted on the box, {} failed, {} not photos or videos \
         ({} check requests, {} upload requests)",
        report.files,
        report.uploaded,
        report.already_on_server,
        report.deleted_on_server,
        report.failed,
        report.not_media,
        report.check_requests,
        report.upload_requests
    );
    if report.failed > 0 {
        bail!(
            "{} files failed; `shoebox push` again tries them again (`shoebox status --verbose` says why)",
            report.failed
        );
    }
    Ok(())
}

fn status(verbose: bool) -> anyhow::Result<()> {
    let creds = credentials::load(&credentials::default_path()?).ok();
    let transfers = Transfers::open(&default_transfers_path()?)?;
    let server = creds.as_ref().map(|c| c.device_id.as_str());
    if let Some(c) = &creds {
        println!("{} ({}) as {}", c.box_name, c.server, c.username);
    }
    let summary = transfers.summary(server)?;
    for state in [State::Done, State::OnServer, State::Pending, State::Failed, State::DeletedOnServer] {
        println!("{:<20} {}", state.label(), summary.get(&state).copied().unwrap_or(0));
    }
    if verbose {
        for (path, detail) in transfers.in_state(server, State::Failed)? {
            println!("failed: {path}: {}", detail.unwrap_or_default());
        }
    }
    Ok(())
}
