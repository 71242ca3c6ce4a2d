//! `socks-router`: a SOCKS5 server that sends each connection where a routing table says, for
//! scripts/ensemble's partition mode.
//!
//! ZooKeeper 3.5+ cannot be made to route its server-to-server traffic through per-link proxies
//! by configuration alone: a node that receives an election connection from a lower id closes
//! it and connects back to the address the lower node announced (its own listening address),
//! which bypasses any proxy in the node's config. Java can send every outgoing
//! `java.net.Socket` connection through a SOCKS proxy (`-DsocksProxyHost/-DsocksProxyPort`, with
//! `-DsocksNonProxyHosts=` so that loopback is proxied too), and ZooKeeper's quorum and election
//! connections are such sockets. So node i gets a SOCKS port of its own here, and a CONNECT to
//! node j's quorum or election port arriving there is forwarded to the Toxiproxy proxy of the
//! link i->j: every link between nodes, connect-backs included, passes a proxy that can cut it.
//!
//! ```text
//! socks-router ROUTES_FILE
//! ```
//! Each line of ROUTES_FILE is `LISTEN DESTINATION UPSTREAM` (three host:port addresses): a
//! CONNECT to DESTINATION that arrives on LISTEN is forwarded to UPSTREAM. A CONNECT that no line
//! routes is refused (reply 0x02, not allowed by ruleset) and logged: nothing goes anywhere the
//! table does not say. An upstream that refuses the connection (a disabled proxy) is answered
//! with 0x05, connection refused; so is a destination that refuses one (checked with a
//! connection of its own, opened and closed at once, once the upstream has accepted: a proxy
//! accepts before it knows whether its upstream will). Only the no-authentication method and CONNECT with an IPv4
//! address are served (what Java sends for a resolved address). Stops on SIGTERM or Ctrl-C.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Destination -> upstream, for one listening address.
type Routes = BTreeMap<SocketAddr, SocketAddr>;

const REPLY_OK: u8 = 0x00;
const REPLY_NOT_ALLOWED: u8 = 0x02;
const REPLY_REFUSED: u8 = 0x05;
const REPLY_GENERAL_FAILURE: u8 = 0x01;
const REPLY_COMMAND_NOT_SUPPORTED: u8 = 0x07;
const REPLY_ADDRESS_NOT_SUPPORTED: u8 = 0x08;

fn parse_routes(text: &str) -> Result<BTreeMap<SocketAddr, Routes>, String> {
    let mut table: BTreeMap<SocketAddr, Routes> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [listen, dest, upstream] = fields[..] else {
            return Err(format!("line {}: want LISTEN DESTINATION UPSTREAM", n + 1));
        };
        let addr = |s: &str| {
            s.parse::<SocketAddr>()
                .map_err(|e| format!("line {}: {s}: {e}", n + 1))
        };
        table
            .entry(addr(listen)?)
            .or_default()
            .insert(addr(dest)?, addr(upstream)?);
    }
    if table.is_empty() {
        return Err("no routes".to_string());
    }
    Ok(table)
}

/// The SOCKS reply for a failed connection.
fn failure(e: &std::io::Error) -> u8 {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        REPLY_REFUSED
    } else {
        REPLY_GENERAL_FAILURE
    }
}

async fn reply(client: &mut TcpStream, code: u8) -> std::io::Result<()> {
    // VER, REP, RSV, ATYP=IPv4, BND.ADDR 0.0.0.0, BND.PORT 0.
    client.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}

/// Serves one SOCKS5 client: handshake, CONNECT, then relays until either side closes.
async fn serve(
    mut client: TcpStream,
    listen: SocketAddr,
    routes: Arc<Routes>,
) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    if head[0] != 5 {
        return Ok(()); // not SOCKS5: drop it
    }
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods).await?;
    if !methods.contains(&0) {
        client.write_all(&[5, 0xff]).await?; // no acceptable method
        return Ok(());
    }
    client.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    if req[1] != 1 {
        return reply(&mut client, REPLY_COMMAND_NOT_SUPPORTED).await;
    }
    if req[3] != 1 {
        return reply(&mut client, REPLY_ADDRESS_NOT_SUPPORTED).await;
    }
    let mut addr = [0u8; 6];
    client.read_exact(&mut addr).await?;
    let dest = SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]),
        u16::from_be_bytes([addr[4], addr[5]]),
    ));
    let Some(&upstream) = routes.get(&dest) else {
        eprintln!("socks-router: {listen}: no route to {dest}: refused");
        return reply(&mut client, REPLY_NOT_ALLOWED).await;
    };
    let mut up = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => return reply(&mut client, failure(&e)).await,
    };
    // A proxy accepts a connection before it knows that its upstream will: a destination that
    // is not listening (a node that is not leading yet, or is down) would look like a
    // connection that opens and is closed at once, where ZooKeeper expects a refusal, and
    // treats differently (a follower retries a refused connection to its leader, but gives the
    // leader up and starts an election over an accepted one that closes). So, once the proxy
    // has accepted (the link is not cut), check that the destination itself accepts a
    // connection, and refuse as it does when it does not.
    if let Err(e) = TcpStream::connect(dest).await {
        return reply(&mut client, failure(&e)).await;
    }
    let _ = up.set_nodelay(true);
    let _ = client.set_nodelay(true);
    reply(&mut client, REPLY_OK).await?;
    // Either side's close or reset ends both (a closed proxy closes the node's connection).
    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
    Ok(())
}

async fn run(table: BTreeMap<SocketAddr, Routes>) -> Result<(), String> {
    let mut listeners = Vec::new();
    for (listen, routes) in table {
        let l = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("listen {listen}: {e}"))?;
        listeners.push((l, listen, Arc::new(routes)));
    }
    for (l, listen, routes) in listeners {
        tokio::spawn(async move {
            loop {
                match l.accept().await {
                    Ok((c, _)) => {
                        let routes = routes.clone();
                        tokio::spawn(async move {
                            let _ = serve(c, listen, routes).await;
                        });
                    }
                    Err(e) => eprintln!("socks-router: accept on {listen}: {e}"),
                }
            }
        });
    }
    eprintln!("socks-router: serving");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("SIGTERM handler: {e}"))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file] = &args[..] else {
        eprintln!("usage: socks-router ROUTES_FILE  (lines: LISTEN DESTINATION UPSTREAM)");
        std::process::exit(2);
    };
    let table = std::fs::read_to_string(file)
        .map_err(|e| format!("{file}: {e}"))
        .and_then(|t| parse_routes(&t));
    let table = match table {
        Ok(t) => t,
        Err(e) => {
            eprintln!("socks-router: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run(table)) {
        eprintln!("socks-router: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_by_listen_address() {
        let t = parse_routes(
            "# comment\n127.0.0.1:1 127.0.0.1:10 127.0.0.1:100\n\n127.0.0.1:1 127.0.0.1:11 127.0.0.1:101\n127.0.0.1:2 127.0.0.1:10 127.0.0.1:200\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        let one: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(t[&one].len(), 2);
        assert_eq!(
            t[&one][&"127.0.0.1:11".parse().unwrap()],
            "127.0.0.1:101".parse().unwrap()
        );
        assert!(parse_routes("127.0.0.1:1 127.0.0.1:2").is_err());
        assert!(parse_routes("").is_err());
    }

    /// A CONNECT is forwarded by the table, an unrouted one is refused, a refused upstream is
    /// reported as refused, and closing the upstream closes the client's side.
    #[tokio::test]
    async fn connect_is_routed_refused_or_relayed() {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up_addr = upstream.local_addr().unwrap();
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        // The destinations as the client names them: one listening, one not.
        let dest_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dest = dest_listener.local_addr().unwrap();
        let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dest_gone = gone.local_addr().unwrap();
        drop(gone);
        let dest_dead: SocketAddr = "127.0.0.1:10".parse().unwrap();
        let mut routes = Routes::new();
        routes.insert(dest, up_addr);
        routes.insert(dest_dead, dead_addr);
        // The upstream accepts, the destination does not: refused all the same.
        routes.insert(dest_gone, up_addr);
        let routes = Arc::new(routes);
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (c, _) = front.accept().await.unwrap();
                tokio::spawn(serve(c, front_addr, routes.clone()));
            }
        });
        async fn connect(front: SocketAddr, port: u16) -> (TcpStream, u8) {
            let mut s = TcpStream::connect(front).await.unwrap();
            s.write_all(&[5, 2, 0, 2]).await.unwrap();
            let mut m = [0u8; 2];
            s.read_exact(&mut m).await.unwrap();
            assert_eq!(m, [5, 0]);
            let p = port.to_be_bytes();
            s.write_all(&[5, 1, 0, 1, 127, 0, 0, 1, p[0], p[1]])
                .await
                .unwrap();
            let mut r = [0u8; 10];
            s.read_exact(&mut r).await.unwrap();
            (s, r[1])
        }
        let (_, code) = connect(front_addr, 11).await;
        assert_eq!(code, REPLY_NOT_ALLOWED, "an unrouted destination");
        let (_, code) = connect(front_addr, 10).await;
        assert_eq!(code, REPLY_REFUSED, "a refused upstream");
        let (_, code) = connect(front_addr, dest_gone.port()).await;
        assert_eq!(code, REPLY_REFUSED, "a destination that is not listening");
        drop(upstream.accept().await.unwrap()); // the upstream connection of that attempt
        let (mut s, code) = connect(front_addr, dest.port()).await;
        assert_eq!(code, REPLY_OK);
        let (mut u, _) = upstream.accept().await.unwrap();
        s.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        u.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"ping");
        u.write_all(b"pong").await.unwrap();
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"pong");
        drop(u);
        assert_eq!(
            s.read(&mut b).await.unwrap(),
            0,
            "upstream's close reaches the client"
        );
    }
}
