//! zksync patch: Toxiproxy's `reset_peer` toxic, which noxious 1.0.4 lacks.

use crate::signal::ResetFlag;
use bytes::Bytes;
use futures::{Sink, Stream, StreamExt};
use std::io;
use tokio::pin;
use tokio::time::{sleep, Duration};

/// When data reaches the toxic (the first chunk after it is on the connection), waits
/// `timeout` ms and resets the connection: the data is dropped, the connection is marked for a
/// reset (its sockets are then closed with SO_LINGER 0, a TCP RST to both peers) and the toxic
/// ends, which ends the link and with it the connection. As in Toxiproxy, a connection with no
/// data through the toxic is left alone; its input ending first (a toxic change re-creates the
/// links of every live connection) ends the toxic without a reset.
pub(crate) async fn run_reset_peer(
    input: impl Stream<Item = Bytes>,
    _output: impl Sink<Bytes>,
    timeout: u64, // in millis
    reset: ResetFlag,
) -> io::Result<()> {
    pin!(input);
    if input.next().await.is_none() {
        return Ok(());
    }
    sleep(Duration::from_millis(timeout)).await;
    reset.set();
    Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        format!("reset_peer after {}ms", timeout),
    ))
}
