//! The checks after the schema pass: duplicate state names (read from the raw text, since a JSON object
//! keeps one value per key) and, per scope, transition targets, reachability and a terminal state.

use std::collections::{HashMap, HashSet};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::*;

impl Checker {
    /// Duplicates within one `States` object never reach the parsed tree (the last one wins), so
    /// the raw text is scanned for every state key of every scope the schema pass entered.
    pub(super) fn check_duplicate_names(&mut self, definition: &str) {
        let states_objects: HashSet<&str> = self
            .scopes
            .iter()
            .map(|scope| scope.states_location.as_str())
            .collect();
        let mut keys = Vec::new();
        let mut deserializer = serde_json::Deserializer::from_str(definition);
        let scan = KeyScan {
            location: String::new(),
            parent_is_states: false,
            keys: &mut keys,
        };
        if scan.deserialize(&mut deserializer).is_err() {
            return;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut duplicates = Vec::new();
        for (states_location, name) in &keys {
            if !states_objects.contains(states_location.as_str()) {
                continue;
            }
            if !seen.insert(name.as_str()) {
                duplicates.push((pointer(states_location, name), name.clone()));
            }
        }
        for (location, name) in duplicates {
            self.report(
                DUPLICATE_STATE_NAME,
                format!("Duplicate State name: {name}"),
                &location,
            );
        }
    }

    pub(super) fn check_graphs(&mut self) {
        let scopes = std::mem::take(&mut self.scopes);
        for scope in &scopes {
            self.check_graph(scope);
        }
        self.scopes = scopes;
    }

    pub(super) fn check_graph(&mut self, scope: &Scope) {
        let Some(start_at) = scope.start_at.as_deref() else {
            return;
        };
        let index_of: HashMap<&str, usize> = scope
            .states
            .iter()
            .enumerate()
            .map(|(index, state)| (state.name.as_str(), index))
            .collect();

        if !index_of.contains_key(start_at) {
            self.report(
                MISSING_TRANSITION_TARGET,
                format!("Missing 'Next' target: {start_at}"),
                &pointer(&scope.location, "StartAt"),
            );
        }
        for state in &scope.states {
            for transition in &state.transitions {
                if !index_of.contains_key(transition.target.as_str()) {
                    // AWS's text is known for `Next` only; `Default` names its own field.
                    self.report(
                        MISSING_TRANSITION_TARGET,
                        format!(
                            "Missing '{}' target: {}",
                            transition.field, transition.target
                        ),
                        &transition.location,
                    );
                }
            }
        }

        let mut reached = vec![false; scope.states.len()];
        let mut pending: Vec<usize> = index_of.get(start_at).copied().into_iter().collect();
        while let Some(index) = pending.pop() {
            if std::mem::replace(&mut reached[index], true) {
                continue;
            }
            for transition in &scope.states[index].transitions {
                if let Some(&target) = index_of.get(transition.target.as_str()) {
                    if !reached[target] {
                        pending.push(target);
                    }
                }
            }
        }
        for (state, reached) in scope.states.iter().zip(&reached) {
            if !reached {
                self.report(
                    MISSING_TRANSITION_TARGET,
                    format!("State \"{}\" is not reachable.", state.name),
                    &state.location,
                );
            }
        }

        if !scope.states.iter().any(|state| state.terminal) {
            // The root scope has no location, as recorded; nested scopes point at their branch/processor.
            let location = (!scope.location.is_empty()).then(|| scope.location.clone());
            self.diagnostics.push(Diagnostic {
                code: MISSING_END_STATE,
                message: "Workflow has no terminal state".to_string(),
                location,
            });
        }
    }
}

/// Walks raw JSON, recording `(pointer of the object, key)` for every key of every object stored
/// under a `States` key, duplicates included.
struct KeyScan<'a> {
    location: String,
    parent_is_states: bool,
    keys: &'a mut Vec<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for KeyScan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyScan<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let seed = KeyScan {
                location: pointer(&self.location, &index.to_string()),
                parent_is_states: false,
                keys: &mut *self.keys,
            };
            if items.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        while let Some(key) = entries.next_key::<String>()? {
            if self.parent_is_states {
                self.keys.push((self.location.clone(), key.clone()));
            }
            let seed = KeyScan {
                location: pointer(&self.location, &key),
                parent_is_states: key == "States",
                keys: &mut *self.keys,
            };
            entries.next_value_seed(seed)?;
        }
        Ok(())
    }
}
