//! Conversions from `prose.toml` value types to Prosody's forms: periods, sizes, rates, JSON.
//!
//! Periods are the delicate part. What Prosody reads (checked in the sources):
//! - `archive_expires_after` (mod_mam) and `muc_log_expires_after` (mod_muc_mam): in 0.12 a
//!   string matched by `(%d+)%s*([dwmy]?)` (`d`, `w`, `m` = 31 days, `y` = 365.2425 days, no
//!   unit = seconds) or `"never"`; in 13.0 `get_option_period`: a number of seconds, or a string
//!   with a unit among `s`, `min`, `h`, `d`, `w`, `mon`(th), `y` (same lengths), or `"never"`.
//!   A bare `"6m"` is ambiguous in 13.0 (error logged) and an `h` suffix is read as seconds by
//!   0.12, so only `Nd`, `Nw`, `Nmonth`, `Ny`, a plain number of seconds and `"never"` mean the
//!   same thing to both.
//! - `http_file_share_expires_after`: a number of seconds in 0.12 (`get_option_number`), a
//!   period in 13.0. A number of seconds reads the same in both; `"never"` only in 13.0 (the
//!   Pod Server's Prosody), where a negative number would expire every upload at once.
//!
//! So a retention is written in the single unit it uses when it uses one, as a whole number of
//! weeks or days when it is one, and as an exact number of seconds otherwise. Calendar units take
//! Prosody's own lengths (year = 365.2425 days, month = 31 days), so `P1Y6M` is exactly what
//! Prosody would compute for "1y" plus "6month". Nothing is rounded: upstream's `P10D` -> `"1w"`
//! and `P18M` -> `"1y"` truncations cannot happen. A period too long to be exact in Lua (2^53
//! seconds) is an error.

use super::lua::Value;
use crate::config::formats::{IsoDuration, ProsodyDuration, Rate, Retention, Size};
use crate::config::types::{ByteSize, RateString, TimeSpan};

const MINUTE: u64 = 60;
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;
const WEEK: u64 = 7 * DAY;
/// Prosody's month (0.12 `m`, 13.0 `mon`): 31 days.
const MONTH: u64 = 31 * DAY;
/// Prosody's year: 365.2425 days, a whole number of seconds.
const YEAR: u64 = 31_556_952;
/// Integers up to 2^53 are exact in every Lua number representation Prosody runs on.
const EXACT_LIMIT: u64 = 1 << 53;

/// The length of `d` in seconds with Prosody's calendar units, `None` past 2^53.
pub fn prosody_seconds(d: &IsoDuration) -> Option<u64> {
    let parts = [
        (d.years, YEAR),
        (d.months, MONTH),
        (d.weeks, WEEK),
        (d.days, DAY),
        (d.hours, HOUR),
        (d.minutes, MINUTE),
        (d.seconds, 1),
    ];
    let total = parts.iter().try_fold(0u64, |acc, (n, unit)| {
        acc.checked_add(n.checked_mul(*unit)?)
    })?;
    (total < EXACT_LIMIT).then_some(total)
}

fn too_long() -> String {
    "this period is too long for Prosody (it must stay below 2^53 seconds, about 285 million years)"
        .into()
}

fn integer(n: u64) -> Value {
    // n < 2^53 here, so it fits an i64.
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A period as `archive_expires_after` / `muc_log_expires_after` take it (see module docs).
pub fn period_string(d: &IsoDuration) -> Result<Value, String> {
    let seconds = prosody_seconds(d).ok_or_else(too_long)?;
    let units_used = [
        d.years, d.months, d.weeks, d.days, d.hours, d.minutes, d.seconds,
    ]
    .iter()
    .filter(|n| **n != 0)
    .count();
    if units_used == 1 && d.years != 0 {
        return Ok(Value::String(format!("{}y", d.years)));
    }
    if units_used == 1 && d.months != 0 {
        return Ok(Value::String(format!("{}month", d.months)));
    }
    Ok(match seconds {
        0 => Value::string("0d"),
        s if s.is_multiple_of(WEEK) => Value::String(format!("{}w", s / WEEK)),
        s if s.is_multiple_of(DAY) => Value::String(format!("{}d", s / DAY)),
        s => integer(s),
    })
}

/// A period as a whole number of seconds (`http_file_share_expires_after`, timeouts).
pub fn period_seconds(d: &IsoDuration) -> Result<Value, String> {
    prosody_seconds(d).map(integer).ok_or_else(too_long)
}

/// A retention for the message archive: `"never"` or [`period_string`].
pub fn archive_retention(r: &Retention) -> Result<Value, String> {
    match r {
        Retention::Infinite => Ok(Value::string("never")),
        Retention::For(d) => period_string(d),
    }
}

/// A retention for uploaded files: `"never"` or [`period_seconds`].
pub fn file_retention(r: &Retention) -> Result<Value, String> {
    match r {
        Retention::Infinite => Ok(Value::string("never")),
        Retention::For(d) => period_seconds(d),
    }
}

/// A `ProsodyPeriod` option rendered like the archive retention.
pub fn prosody_period_string(p: ProsodyDuration) -> Result<Value, String> {
    match p {
        ProsodyDuration::Never => Ok(Value::string("never")),
        ProsodyDuration::For(d) => period_string(&d),
    }
}

/// A `ProsodyPeriod` option rendered in seconds (or `"never"`).
pub fn prosody_period_seconds(p: ProsodyDuration) -> Result<Value, String> {
    match p {
        ProsodyDuration::Never => Ok(Value::string("never")),
        ProsodyDuration::For(d) => period_seconds(&d),
    }
}

/// A time span option (timeouts): seconds, or `"never"`.
pub fn time_span(t: &TimeSpan) -> Result<Value, String> {
    match t {
        TimeSpan::Seconds(n) => u64_value(*n),
        TimeSpan::Text(p) => prosody_period_seconds(p.parsed()),
    }
}

/// A `limits` burst: `"<seconds>s"`, as upstream prints it and mod_limits reads it.
pub fn burst(t: &TimeSpan) -> Result<Value, String> {
    let seconds = match t {
        TimeSpan::Seconds(n) => *n,
        TimeSpan::Text(p) => match p.parsed() {
            ProsodyDuration::Never => {
                return Err("a burst is a length of time: `never` has no meaning here".into());
            }
            ProsodyDuration::For(d) => prosody_seconds(&d).ok_or_else(too_long)?,
        },
    };
    Ok(Value::String(format!("{seconds}s")))
}

/// A data rate in Prosody's notation (`"100kb/s"`: Prosody's `kb` is kilobytes).
pub fn rate(r: &RateString) -> Value {
    let Rate { number, unit } = r.parsed();
    Value::String(format!("{number}{unit}"))
}

/// A byte count as a Lua integer expression.
pub fn size(s: &ByteSize) -> Result<Value, String> {
    match s {
        ByteSize::Bytes(n) => u64_value(*n),
        ByteSize::Text(text) => {
            let Size { number, factors } = text.parsed();
            if factors.is_empty() {
                u64_value(number)
            } else {
                let mut all = vec![number];
                all.extend_from_slice(factors);
                Ok(Value::Product(all))
            }
        }
    }
}

/// `bytes` as a readable product: `20 * 1024 * 1024`, `50 * 1000 * 1000`, or a plain number.
pub fn size_from_bytes(bytes: u64) -> Value {
    for base in [1024u64, 1000] {
        let mut number = bytes;
        let mut factors = Vec::new();
        while number != 0 && number.is_multiple_of(base) && factors.len() < 3 {
            number /= base;
            factors.push(base);
        }
        if !factors.is_empty() {
            let mut all = vec![number];
            all.extend(factors);
            return Value::Product(all);
        }
    }
    integer(bytes.min(i64::MAX as u64))
}

pub fn u64_value(n: u64) -> Result<Value, String> {
    i64::try_from(n)
        .map(Value::Integer)
        .map_err(|_| format!("{n} is too large for a Lua integer"))
}

/// A passthrough option's value, from the JSON the configuration was read into.
pub fn json(value: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        J::Null => return Err("null has no Lua form".into()),
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Integer(i)
            } else if let Some(u) = n.as_u64() {
                u64_value(u)?
            } else {
                n.as_f64()
                    .and_then(Value::float)
                    .ok_or_else(|| format!("{n} has no Lua form"))?
            }
        }
        J::String(s) => Value::String(s.clone()),
        J::Array(items) => Value::List(items.iter().map(json).collect::<Result<_, _>>()?),
        J::Object(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Value {
        period_string(&IsoDuration::parse(text).unwrap()).unwrap()
    }

    fn s(text: &str) -> Value {
        period_seconds(&IsoDuration::parse(text).unwrap()).unwrap()
    }

    #[test]
    fn retention_strings_use_one_unit_or_exact_seconds() {
        assert_eq!(p("P2Y"), Value::string("2y"));
        assert_eq!(p("P6M"), Value::string("6month"));
        assert_eq!(p("P18M"), Value::string("18month"), "no truncation to 1y");
        assert_eq!(p("P1W"), Value::string("1w"));
        assert_eq!(p("P7D"), Value::string("1w"));
        assert_eq!(p("P10D"), Value::string("10d"), "no truncation to 1w");
        assert_eq!(p("P1W3D"), Value::string("10d"));
        assert_eq!(p("PT48H"), Value::string("2d"));
        assert_eq!(p("PT36H"), Value::Integer(129_600));
        assert_eq!(p("PT1S"), Value::Integer(1));
        assert_eq!(p("P0D"), Value::string("0d"));
        // Mixed calendar units: Prosody's year and month lengths, exactly.
        assert_eq!(p("P1Y6M"), Value::Integer(31_556_952 + 6 * 31 * 86_400));
        assert_eq!(p("P1M1D"), Value::string("32d"));
        assert_eq!(
            archive_retention(&Retention::Infinite).unwrap(),
            Value::string("never")
        );
    }

    #[test]
    fn file_retention_is_in_seconds() {
        assert_eq!(s("P2Y"), Value::Integer(63_113_904));
        assert_eq!(s("P1W"), Value::Integer(604_800));
        assert_eq!(s("PT1H"), Value::Integer(3_600));
        assert_eq!(
            file_retention(&Retention::Infinite).unwrap(),
            Value::string("never")
        );
    }

    #[test]
    fn huge_periods_are_errors_not_wraparounds() {
        let d = IsoDuration::parse("P999999999999Y").unwrap();
        assert!(period_string(&d).is_err());
        assert!(period_seconds(&d).is_err());
        let d = IsoDuration::parse("PT9007199254740992S").unwrap();
        assert!(period_seconds(&d).is_err());
        let d = IsoDuration::parse("PT9007199254740991S").unwrap();
        assert_eq!(
            period_seconds(&d).unwrap(),
            Value::Integer(9_007_199_254_740_991)
        );
    }

    #[test]
    fn sizes_become_products() {
        assert_eq!(
            size_from_bytes(20 * 1024 * 1024),
            Value::Product(vec![20, 1024, 1024])
        );
        assert_eq!(
            size_from_bytes(50_000_000),
            Value::Product(vec![50, 1000, 1000])
        );
        assert_eq!(size_from_bytes(1_024_000), Value::Product(vec![1000, 1024]));
        assert_eq!(size_from_bytes(1023), Value::Integer(1023));
        assert_eq!(size_from_bytes(0), Value::Integer(0));
        let text = ByteSize::Text(crate::config::types::SizeString::new("200MiB").unwrap());
        assert_eq!(size(&text).unwrap(), Value::Product(vec![200, 1024, 1024]));
        assert_eq!(size(&ByteSize::Bytes(12)).unwrap(), Value::Integer(12));
    }

    #[test]
    fn bursts_and_rates() {
        assert_eq!(burst(&TimeSpan::Seconds(2)).unwrap(), Value::string("2s"));
        let text = |t: &str| TimeSpan::Text(crate::config::types::ProsodyPeriod::new(t).unwrap());
        assert_eq!(burst(&text("PT1M")).unwrap(), Value::string("60s"));
        assert!(burst(&text("never")).is_err());
        let r = RateString::new("100kB/s").unwrap();
        assert_eq!(rate(&r), Value::string("100kb/s"));
    }

    #[test]
    fn json_values() {
        let v: serde_json::Value =
            serde_json::json!({"a": [1, 2.5, "x", true], "not ident": {"end": false}});
        let lua = json(&v).unwrap();
        assert_eq!(
            lua.to_lua(),
            "{\n  a = {\n    1;\n    2.5;\n    \"x\";\n    true;\n  };\n  [\"not ident\"] = {\n    [\"end\"] = false;\n  };\n}"
        );
        assert!(json(&serde_json::Value::Null).is_err());
    }
}
