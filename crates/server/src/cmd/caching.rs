//! CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO (the tracking itself
//! is [`crate::tracking`]).

use super::{eq, lossy};
use crate::conn::Conn;
use crate::tracking::Options;

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN]
/// [OPTOUT] [NOLOOP]`, with Redis 7.0's checks and texts.
pub(crate) fn tracking(conn: &mut Conn, argv: &[&[u8]]) {
    let mut o = Options::default();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let a = argv[j];
        if eq(a, "redirect") && more {
            j += 1;
            if o.redirect != 0 {
                conn.enc()
                    .error("ERR A client can only redirect to a single other client");
                return;
            }
            let Some(id) = emberkv_protocol::request::parse_i64(argv[j]) else {
                conn.enc()
                    .error("ERR value is not an integer or out of range");
                return;
            };
            let exists = u64::try_from(id)
                .is_ok_and(|id| conn.shared.clients().all().iter().any(|c| c.id == id));
            if !exists {
                conn.enc()
                    .error("ERR The client ID you want redirect to does not exist");
                return;
            }
            o.redirect = id as u64;
        } else if eq(a, "bcast") {
            o.bcast = true;
        } else if eq(a, "optin") {
            o.optin = true;
        } else if eq(a, "optout") {
            o.optout = true;
        } else if eq(a, "noloop") {
            o.noloop = true;
        } else if eq(a, "prefix") && more {
            j += 1;
            o.prefixes.push(argv[j].to_vec());
        } else {
            conn.enc().error("ERR syntax error");
            return;
        }
        j += 1;
    }
    if eq(argv[2], "off") {
        if conn.tracking.take().is_some() {
            conn.shared.set_tracking(conn.info.id, None);
        }
        conn.caching = None;
        conn.enc().ok();
        return;
    }
    if !eq(argv[2], "on") {
        conn.enc().error("ERR syntax error");
        return;
    }
    let err = |conn: &mut Conn, msg: &str| conn.enc().error(msg);
    if !o.bcast && !o.prefixes.is_empty() {
        return err(conn, "ERR PREFIX option requires BCAST mode to be enabled");
    }
    if let Some(old) = &conn.tracking
        && old.bcast != o.bcast
    {
        return err(
            conn,
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        );
    }
    if o.bcast && (o.optin || o.optout) {
        return err(conn, "ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if o.optin && o.optout {
        return err(
            conn,
            "ERR You can't specify both OPTIN mode and OPTOUT mode",
        );
    }
    if let Some(old) = &conn.tracking
        && ((o.optin && old.optout) || (o.optout && old.optin))
    {
        return err(
            conn,
            "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        );
    }
    // Prefixes of one client must not overlap: the new ones with those it
    // has, then with each other (Redis's checkPrefixCollisionsOrReply).
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let existing: Vec<Vec<u8>> = conn
        .tracking
        .as_ref()
        .map(|t| t.prefixes.clone())
        .unwrap_or_default();
    for (i, p) in o.prefixes.iter().enumerate() {
        if let Some(q) = existing.iter().find(|q| overlap(p, q)) {
            let msg = format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                lossy(p),
                lossy(q)
            );
            return err(conn, &msg);
        }
        if let Some(q) = o.prefixes[i + 1..].iter().find(|q| overlap(p, q)) {
            let msg = format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                lossy(p),
                lossy(q)
            );
            return err(conn, &msg);
        }
    }
    let mut all = existing;
    for p in &o.prefixes {
        if !all.contains(p) {
            all.push(p.clone());
        }
    }
    o.prefixes = all;
    let outbox = conn.subscriptions().outbox.clone();
    conn.shared
        .set_tracking(conn.info.id, Some((o.clone(), outbox, conn.proto)));
    conn.tracking = Some(o);
    conn.enc().ok();
}

/// `CLIENT CACHING YES|NO`: for the next command, in OPTIN / OPTOUT mode.
pub(crate) fn caching(conn: &mut Conn, argv: &[&[u8]]) {
    let Some(t) = conn.tracking.clone() else {
        conn.enc().error(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        );
        return;
    };
    if eq(argv[2], "yes") {
        if !t.optin {
            conn.enc().error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
            return;
        }
        conn.caching = Some(true);
    } else if eq(argv[2], "no") {
        if !t.optout {
            conn.enc().error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
            return;
        }
        conn.caching = Some(false);
    } else {
        conn.enc().error("ERR syntax error");
        return;
    }
    conn.enc().ok();
}

/// `CLIENT GETREDIR`: the redirect target, 0 for none, -1 when not tracking.
pub(crate) fn getredir(conn: &mut Conn) {
    let r = conn.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    conn.enc().int(r);
}

/// `CLIENT TRACKINGINFO`: flags, redirect, prefixes.
pub(crate) fn trackinginfo(conn: &mut Conn) {
    let t = conn.tracking.clone();
    let caching = conn.caching;
    let mut flags: Vec<&str> = Vec::new();
    match &t {
        None => flags.push("off"),
        Some(t) => {
            flags.push("on");
            if t.bcast {
                flags.push("bcast");
            }
            if t.optin {
                flags.push("optin");
                if caching == Some(true) {
                    flags.push("caching-yes");
                }
            }
            if t.optout {
                flags.push("optout");
                if caching == Some(false) {
                    flags.push("caching-no");
                }
            }
            if t.noloop {
                flags.push("noloop");
            }
        }
    }
    let mut e = conn.enc();
    e.map(3);
    e.bulk(b"flags");
    e.set(flags.len());
    for f in &flags {
        e.bulk(f.as_bytes());
    }
    e.bulk(b"redirect");
    e.int(t.as_ref().map_or(-1, |t| t.redirect as i64));
    e.bulk(b"prefixes");
    // In byte order, as Redis's radix tree lists them.
    let mut prefixes = t.map(|t| t.prefixes).unwrap_or_default();
    prefixes.sort();
    e.array(prefixes.len());
    for p in &prefixes {
        e.bulk(p);
    }
}
