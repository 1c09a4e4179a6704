//! `shoebox-fakes --listen ADDR`: the fakes as a process, for trying Shoebox's cloud connections by
//! hand. Approve a device code with `curl -X POST ADDR/_control/oauth/approve -d '{"user_code":"..."}'
//! -H 'content-type: application/json'`.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser)]
#[command(name = "shoebox-fakes", about = "Fakes of the cloud drives' APIs, for tests")]
struct Cli {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let server = shoebox_fakes::FakeServer::start(cli.listen).await?;
    eprintln!("shoebox-fakes listening on http://{}", server.addr);
    server.wait().await;
    Ok(())
}
