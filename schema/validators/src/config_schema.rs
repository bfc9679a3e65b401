//! The validator of `prose.toml`, compiled from its schema.

/// The validator of the committed schema (`schema/prose.schema.json`): is a configuration
/// valid, and if not, what is wrong with it. It is compiled from
/// `src/config/validator.schema.json`, the committed schema without the patterns the string
/// formats add for editors (the program's `config::schema::validator_schema`: every `format`
/// is checked by [`formats::check`](crate::formats::check), which accepts nothing those
/// patterns refuse, and the patterns would be regular expressions compiled at run time). Both
/// files are generated (the program's `tests/integration/front_end.rs` fails when they drift).
#[jsonschema::validator(
    path = "../../src/config/validator.schema.json",
    draft = Draft202012,
    validate_formats = true,
    formats = {
        "idn-hostname" => crate::config_schema::format::idn_hostname,
        "prosody-host" => crate::config_schema::format::prosody_host,
        "email" => crate::config_schema::format::email,
        "uri" => crate::config_schema::format::uri,
        "dashboard-url" => crate::config_schema::format::dashboard_url,
        "duration" => crate::config_schema::format::duration,
        "fixed-duration" => crate::config_schema::format::fixed_duration,
        "retention" => crate::config_schema::format::retention,
        "jid-node" => crate::config_schema::format::jid_node,
        "ipv4" => crate::config_schema::format::ipv4,
        "ipv6" => crate::config_schema::format::ipv6,
        "ip" => crate::config_schema::format::ip,
        "absolute-path" => crate::config_schema::format::absolute_path,
        "prosody-size" => crate::config_schema::format::prosody_size,
        "prosody-rate" => crate::config_schema::format::prosody_rate,
        "prosody-duration" => crate::config_schema::format::prosody_duration,
        "lua-identifier" => crate::config_schema::format::lua_identifier,
        "prose-compile-no-control" => crate::config_schema::format::no_control,
        "prose-compile-module-name" => crate::config_schema::format::module_name,
        "prose-compile-byte-count" => crate::config_schema::format::byte_count,
    },
    methods = { is_valid = true, validate = false, iter_errors = true }
)]
pub struct ConfigSchema;

/// One `fn(&str) -> bool` per format of [`formats::FORMATS`](crate::formats::FORMATS), for the
/// validator above.
mod format {
    macro_rules! checks {
        ($($name:ident => $format:literal),* $(,)?) => {
            $(pub(super) fn $name(value: &str) -> bool {
                crate::formats::check($format, value).is_ok()
            })*
            /// Every format registered with the validator, to test against `FORMATS`.
            #[cfg(test)]
            pub(crate) const REGISTERED: &[&str] = &[$($format),*];
        };
    }
    checks! {
        idn_hostname => "idn-hostname",
        prosody_host => "prosody-host",
        email => "email",
        uri => "uri",
        dashboard_url => "dashboard-url",
        duration => "duration",
        fixed_duration => "fixed-duration",
        retention => "retention",
        jid_node => "jid-node",
        ipv4 => "ipv4",
        ipv6 => "ipv6",
        ip => "ip",
        absolute_path => "absolute-path",
        prosody_size => "prosody-size",
        prosody_rate => "prosody-rate",
        prosody_duration => "prosody-duration",
        lua_identifier => "lua-identifier",
    }

    /// One `fn(&str) -> bool` per [`formats::PLAIN_PATTERNS`](crate::formats::PLAIN_PATTERNS).
    macro_rules! plain {
        ($($name:ident => $format:literal),* $(,)?) => {
            $(pub(super) fn $name(value: &str) -> bool {
                let plain = crate::formats::PLAIN_PATTERNS.iter().find(|p| p.format == $format);
                plain.is_some_and(|p| (p.matches)(value))
            })*
            /// Every plain pattern registered with the validator.
            #[cfg(test)]
            pub(crate) const PLAIN: &[&str] = &[$($format),*];
        };
    }
    plain! {
        no_control => "prose-compile-no-control",
        module_name => "prose-compile-module-name",
        byte_count => "prose-compile-byte-count",
    }
}

#[cfg(test)]
mod tests {
    use crate::formats;

    use super::format;

    #[test]
    fn the_validator_checks_every_format() {
        let names: Vec<&str> = formats::FORMATS.iter().map(|f| f.name).collect();
        assert_eq!(format::REGISTERED, names);
        let plain: Vec<&str> = formats::PLAIN_PATTERNS.iter().map(|p| p.format).collect();
        assert_eq!(format::PLAIN, plain);
    }
}
