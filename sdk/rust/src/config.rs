//! The function's configuration: the `environment` table of its manifest entry.
//!
//! The same values are also visible as environment variables (`std::env::var`);
//! this module reads them without going through WASI's environment.
//! Off wasm (host unit tests) it reads the process environment.

use std::collections::BTreeMap;

/// The value of `key`, or `None` if the function has no such setting.
pub fn get(key: &str) -> Option<String> {
    imp::get(key)
}

/// All settings, sorted by key.
pub fn all() -> BTreeMap<String, String> {
    imp::all()
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use std::collections::BTreeMap;

    use crate::bindings::rondo::function::config;

    pub(super) fn get(key: &str) -> Option<String> {
        config::get(key)
    }

    pub(super) fn all() -> BTreeMap<String, String> {
        config::get_all().into_iter().collect()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::collections::BTreeMap;

    pub(super) fn get(key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    pub(super) fn all() -> BTreeMap<String, String> {
        std::env::vars().collect()
    }
}
