//! The proxy collection: Toxiproxy's semantics (create, enable/disable, replace on populate,
//! reset) over noxious's proxy runner.
//!
//! noxious (vendored with fixes and `reset_peer`, see vendor/noxious/ZKSYNC-PATCHES.md) provides the data
//! path: `ProxyRunner::initialize_proxy` binds the listener,
//! `ProxyRunner::run_proxy` accepts clients, connects them upstream and pipes both directions
//! through the toxic chain, and applies toxic changes (`ToxicEvent`) to live connections. What
//! noxious leaves to its (unpublished) server and is written here: the collection, enabling and
//! disabling (stop the runner, wait until its listener and every connection are closed; start a
//! new runner), replacing a proxy whose address changed, and the bookkeeping the API reports.

use crate::api::ApiError;
use noxious::proxy::{ProxyConfig, ProxyRunner, Runner, Toxics};
use noxious::signal::{Close, Stop, Stopper};
use noxious::socket::TcpListener;
use noxious::state::ProxyState;
use noxious::toxic::{StreamDirection, Toxic, ToxicEvent, ToxicEventKind, ToxicEventResult};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a disable waits for noxious to close the proxy's connections.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Every proxy by name. One lock for the whole collection: API calls are rare and short, and
/// serialising them gives the same ordering guarantees as Toxiproxy's collection lock.
#[derive(Default)]
pub struct Store {
    proxies: Mutex<BTreeMap<String, Proxy>>,
}

/// What a client asks for in create, update and populate bodies.
#[derive(Debug, Clone)]
pub struct ProxySpec {
    pub name: String,
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
}

struct Proxy {
    name: String,
    /// As given, except that a port 0 is replaced by the port actually bound.
    listen: String,
    upstream: String,
    /// In creation order; the order within a direction is the order of the chain.
    toxics: Vec<Toxic>,
    running: Option<Running>,
}

/// A started noxious runner.
struct Running {
    stopper: Stopper,
    closed: Close,
    events: bmrng::RequestSender<ToxicEvent, ToxicEventResult>,
    state: Arc<ProxyState>,
}

impl Proxy {
    fn new(spec: &ProxySpec) -> Proxy {
        Proxy {
            name: spec.name.clone(),
            listen: spec.listen.clone(),
            upstream: spec.upstream.clone(),
            toxics: Vec::new(),
            running: None,
        }
    }

    fn enabled(&self) -> bool {
        self.running.is_some()
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled(),
            "toxics": self.toxics.iter().map(crate::toxics::to_json).collect::<Vec<_>>(),
        })
    }

    /// Binds the listener and starts a noxious runner with the current toxics.
    async fn start(&mut self) -> Result<(), ApiError> {
        if self.running.is_some() {
            return Ok(());
        }
        let listen = resolve_port_zero(&self.listen).await?;
        let config = ProxyConfig {
            name: self.name.clone(),
            listen: listen.clone(),
            upstream: self.upstream.clone(),
            enabled: true,
            rand_seed: None,
        };
        let by_direction = |d: StreamDirection| -> Vec<Toxic> {
            self.toxics
                .iter()
                .filter(|t| t.direction == d)
                .cloned()
                .collect()
        };
        let toxics = Toxics {
            upstream: by_direction(StreamDirection::Upstream),
            downstream: by_direction(StreamDirection::Downstream),
        };
        let (listener, info) =
            <ProxyRunner as Runner>::initialize_proxy::<TcpListener>(config, toxics)
                .await
                .map_err(|e| ApiError::new(format!("listen tcp {listen}: {e}"), 500))?;
        let (stop, stopper) = Stop::new();
        let (closed, closer) = Close::new();
        let (events, receiver) = bmrng::channel::<ToxicEvent, ToxicEventResult>(16);
        let state = info.state.clone();
        let name = self.name.clone();
        tokio::spawn(async move {
            if let Err(e) =
                <ProxyRunner as Runner>::run_proxy(listener, info, receiver, stop, closer).await
            {
                eprintln!("toxiproxy-server: proxy {name} stopped accepting: {e}");
            }
        });
        self.listen = listen;
        self.running = Some(Running {
            stopper,
            closed,
            events,
            state,
        });
        Ok(())
    }

    /// Stops the runner and waits until the listener and every proxied connection are closed
    /// (Toxiproxy closes them before its API answers, and the tests rely on that).
    async fn stop(&mut self) {
        let Some(r) = self.running.take() else {
            return;
        };
        r.stopper.stop();
        let _ = r.closed.recv().await;
        // Links drop their sockets when both directions have wound down; noxious removes the
        // client from its state at that point. There is no event for it: poll briefly.
        let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
        while !r.state.lock().clients.is_empty() {
            if tokio::time::Instant::now() >= deadline {
                eprintln!(
                    "toxiproxy-server: proxy {}: connections still open {CLOSE_WAIT:?} after stop",
                    self.name
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Applies a toxic change to the live runner (noxious rebuilds every connection's links).
    async fn send_event(&self, kind: ToxicEventKind) -> Result<(), ApiError> {
        let Some(r) = &self.running else {
            return Ok(()); // applied when the proxy starts again
        };
        let event = ToxicEvent::new(self.name.clone(), kind);
        match r.events.send_receive(event).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ApiError::new(format!("toxic update failed: {e}"), 500)),
            Err(_) => Err(ApiError::new("proxy runner is gone", 500)),
        }
    }

    async fn remove_all_toxics(&mut self) -> Result<(), ApiError> {
        if self.toxics.is_empty() {
            return Ok(());
        }
        // (Clears both directions only with the vendored noxious's patch.)
        self.send_event(ToxicEventKind::RemoveAllToxics).await?;
        self.toxics.clear();
        Ok(())
    }
}

/// Toxiproxy reports the address actually bound when asked for port 0. noxious's listener
/// does not expose its address, so pick a free port first (a tiny race, only for port 0).
async fn resolve_port_zero(listen: &str) -> Result<String, ApiError> {
    if !listen.ends_with(":0") {
        return Ok(listen.to_string());
    }
    let probe = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ApiError::new(format!("listen tcp {listen}: {e}"), 500))?;
    let addr = probe
        .local_addr()
        .map_err(|e| ApiError::new(format!("listen tcp {listen}: {e}"), 500))?;
    Ok(addr.to_string())
}

fn not_found() -> ApiError {
    ApiError::new("proxy not found", 404)
}

impl Store {
    pub async fn list(&self) -> Value {
        let proxies = self.proxies.lock().await;
        Value::Object(
            proxies
                .iter()
                .map(|(name, p)| (name.clone(), p.to_json()))
                .collect(),
        )
    }

    pub async fn get(&self, name: &str) -> Result<Value, ApiError> {
        let proxies = self.proxies.lock().await;
        proxies.get(name).map(Proxy::to_json).ok_or_else(not_found)
    }

    pub async fn create(&self, spec: ProxySpec) -> Result<Value, ApiError> {
        let mut proxies = self.proxies.lock().await;
        if proxies.contains_key(&spec.name) {
            return Err(ApiError::new("proxy already exists", 409));
        }
        let mut proxy = Proxy::new(&spec);
        if spec.enabled {
            proxy.start().await?;
        }
        let json = proxy.to_json();
        proxies.insert(spec.name, proxy);
        Ok(json)
    }

    /// Creates or replaces every proxy of the list (validated as a whole by the caller).
    /// A proxy with the same listen and upstream is kept as it is, like Toxiproxy's populate.
    /// On failure returns the proxies done so far with the error.
    pub async fn populate(&self, specs: Vec<ProxySpec>) -> (Vec<Value>, Option<ApiError>) {
        let mut proxies = self.proxies.lock().await;
        let mut done = Vec::new();
        for spec in specs {
            if let Some(existing) = proxies.get(&spec.name) {
                if existing.listen == spec.listen && existing.upstream == spec.upstream {
                    done.push(existing.to_json());
                    continue;
                }
            }
            if let Some(mut old) = proxies.remove(&spec.name) {
                old.stop().await;
            }
            let mut proxy = Proxy::new(&spec);
            if spec.enabled {
                if let Err(e) = proxy.start().await {
                    return (done, Some(e));
                }
            }
            done.push(proxy.to_json());
            proxies.insert(spec.name, proxy);
        }
        (done, None)
    }

    /// `POST /proxies/{name}`: fields not given keep their value. A changed address restarts
    /// the proxy (its connections are closed, as in Toxiproxy).
    pub async fn update(
        &self,
        name: &str,
        listen: Option<String>,
        upstream: Option<String>,
        enabled: Option<bool>,
    ) -> Result<Value, ApiError> {
        let mut proxies = self.proxies.lock().await;
        let proxy = proxies.get_mut(name).ok_or_else(not_found)?;
        let enabled = enabled.unwrap_or(proxy.enabled());
        let listen = listen.unwrap_or_else(|| proxy.listen.clone());
        let upstream = upstream.unwrap_or_else(|| proxy.upstream.clone());
        if listen != proxy.listen || upstream != proxy.upstream {
            proxy.stop().await;
            proxy.listen = listen;
            proxy.upstream = upstream;
        }
        if enabled {
            proxy.start().await?;
        } else {
            proxy.stop().await;
        }
        Ok(proxy.to_json())
    }

    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let mut proxies = self.proxies.lock().await;
        let mut proxy = proxies.remove(name).ok_or_else(not_found)?;
        proxy.stop().await;
        Ok(())
    }

    /// `POST /reset`: every proxy enabled, every toxic removed.
    pub async fn reset(&self) -> Result<(), ApiError> {
        let mut proxies = self.proxies.lock().await;
        for proxy in proxies.values_mut() {
            proxy.start().await?;
            proxy.remove_all_toxics().await?;
        }
        Ok(())
    }

    pub async fn toxics(&self, proxy: &str) -> Result<Value, ApiError> {
        let proxies = self.proxies.lock().await;
        let p = proxies.get(proxy).ok_or_else(not_found)?;
        Ok(Value::Array(
            p.toxics.iter().map(crate::toxics::to_json).collect(),
        ))
    }

    pub async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Value, ApiError> {
        let proxies = self.proxies.lock().await;
        let p = proxies.get(proxy).ok_or_else(not_found)?;
        p.toxics
            .iter()
            .find(|t| t.name == toxic)
            .map(crate::toxics::to_json)
            .ok_or_else(|| ApiError::new("toxic not found", 404))
    }

    pub async fn add_toxic(&self, proxy: &str, body: &[u8]) -> Result<Value, ApiError> {
        let mut proxies = self.proxies.lock().await;
        let p = proxies.get_mut(proxy).ok_or_else(not_found)?;
        let toxic = crate::toxics::parse_new(body)?;
        if p.toxics.iter().any(|t| t.name == toxic.name) {
            return Err(ApiError::new("toxic already exists", 409));
        }
        p.send_event(ToxicEventKind::AddToxic(toxic.clone()))
            .await?;
        let json = crate::toxics::to_json(&toxic);
        p.toxics.push(toxic);
        Ok(json)
    }

    pub async fn update_toxic(
        &self,
        proxy: &str,
        toxic: &str,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        let mut proxies = self.proxies.lock().await;
        let p = proxies.get_mut(proxy).ok_or_else(not_found)?;
        let i = p
            .toxics
            .iter()
            .position(|t| t.name == toxic)
            .ok_or_else(|| ApiError::new("toxic not found", 404))?;
        let updated = crate::toxics::parse_update(&p.toxics[i], body)?;
        p.send_event(ToxicEventKind::UpdateToxic(updated.clone()))
            .await?;
        let json = crate::toxics::to_json(&updated);
        p.toxics[i] = updated;
        Ok(json)
    }

    pub async fn delete_toxic(&self, proxy: &str, toxic: &str) -> Result<(), ApiError> {
        let mut proxies = self.proxies.lock().await;
        let p = proxies.get_mut(proxy).ok_or_else(not_found)?;
        let i = p
            .toxics
            .iter()
            .position(|t| t.name == toxic)
            .ok_or_else(|| ApiError::new("toxic not found", 404))?;
        p.send_event(ToxicEventKind::RemoveToxic(toxic.to_string()))
            .await?;
        p.toxics.remove(i);
        Ok(())
    }

    /// Stops every proxy (at shutdown).
    pub async fn stop_all(&self) {
        let mut proxies = self.proxies.lock().await;
        for p in proxies.values_mut() {
            p.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// An echo server on 127.0.0.1; returns its address.
    async fn echo_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    async fn proxy(store: &Store, upstream: &str) -> String {
        let spec = ProxySpec {
            name: "echo".into(),
            listen: "127.0.0.1:0".into(),
            upstream: upstream.into(),
            enabled: true,
        };
        let v = store.create(spec).await.unwrap();
        let listen = v["listen"].as_str().unwrap().to_string();
        assert!(!listen.ends_with(":0"), "port 0 resolved: {listen}");
        listen
    }

    /// Writes `msg` and reads the same number of bytes back (bounded by 5 s).
    async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
        s.write_all(msg).await.unwrap();
        let mut got = vec![0u8; msg.len()];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
            .await
            .expect("echo hung")
            .unwrap();
        got
    }

    #[tokio::test]
    async fn toxics_apply_to_live_connections_and_reset_clears_both_directions() {
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut s, b"ping").await, b"ping");

        store
            .add_toxic(
                "echo",
                br#"{"type":"latency","attributes":{"latency":300}}"#,
            )
            .await
            .unwrap();
        store
            .add_toxic(
                "echo",
                br#"{"type":"latency","stream":"upstream","attributes":{"latency":100}}"#,
            )
            .await
            .unwrap();
        let t = Instant::now();
        assert_eq!(round_trip(&mut s, b"slow").await, b"slow");
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(
            store
                .toxics("echo")
                .await
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store
                .add_toxic("echo", br#"{"type":"latency"}"#)
                .await
                .unwrap_err()
                .status,
            409
        );

        store.reset().await.unwrap();
        assert!(store
            .toxics("echo")
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty());
        let t = Instant::now();
        assert_eq!(round_trip(&mut s, b"fast").await, b"fast");
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "a toxic survived reset: {:?}",
            t.elapsed()
        );
    }

    #[tokio::test]
    async fn latency_delays_each_chunk_from_its_arrival() {
        // Toxiproxy delays every chunk by the latency counted from when it arrived; noxious
        // 1.0.4 slept before pulling the next chunk, so chunks that arrive together were delayed
        // one latency after another (a pipelined client saw its round trips grow without bound).
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut s, b"warm").await, b"warm");
        store
            .add_toxic(
                "echo",
                br#"{"type":"latency","attributes":{"latency":300}}"#,
            )
            .await
            .unwrap();
        // Five chunks 20 ms apart (each echoed as a chunk of its own): all should be back about
        // 300 ms after the last was sent, not five latencies after the first.
        let t = Instant::now();
        for i in 0..5u8 {
            s.write_all(&[b'0' + i]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut got = [0u8; 5];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
            .await
            .expect("echo hung")
            .unwrap();
        assert_eq!(&got, b"01234", "order kept");
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(380), "{took:?}");
        assert!(
            took < Duration::from_millis(900),
            "delays added up: {took:?}"
        );
    }

    /// A server that sends `t` every 20 ms and counts the bytes it receives.
    async fn ticker_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r2 = received.clone();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut rd, mut wr) = s.into_split();
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n) = rd.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    r2.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                }
            });
            while wr.write_all(b"t").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        (addr, received)
    }

    /// Bytes read from `s` within `d`.
    async fn read_for(s: &mut TcpStream, d: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + d;
        let mut buf = [0u8; 64];
        let mut got = 0;
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            got += n;
        }
        got
    }

    #[tokio::test]
    async fn upstream_toxic_on_a_live_connection_acts_on_upstream_only() {
        use std::sync::atomic::Ordering::SeqCst;
        let store = Store::default();
        let (upstream, received) = ticker_server().await;
        let listen = proxy(&store, &upstream).await;
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert!(read_for(&mut s, Duration::from_millis(100)).await > 0);
        // Three changes on the live connection (noxious 1.0.4 swapped directions at each).
        store
            .add_toxic("echo", br#"{"type":"latency","attributes":{"latency":1}}"#)
            .await
            .unwrap();
        store
            .delete_toxic("echo", "latency_downstream")
            .await
            .unwrap();
        store
            .add_toxic(
                "echo",
                br#"{"type":"timeout","stream":"upstream","attributes":{"timeout":0}}"#,
            )
            .await
            .unwrap();
        assert!(
            read_for(&mut s, Duration::from_millis(300)).await >= 5,
            "an upstream timeout toxic stopped the downstream data"
        );
        s.write_all(b"lost").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await; // give the bytes time to arrive
        assert_eq!(
            received.load(SeqCst),
            0,
            "bytes passed an upstream timeout toxic"
        );
        store.reset().await.unwrap();
        s.write_all(b"x").await.unwrap();
        let t = Instant::now();
        while received.load(SeqCst) == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "upstream still blocked after reset"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // Multi-threaded, like the server: the race fixed by patch 3 needs real parallelism.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_toxic_change_reaches_a_live_connection() {
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut s, b"a").await, b"a");
        let clients = |store: &Store| {
            let proxies = store.proxies.try_lock().unwrap();
            let r = proxies["echo"].running.as_ref().unwrap();
            let n = r.state.lock().clients.len();
            n
        };
        for i in 0..30 {
            store
                .add_toxic("echo", br#"{"type":"latency","attributes":{"latency":1}}"#)
                .await
                .unwrap();
            store
                .delete_toxic("echo", "latency_downstream")
                .await
                .unwrap();
            // Let the old links' clean-up tasks run (they raced with the re-created entry).
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
            assert_eq!(
                clients(&store),
                1,
                "change {i}: the live connection was dropped from the proxy"
            );
        }
        store
            .add_toxic(
                "echo",
                br#"{"type":"latency","attributes":{"latency":200}}"#,
            )
            .await
            .unwrap();
        let t = Instant::now();
        assert_eq!(round_trip(&mut s, b"b").await, b"b");
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "latency not applied"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn toxic_changes_lose_no_data_of_live_connections() {
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut s, b"a").await, b"a");
        store
            .add_toxic(
                "echo",
                br#"{"type":"latency","attributes":{"latency":100}}"#,
            )
            .await
            .unwrap();
        store
            .add_toxic(
                "echo",
                br#"{"type":"latency","stream":"upstream","attributes":{"latency":50}}"#,
            )
            .await
            .unwrap();
        // Bytes in flight inside the latency toxics while they change, both ways.
        let sent: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        let (mut rd, mut wr) = s.into_split();
        let expected = sent.clone();
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; expected.len()];
            tokio::time::timeout(Duration::from_secs(10), rd.read_exact(&mut got))
                .await
                .expect("bytes lost in a toxic change")
                .unwrap();
            assert_eq!(got, expected, "bytes reordered or corrupted");
        });
        for (i, chunk) in sent.chunks(100).enumerate() {
            wr.write_all(chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
            if i % 8 == 3 {
                store
                    .delete_toxic("echo", "latency_downstream")
                    .await
                    .unwrap();
                store
                    .add_toxic(
                        "echo",
                        br#"{"type":"latency","attributes":{"latency":100}}"#,
                    )
                    .await
                    .unwrap();
            }
        }
        store.reset().await.unwrap();
        reader.await.unwrap();
    }

    #[tokio::test]
    async fn disable_closes_connections_and_refuses_new_ones_enable_restores() {
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut s, b"a").await, b"a");

        let v = store.update("echo", None, None, Some(false)).await.unwrap();
        assert_eq!(v["enabled"], false);
        let mut buf = [0u8; 8];
        let n = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf))
            .await
            .expect("connection still open after disable");
        assert!(matches!(n, Ok(0) | Err(_)), "read after disable: {n:?}");
        assert!(
            TcpStream::connect(&listen).await.is_err(),
            "still listening"
        );

        let v = store.update("echo", None, None, Some(true)).await.unwrap();
        assert_eq!(v["enabled"], true);
        assert_eq!(v["listen"], listen.as_str());
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut s, b"again").await, b"again");

        store.delete("echo").await.unwrap();
        assert!(TcpStream::connect(&listen).await.is_err());
        assert_eq!(store.get("echo").await.unwrap_err().status, 404);
    }

    /// A server that sends `n` bytes (`i % 251`) in one write as soon as a client connects,
    /// then waits for the client to close.
    async fn blob_server(n: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let blob: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
                    if s.write_all(&blob).await.is_ok() {
                        let mut buf = [0u8; 64];
                        while let Ok(n) = s.read(&mut buf).await {
                            if n == 0 {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn bandwidth_passes_large_chunks_at_its_rate() {
        // Toxiproxy sends a chunk larger than 100 ms worth of the rate in pieces of
        // rate * 100 bytes every 100 ms. noxious 1.0.4 sent 100-byte pieces and took 100 ms
        // off the chunk's delay for each, which went below zero (a panic: the connection
        // closed) for any chunk over a few times rate * 100 bytes.
        let store = Store::default();
        let n = 50_000;
        let listen = proxy(&store, &blob_server(n).await).await;
        store
            .add_toxic("echo", br#"{"type":"bandwidth","attributes":{"rate":50}}"#)
            .await
            .unwrap();
        let t = Instant::now();
        let mut s = TcpStream::connect(&listen).await.unwrap();
        let mut got = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut got))
            .await
            .expect("bandwidth toxic hung")
            .expect("bandwidth toxic cut the connection");
        let took = t.elapsed();
        let sent: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        assert!(got == sent, "bytes corrupted");
        // 50 000 bytes at 50 KB/s (Toxiproxy's KB is 1000 bytes): one second.
        assert!(took >= Duration::from_millis(950), "too fast: {took:?}");
        assert!(took < Duration::from_millis(2000), "too slow: {took:?}");
    }

    /// A server that reports how the first read of each connection ended: `Ok(n)` bytes (0 is
    /// EOF) or the error's kind.
    async fn reporting_server() -> (
        String,
        tokio::sync::mpsc::UnboundedReceiver<Result<usize, std::io::ErrorKind>>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    let _ = tx.send(s.read(&mut buf).await.map_err(|e| e.kind()));
                });
            }
        });
        (addr, rx)
    }

    /// How the next read of `s` ends (bounded by 5 s), and when.
    async fn read_outcome(s: &mut TcpStream) -> (std::io::Result<usize>, Instant) {
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("the connection was neither reset nor closed");
        (r, Instant::now())
    }

    #[tokio::test]
    async fn reset_peer_resets_both_sides_after_its_timeout() {
        use std::io::ErrorKind::ConnectionReset;
        // Toxiproxy's reset_peer: `timeout` ms after data reaches it, the connection is closed
        // with SO_LINGER 0, so both peers get a TCP RST (ECONNRESET), not a FIN (EOF).
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;
        let mut idle = TcpStream::connect(&listen).await.unwrap();
        let mut s = TcpStream::connect(&listen).await.unwrap();
        assert_eq!(round_trip(&mut idle, b"warm").await, b"warm");
        assert_eq!(round_trip(&mut s, b"warm").await, b"warm");

        // Toxiproxy's JSON shape, both ways.
        let v = store
            .add_toxic(
                "echo",
                br#"{"type":"reset_peer","attributes":{"timeout":300}}"#,
            )
            .await
            .unwrap();
        assert_eq!(v["type"], "reset_peer");
        assert_eq!(v["name"], "reset_peer_downstream");
        assert_eq!(v["stream"], "downstream");
        assert_eq!(v["attributes"], serde_json::json!({"timeout": 300}));

        // A live connection: the reply reaches the toxic, which resets the connection 300 ms
        // later instead of passing it on.
        let t = Instant::now();
        s.write_all(b"gone").await.unwrap();
        let (r, at) = read_outcome(&mut s).await;
        assert_eq!(
            r.as_ref().map_err(|e| e.kind()),
            Err(ConnectionReset),
            "a reset_peer toxic must reset the connection: {r:?}"
        );
        let took = at - t;
        assert!(took >= Duration::from_millis(290), "reset early: {took:?}");
        assert!(took < Duration::from_millis(1500), "reset late: {took:?}");

        // A connection with no data through the toxic is left alone, also when the toxic
        // changes (removing it must not reset the connection it never fired on).
        store
            .delete_toxic("echo", "reset_peer_downstream")
            .await
            .unwrap();
        assert_eq!(round_trip(&mut idle, b"alive").await, b"alive");

        // Upstream, timeout 0, on a new connection: the client's first bytes reset it at
        // once, towards the server as well.
        let (upstream, mut outcomes) = reporting_server().await;
        let v = store
            .create(ProxySpec {
                name: "rst".into(),
                listen: "127.0.0.1:0".into(),
                upstream,
                enabled: true,
            })
            .await
            .unwrap();
        store
            .add_toxic(
                "rst",
                br#"{"type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}"#,
            )
            .await
            .unwrap();
        let mut s = TcpStream::connect(v["listen"].as_str().unwrap())
            .await
            .unwrap();
        let t = Instant::now();
        s.write_all(b"x").await.unwrap();
        let (r, at) = read_outcome(&mut s).await;
        assert_eq!(
            r.as_ref().map_err(|e| e.kind()),
            Err(ConnectionReset),
            "client side: {r:?}"
        );
        assert!(at - t < Duration::from_millis(500), "{:?}", at - t);
        let server_saw = tokio::time::timeout(Duration::from_secs(5), outcomes.recv())
            .await
            .expect("the server's connection stayed open")
            .unwrap();
        assert_eq!(server_saw, Err(ConnectionReset), "server side");
    }

    #[tokio::test]
    async fn limit_data_cuts_and_timeout_holds_and_slicer_keeps_bytes() {
        let store = Store::default();
        let listen = proxy(&store, &echo_server().await).await;

        store
            .add_toxic(
                "echo",
                br#"{"type":"slicer","attributes":{"average_size":1}}"#,
            )
            .await
            .unwrap();
        let mut s = TcpStream::connect(&listen).await.unwrap();
        let msg: Vec<u8> = (0..200u8).collect();
        assert_eq!(round_trip(&mut s, &msg).await, msg);
        store
            .delete_toxic("echo", "slicer_downstream")
            .await
            .unwrap();

        store
            .add_toxic("echo", br#"{"type":"limit_data","attributes":{"bytes":3}}"#)
            .await
            .unwrap();
        let mut s = TcpStream::connect(&listen).await.unwrap();
        s.write_all(b"hello").await.unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got))
            .await
            .expect("limit_data did not close the connection")
            .ok();
        assert_eq!(got, b"hel");
        store
            .delete_toxic("echo", "limit_data_downstream")
            .await
            .unwrap();

        store
            .add_toxic("echo", br#"{"type":"timeout","attributes":{"timeout":0}}"#)
            .await
            .unwrap();
        let mut s = TcpStream::connect(&listen).await.unwrap();
        s.write_all(b"void").await.unwrap();
        let mut buf = [0u8; 4];
        assert!(
            tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf))
                .await
                .is_err(),
            "data or EOF got through a timeout toxic"
        );
        store
            .delete_toxic("echo", "timeout_downstream")
            .await
            .unwrap();
    }
}
