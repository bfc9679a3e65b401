//! Variable interpolation as Compose v2 does it (compose-go `template`), for checking a
//! generated `compose.yaml` without Docker: `$$` is a literal `$`; `$VAR` and `${VAR}` are
//! the variable or empty; `${VAR:-default}` (unset or empty) and `${VAR-default}` (unset
//! only) fall back to a default, itself interpolated (so defaults nest); `${VAR:+alt}` and
//! `${VAR+alt}` give `alt` when set (and not empty, for `:+`); `${VAR:?err}` and `${VAR?err}`
//! fail when unset (or empty, for `:?`).

use std::collections::BTreeMap;

/// The variables compose sees (its process environment and env files).
pub type Environment = BTreeMap<String, String>;

/// Why a string cannot be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

/// Interpolates one string.
pub fn interpolate(text: &str, env: &Environment) -> Result<String, Error> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(inner) = rest.strip_prefix('{') {
            let end = closing_brace(inner)
                .ok_or_else(|| Error(format!("unterminated `${{` in {text:?}")))?;
            out.push_str(&braced(&inner[..end], env)?);
            rest = &inner[end + 1..];
        } else {
            let len = name_len(rest);
            if len == 0 {
                return Err(Error(format!(
                    "invalid `$` in {text:?} (write `$$` for a `$`)"
                )));
            }
            out.push_str(env.get(&rest[..len]).map_or("", String::as_str));
            rest = &rest[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a `${`, counting nested ones.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '$' if chars.peek().is_some_and(|(_, c)| *c == '{') => {
                depth += 1;
                chars.next();
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn name_len(text: &str) -> usize {
    text.char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .count()
}

/// `NAME`, or `NAME` followed by an operator and its word.
fn braced(body: &str, env: &Environment) -> Result<String, Error> {
    let len = name_len(body);
    if len == 0 {
        return Err(Error(format!("invalid variable name in `${{{body}}}`")));
    }
    let (name, op) = body.split_at(len);
    let value = env.get(name);
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let value = value.cloned().unwrap_or_default();
    let word = |prefix: &str| interpolate(&op[prefix.len()..], env);
    match op {
        "" => Ok(value),
        _ if op.starts_with(":-") => {
            if non_empty {
                Ok(value)
            } else {
                word(":-")
            }
        }
        _ if op.starts_with('-') => {
            if set {
                Ok(value)
            } else {
                word("-")
            }
        }
        _ if op.starts_with(":+") => {
            if non_empty {
                word(":+")
            } else {
                Ok(String::new())
            }
        }
        _ if op.starts_with('+') => {
            if set {
                word("+")
            } else {
                Ok(String::new())
            }
        }
        _ if op.starts_with(":?") => {
            if non_empty {
                Ok(value)
            } else {
                Err(Error(format!(
                    "required variable {name} is missing a value: {}",
                    word(":?")?
                )))
            }
        }
        _ if op.starts_with('?') => {
            if set {
                Ok(value)
            } else {
                Err(Error(format!(
                    "required variable {name} is missing a value: {}",
                    word("?")?
                )))
            }
        }
        _ => Err(Error(format!("invalid interpolation format `${{{body}}}`"))),
    }
}

/// Interpolates every string of a parsed YAML document (values, not keys: as compose).
pub fn interpolate_document(
    value: &serde_json::Value,
    env: &Environment,
) -> Result<serde_json::Value, Error> {
    use serde_json::Value as J;
    Ok(match value {
        J::String(s) => J::String(interpolate(s, env)?),
        J::Array(items) => J::Array(
            items
                .iter()
                .map(|i| interpolate_document(i, env))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), interpolate_document(v, env)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn nested_defaults_follow_the_set_and_unset_matrix() {
        // `${A:-${B-x}}`: A when non-empty, else B when set (even empty), else x.
        let text = "${A:-${B-x}}";
        for (vars, want) in [
            (env(&[]), "x"),
            (env(&[("A", "")]), "x"),
            (env(&[("B", "")]), ""),
            (env(&[("A", ""), ("B", "")]), ""),
            (env(&[("B", "b")]), "b"),
            (env(&[("A", "a"), ("B", "b")]), "a"),
            (env(&[("A", "a")]), "a"),
        ] {
            assert_eq!(interpolate(text, &vars).unwrap(), want, "{vars:?}");
        }
        // `${A-${B:-x}}`: A when set (even empty), else B when non-empty, else x.
        let text = "${A-${B:-x}}";
        for (vars, want) in [
            (env(&[]), "x"),
            (env(&[("A", "")]), ""),
            (env(&[("B", "")]), "x"),
            (env(&[("B", "b")]), "b"),
            (env(&[("A", "a"), ("B", "b")]), "a"),
        ] {
            assert_eq!(interpolate(text, &vars).unwrap(), want, "{vars:?}");
        }
    }

    #[test]
    fn the_other_operators_and_escapes() {
        let vars = env(&[("S", "s"), ("E", "")]);
        assert_eq!(interpolate("$$S $S ${S}", &vars).unwrap(), "$S s s");
        assert_eq!(
            interpolate("${S:+y}|${E:+y}|${E+y}|${U+y}", &vars).unwrap(),
            "y||y|"
        );
        assert_eq!(interpolate("${U}${U:-}", &vars).unwrap(), "");
        assert!(interpolate("${E:?needed}", &vars).is_err());
        assert_eq!(interpolate("${E?needed}", &vars).unwrap(), "");
        assert!(interpolate("${U?needed}", &vars).is_err());
        assert!(interpolate("${S", &vars).is_err());
        assert!(interpolate("a $ b", &vars).is_err());
        assert!(interpolate("${S%x}", &vars).is_err());
        assert_eq!(
            interpolate("${A:-${B:-${C-/etc/prose}/prose.env}}", &vars).unwrap(),
            "/etc/prose/prose.env"
        );
    }
}
