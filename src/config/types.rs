//! Typed string values of the model. Each wraps a string that has passed its format check
//! (see [`formats`]), serializes back to the same string, and declares its `format` in the
//! JSON Schema so editors and the run-time validator agree on it.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::formats::{self, IsoDuration, Problem, Rate, Retention, Size};

pub use super::formats::NO_CONTROL_PATTERN;

macro_rules! formatted_string {
    ($(#[$doc:meta])* $name:ident, $format:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the format and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, Problem> {
                let value = value.into();
                formats::check($format, &value)?;
                Ok(Self(value))
            }

            /// Wraps a built-in default without checking it (the test `defaults_are_valid`
            /// runs every default through the schema).
            #[allow(dead_code)] // not every type has a built-in default
            pub(crate) fn trusted(value: &str) -> Self {
                Self(value.to_owned())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = String::deserialize(d)?;
                Self::new(value).map_err(|p| serde::de::Error::custom(p.message))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "format": $format })
            }
        }
    };
}

formatted_string!(
    /// A DNS hostname (LDH labels, or an internationalised name).
    Hostname,
    "idn-hostname"
);
formatted_string!(
    /// An e-mail address.
    EmailAddress,
    "email"
);
formatted_string!(
    /// An absolute URL (`https://…`, `mailto:…`, `xmpp:…`).
    Url,
    "uri"
);
formatted_string!(
    /// The dashboard's public URL: http(s), no query, fragment or credentials.
    DashboardUrl,
    "dashboard-url"
);
formatted_string!(
    /// An ISO 8601 duration such as `PT10S`, `PT5M`, `P1W` or `P2Y`.
    Duration,
    "duration"
);
formatted_string!(
    /// A retention period: `infinite`, or an ISO 8601 duration.
    RetentionPeriod,
    "retention"
);
formatted_string!(
    /// The local part of a JID (RFC 6120 §1.4).
    JidNode,
    "jid-node"
);
formatted_string!(
    /// An absolute file path of simple characters.
    AbsolutePath,
    "absolute-path"
);
formatted_string!(
    /// A byte size for Prosody: `200MiB`, `20MB`, `512kB`, `1024B`.
    SizeString,
    "prosody-size"
);
formatted_string!(
    /// A data rate for Prosody: `100kB/s`, `1MB/s`, `500B/s`.
    RateString,
    "prosody-rate"
);
formatted_string!(
    /// A Prosody period: an ISO 8601 duration, `infinite` or `never`.
    ProsodyPeriod,
    "prosody-duration"
);

impl Hostname {
    /// The ASCII (punycode) form, for nginx and DNS.
    pub fn ascii(&self) -> String {
        formats::hostname(&self.0).unwrap_or_else(|_| self.0.clone())
    }
}

impl DashboardUrl {
    /// The URL's host (a hostname or an IP address literal).
    pub fn host(&self) -> String {
        url::Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl Duration {
    pub fn parsed(&self) -> IsoDuration {
        IsoDuration::parse(&self.0).unwrap_or_default()
    }
}

impl RetentionPeriod {
    pub fn parsed(&self) -> Retention {
        Retention::parse(&self.0).unwrap_or(Retention::Infinite)
    }
}

impl SizeString {
    pub fn parsed(&self) -> Size {
        Size::parse(&self.0).unwrap_or(Size {
            number: 0,
            factors: &[],
        })
    }
}

impl RateString {
    pub fn parsed(&self) -> Rate {
        Rate::parse(&self.0).unwrap_or(Rate {
            number: 0,
            unit: "b/s",
        })
    }
}

impl ProsodyPeriod {
    pub fn parsed(&self) -> formats::ProsodyDuration {
        formats::ProsodyDuration::parse(&self.0).unwrap_or(formats::ProsodyDuration::Never)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsProfile {
    #[default]
    Modern,
    Intermediate,
    Old,
}

impl TlsProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsProfile::Modern => "modern",
            TlsProfile::Intermediate => "intermediate",
            TlsProfile::Old => "old",
        }
    }
}

/// A Prosody module name: `[a-z0-9_]+` (what the Pod API accepts).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[schemars(extend("pattern" = formats::MODULE_NAME_PATTERN))]
#[serde(transparent)]
pub struct ModuleName(pub String);

/// A byte size: a whole number of bytes, or a string such as `"200MiB"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ByteSize {
    Bytes(#[schemars(range(min = 0))] u64),
    Text(SizeString),
}

/// A Prosody time span: whole seconds, or an ISO 8601 duration string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TimeSpan {
    Seconds(u64),
    Text(ProsodyPeriod),
}
