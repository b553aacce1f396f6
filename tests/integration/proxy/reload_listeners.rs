//! Reload changes the listener set: added listeners are bound, moved ones rebound, removed ones
//! stop accepting while their in-flight requests finish; a changed admin address moves the
//! admin server.

use std::net::SocketAddr;
use std::time::Duration;

use microwaf_proxy::config;

use super::harness::*;

fn parse(yaml: &str) -> config::Config {
    config::parse(yaml, "test.yaml", std::path::Path::new(".")).unwrap()
}

/// A port that was free a moment ago.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn listener(name: &str, address: SocketAddr) -> String {
    format!("  - name: {name}\n    address: {address}\n    routes:\n      - prefix: /\n        cluster: up\n")
}

fn config(admin: Option<SocketAddr>, listeners: &[String], up: SocketAddr) -> String {
    let admin = admin.map(|a| format!("admin: {a}\n")).unwrap_or_default();
    format!(
        "{admin}listeners:\n{}clusters:\n  - name: up\n    endpoints: [\"{up}\"]\n",
        listeners.concat()
    )
}

async fn refused(addr: SocketAddr) -> bool {
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn reload_binds_added_and_moved_listeners_and_drains_removed_ones() {
    let up = upstream("a").await;
    let (main1, extra) = (free_addr(), free_addr());
    let app = start(&config(None, &[listener("main", main1)], up)).await;
    assert_eq!(addr(&app), main1);

    // Added.
    let both = [listener("main", main1), listener("extra", extra)];
    app.reload(parse(&config(None, &both, up))).unwrap();
    assert_eq!(app.proxy().addr("extra"), Some(extra));
    assert_eq!(send(extra, false, get("svc", "/", false)).await.status, 200);

    // Removed, with a request in flight on it: the request finishes, new connections fail.
    let slow =
        tokio::spawn(async move { send(extra, false, get("svc", "/sleep/400", false)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.reload(parse(&config(None, &[listener("main", main1)], up)))
        .unwrap();
    assert_eq!(app.proxy().addr("extra"), None);
    assert!(refused(extra).await, "removed listener still accepts");
    assert_eq!(slow.await.unwrap().status, 200, "in-flight request drained");

    // Moved.
    let main2 = free_addr();
    app.reload(parse(&config(None, &[listener("main", main2)], up)))
        .unwrap();
    assert_eq!(addr(&app), main2);
    assert_eq!(send(main2, false, get("svc", "/", false)).await.status, 200);
    assert!(refused(main1).await, "old address still accepts");
}

#[tokio::test]
async fn a_listener_that_cannot_bind_rejects_the_reload() {
    let up = upstream("a").await;
    let main = free_addr();
    let app = start(&config(None, &[listener("main", main)], up)).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let both = [listener("main", main), listener("extra", busy)];
    let err = app.reload(parse(&config(None, &both, up))).unwrap_err();
    assert!(err.to_string().contains("listener extra"), "{err}");
    assert_eq!(app.proxy().addr("extra"), None);
    assert!(app.config().listeners.iter().all(|l| l.name != "extra"));
    assert_eq!(send(main, false, get("svc", "/", false)).await.status, 200);
}

#[tokio::test]
async fn reload_moves_the_admin_server() {
    let up = upstream("a").await;
    let main = free_addr();
    let (admin1, admin2) = (free_addr(), free_addr());
    let app = start(&config(Some(admin1), &[listener("main", main)], up)).await;
    assert_eq!(app.admin_addr(), Some(admin1));
    app.reload(parse(&config(Some(admin2), &[listener("main", main)], up)))
        .unwrap();
    assert_eq!(app.admin_addr(), Some(admin2));
    assert_eq!(
        send(admin2, false, get("admin", "/ready", false))
            .await
            .status,
        200
    );
    assert!(refused(admin1).await, "old admin address still accepts");
}
