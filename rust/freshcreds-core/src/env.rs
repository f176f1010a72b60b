//! Environment lookup, injectable so tests never depend on (or change) the process environment.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How a variable is looked up: the process environment, or a map in tests.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where configuration falls back to when an option is not given.
#[derive(Clone)]
pub struct Env(Arc<Lookup>);

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self(Arc::new(|name| std::env::var(name).ok()))
    }

    /// A fixed set of variables; everything else is unset.
    pub fn from_pairs<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self(Arc::new(move |name| map.get(name).cloned()))
    }

    /// Variables looked up by a function (tests build these from maps).
    pub fn from_fn(f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// An environment with nothing set.
    pub fn empty() -> Self {
        Self(Arc::new(|_| None))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}
