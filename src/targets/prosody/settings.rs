//! The options of one section (global, a VirtualHost or a Component) while they are layered:
//! each remembers where it is printed and who set it.

use indexmap::IndexMap;

use super::layout::{self, EXTRA_GROUP};
use super::lua::{Definition, Group, Ident, NameError, Value};
use crate::provenance::dotted;

/// Where an option is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// First, right under the section header (a Component's `name`).
    Header,
    /// In its group of the fixed layout.
    Layout,
    /// In a group of its own, after the fixed layout (e.g. `mod_cloud_notify`).
    Custom(&'static str),
    /// Last, under [`EXTRA_GROUP`].
    Extra,
}

/// Who set an option's current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// prose-compile, from Prose's baseline or from a `prose.toml` key.
    Generated,
    /// The operator, at this `prose.toml` key (e.g. `prosody.global.overrides.limits`).
    User(Vec<String>),
}

impl Origin {
    pub fn user_key(&self) -> Option<String> {
        match self {
            Origin::User(path) => Some(dotted(path)),
            Origin::Generated => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub place: Place,
    pub origin: Origin,
    /// Comment lines printed above the definition.
    pub comments: Vec<String>,
}

/// A section's options by name, in the order they were first set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub entries: IndexMap<String, Entry>,
}

/// Merges `upper` into `lower`: tables are merged key by key (recursively), anything else is
/// replaced. The same rule as the layers of `prose.toml` itself.
pub fn deep_merge(lower: &mut Value, upper: Value) {
    match (lower, upper) {
        (Value::Map(lower), Value::Map(upper)) => {
            for (k, v) in upper {
                match lower.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        lower.insert(k, v);
                    }
                }
            }
        }
        (lower, upper) => *lower = upper,
    }
}

impl Settings {
    /// Sets a generated option in the fixed layout.
    pub fn set(&mut self, name: &str, value: Value) {
        let place = if layout::has_place(name) {
            Place::Layout
        } else {
            Place::Extra
        };
        self.put(name, value, place);
    }

    /// Sets a generated option printed in a group of its own.
    pub fn set_custom(&mut self, group: &'static str, name: &str, value: Value) {
        self.put(name, value, Place::Custom(group));
    }

    /// Sets a generated option printed under the section header.
    pub fn set_header(&mut self, name: &str, value: Value) {
        self.put(name, value, Place::Header);
    }

    fn put(&mut self, name: &str, value: Value, place: Place) {
        self.entries.insert(
            name.to_owned(),
            Entry {
                value,
                place,
                origin: Origin::Generated,
                comments: Vec::new(),
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries.get(name).map(|e| &e.value)
    }

    /// Layers generated options over these: generated values and places win.
    pub fn merge_generated(&mut self, upper: Settings) {
        for (name, entry) in upper.entries {
            match self.entries.get_mut(&name) {
                Some(existing) => {
                    deep_merge(&mut existing.value, entry.value);
                    existing.place = entry.place;
                    existing.origin = Origin::Generated;
                    existing.comments = entry.comments;
                }
                None => {
                    self.entries.insert(name, entry);
                }
            }
        }
    }

    /// Layers the operator's options (`defaults` or `overrides`) over these. An option already
    /// present keeps its place; a new one goes to the fixed layout or, failing that, last.
    /// `key` is the table they come from, e.g. `["prosody", "global", "overrides"]`.
    pub fn merge_user(&mut self, options: Vec<(String, Value)>, key: &[&str]) {
        for (name, value) in options {
            let mut path: Vec<String> = key.iter().map(|s| (*s).to_owned()).collect();
            path.push(name.clone());
            let origin = Origin::User(path);
            match self.entries.get_mut(&name) {
                Some(existing) => {
                    deep_merge(&mut existing.value, value);
                    existing.origin = origin;
                }
                None => {
                    let place = if layout::has_place(&name) {
                        Place::Layout
                    } else {
                        Place::Extra
                    };
                    self.entries.insert(
                        name,
                        Entry {
                            value,
                            place,
                            origin,
                            comments: Vec::new(),
                        },
                    );
                }
            }
        }
    }

    /// Adds `item` to the list option `name` unless it is there (creating the option if need
    /// be): how a module gets enabled.
    pub fn list_add(&mut self, name: &str, item: &str) {
        let item_value = Value::string(item);
        match self.entries.get_mut(name) {
            Some(Entry {
                value: Value::List(items),
                ..
            }) => {
                if !items.contains(&item_value) {
                    items.push(item_value);
                }
            }
            Some(entry) => entry.value = Value::List(vec![item_value]),
            None => self.set(name, Value::List(vec![item_value])),
        }
    }

    /// Removes `item` from the list option `name`, dropping the option once it is empty.
    pub fn list_remove(&mut self, name: &str, item: &str) {
        let item_value = Value::string(item);
        let emptied = match self.entries.get_mut(name) {
            Some(Entry {
                value: Value::List(items),
                ..
            }) => {
                items.retain(|v| *v != item_value);
                items.is_empty()
            }
            _ => false,
        };
        if emptied {
            self.entries.shift_remove(name);
        }
    }

    /// The groups to print, in the fixed order: header, layout groups, custom groups in the
    /// order they appear, then the extra group. Fails on option names that cannot be printed.
    pub fn into_groups(self) -> Result<Vec<Group>, Vec<(Origin, NameError)>> {
        let mut errors = Vec::new();
        let mut definition =
            |name: &str, entry: &Entry, layout_comment: Option<&str>| match Ident::new(name) {
                Ok(ident) => Some(Definition {
                    comments: layout_comment
                        .map(str::to_owned)
                        .into_iter()
                        .chain(entry.comments.iter().cloned())
                        .collect(),
                    name: ident,
                    value: entry.value.clone(),
                }),
                Err(e) => {
                    errors.push((entry.origin.clone(), e));
                    None
                }
            };
        let mut groups = Vec::new();
        let header: Vec<Definition> = self
            .entries
            .iter()
            .filter(|(_, e)| e.place == Place::Header)
            .filter_map(|(n, e)| definition(n, e, None))
            .collect();
        groups.push(Group {
            comment: None,
            definitions: header,
        });
        for spec in layout::GROUPS {
            let definitions = spec
                .options
                .iter()
                .filter_map(|(name, comment)| {
                    let entry = self
                        .entries
                        .get(*name)
                        .filter(|e| e.place == Place::Layout)?;
                    definition(name, entry, *comment)
                })
                .collect();
            groups.push(Group {
                comment: spec.comment.map(str::to_owned),
                definitions,
            });
        }
        let mut custom: Vec<(&'static str, &str, &Entry)> = self
            .entries
            .iter()
            .filter_map(|(name, entry)| match entry.place {
                Place::Custom(group) => Some((group, name.as_str(), entry)),
                _ => None,
            })
            .collect();
        // Known groups in their fixed order, others by first appearance; inside a group, known
        // options first in their order, then the others as set (the sort is stable).
        let first_seen: Vec<&str> = custom.iter().map(|(g, _, _)| *g).collect();
        custom.sort_by_key(|(group, name, _)| {
            let (g, o) = layout::custom_rank(group, name);
            let seen = first_seen.iter().position(|x| x == group).unwrap_or(0);
            (g, seen, o)
        });
        let mut custom_groups: Vec<Group> = Vec::new();
        for (group, name, entry) in custom {
            if custom_groups.last().and_then(|g| g.comment.as_deref()) != Some(group) {
                custom_groups.push(Group {
                    comment: Some(group.to_owned()),
                    definitions: Vec::new(),
                });
            }
            if let (Some(d), Some(g)) = (definition(name, entry, None), custom_groups.last_mut()) {
                g.definitions.push(d);
            }
        }
        groups.extend(custom_groups);
        let extra = self
            .entries
            .iter()
            .filter(|(_, e)| e.place == Place::Extra)
            .filter_map(|(n, e)| definition(n, e, None))
            .collect();
        groups.push(Group {
            comment: Some(EXTRA_GROUP.to_owned()),
            definitions: extra,
        });
        if errors.is_empty() {
            Ok(groups)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_merge_merges_tables_and_replaces_the_rest() {
        let mut lower = Value::map([(
            "c2s",
            Value::map([
                ("rate", Value::string("50kb/s")),
                ("burst", Value::string("2s")),
            ]),
        )]);
        deep_merge(
            &mut lower,
            Value::map([
                ("c2s", Value::map([("rate", Value::string("100kb/s"))])),
                ("s2sin", Value::map([("rate", Value::string("1kb/s"))])),
            ]),
        );
        assert_eq!(
            lower,
            Value::map([
                (
                    "c2s",
                    Value::map([
                        ("rate", Value::string("100kb/s")),
                        ("burst", Value::string("2s"))
                    ])
                ),
                ("s2sin", Value::map([("rate", Value::string("1kb/s"))])),
            ])
        );
        let mut list = Value::strings(["a", "b"]);
        deep_merge(&mut list, Value::strings(["c"]));
        assert_eq!(list, Value::strings(["c"]));
    }

    #[test]
    fn user_options_keep_generated_places_and_new_ones_go_last() {
        let mut s = Settings::default();
        s.set_custom(
            "mod_cloud_notify",
            "push_notification_with_body",
            Value::Bool(true),
        );
        s.set("http_host", Value::string("h"));
        s.merge_user(
            vec![
                ("push_notification_with_body".into(), Value::Bool(false)),
                ("my_option".into(), Value::Integer(1)),
                ("trusted_proxies".into(), Value::strings(["10.0.0.1"])),
            ],
            &["prosody", "global", "overrides"],
        );
        let e = &s.entries["push_notification_with_body"];
        assert_eq!(e.place, Place::Custom("mod_cloud_notify"));
        assert_eq!(e.value, Value::Bool(false));
        assert_eq!(
            e.origin.user_key().as_deref(),
            Some("prosody.global.overrides.push_notification_with_body")
        );
        assert_eq!(s.entries["my_option"].place, Place::Extra);
        assert_eq!(s.entries["trusted_proxies"].place, Place::Layout);
        let groups = s.into_groups().unwrap();
        let names: Vec<Vec<&str>> = groups
            .iter()
            .filter(|g| !g.definitions.is_empty())
            .map(|g| g.definitions.iter().map(|d| d.name.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["http_host", "trusted_proxies"],
                vec!["push_notification_with_body"],
                vec!["my_option"]
            ]
        );
    }

    #[test]
    fn list_operations() {
        let mut s = Settings::default();
        s.set("modules_disabled", Value::strings(["s2s"]));
        s.list_add("modules_enabled", "mam");
        s.list_add("modules_enabled", "mam");
        s.list_add("modules_enabled", "s2s");
        s.list_remove("modules_disabled", "s2s");
        assert_eq!(
            s.get("modules_enabled"),
            Some(&Value::strings(["mam", "s2s"]))
        );
        assert_eq!(s.get("modules_disabled"), None);
    }

    #[test]
    fn unprintable_names_are_diagnosed() {
        let mut s = Settings::default();
        s.merge_user(
            vec![("__currenthost".into(), Value::string("evil.org"))],
            &["prosody", "global", "overrides"],
        );
        let errors = s.into_groups().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].0.user_key().as_deref(),
            Some("prosody.global.overrides.__currenthost")
        );
    }
}
