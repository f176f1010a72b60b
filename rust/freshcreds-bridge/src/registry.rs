//! Handles: ids into a registry, never pointers.
//!
//! Ids count up from 1 and are never reused, so a stale handle can never reach another entry, and
//! they stay within `1..=i64::MAX`, so every id is both a Java `long` and a C `uint64_t`. Calls
//! clone the entry's `Arc` out of the registry and work on that, so the lock is never held across
//! a call; removing an entry while another thread uses it is safe (that thread keeps its `Arc`).
//! A closed, unknown or never-issued id is [`CredentialsError::Closed`], never a crash.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use freshcreds_core::CredentialsError;

/// A registry of `T`s by handle.
pub struct Registry<T> {
    entries: Mutex<BTreeMap<u64, Arc<T>>>,
    next_id: AtomicU64,
}

impl<T> Registry<T> {
    pub const fn new() -> Self {
        Self { entries: Mutex::new(BTreeMap::new()), next_id: AtomicU64::new(1) }
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<T>>> {
        // Nothing panics while holding the lock; a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers `value` under a new handle. Fails (internal error) only once `i64::MAX` handles
    /// have been issued, which is centuries of agents away.
    pub fn insert(&self, value: T) -> Result<u64, CredentialsError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id == 0 || id > i64::MAX as u64 {
            return Err(CredentialsError::internal("the handle space is exhausted"));
        }
        self.entries().insert(id, Arc::new(value));
        Ok(id)
    }

    /// The entry, or `Closed` if the handle is closed, unknown or was never issued.
    pub fn get(&self, handle: u64) -> Result<Arc<T>, CredentialsError> {
        self.entries().get(&handle).cloned().ok_or(CredentialsError::Closed)
    }

    /// Takes the entry out; `Closed` if the handle was already closed or unknown. Of two threads
    /// removing the same handle, exactly one gets the entry.
    pub fn remove(&self, handle: u64) -> Result<Arc<T>, CredentialsError> {
        self.entries().remove(&handle).ok_or(CredentialsError::Closed)
    }

    /// How many entries are registered.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A Java `long` handle as a registry id: negative values were never issued, so they are mapped
/// to 0, which is not issued either (and so gives `Closed`).
pub fn handle_from_i64(handle: i64) -> u64 {
    u64::try_from(handle).unwrap_or(0)
}

/// A registry id as a Java `long`. Ids never exceed `i64::MAX` (see [`Registry::insert`]).
pub fn handle_to_i64(handle: u64) -> Result<i64, CredentialsError> {
    i64::try_from(handle).map_err(|_| CredentialsError::internal("a handle outside the Java long range"))
}

#[cfg(test)]
mod tests {
    use freshcreds_core::ErrorKind;

    use super::*;

    #[test]
    fn ids_count_up_from_one_and_are_never_reused() {
        let registry = Registry::new();
        let ids: Vec<u64> = ["a", "b"].into_iter().filter_map(|v| registry.insert(v).ok()).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(registry.get(1).map(|v| *v).ok(), Some("a"));
        assert!(registry.remove(1).is_ok());
        assert_eq!(registry.insert("c").ok(), Some(3), "the removed id is not handed out again");
        assert_eq!(registry.get(2).map(|v| *v).ok(), Some("b"));
        assert_eq!(registry.len(), 2);
    }

    #[test]
    fn closed_unknown_and_never_issued_handles_are_closed_errors() {
        let registry = Registry::new();
        let Ok(id) = registry.insert(5u8) else { panic!("inserts") };
        assert!(registry.remove(id).is_ok());
        for handle in [id, 0, 987_654, u64::MAX, handle_from_i64(-1), handle_from_i64(i64::MIN)] {
            assert_eq!(registry.get(handle).err().map(|e| e.kind()), Some(ErrorKind::Closed), "get {handle}");
            assert_eq!(registry.remove(handle).err().map(|e| e.kind()), Some(ErrorKind::Closed), "remove {handle}");
        }
        assert!(registry.is_empty());
    }

    #[test]
    fn an_entry_in_use_survives_its_removal() {
        let registry = Registry::new();
        let Ok(id) = registry.insert(String::from("agent")) else { panic!("inserts") };
        let Ok(in_use) = registry.get(id) else { panic!("registered") };
        assert!(registry.remove(id).is_ok());
        assert_eq!(in_use.as_str(), "agent");
        assert!(registry.get(id).is_err());
    }

    #[test]
    fn concurrent_removal_hands_the_entry_to_exactly_one_thread() {
        let registry = Arc::new(Registry::new());
        for _ in 0..50 {
            let Ok(id) = registry.insert(0u8) else { panic!("inserts") };
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let registry = Arc::clone(&registry);
                    std::thread::spawn(move || (registry.get(id).is_ok(), registry.remove(id).is_ok()))
                })
                .collect();
            let removed = threads.into_iter().filter_map(|t| t.join().ok()).filter(|(_, removed)| *removed).count();
            assert_eq!(removed, 1);
        }
        assert!(registry.is_empty());
    }

    #[test]
    fn java_longs_convert_both_ways() {
        assert_eq!(handle_from_i64(42), 42);
        assert_eq!(handle_from_i64(-42), 0);
        assert_eq!(handle_to_i64(42).ok(), Some(42));
        assert_eq!(handle_to_i64(i64::MAX as u64).ok(), Some(i64::MAX));
        assert_eq!(handle_to_i64(u64::MAX).err().map(|e| e.kind()), Some(ErrorKind::Internal));
    }
}
