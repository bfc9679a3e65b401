//! `dns/<server domain>.zone`: the DNS records the pod needs, as a zone-file fragment for the
//! zone of the server domain (outside the installed root, like `SHA256SUMS`: it goes to the
//! DNS provider, not onto the host). Names are absolute, so the fragment means the same
//! pasted anywhere in that zone; a record of a name in another zone is written as a comment.
//!
//! - **Addresses**: `A`/`AAAA` from `pod.address.ipv4`/`ipv6` for every name nginx serves
//!   (the pod domain, the Dashboard host, the server domain for `/.well-known/`) and for the
//!   groups component (its certificate is validated over HTTP). Without a static address, the
//!   pod domain is the host's own name, whose addresses are the operator's: the other names
//!   are `CNAME`s to it, except the server domain, the apex of the zone (no `CNAME` there);
//!   `audit` says so (`dns-address-unknown`).
//! - **SRV** (RFC 6120 §3.2.1): `_xmpp-client._tcp` to the pod domain on the port compose
//!   publishes (5222); `_xmpp-server._tcp` (5269) for the server domain and the groups
//!   component when federation is enabled. No `_xmpps-*`: the pod serves no direct TLS
//!   (compose publishes no such port). Uploads are served at the pod domain (`/upload/`):
//!   `upload.prose.local` is Prosody's internal name and needs no record.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::nginx;
use super::templating::escape::line_comment;
use super::{GeneratedFile, RenderContext};
use crate::config::host;
use crate::diagnostics::Diagnosed;

/// The directory of the fragment, at the root of the tree.
pub const DIR: &str = "dns";
/// The TTL of every record (the deployment guide's).
pub const TTL: u32 = 10800;

/// One record, or one the fragment can only describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute, with the final dot.
    pub name: String,
    pub kind: &'static str,
    pub data: String,
    /// The keys it comes from, for the comment above it.
    pub keys: String,
    /// Whether the name belongs to the zone of the server domain.
    pub in_zone: bool,
}

impl Record {
    /// The record as a zone file line.
    pub fn line(&self) -> String {
        format!("{} {TTL} IN {} {}", self.name, self.kind, self.data)
    }
}

/// The fragment's records and the notes about what it cannot give.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// The zone: the server domain (ASCII).
    pub origin: String,
    pub records: Vec<Record>,
    pub notes: Vec<String>,
}

/// The tree path of the fragment.
pub fn path(origin: &str) -> String {
    format!("{DIR}/{origin}.zone")
}

/// The pod's records, from nginx's plan (`None` when the plan has errors: nginx reports them).
pub fn zone(ctx: &RenderContext) -> Option<Zone> {
    let plan = nginx::plan(ctx).ok()?;
    let config = ctx.config;
    let server = plan.pod.server_domain.clone();
    let pod = plan.pod.pod.names[0].clone();
    let dashboard = plan.pod.dashboard.names[0].clone();
    let groups = format!("groups.{server}");
    let in_zone = |name: &str| name == server || name.ends_with(&format!(".{server}"));
    let fqdn = |name: &str| format!("{name}.");
    let mut zone = Zone {
        origin: server.clone(),
        ..Zone::default()
    };
    let mut push = |name: &str, kind: &'static str, data: String, keys: &str| {
        zone.records.push(Record {
            name: fqdn(name),
            kind,
            data,
            keys: keys.to_owned(),
            in_zone: in_zone(name),
        });
    };
    let address = &config.pod.address;
    let has_address = address.ipv4.is_some() || address.ipv6.is_some();
    let mut names: Vec<(&str, &'static str)> = vec![(pod.as_str(), "pod.address.domain")];
    for (name, keys) in [
        (dashboard.as_str(), "dashboard.url"),
        (server.as_str(), "server.domain"),
        (groups.as_str(), "server.domain"),
    ] {
        let ip = name.starts_with('[') || name.parse::<IpAddr>().is_ok();
        if !ip && !names.iter().any(|(n, _)| *n == name) {
            names.push((name, keys));
        }
    }
    let mut notes = Vec::new();
    for (name, keys) in &names {
        if has_address {
            if let Some(ip) = address.ipv4 {
                push(name, "A", ip.to_string(), &format!("{keys}, pod.address.ipv4"));
            }
            if let Some(ip) = address.ipv6 {
                push(name, "AAAA", ip.to_string(), &format!("{keys}, pod.address.ipv6"));
            }
        } else if *name == pod {
            notes.push(format!(
                "{pod}. is the host's own name (pod.address.domain): its A/AAAA records are \
                 yours; set pod.address.ipv4/ipv6 to have them written here"
            ));
        } else if *name == server {
            notes.push(format!(
                "{server}. must reach this host (nginx serves its /.well-known/ and the \
                 certificate covers it), but the zone's apex cannot be a CNAME: give it the \
                 A/AAAA records of {pod}."
            ));
        } else {
            push(name, "CNAME", fqdn(&pod), &format!("{keys}, pod.address.domain"));
        }
    }
    push(
        &format!("_xmpp-client._tcp.{server}"),
        "SRV",
        format!("0 5 {} {}", host::C2S.port, fqdn(&pod)),
        "server.domain, pod.address.domain",
    );
    if config.server.defaults.federation_enabled {
        for name in [&server, &groups] {
            push(
                &format!("_xmpp-server._tcp.{name}"),
                "SRV",
                format!("0 5 {} {}", host::S2S.port, fqdn(&pod)),
                "server.defaults.federation_enabled",
            );
        }
    } else {
        notes.push(
            "no _xmpp-server._tcp records: federation is off \
             (server.defaults.federation_enabled)"
                .to_owned(),
        );
    }
    notes.push(
        "no _xmpps-* records: the pod serves no direct TLS (compose publishes 5222 and 5269)"
            .to_owned(),
    );
    notes.push(format!(
        "uploads are served at https://{pod}/upload/: no record for Prosody's internal upload name"
    ));
    zone.notes = notes;
    Some(zone)
}

/// The fragment's text.
pub fn render_zone(ctx: &RenderContext, zone: &Zone) -> String {
    let mut text = format!(
        "; {}\n\
         ;\n\
         ; DNS records of the Prose Pod, for the zone {}. (add them at your DNS provider).\n\
         ; Names are absolute. Check: dig +short <type> <name>\n",
        line_comment(&ctx.notice()),
        zone.origin
    );
    for note in &zone.notes {
        let _ = writeln!(text, "; Note: {note}");
    }
    for record in &zone.records {
        let _ = write!(text, "\n; {}\n", record.keys);
        if record.in_zone {
            let _ = writeln!(text, "{}", record.line());
        } else {
            let _ = writeln!(
                text,
                "; in another zone than {}., add it there:\n; {}",
                zone.origin,
                record.line()
            );
        }
    }
    text
}

/// The target: the DNS records.
pub struct DnsRecords;

impl super::Target for DnsRecords {
    fn name(&self) -> &'static str {
        "dns"
    }
    fn paths(&self) -> &'static [&'static str] {
        &["dns/*"]
    }
    fn checks(&self) -> &'static [super::Check] {
        &[super::Check {
            files: "dns/*",
            validator: super::Validator::NamedCheckzone,
        }]
    }
    fn render(&self, ctx: &RenderContext) -> Diagnosed<Vec<GeneratedFile>> {
        let Some(zone) = zone(ctx) else {
            return Ok(Vec::new());
        };
        Ok(vec![GeneratedFile {
            path: path(&zone.origin).into(),
            contents: render_zone(ctx, &zone).into_bytes(),
            mode: 0o644,
        }])
    }
}
