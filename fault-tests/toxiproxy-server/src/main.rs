//! `toxiproxy-server`: a Toxiproxy-compatible server for zksync's fault tests.
//!
//! The real Toxiproxy (Go) cannot be installed from the registries the project's machines
//! reach. This binary serves Toxiproxy 2.x's HTTP API (see `api.rs`) over the proxy and toxic
//! implementation of the `noxious` crate, so the fault tests' `toxiproxy_rust` client works the
//! same against it and against the real Toxiproxy.
//!
//! ```text
//! toxiproxy-server [-host 127.0.0.1] [-port 8474] [-config proxies.json]
//! ```
//! Flags as Toxiproxy's (one or two leading dashes). `-config` populates proxies at start from a
//! JSON array, like `POST /populate`. Stops on SIGTERM or Ctrl-C, closing every proxy.

mod api;
mod store;
mod toxics;

use std::sync::Arc;

struct Args {
    host: String,
    port: u16,
    config: Option<String>,
}

const USAGE: &str = "usage: toxiproxy-server [-host HOST] [-port PORT] [-config FILE]

  -host HOST     address of the HTTP API (default 127.0.0.1)
  -port PORT     port of the HTTP API (default 8474)
  -config FILE   JSON array of proxies to create at start (as POST /populate)
  -version       print the version and exit";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".to_string(),
        port: 8474,
        config: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let flag = arg.trim_start_matches('-');
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("flag -{flag} needs a value"))
        };
        match flag {
            "host" => args.host = value()?,
            "port" => args.port = value()?.parse().map_err(|e| format!("bad -port: {e}"))?,
            "config" => args.config = Some(value()?),
            "version" => {
                println!("{}", api::VERSION);
                std::process::exit(0);
            }
            "h" | "help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(args)
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("toxiproxy-server: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let store = Arc::new(store::Store::default());
    if let Some(path) = &args.config {
        let body = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("toxiproxy-server: cannot read {path}: {e}");
                std::process::exit(1);
            }
        };
        match api::populate_json(&store, &body).await {
            Ok((proxies, None)) => {
                eprintln!(
                    "toxiproxy-server: populated {} proxies from {path}",
                    proxies.len()
                )
            }
            Ok((_, Some(e))) | Err(e) => {
                eprintln!(
                    "toxiproxy-server: populating from {path} failed: {}",
                    e.message
                );
                std::process::exit(1);
            }
        }
    }
    let addr = format!("{}:{}", args.host, args.port);
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("toxiproxy-server: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("toxiproxy-server: API on http://{addr} ({})", api::VERSION);
    let app = api::router(store.clone());
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    store.stop_all().await;
    if let Err(e) = served {
        eprintln!("toxiproxy-server: HTTP server failed: {e}");
        std::process::exit(1);
    }
    eprintln!("toxiproxy-server: stopped");
}
