//! The options of one section (global, a VirtualHost or a Component) while they are built,
//! with the merge operations of the Pod API's generator (prose-pod-api 0.20.0,
//! `src/prosody-config/src/prosody_config/merge.rs` and `mod.rs`): each option remembers where
//! it is printed and who set it.
//!
//! Upstream merges per option, never inside a value: a `limits` or `modules_enabled` written
//! in `prose.toml` replaces the whole value. Its two strategies are [`Settings::fill_in`]
//! (`KeepSelf`: only options the section lacks) and [`Settings::replace_existing`]
//! (`KeepOther`: only options the section has).

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
    /// Prose's generator, from its baseline or from a `prose.toml` key.
    Generated,
    /// prose-compile's own choice, carried to the Pod API as a `prosody.<host>.overrides`
    /// entry of the installed `prose.toml` (see `carry`).
    Carried,
    /// The operator, at this `prose.toml` key (e.g. `prosody.global.overrides.limits`).
    User(Vec<String>),
}

impl Origin {
    pub fn user_key(&self) -> Option<String> {
        match self {
            Origin::User(path) => Some(dotted(path)),
            _ => None,
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

/// An option the operator (or prose-compile's carried overrides) set, before it is merged.
#[derive(Debug, Clone, PartialEq)]
pub struct UserOption {
    pub name: String,
    pub value: Value,
    pub origin: Origin,
}

/// A generated value that replaced one the operator set: the Pod API assigns it after the
/// operator's overrides, so the override has no effect at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    /// The operator's key (`prosody.global.overrides.s2s_secure_auth`, or a sub-key such as
    /// `…limits.s2sin`).
    pub key: Vec<String>,
    /// What the Pod API writes instead (`None`: it removes the option or the item).
    pub instead: Option<Value>,
}

/// A section's options by name, in the order they were first set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub entries: IndexMap<String, Entry>,
}

fn place_of(name: &str) -> Place {
    if layout::has_place(name) {
        Place::Layout
    } else {
        Place::Extra
    }
}

impl Settings {
    /// Sets a generated option in the fixed layout (replacing any value it had).
    pub fn set(&mut self, name: &str, value: Value) {
        self.put(name, value, place_of(name));
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

    /// Whether the section has the option (as upstream's `ProsodySettings` field: options in
    /// groups of their own and the Component's `name` are not fields).
    pub fn contains(&self, name: &str) -> bool {
        self.entries
            .get(name)
            .is_some_and(|e| matches!(e.place, Place::Layout | Place::Extra))
    }

    /// The section's options (as [`Settings::contains`] sees them), in order.
    pub fn option_names(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|(_, e)| matches!(e.place, Place::Layout | Place::Extra))
            .map(|(n, _)| n.as_str())
    }

    fn insert_user(&mut self, option: UserOption) {
        match self.entries.get_mut(&option.name) {
            Some(existing) => {
                existing.value = option.value;
                existing.origin = option.origin;
            }
            None => {
                let place = place_of(&option.name);
                self.entries.insert(
                    option.name,
                    Entry {
                        value: option.value,
                        place,
                        origin: option.origin,
                        comments: Vec::new(),
                    },
                );
            }
        }
    }

    /// Upstream's `KeepSelf`: adds the options the section lacks; returns the others, which
    /// are ignored.
    pub fn fill_in(&mut self, options: Vec<UserOption>) -> Vec<UserOption> {
        let mut ignored = Vec::new();
        for option in options {
            if self.contains(&option.name) {
                ignored.push(option);
            } else {
                self.insert_user(option);
            }
        }
        ignored
    }

    /// Upstream's `KeepOther`: replaces the options the section has; returns the others,
    /// which are ignored.
    pub fn replace_existing(&mut self, options: Vec<UserOption>) -> Vec<UserOption> {
        let mut ignored = Vec::new();
        for option in options {
            if self.contains(&option.name) {
                self.insert_user(option);
            } else {
                ignored.push(option);
            }
        }
        ignored
    }

    /// Every option the operator's tables set, added or replaced (upstream's `overrides` of the
    /// global section and the upload component).
    pub fn override_all(&mut self, options: Vec<UserOption>) {
        for option in options {
            self.insert_user(option);
        }
    }

    /// Upstream's `defaults` of the global section and the upload component
    /// (`defaults.shallow_merged_with(generated, KeepOther)`): only the options the table names
    /// are kept, with the generated value where there is one. Returns the generated options
    /// dropped, and the operator's options whose value was not used.
    pub fn keep_only_named(&mut self, defaults: Vec<UserOption>) -> (Vec<String>, Vec<UserOption>) {
        let named: Vec<&str> = defaults.iter().map(|o| o.name.as_str()).collect();
        let dropped: Vec<String> = self
            .entries
            .iter()
            .filter(|(name, e)| {
                // Groups of their own are kept (upstream keeps `custom_settings`).
                !matches!(e.place, Place::Custom(_) | Place::Header)
                    && !named.contains(&name.as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in &dropped {
            self.entries.shift_remove(name);
        }
        let unused = self.fill_in(defaults);
        (dropped, unused)
    }

    /// Sets an option as a later step of the generator does (after the operator's tables).
    /// Returns the operator's value it replaced, if any.
    pub fn assign(&mut self, name: &str, value: Value) -> Option<Lost> {
        let lost = match self.entries.get(name) {
            Some(Entry {
                origin: Origin::User(path),
                value: old,
                ..
            }) if *old != value => Some(Lost {
                key: path.clone(),
                instead: Some(value.clone()),
            }),
            _ => None,
        };
        match self.entries.get_mut(name) {
            Some(entry) => {
                entry.value = value;
                entry.origin = Origin::Generated;
            }
            None => self.set(name, value),
        }
        lost
    }

    /// Removes an option (upstream sets it to `None`). Returns the operator's value it removed.
    pub fn unset(&mut self, name: &str) -> Option<Lost> {
        match self.entries.shift_remove(name)?.origin {
            Origin::User(key) => Some(Lost { key, instead: None }),
            _ => None,
        }
    }

    fn list_mut(&mut self, name: &str) -> &mut Vec<Value> {
        if !matches!(self.get(name), Some(Value::List(_))) {
            self.set(name, Value::List(Vec::new()));
        }
        match &mut self.entries[name].value {
            Value::List(items) => items,
            _ => unreachable!("just made a list"),
        }
    }

    /// `LinkedHashSet::insert_if_absent` on a list option (created if need be): an item
    /// already there keeps its place.
    pub fn insert_if_absent(&mut self, name: &str, item: &str) {
        let item = Value::string(item);
        let items = self.list_mut(name);
        if !items.contains(&item) {
            items.push(item);
        }
    }

    /// `LinkedHashSet::insert` on a list option (created if need be): the item goes last,
    /// moved there if it was already in the list.
    pub fn insert_moving_to_end(&mut self, name: &str, item: Value) {
        let items = self.list_mut(name);
        items.retain(|i| *i != item);
        items.push(item);
    }

    /// Upstream's `enable_module`: `module` leaves `modules_disabled` (dropped once empty) and
    /// joins `modules_enabled` unless it is there. Returns the operator's `modules_disabled`
    /// item it removed, if any.
    pub fn enable_module(&mut self, module: &str) -> Option<Lost> {
        let item = Value::string(module);
        let mut lost = None;
        if let Some(entry) = self.entries.get_mut("modules_disabled")
            && let Value::List(items) = &mut entry.value
            && items.contains(&item)
        {
            items.retain(|i| *i != item);
            if let Origin::User(path) = &entry.origin {
                lost = Some(Lost {
                    key: path.clone(),
                    instead: None,
                });
            }
            if items.is_empty() {
                self.entries.shift_remove("modules_disabled");
            }
        }
        self.insert_if_absent("modules_enabled", module);
        lost
    }

    /// `LinkedHashMap::insert` into a table option (created if need be): the key goes last,
    /// moved there if it was already in the table. Returns the operator's entry it replaced.
    pub fn table_insert(&mut self, name: &str, key: &str, value: Value) -> Option<Lost> {
        if !matches!(self.get(name), Some(Value::Map(_))) {
            self.set(name, Value::Map(IndexMap::new()));
        }
        let entry = &mut self.entries[name];
        let Value::Map(map) = &mut entry.value else {
            unreachable!("just made a table")
        };
        let old = map.shift_remove(key);
        let lost = match (&entry.origin, old) {
            (Origin::User(path), Some(old)) if old != value => {
                let mut key_path = path.clone();
                key_path.push(key.to_owned());
                Some(Lost {
                    key: key_path,
                    instead: Some(value.clone()),
                })
            }
            _ => None,
        };
        map.insert(key.to_owned(), value);
        lost
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

    fn user(name: &str, value: Value) -> UserOption {
        UserOption {
            name: name.into(),
            value,
            origin: Origin::User(vec![
                "prosody".into(),
                "global".into(),
                "overrides".into(),
                name.into(),
            ]),
        }
    }

    fn names(s: &Settings) -> Vec<&str> {
        s.entries.keys().map(String::as_str).collect()
    }

    #[test]
    fn fill_in_adds_only_missing_options() {
        let mut s = Settings::default();
        s.set("http_host", Value::string("generated"));
        let ignored = s.fill_in(vec![
            user("http_host", Value::string("mine")),
            user("disco_hidden", Value::Bool(true)),
        ]);
        assert_eq!(s.get("http_host"), Some(&Value::string("generated")));
        assert_eq!(s.get("disco_hidden"), Some(&Value::Bool(true)));
        assert_eq!(ignored.len(), 1);
        assert_eq!(ignored[0].name, "http_host");
    }

    #[test]
    fn replace_existing_never_adds() {
        let mut s = Settings::default();
        s.set("http_host", Value::string("generated"));
        let ignored = s.replace_existing(vec![
            user("http_host", Value::string("mine")),
            user("limits", Value::map([("c2s", Value::map::<_, &str>([]))])),
        ]);
        assert_eq!(s.get("http_host"), Some(&Value::string("mine")));
        assert_eq!(s.get("limits"), None);
        assert_eq!(ignored.len(), 1);
        assert_eq!(ignored[0].name, "limits");
        assert_eq!(
            s.entries["http_host"].origin.user_key().as_deref(),
            Some("prosody.global.overrides.http_host")
        );
    }

    #[test]
    fn values_are_replaced_whole() {
        let mut s = Settings::default();
        s.set(
            "limits",
            Value::map([(
                "c2s",
                Value::map([
                    ("rate", Value::string("50kb/s")),
                    ("burst", Value::string("2s")),
                ]),
            )]),
        );
        let new = Value::map([("s2sin", Value::map([("rate", Value::string("1kb/s"))]))]);
        s.override_all(vec![user("limits", new.clone())]);
        assert_eq!(s.get("limits"), Some(&new));
    }

    #[test]
    fn global_defaults_keep_only_named_options_with_generated_values() {
        let mut s = Settings::default();
        s.set("log", Value::map([("info", Value::string("*console"))]));
        s.set("modules_enabled", Value::strings(["tls", "saslauth"]));
        s.set_custom("mod_cloud_notify", "push_notification_with_body", Value::Bool(true));
        let (dropped, unused) = s.keep_only_named(vec![
            user("modules_enabled", Value::strings(["foo"])),
            user("c2s_timeout", Value::string("5min")),
        ]);
        assert_eq!(dropped, ["log"]);
        assert_eq!(unused.len(), 1, "the generated modules win");
        assert_eq!(s.get("modules_enabled"), Some(&Value::strings(["tls", "saslauth"])));
        assert_eq!(s.get("c2s_timeout"), Some(&Value::string("5min")));
        assert!(s.entries.contains_key("push_notification_with_body"), "its own group is kept");
    }

    #[test]
    fn module_lists_follow_linked_hash_set() {
        let mut s = Settings::default();
        s.set("modules_enabled", Value::strings(["a", "mam", "b"]));
        s.set("modules_disabled", Value::strings(["s2s"]));
        assert_eq!(s.enable_module("s2s"), None);
        assert_eq!(s.get("modules_disabled"), None, "emptied, so dropped");
        s.enable_module("a");
        s.insert_moving_to_end("modules_enabled", Value::string("mam"));
        assert_eq!(
            s.get("modules_enabled"),
            Some(&Value::strings(["a", "b", "s2s", "mam"]))
        );
    }

    #[test]
    fn later_steps_report_the_operator_values_they_replace() {
        let mut s = Settings::default();
        s.override_all(vec![
            user("s2s_secure_auth", Value::Bool(true)),
            user("modules_disabled", Value::strings(["s2s", "bosh"])),
            user(
                "limits",
                Value::map([
                    ("c2s", Value::map([("rate", Value::string("1kb/s"))])),
                    ("s2sin", Value::map([("rate", Value::string("9kb/s"))])),
                ]),
            ),
        ]);
        let lost = s.assign("s2s_secure_auth", Value::Bool(false)).unwrap();
        assert_eq!(dotted(&lost.key), "prosody.global.overrides.s2s_secure_auth");
        assert_eq!(s.assign("s2s_ports", Value::List(vec![])), None);
        let lost = s.enable_module("s2s").unwrap();
        assert_eq!(dotted(&lost.key), "prosody.global.overrides.modules_disabled");
        assert_eq!(s.get("modules_disabled"), Some(&Value::strings(["bosh"])));
        let lost = s
            .table_insert("limits", "s2sin", Value::map([("rate", Value::string("250kb/s"))]))
            .unwrap();
        assert_eq!(dotted(&lost.key), "prosody.global.overrides.limits.s2sin");
        let Some(Value::Map(limits)) = s.get("limits") else {
            panic!()
        };
        assert_eq!(limits.keys().collect::<Vec<_>>(), ["c2s", "s2sin"]);
        assert_eq!(names(&s), ["s2s_secure_auth", "modules_disabled", "limits", "s2s_ports", "modules_enabled"]);
    }

    #[test]
    fn options_keep_generated_places_and_new_ones_go_last() {
        let mut s = Settings::default();
        s.set_custom(
            "mod_cloud_notify",
            "push_notification_with_body",
            Value::Bool(true),
        );
        s.set("http_host", Value::string("h"));
        s.override_all(vec![
            user("push_notification_with_body", Value::Bool(false)),
            user("my_option", Value::Integer(1)),
            user("trusted_proxies", Value::strings(["10.0.0.1"])),
        ]);
        let e = &s.entries["push_notification_with_body"];
        assert_eq!(e.place, Place::Custom("mod_cloud_notify"));
        assert_eq!(e.value, Value::Bool(false));
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
    fn unprintable_names_are_diagnosed() {
        let mut s = Settings::default();
        s.override_all(vec![user("__currenthost", Value::string("evil.org"))]);
        let errors = s.into_groups().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].0.user_key().as_deref(),
            Some("prosody.global.overrides.__currenthost")
        );
    }
}
