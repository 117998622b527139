//! Lag in seconds, as kafka-lag-exporter estimates it: every scrape's end-offset snapshot adds a point (time, end
//! offset) to a small table per partition; a committed offset is looked up in the table to find when the log end
//! was there (interpolated between points, extrapolated from the table's trend before its first point), and the
//! lag is the time since then.
//!
//! Tables only grow from snapshots (one per scrape); nothing here talks to Kafka. A point that goes backwards (a
//! topic deleted and created again, truncation) starts the table afresh rather than bending the estimate.

use std::collections::{HashMap, VecDeque};

/// Points kept per partition (kafka-lag-exporter keeps a sliding window too; 60 scrapes of 30 s is half an hour).
pub const MAX_POINTS: usize = 60;

/// One table: (seconds since the epoch, end offset), oldest first, offsets never decreasing.
#[derive(Clone, Debug, Default)]
pub struct Table {
    points: VecDeque<(f64, i64)>,
}

impl Table {
    /// Adds the end offset seen at `time`.
    pub fn add(&mut self, time: f64, offset: i64) {
        if let Some(&(last_time, last_offset)) = self.points.back() {
            if time <= last_time {
                return;
            }
            if offset < last_offset {
                self.points.clear();
            } else if offset == last_offset && self.points.len() > 1 && self.points[self.points.len() - 2].1 == offset {
                // A flat stretch keeps its first and its latest point only.
                if let Some(last) = self.points.back_mut() {
                    *last = (time, offset);
                }
                return;
            }
        }
        if self.points.len() == MAX_POINTS {
            self.points.pop_front();
        }
        self.points.push_back((time, offset));
    }

    /// When the log end was at `offset`, if the table can tell.
    pub fn time_of(&self, offset: i64) -> Option<f64> {
        let &(last_time, last_offset) = self.points.back()?;
        if offset >= last_offset {
            return Some(last_time);
        }
        if self.points.len() < 2 {
            return None;
        }
        // The newest segment that holds the offset; before the table, the trend from its first to its last point.
        let segment = self
            .points
            .iter()
            .zip(self.points.iter().skip(1))
            .rev()
            .find(|(left, right)| left.1 <= offset && offset <= right.1)
            .map(|(l, r)| (*l, *r))
            .unwrap_or((self.points[0], (last_time, last_offset)));
        let ((left_time, left_offset), (right_time, right_offset)) = segment;
        if right_offset == left_offset {
            return None;
        }
        let seconds_per_offset = (right_time - left_time) / (right_offset - left_offset) as f64;
        Some(right_time - (right_offset - offset) as f64 * seconds_per_offset)
    }

    /// The lag in seconds at the table's latest point of a group committed at `offset` (0 when caught up).
    pub fn lag_seconds(&self, offset: i64) -> Option<f64> {
        let &(now, _) = self.points.back()?;
        self.time_of(offset).map(|then| (now - then).max(0.0))
    }
}

/// The tables of every partition seen, keyed by (topic, partition).
#[derive(Debug, Default)]
pub struct LagTables {
    tables: HashMap<(String, i32), Table>,
}

impl LagTables {
    /// Adds a snapshot point.
    pub fn add(&mut self, topic: &str, partition: i32, time: f64, offset: i64) {
        match self.tables.get_mut(&(topic.to_string(), partition)) {
            Some(table) => table.add(time, offset),
            None => {
                let mut table = Table::default();
                table.add(time, offset);
                self.tables.insert((topic.to_string(), partition), table);
            }
        }
    }

    /// The lag in seconds of a group committed at `offset` on the partition.
    pub fn lag_seconds(&self, topic: &str, partition: i32, offset: i64) -> Option<f64> {
        self.tables.get(&(topic.to_string(), partition))?.lag_seconds(offset)
    }

    /// Forgets the partitions of topics that are gone.
    pub fn retain_topics(&mut self, exists: impl Fn(&str) -> bool) {
        self.tables.retain(|(topic, _), _| exists(topic));
    }

    /// How many partitions have a table.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether no partition has a table.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(points: &[(f64, i64)]) -> Table {
        let mut table = Table::default();
        for (time, offset) in points {
            table.add(*time, *offset);
        }
        table
    }

    #[test]
    fn interpolates_between_points() {
        let t = table(&[(100.0, 0), (110.0, 100), (120.0, 300)]);
        assert_eq!(t.time_of(50), Some(105.0));
        assert_eq!(t.time_of(200), Some(115.0));
        assert_eq!(t.lag_seconds(200), Some(5.0));
        assert_eq!(t.lag_seconds(100), Some(10.0));
        // Caught up (or ahead of the snapshot): no lag.
        assert_eq!(t.lag_seconds(300), Some(0.0));
        assert_eq!(t.lag_seconds(301), Some(0.0));
    }

    #[test]
    fn extrapolates_before_the_first_point() {
        // 10 offsets per second over the table: offset 0 was reached 10 s before the first point.
        let t = table(&[(100.0, 100), (110.0, 200)]);
        assert_eq!(t.time_of(0), Some(90.0));
        assert_eq!(t.lag_seconds(0), Some(20.0));
    }

    #[test]
    fn one_point_only_knows_caught_up() {
        let t = table(&[(100.0, 10)]);
        assert_eq!(t.lag_seconds(10), Some(0.0));
        assert_eq!(t.lag_seconds(5), None);
        assert_eq!(Table::default().lag_seconds(0), None);
    }

    #[test]
    fn flat_stretches_keep_first_and_latest_point() {
        let t = table(&[(100.0, 0), (110.0, 50), (120.0, 50), (130.0, 50), (140.0, 100)]);
        assert_eq!(t.points.len(), 4);
        assert_eq!(t.points[2], (130.0, 50));
        // 50 was the end from 110 to 130: the newest segment holding it says the log left it at 130.
        assert_eq!(t.time_of(50), Some(130.0));
        assert_eq!(t.time_of(75), Some(135.0));
        assert_eq!(t.lag_seconds(75), Some(5.0));
    }

    #[test]
    fn a_flat_table_cannot_extrapolate() {
        let t = table(&[(100.0, 50), (110.0, 50)]);
        assert_eq!(t.lag_seconds(50), Some(0.0));
        assert_eq!(t.lag_seconds(10), None);
    }

    #[test]
    fn going_backwards_starts_afresh_and_time_must_advance() {
        let mut t = table(&[(100.0, 500), (110.0, 600)]);
        t.add(105.0, 700);
        assert_eq!(t.points.len(), 2);
        t.add(120.0, 10);
        assert_eq!(t.points, VecDeque::from([(120.0, 10)]));
    }

    #[test]
    fn the_window_slides() {
        let mut t = Table::default();
        for i in 0..(MAX_POINTS as i64 + 10) {
            t.add(i as f64, i * 10);
        }
        assert_eq!(t.points.len(), MAX_POINTS);
        assert_eq!(t.points[0], (10.0, 100));
    }

    #[test]
    fn tables_per_partition() {
        let mut tables = LagTables::default();
        tables.add("a", 0, 100.0, 0);
        tables.add("a", 0, 110.0, 100);
        tables.add("b", 1, 110.0, 5);
        assert_eq!(tables.lag_seconds("a", 0, 50), Some(5.0));
        assert_eq!(tables.lag_seconds("a", 1, 50), None);
        tables.retain_topics(|t| t == "a");
        assert_eq!(tables.len(), 1);
    }
}
