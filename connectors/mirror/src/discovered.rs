//! What a connector's background thread found (topic-partitions, groups), shared with `task_configs`.
//!
//! Java looks at the clusters inside `start`, so the first task configurations are already complete. Here the
//! looking happens on a thread of the connector's own, and `task_configs` waits a bounded time for its first
//! result: a connector that moves to another worker then hands out the same tasks again instead of none.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A list found by a background thread; `None` until its first look.
pub struct Discovered<T> {
    items: Mutex<Option<Vec<T>>>,
    ready: Condvar,
}

impl<T: Clone + PartialEq> Default for Discovered<T> {
    fn default() -> Self {
        Discovered { items: Mutex::new(None), ready: Condvar::new() }
    }
}

impl<T: Clone + PartialEq> Discovered<T> {
    fn lock(&self) -> MutexGuard<'_, Option<Vec<T>>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets everything: the next look is a first one again.
    pub fn reset(&self) {
        *self.lock() = None;
    }

    /// Stores a look's result; true when it differs from what was known (a first result always does).
    pub fn update(&self, items: Vec<T>) -> bool {
        let mut current = self.lock();
        let changed = current.as_ref() != Some(&items);
        *current = Some(items);
        self.ready.notify_all();
        changed
    }

    /// Ends the wait of `task_configs` without a result (the first look failed).
    pub fn give_up(&self) {
        let mut current = self.lock();
        if current.is_none() {
            *current = Some(Vec::new());
        }
        self.ready.notify_all();
    }

    /// The current list, waiting up to `timeout` for the first look; empty when there is none yet.
    pub fn wait(&self, timeout: Duration) -> Vec<T> {
        let deadline = Instant::now() + timeout;
        let mut current = self.lock();
        while current.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Vec::new();
            }
            current = self.ready.wait_timeout(current, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        current.clone().unwrap_or_default()
    }

    /// The current list, without waiting.
    pub fn get(&self) -> Vec<T> {
        self.lock().clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waits_for_the_first_look_only() {
        let found = Arc::new(Discovered::<i32>::default());
        assert!(found.wait(Duration::from_millis(10)).is_empty());
        let writer = found.clone();
        let handle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            assert!(writer.update(vec![1, 2]));
        });
        assert_eq!(found.wait(Duration::from_secs(5)), vec![1, 2]);
        handle.join().unwrap();
        assert!(!found.update(vec![1, 2]));
        assert!(found.update(vec![3]));
        found.reset();
        found.give_up();
        assert!(found.wait(Duration::from_secs(5)).is_empty());
    }
}
