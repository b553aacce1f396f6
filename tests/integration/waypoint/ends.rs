//! How the waypoint's outbound CONNECT streams end. ztunnel counts a stream reset with
//! RST_STREAM(CANCEL) as a failed connection and logs it as an error, so pooled upstream
//! connections that simply finished must end with END_STREAM when their pool goes.

use std::time::Duration;

use microwaf_proxy::waypoint::discovery::Registry;

use super::{Mesh, SVC, VIP};
use crate::proxy::harness::{collect, get, upstream};

#[tokio::test]
async fn pooled_streams_end_with_end_stream_when_their_pool_is_dropped() {
    let mesh = Mesh::start("ends", "").await;
    mesh.publish(&[(upstream("dest").await, true)]);
    {
        let client = mesh.client().await;
        for h2 in [false, true] {
            let t = client.connect_stream(VIP).await.tunnel();
            let r = super::hbone::http_in_tunnel(t, h2, get(SVC, "/x", h2)).await;
            assert_eq!(r.status, 200, "{}", r.text());
        }
        let t = client.connect_stream(VIP).await.tunnel();
        let (mut s, conn) = hyper::client::conn::http1::handshake(t).await.unwrap();
        tokio::spawn(conn);
        for i in 0..3 {
            let req = get(SVC, &format!("/r{i}"), false);
            assert_eq!(
                collect(s.send_request(req).await.unwrap()).await.status,
                200
            );
        }
    }
    let opened = mesh.dest.authorities.lock().unwrap().len();
    assert!(opened >= 1, "the waypoint opened outbound streams");
    // The service disappears: its cluster and upstream pool are dropped once the client's
    // tunnels are gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    mesh.publisher.publish(Registry::default());
    let mut ends = Vec::new();
    for _ in 0..100 {
        ends = mesh.dest.ends.lock().unwrap().clone();
        if ends.len() >= opened {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ends.len(), opened, "every outbound stream ended: {ends:?}");
    assert!(
        ends.iter().all(|clean| *clean),
        "streams reset instead of ended: {ends:?}"
    );
}
