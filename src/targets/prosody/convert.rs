//! Values in the forms the Pod API reads and writes (prose-pod-api 0.20.0,
//! `src/prosody-config/src/model/units.rs` and `prosody_config/conversion.rs`;
//! `src/service/src/models/durations/date_like.rs`).
//!
//! A `prosody.<host>` option is parsed by the API with a grammar narrower than the ISO 8601
//! durations and sizes `prose.toml` accepts elsewhere; a value outside it stops the API from
//! starting (it refuses its whole configuration), so each parser here returns a [`Refusal`]
//! saying what to write instead. Accepted values print exactly as upstream prints them:
//!
//! | type | accepted | printed |
//! |---|---|---|
//! | size | `<n>B`, `<n>kB`, `<n>KiB`, `<n>MB`, `<n>MiB` | `n`, `n * 1000`, `n * 1024`, `n * 1000 * 1000`, `n * 1024 * 1024` |
//! | rate | `<n>B/s`, `<n>kB/s`, `<n>MB/s` (or `Bps`…) | `"<n>b/s"`, `"<n>kb/s"`, `"<n>mb/s"` (Prosody's `kb` is kilobytes) |
//! | time | `PT<n>S`, `PT<n>M`, `PT<n>H` | `"<n>s"`, `"<n>min"`, `"<n>h"`; a `limits` burst `"<seconds>s"` |
//! | period | `P<n>D`, `P<n>W`, `P<n>M`, `P<n>Y`, `infinite` | `"<n>d"`, `"<n>w"`, `"<n>month"`, `"<n>y"`, `"never"` |
//!
//! (`n` is a `u32`.) Prosody 13 reads every printed form with `get_option_period` /
//! `human_io`: `month` is 31 days and `y` 365.2425 days there.
//!
//! `server.defaults.message_archive_retention` and `file_storage_retention` go through another
//! conversion ([`api_retention`]): the API keeps the first non-zero of years (months counted
//! as twelfths), months, weeks (days counted as sevenths) and days, **rounded down**, so
//! `P30D` becomes `"4w"` (28 days) and `P18M` `"1y"`. That is what runs; [`exact_period`] is
//! the retention written in one unit without loss, when it has such a form.

use super::lua::Value;
use crate::config::formats::{IsoDuration, Rate, Retention};
use crate::config::types::{ByteSize, RateString, TimeSpan};

/// A value the Pod API refuses (it would not start), and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub help: String,
}

fn refusal(message: impl Into<String>, help: impl Into<String>) -> Refusal {
    Refusal {
        message: message.into(),
        help: help.into(),
    }
}

/// `"10MB"` → `("10", "MB")`, as upstream's `split_leading_digits`.
fn split_number(value: &str) -> (&str, &str) {
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    value.split_at(end)
}

fn u32_of(digits: &str) -> Option<u32> {
    digits.parse().ok()
}

/// upstream `DateLike`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateLike {
    Days(u32),
    Weeks(u32),
    Months(u32),
    Years(u32),
}

/// upstream `PossiblyInfinite<Duration<DateLike>>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Never,
    For(DateLike),
}

impl Period {
    /// As the Lua file has it: `"never"`, `"30d"`, `"2w"`, `"6month"`, `"1y"`.
    pub fn lua(self) -> Value {
        Value::String(match self {
            Period::Never => "never".into(),
            Period::For(DateLike::Days(n)) => format!("{n}d"),
            Period::For(DateLike::Weeks(n)) => format!("{n}w"),
            Period::For(DateLike::Months(n)) => format!("{n}month"),
            Period::For(DateLike::Years(n)) => format!("{n}y"),
        })
    }

    /// As `prose.toml` writes it for the API: `infinite`, `P30D`, `P2W`, `P6M`, `P1Y`.
    pub fn iso(self) -> String {
        match self {
            Period::Never => "infinite".into(),
            Period::For(DateLike::Days(n)) => format!("P{n}D"),
            Period::For(DateLike::Weeks(n)) => format!("P{n}W"),
            Period::For(DateLike::Months(n)) => format!("P{n}M"),
            Period::For(DateLike::Years(n)) => format!("P{n}Y"),
        }
    }

    /// Its length in seconds with Prosody 13's units (`None` for never).
    pub fn prosody_seconds(self) -> Option<u64> {
        let (n, unit) = match self {
            Period::Never => return None,
            Period::For(DateLike::Days(n)) => (n, DAY),
            Period::For(DateLike::Weeks(n)) => (n, 7 * DAY),
            Period::For(DateLike::Months(n)) => (n, MONTH),
            Period::For(DateLike::Years(n)) => (n, YEAR),
        };
        Some(u64::from(n) * unit)
    }
}

const DAY: u64 = 86_400;
/// Prosody's month (13.0 `mon`): 31 days.
const MONTH: u64 = 31 * DAY;
/// Prosody's year: 365.2425 days, a whole number of seconds.
const YEAR: u64 = 31_556_952;

/// A period option (`archive_expires_after`, `muc_log_expires_after`,
/// `http_file_share_expires_after`), in upstream's grammar.
pub fn option_period(text: &str) -> Result<Period, Refusal> {
    let refused = || {
        refusal(
            format!("it reads `{text}` as no period"),
            "write `infinite` or one unit: `P<n>D`, `P<n>W`, `P<n>M` or `P<n>Y` (e.g. `P30D`)",
        )
    };
    if text == "infinite" {
        return Ok(Period::Never);
    }
    let rest = text.strip_prefix('P').ok_or_else(refused)?;
    let (digits, unit) = split_number(rest);
    let n = u32_of(digits).ok_or_else(refused)?;
    Ok(Period::For(match unit {
        "D" => DateLike::Days(n),
        "W" => DateLike::Weeks(n),
        "M" => DateLike::Months(n),
        "Y" => DateLike::Years(n),
        _ => return Err(refused()),
    }))
}

/// upstream `TimeLike`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLike {
    Seconds(u32),
    Minutes(u32),
    Hours(u32),
}

impl TimeLike {
    /// `"30s"`, `"5min"`, `"3h"`.
    pub fn lua(self) -> Value {
        Value::String(match self {
            TimeLike::Seconds(n) => format!("{n}s"),
            TimeLike::Minutes(n) => format!("{n}min"),
            TimeLike::Hours(n) => format!("{n}h"),
        })
    }

    /// The length in seconds (upstream multiplies in `u32`).
    pub fn seconds(self) -> Option<u32> {
        match self {
            TimeLike::Seconds(n) => Some(n),
            TimeLike::Minutes(n) => n.checked_mul(60),
            TimeLike::Hours(n) => n.checked_mul(3_600),
        }
    }
}

/// A time option (timeouts, `limits_resolution`, `access_control_max_age`, a `limits` burst)
/// in upstream's grammar: `PT<n>S`, `PT<n>M` or `PT<n>H`, one unit.
pub fn option_time(t: &TimeSpan) -> Result<TimeLike, Refusal> {
    let help = |seconds: Option<u64>| match seconds {
        Some(s) => format!("write `\"PT{s}S\"`: it reads `PT<n>S`, `PT<n>M` or `PT<n>H` (one unit)"),
        None => "write `PT<n>S`, `PT<n>M` or `PT<n>H` (one unit, e.g. `\"PT5M\"`)".to_owned(),
    };
    let text = match t {
        TimeSpan::Seconds(n) => {
            return Err(refusal(
                format!("it reads a time as a string, not the number {n}"),
                help(Some(*n)),
            ));
        }
        TimeSpan::Text(p) => p.as_str(),
    };
    let seconds = || IsoDuration::parse(text).ok().and_then(|d| d.as_seconds());
    let refused = || {
        refusal(
            format!("it reads `{text}` as no time"),
            help(seconds()),
        )
    };
    let rest = text.strip_prefix("PT").ok_or_else(refused)?;
    let (digits, unit) = split_number(rest);
    let n = u32_of(digits).ok_or_else(refused)?;
    match unit {
        "S" => Ok(TimeLike::Seconds(n)),
        "M" => Ok(TimeLike::Minutes(n)),
        "H" => Ok(TimeLike::Hours(n)),
        _ => Err(refused()),
    }
}

/// A `limits` burst: `"<seconds>s"`, as upstream prints it and mod_limits reads it.
pub fn burst(t: &TimeSpan) -> Result<Value, Refusal> {
    let time = option_time(t)?;
    let seconds = time.seconds().ok_or_else(|| {
        refusal(
            "it counts a burst in seconds up to 2^32, and this one is longer",
            "write a shorter burst, e.g. `\"PT2S\"`",
        )
    })?;
    Ok(Value::String(format!("{seconds}s")))
}

/// A data rate in Prosody's notation (`"100kb/s"`: Prosody's `kb` is kilobytes).
pub fn rate(r: &RateString) -> Result<Value, Refusal> {
    let Rate { number, unit } = r.parsed();
    if u32::try_from(number).is_err() {
        return Err(refusal(
            format!("it reads rates up to {}, not {number}", u32::MAX),
            "write a larger unit, e.g. `MB/s`",
        ));
    }
    Ok(Value::String(format!("{number}{unit}")))
}

/// A byte count in upstream's grammar, printed as upstream's product.
pub fn size(s: &ByteSize) -> Result<Value, Refusal> {
    let text = match s {
        ByteSize::Bytes(n) => {
            return Err(refusal(
                format!("it reads a size as a string, not the number {n}"),
                format!("write `\"{n}B\"` (or a unit: `kB`, `KiB`, `MB`, `MiB`)"),
            ));
        }
        ByteSize::Text(text) => text.as_str(),
    };
    let refused = || {
        refusal(
            format!("it reads `{text}` as no size"),
            "write a number up to 4294967295 and one of the units `B`, `kB`, `KiB`, `MB`, `MiB` \
             (e.g. `\"200MiB\"`)",
        )
    };
    let (digits, unit) = split_number(text);
    let n = u64::from(u32_of(digits).ok_or_else(refused)?);
    let factors: &[u64] = match unit {
        "B" => &[],
        "kB" => &[1000],
        "KiB" => &[1024],
        "MB" => &[1000, 1000],
        "MiB" => &[1024, 1024],
        _ => return Err(refused()),
    };
    Ok(if factors.is_empty() {
        Value::Integer(n as i64)
    } else {
        let mut all = vec![n];
        all.extend_from_slice(factors);
        Value::Product(all)
    })
}

/// A `server.defaults` retention as the Pod API converts it (`date_like.rs`, with
/// iso8601-duration 0.2's `num_*`), or why the API refuses it.
pub fn api_retention(r: &Retention) -> Result<Period, Refusal> {
    let d = match r {
        Retention::Infinite => return Ok(Period::Never),
        Retention::For(d) => d,
    };
    // iso8601-duration 0.2 reads weeks only alone (`P2W`), and every number as an f32.
    if d.weeks != 0 && (d.years, d.months, d.days, d.hours, d.minutes, d.seconds) != (0, 0, 0, 0, 0, 0)
    {
        let days = d.weeks.saturating_mul(7).saturating_add(d.days);
        return Err(refusal(
            "it reads weeks only alone, not with other units",
            format!("write `P{days}D` (days), or weeks alone (`P<n>W`)"),
        ));
    }
    let f = |n: u64| n as f32;
    let (year, month, day) = (f(d.years), f(d.months), f(d.days + d.weeks * 7));
    let (hour, minute, second) = (f(d.hours), f(d.minutes), f(d.seconds));
    let time = hour > 0.0 || minute > 0.0 || second > 0.0;
    let calendar = year > 0.0 || month > 0.0;
    let whole = |n: f32| -> Option<u32> {
        let n = n as u32;
        (n != 0).then_some(n)
    };
    let years = (!time).then_some(year + month / 12.).and_then(whole);
    let months = (!time).then_some(year * 12. + month).and_then(whole);
    let weeks = (!calendar)
        .then(|| second / 60. / 60. / 24. / 7. + minute / 60. / 24. / 7. + hour / 24. / 7. + day / 7.)
        .and_then(whole);
    let days = (!calendar)
        .then(|| second / 60. / 60. / 24. + minute / 60. / 24. + hour / 24. + day)
        .and_then(whole);
    match (years, months, weeks, days) {
        (Some(n), ..) => Ok(Period::For(DateLike::Years(n))),
        (None, Some(n), ..) => Ok(Period::For(DateLike::Months(n))),
        (None, None, Some(n), _) => Ok(Period::For(DateLike::Weeks(n))),
        (None, None, None, Some(n)) => Ok(Period::For(DateLike::Days(n))),
        _ => Err(refusal(
            "it reads a retention shorter than a day, or mixing years or months with hours, \
             as no retention",
            "write at least one day (e.g. `P1D`), or `infinite`",
        )),
    }
}

/// The retention in one unit, exactly (`P30D` → 30 days, `PT48H` → 2 days), when it has such
/// a form: years alone, months alone, or a whole number of days.
pub fn exact_period(r: &Retention) -> Option<Period> {
    let d = match r {
        Retention::Infinite => return Some(Period::Never),
        Retention::For(d) => d,
    };
    let n = |v: u64| u32::try_from(v).ok().filter(|n| *n != 0);
    let rest = (d.weeks, d.days, d.hours, d.minutes, d.seconds);
    match (d.years, d.months) {
        (0, 0) => {
            let seconds = d.as_seconds()?;
            if !seconds.is_multiple_of(DAY) {
                return None;
            }
            let days = seconds / DAY;
            if d.weeks != 0 && (d.days, d.hours, d.minutes, d.seconds) == (0, 0, 0, 0) {
                n(d.weeks).map(|w| Period::For(DateLike::Weeks(w)))
            } else {
                n(days).map(|d| Period::For(DateLike::Days(d)))
            }
        }
        (y, 0) if rest == (0, 0, 0, 0, 0) => n(y).map(|y| Period::For(DateLike::Years(y))),
        (0, m) if rest == (0, 0, 0, 0, 0) => n(m).map(|m| Period::For(DateLike::Months(m))),
        _ => None,
    }
}

/// `auth.token_ttl` in seconds as the API computes it: iso8601-duration's `num_seconds` in
/// f32, clamped to `u32`; `None` when it holds years or months (the API panics on those).
pub fn token_ttl_seconds(d: &IsoDuration) -> Option<u32> {
    if d.years != 0 || d.months != 0 {
        return None;
    }
    let f = |n: u64| n as f32;
    let day = f(d.days + d.weeks * 7);
    let seconds = f(d.seconds) + f(d.minutes) * 60. + f(d.hours) * 60. * 60. + day * 60. * 60. * 24.;
    Some(seconds.clamp(u32::MIN as f32, u32::MAX as f32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::types::{ProsodyPeriod, SizeString};

    fn retention(text: &str) -> Retention {
        Retention::parse(text).unwrap()
    }

    fn api(text: &str) -> String {
        api_retention(&retention(text)).map(Period::iso).unwrap_or_else(|r| r.message)
    }

    #[test]
    fn retentions_are_rounded_down_as_the_api_does() {
        // Examples from the API's own tests and from date_like.rs.
        assert_eq!(api("infinite"), "infinite");
        assert_eq!(api("P2Y"), "P2Y");
        assert_eq!(api("P6M"), "P6M");
        assert_eq!(api("P18M"), "P1Y");
        assert_eq!(api("P1Y6M"), "P1Y");
        assert_eq!(api("P30D"), "P4W");
        assert_eq!(api("P10D"), "P1W");
        assert_eq!(api("P7D"), "P1W");
        assert_eq!(api("P6D"), "P6D");
        assert_eq!(api("P3W"), "P3W");
        assert_eq!(api("PT48H"), "P2D");
        assert_eq!(api("P1DT12H"), "P1D");
        assert_eq!(api("P1Y1D"), "P1Y");
        assert!(api_retention(&retention("PT12H")).is_err());
        assert!(api_retention(&retention("P0D")).is_err());
        assert!(api_retention(&retention("P1W3D")).is_err());
        assert!(api_retention(&retention("P1YT1H")).is_err(), "years with hours");
    }

    #[test]
    fn exact_periods_lose_nothing() {
        let exact = |t: &str| exact_period(&retention(t)).map(Period::iso);
        assert_eq!(exact("P30D").as_deref(), Some("P30D"));
        assert_eq!(exact("P2W").as_deref(), Some("P2W"));
        assert_eq!(exact("P1W3D").as_deref(), Some("P10D"));
        assert_eq!(exact("PT48H").as_deref(), Some("P2D"));
        assert_eq!(exact("P18M").as_deref(), Some("P18M"));
        assert_eq!(exact("P2Y").as_deref(), Some("P2Y"));
        assert_eq!(exact("infinite").as_deref(), Some("infinite"));
        assert_eq!(exact("P1Y6M"), None, "a year is not 12 of Prosody's months");
        assert_eq!(exact("PT36H"), None);
        assert_eq!(exact("P1DT1S"), None);
    }

    #[test]
    fn periods_print_as_upstream() {
        let p = |t: &str| option_period(t).map(|p| p.lua().to_lua());
        assert_eq!(p("P30D").unwrap(), "\"30d\"", "no rounding in an option");
        assert_eq!(p("P2W").unwrap(), "\"2w\"");
        assert_eq!(p("P6M").unwrap(), "\"6month\"");
        assert_eq!(p("P1Y").unwrap(), "\"1y\"");
        assert_eq!(p("infinite").unwrap(), "\"never\"");
        for bad in ["never", "PT1H", "P1Y6M", "P1W3D", "P99999999999D"] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(Period::For(DateLike::Years(1)).prosody_seconds(), Some(31_556_952));
    }

    #[test]
    fn times_print_as_upstream() {
        let text = |t: &str| TimeSpan::Text(ProsodyPeriod::new(t).unwrap());
        let t = |s: &TimeSpan| option_time(s).map(|t| t.lua().to_lua());
        assert_eq!(t(&text("PT5M")).unwrap(), "\"5min\"");
        assert_eq!(t(&text("PT30S")).unwrap(), "\"30s\"");
        assert_eq!(t(&text("PT3H")).unwrap(), "\"3h\"");
        let e = t(&TimeSpan::Seconds(300)).unwrap_err();
        assert!(e.help.contains("\"PT300S\""), "{e:?}");
        let e = t(&text("PT1M30S")).unwrap_err();
        assert!(e.help.contains("\"PT90S\""), "{e:?}");
        assert!(t(&text("P1D")).is_err());
        assert!(t(&text("never")).is_err());
        assert_eq!(burst(&text("PT1M")).unwrap(), Value::string("60s"));
        assert!(burst(&text("PT4294967295H")).is_err());
    }

    #[test]
    fn sizes_and_rates() {
        let text = |t: &str| ByteSize::Text(SizeString::new(t).unwrap());
        assert_eq!(size(&text("200MiB")).unwrap(), Value::Product(vec![200, 1024, 1024]));
        assert_eq!(size(&text("50MB")).unwrap(), Value::Product(vec![50, 1000, 1000]));
        assert_eq!(size(&text("512KiB")).unwrap(), Value::Product(vec![512, 1024]));
        assert_eq!(size(&text("1024B")).unwrap(), Value::Integer(1024));
        assert!(size(&text("1GiB")).is_err());
        let e = size(&ByteSize::Bytes(262_144)).unwrap_err();
        assert!(e.help.contains("\"262144B\""));
        let r = RateString::new("100kB/s").unwrap();
        assert_eq!(rate(&r).unwrap(), Value::string("100kb/s"));
        let r = RateString::new("5000000000B/s").unwrap();
        assert!(rate(&r).is_err());
    }

    #[test]
    fn token_ttl_as_the_api_computes_it() {
        let d = |t: &str| IsoDuration::parse(t).unwrap();
        assert_eq!(token_ttl_seconds(&d("PT3H")), Some(10_800));
        assert_eq!(token_ttl_seconds(&d("P1W")), Some(604_800));
        assert_eq!(token_ttl_seconds(&d("P1M")), None);
    }
}
