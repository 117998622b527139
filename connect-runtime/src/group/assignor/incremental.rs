//! The incremental cooperative assignor (KIP-415; protocols "compatible" and "sessioned") with the semantics of Java's
//! `IncrementalCooperativeAssignor`: members keep what they run; the leader revokes deleted, duplicated and excess work,
//! and holds a departed member's work back for `scheduled.rebalance.max.delay.ms` in case it returns.
//! It must never assign an item some member already runs (revoke first, reassign in the follow-up round), and never
//! trust its memory of the previous round once a round did not complete (KAFKA-9848).
//!
//! # Ordering
//!
//! Java iterates `HashMap`s and `HashSet`s in several places where the order decides which worker or which item is
//! picked; here every such iteration is in sorted order (member ids, connector names, task ids), so results are
//! deterministic. Counts and balance are the same; the specific items or workers picked in a tie may differ.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{config_mismatch, leader_offset, members_by_id, Assignor, ClusterSnapshot, LeaderState, Member};
use crate::group::protocol::{Assignment, ConnectProtocol};
use crate::worker::status::TaskId;

/// Multiplier of the backoff between successive load-balancing revocations (KAFKA-12495); the initial interval is
/// 1 ms (0 when the max delay is 0) and the cap is the max delay, as in Java's `ExponentialBackoff(1, 40, max, 0)`.
const REVOCATION_BACKOFF_MULTIPLIER: f64 = 40.0;

/// A set of connector instances and tasks (Java's `ConnectorsAndTasks`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Items {
    connectors: BTreeSet<String>,
    tasks: BTreeSet<TaskId>,
}

impl Items {
    /// What a member reports running; revoked lists inside the allocation are history and are ignored, as in Java.
    fn of_allocation(allocation: &Assignment) -> Self {
        Items {
            connectors: allocation.connectors.iter().cloned().collect(),
            tasks: allocation.tasks.iter().cloned().collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    fn minus(&self, other: &Items) -> Items {
        Items {
            connectors: self.connectors.difference(&other.connectors).cloned().collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }

    fn intersection(&self, other: &Items) -> Items {
        Items {
            connectors: self.connectors.intersection(&other.connectors).cloned().collect(),
            tasks: self.tasks.intersection(&other.tasks).cloned().collect(),
        }
    }

    fn overlaps(&self, other: &Items) -> bool {
        !self.connectors.is_disjoint(&other.connectors) || !self.tasks.is_disjoint(&other.tasks)
    }

    fn extend(&mut self, other: &Items) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    fn remove_all(&mut self, other: &Items) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }
}

/// One member's assignment while the next one is being computed (Java's `WorkerLoad`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct WorkerLoad {
    worker: String,
    items: Items,
}

/// The outcome of one round before it is turned into per-member `Assignment`s.
#[derive(Debug, Default)]
struct ClusterAssignment {
    /// What each member must start.
    newly_assigned: BTreeMap<String, Items>,
    /// What each member must stop.
    revoked: BTreeMap<String, Items>,
    /// What each member runs once this round is applied.
    all_assigned: BTreeMap<String, Items>,
}

/// The incremental cooperative assignor. It remembers the previous round (assignment, revocations, generation,
/// members) and the scheduled rebalance delay, so the herder must keep one instance for as long as it may lead.
#[derive(Debug)]
pub struct IncrementalCooperativeAssignor {
    protocol: ConnectProtocol,
    /// `scheduled.rebalance.max.delay.ms`, in whole milliseconds and at most `i32::MAX` as Java's int config.
    max_delay_ms: i32,
    /// Everything assigned after the previous round, plus the lost items still held back.
    previous_assignment: Items,
    /// What the previous round revoked; if members still run any of it, the revocation did not take effect.
    previous_revocation: Items,
    /// Whether the previous round issued load-balancing revocations.
    revoked_in_previous: bool,
    /// Members that held nothing while lost work was held back: they receive it when the delay expires.
    candidate_workers: BTreeSet<String>,
    /// When held-back work (or held-back revocations) may be handed out; `None` when no delay is pending.
    scheduled_rebalance: Option<Instant>,
    /// The delay sent to members, in milliseconds; 0 when none is pending.
    delay_ms: i32,
    previous_generation: i32,
    previous_members: BTreeSet<String>,
    successive_revoking_rebalances: u32,
    /// The generation of this worker's last completed join (see [`Assignor::join_completed`]).
    last_completed_generation: i32,
    leader_state: Option<LeaderState>,
    /// What each member runs once the previous round is applied, and that round's stamp (generation + 1).
    round_members: BTreeMap<String, Items>,
    round_stamp: i32,
}

/// The round stamp connect-rs workers report: in the allocation of their metadata, the `delay` field holds minus
/// (the generation of the last assignment they applied, plus one). Java's leader reads only the connectors and tasks
/// of a member's allocation; Java members echo their last delay there, which is never negative, so it reads as 0
/// (no stamp).
///
/// A leader needs it on brokers whose JoinGroup answers the leader before the other members rejoined (tansu 0.6.0
/// does; Kafka waits for every member): a member that has not applied the previous round yet reports stale work.
pub fn allocation_stamp(allocation: &Assignment) -> i32 {
    if allocation.delay_ms < 0 {
        allocation.delay_ms.checked_neg().unwrap_or(0)
    } else {
        0
    }
}

impl IncrementalCooperativeAssignor {
    /// A new assignor for `protocol` ("compatible" or "sessioned"; eager is taken as "compatible", since an
    /// incremental assignment cannot be expressed in V0). `max_delay` is `scheduled.rebalance.max.delay.ms`; it is
    /// truncated to whole milliseconds and capped at `i32::MAX` ms like Java's int setting.
    pub fn new(protocol: ConnectProtocol, max_delay: Duration) -> Self {
        let protocol = if protocol.is_incremental() { protocol } else { ConnectProtocol::Compatible };
        IncrementalCooperativeAssignor {
            protocol,
            max_delay_ms: i32::try_from(max_delay.as_millis()).unwrap_or(i32::MAX),
            previous_assignment: Items::default(),
            previous_revocation: Items::default(),
            revoked_in_previous: false,
            candidate_workers: BTreeSet::new(),
            scheduled_rebalance: None,
            delay_ms: 0,
            // Java starts both at -1 (no generation), so the first round trusts the (empty) previous assignment.
            previous_generation: -1,
            previous_members: BTreeSet::new(),
            successive_revoking_rebalances: 0,
            last_completed_generation: -1,
            leader_state: None,
            round_members: BTreeMap::new(),
            round_stamp: 0,
        }
    }

    /// The rebalance delay sent with the last assignment, in milliseconds (0 when none is pending).
    pub fn delay_ms(&self) -> i32 {
        self.delay_ms
    }

    /// One round of Java's `performTaskAssignment(configSnapshot, lastCompletedGenerationId, generation, members)`.
    fn perform(
        &mut self,
        snapshot: &ClusterSnapshot,
        generation: i32,
        members: &BTreeMap<String, Items>,
        now: Instant,
    ) -> ClusterAssignment {
        // KAFKA-9848: if our last assignment never completed, members may not have received it, so the view of
        // the previous assignment may be wrong; start from what members report instead.
        if self.previous_generation != self.last_completed_generation {
            self.previous_assignment = Items::default();
        }

        let configured =
            Items { connectors: snapshot.connectors.keys().cloned().collect(), tasks: snapshot.tasks().collect() };
        let mut active = Items::default();
        for items in members.values() {
            active.extend(items);
        }

        // A member still runs something we revoked last round: the revocation did not take effect (for instance it
        // never received it). Take what is running as the previous assignment so it is computed again.
        if !self.previous_revocation.is_empty() {
            if self.previous_revocation.overlaps(&active) {
                self.previous_assignment = active.clone();
            }
            self.previous_revocation = Items::default();
        }

        let deleted = self.previous_assignment.minus(&configured);
        let duplicated = duplicated(members);
        let lost = self.previous_assignment.minus(&active).minus(&deleted);
        let created = configured.minus(&self.previous_assignment).minus(&active);

        // What members run now, less deleted items: the base the newly assigned items are computed against.
        let current: BTreeMap<&str, Items> =
            members.iter().map(|(w, items)| (w.as_str(), items.minus(&deleted))).collect();

        // Deleted items, and every copy of a duplicated item (KAFKA-9841: the last line of defence against zombies),
        // are revoked from whoever runs them and removed from the next assignment.
        let mut to_revoke: BTreeMap<String, Items> = BTreeMap::new();
        let mut next: Vec<WorkerLoad> =
            members.iter().map(|(w, items)| WorkerLoad { worker: w.clone(), items: items.clone() }).collect();
        for load in &mut next {
            let mut revoke = load.items.intersection(&deleted);
            revoke.extend(&load.items.intersection(&duplicated));
            load.items.remove_all(&revoke);
            if !revoke.is_empty() {
                to_revoke.entry(load.worker.clone()).or_default().extend(&revoke);
            }
        }

        let mut lost_to_reassign = Items::default();
        self.handle_lost_assignments(&lost, &mut lost_to_reassign, &mut next, now);

        // No load-balancing revocations while a delay is pending: departed members may come back for their work.
        if self.delay_ms == 0 {
            let balancing = load_balancing_revocations(&configured, &next);
            if self.revoked_in_previous && !balancing.is_empty() {
                // Revoking in two rounds in a row can mean a rebalance storm (KAFKA-12495): hold the revocations
                // back with an exponential backoff instead.
                self.successive_revoking_rebalances = self.successive_revoking_rebalances.saturating_add(1);
                let backoff = self.revocation_backoff_ms(self.successive_revoking_rebalances);
                if backoff != 0 {
                    self.delay_ms = backoff;
                    self.scheduled_rebalance = Some(after(now, duration_ms(backoff)));
                } else {
                    apply_revocations(&mut to_revoke, &mut next, &balancing);
                }
            } else if !balancing.is_empty() {
                apply_revocations(&mut to_revoke, &mut next, &balancing);
                self.revoked_in_previous = true;
            } else if self.revoked_in_previous {
                // The previous round revoked and this one need not: the load has converged.
                self.revoked_in_previous = false;
                self.successive_revoking_rebalances = 0;
            }
        } else {
            self.revoked_in_previous = false;
        }

        // New items first, then lost items being reassigned, each group sorted; an item is assigned once.
        let connectors_to_assign: Vec<String> = created
            .connectors
            .iter()
            .chain(lost_to_reassign.connectors.iter().filter(|c| !created.connectors.contains(*c)))
            .cloned()
            .collect();
        let tasks_to_assign: Vec<TaskId> = created
            .tasks
            .iter()
            .chain(lost_to_reassign.tasks.iter().filter(|t| !created.tasks.contains(*t)))
            .cloned()
            .collect();
        assign_level_by_level(&mut next, &connectors_to_assign, |w| &w.items.connectors, |w| &mut w.items.connectors);
        assign_level_by_level(&mut next, &tasks_to_assign, |w| &w.items.tasks, |w| &mut w.items.tasks);

        let all_assigned: BTreeMap<String, Items> = next.into_iter().map(|load| (load.worker, load.items)).collect();
        let newly_assigned: BTreeMap<String, Items> = all_assigned
            .iter()
            .map(|(w, items)| {
                let new = match current.get(w.as_str()) {
                    Some(current) => items.minus(current),
                    None => items.clone(),
                };
                (w.clone(), new)
            })
            .collect();

        // Remember this round: what runs after it, less what was revoked, plus the lost items still held back (so
        // they stay "lost" rather than "created" next round).
        let mut previous = Items::default();
        for items in all_assigned.values() {
            previous.extend(items);
        }
        for revoked in to_revoke.values() {
            previous.remove_all(revoked);
            self.previous_revocation.extend(revoked);
        }
        previous.extend(&lost);
        self.previous_assignment = previous;
        self.previous_generation = generation;
        self.previous_members = members.keys().cloned().collect();

        ClusterAssignment { newly_assigned, revoked: to_revoke, all_assigned }
    }

    /// Java's `handleLostAssignments`: decides whether the lost items are reassigned now (added to
    /// `to_reassign`, or given straight to candidate workers in `next`) or held back for the scheduled delay.
    fn handle_lost_assignments(
        &mut self,
        lost: &Items,
        to_reassign: &mut Items,
        next: &mut [WorkerLoad],
        now: Instant,
    ) {
        // Also runs with nothing lost while a revocation backoff is pending, which is how that delay counts down.
        if lost.is_empty() && !self.revoked_in_previous {
            self.reset_delay();
            return;
        }

        let all_previous_present = self.previous_members.iter().all(|m| next.iter().any(|w| &w.worker == m));
        if self.scheduled_rebalance.is_none() && all_previous_present {
            // Nobody left: the items were lost because some member missed the previous assignment. Reassign now.
            to_reassign.extend(lost);
            return;
        }
        if self.max_delay_ms == 0 {
            // Delays are disabled (KAFKA-15693): reassign lost work immediately.
            to_reassign.extend(lost);
            return;
        }

        match self.scheduled_rebalance {
            Some(scheduled) if now >= scheduled => {
                // The delay expired: give the lost work to the members that turned up empty-handed during it (most
                // likely the departed ones, back under a new member id), round-robin; with none, treat it as new.
                let candidates: Vec<usize> =
                    self.candidate_workers.iter().filter_map(|c| next.iter().position(|w| &w.worker == c)).collect();
                if candidates.is_empty() {
                    to_reassign.extend(lost);
                } else {
                    for (i, connector) in lost.connectors.iter().enumerate() {
                        if let Some(w) = candidates.get(i % candidates.len()).and_then(|&idx| next.get_mut(idx)) {
                            w.items.connectors.insert(connector.clone());
                        }
                    }
                    for (i, task) in lost.tasks.iter().enumerate() {
                        if let Some(w) = candidates.get(i % candidates.len()).and_then(|&idx| next.get_mut(idx)) {
                            w.items.tasks.insert(task.clone());
                        }
                    }
                }
                self.reset_delay();
                // The full delay has passed, so successive revoking rebalances are permitted again.
                self.revoked_in_previous = false;
            }
            pending => {
                self.candidate_workers.extend(next.iter().filter(|w| w.items.is_empty()).map(|w| w.worker.clone()));
                let max_delay = duration_ms(self.max_delay_ms);
                // First detection starts the full delay; later rounds send what remains of it.
                let delay = match pending {
                    Some(scheduled) => scheduled.saturating_duration_since(now).min(max_delay),
                    None => max_delay,
                };
                self.delay_ms = ceil_ms(delay);
                self.scheduled_rebalance = Some(after(now, delay));
            }
        }
    }

    fn reset_delay(&mut self) {
        self.candidate_workers.clear();
        self.scheduled_rebalance = None;
        self.delay_ms = 0;
    }

    /// Java's `ExponentialBackoff(maxDelay == 0 ? 0 : 1, 40, maxDelay, 0).backoff(attempts)`, in milliseconds.
    fn revocation_backoff_ms(&self, attempts: u32) -> i32 {
        let max = self.max_delay_ms.max(0);
        let initial = i32::from(max != 0);
        if max <= initial {
            return initial;
        }
        let exp_max = f64::from(max).ln() / REVOCATION_BACKOFF_MULTIPLIER.ln();
        let term = f64::from(initial) * REVOCATION_BACKOFF_MULTIPLIER.powf(f64::from(attempts).min(exp_max));
        // `as` saturates and truncates like Java's (long) cast; the result is then capped at the max delay.
        (term as i64).min(i64::from(max)) as i32
    }
}

impl Assignor for IncrementalCooperativeAssignor {
    fn assign(
        &mut self,
        leader_id: &str,
        leader_url: &str,
        generation: i32,
        snapshot: &ClusterSnapshot,
        members: &[Member],
        now: Instant,
    ) -> BTreeMap<String, Assignment> {
        let version = self.protocol.version();
        let members = members_by_id(members);
        if members.is_empty() {
            return BTreeMap::new();
        }
        // A mismatch changes no state: like Java, the round is not remembered as an assignment.
        let offset = match leader_offset(snapshot, &members) {
            Ok(offset) => offset,
            Err(max) => return config_mismatch(version, leader_id, leader_url, max, &members),
        };
        let actual: BTreeMap<String, Items> = members
            .iter()
            .map(|(id, md)| (id.to_string(), md.allocation.as_ref().map(Items::of_allocation).unwrap_or_default()))
            .collect();
        // A member whose stamp shows it has not applied the previous round yet is taken to run what that round
        // gave it; it then receives its complete set (see below), so it converges whichever round it applied.
        let stale: BTreeSet<String> = members
            .iter()
            .filter(|(id, md)| {
                let stamp = md.allocation.as_ref().map(allocation_stamp).unwrap_or(0);
                stamp > 0 && stamp < self.round_stamp && self.round_members.contains_key(**id)
            })
            .map(|(id, _)| id.to_string())
            .collect();
        let reported: BTreeMap<String, Items> = actual
            .iter()
            .map(|(id, items)| {
                let items = match self.round_members.get(id) {
                    Some(believed) if stale.contains(id) => believed.clone(),
                    _ => items.clone(),
                };
                (id.clone(), items)
            })
            .collect();

        let result = self.perform(snapshot, generation, &reported, now);

        self.leader_state = Some(LeaderState::new(
            &members,
            result.all_assigned.iter().flat_map(|(w, items)| items.connectors.iter().map(move |c| (c, w))),
            result.all_assigned.iter().flat_map(|(w, items)| items.tasks.iter().map(move |t| (t, w))),
        ));

        let assignments = members
            .keys()
            .map(|id| {
                let mut assignment = Assignment::empty(version, leader_id, leader_url, offset);
                if let Some(new) = result.newly_assigned.get(*id) {
                    assignment.connectors = new.connectors.iter().cloned().collect();
                    assignment.tasks = new.tasks.iter().cloned().collect();
                }
                if let Some(revoked) = result.revoked.get(*id) {
                    assignment.revoked_connectors = revoked.connectors.iter().cloned().collect();
                    assignment.revoked_tasks = revoked.tasks.iter().cloned().collect();
                }
                if stale.contains(*id) {
                    // Everything it must run, and the revocation of anything else it may run: what it reported
                    // and what the previous round gave it.
                    let intended = result.all_assigned.get(*id).cloned().unwrap_or_default();
                    let mut possible = actual.get(*id).cloned().unwrap_or_default();
                    if let Some(believed) = self.round_members.get(*id) {
                        possible.extend(believed);
                    }
                    let revoke = possible.minus(&intended);
                    assignment.connectors = intended.connectors.iter().cloned().collect();
                    assignment.tasks = intended.tasks.iter().cloned().collect();
                    assignment.revoked_connectors = revoke.connectors.iter().cloned().collect();
                    assignment.revoked_tasks = revoke.tasks.iter().cloned().collect();
                }
                assignment.delay_ms = self.delay_ms;
                (id.to_string(), assignment)
            })
            .collect();
        self.round_members = result.all_assigned;
        self.round_stamp = generation.saturating_add(1);
        assignments
    }

    fn join_completed(&mut self, generation: i32) {
        self.last_completed_generation = generation;
    }

    fn protocol(&self) -> ConnectProtocol {
        self.protocol
    }

    fn switch_protocol(&mut self, protocol: ConnectProtocol) -> bool {
        if protocol.is_incremental() {
            self.protocol = protocol;
        }
        protocol.is_incremental()
    }

    fn leader_state(&self) -> Option<&LeaderState> {
        self.leader_state.as_ref()
    }
}

/// Items reported by more than one member.
fn duplicated(members: &BTreeMap<String, Items>) -> Items {
    let mut connectors: BTreeMap<&String, usize> = BTreeMap::new();
    let mut tasks: BTreeMap<&TaskId, usize> = BTreeMap::new();
    for items in members.values() {
        for c in &items.connectors {
            *connectors.entry(c).or_default() += 1;
        }
        for t in &items.tasks {
            *tasks.entry(t).or_default() += 1;
        }
    }
    Items {
        connectors: connectors.into_iter().filter(|(_, n)| *n > 1).map(|(c, _)| c.clone()).collect(),
        tasks: tasks.into_iter().filter(|(_, n)| *n > 1).map(|(t, _)| t.clone()).collect(),
    }
}

/// Adds `revocations` to `to_revoke` and takes them out of the next assignment.
fn apply_revocations(
    to_revoke: &mut BTreeMap<String, Items>,
    next: &mut [WorkerLoad],
    revocations: &BTreeMap<String, Items>,
) {
    for load in next.iter_mut() {
        if let Some(revoked) = revocations.get(&load.worker) {
            load.items.remove_all(revoked);
            to_revoke.entry(load.worker.clone()).or_default().extend(revoked);
        }
    }
}

/// Java's `performLoadBalancingRevocations`: for connectors and, separately, tasks, revoke from every worker above
/// its fair share (`total / workers`, with `total % workers` workers allowed one more) the excess. Workers are taken
/// in member id order for the "one more" allowance, and the revoked items are each worker's first in sorted order.
fn load_balancing_revocations(configured: &Items, workers: &[WorkerLoad]) -> BTreeMap<String, Items> {
    let mut result: BTreeMap<String, Items> = BTreeMap::new();
    // All workers new or emptied by this round's revocations, or nothing configured: nothing to balance.
    if workers.iter().all(|w| w.items.is_empty()) || configured.is_empty() {
        return result;
    }
    for (worker, revoked) in excess(configured.connectors.len(), workers, |w| &w.items.connectors) {
        result.entry(worker).or_default().connectors = revoked;
    }
    for (worker, revoked) in excess(configured.tasks.len(), workers, |w| &w.items.tasks) {
        result.entry(worker).or_default().tasks = revoked;
    }
    result
}

/// The items to take from each over-allocated worker for one resource kind (Java's `loadBalancingRevocations`).
fn excess<E: Ord + Clone>(
    total: usize,
    workers: &[WorkerLoad],
    allocation: impl Fn(&WorkerLoad) -> &BTreeSet<E>,
) -> BTreeMap<String, BTreeSet<E>> {
    let mut result = BTreeMap::new();
    let Some(min) = total.checked_div(workers.len()) else {
        return result;
    };
    let extra = total % workers.len();
    let at_min = workers.iter().filter(|w| allocation(w).len() == min).count();
    let at_min_plus_one = workers.iter().filter(|w| allocation(w).len() == min + 1).count();
    if at_min_plus_one == extra && at_min + at_min_plus_one == workers.len() {
        // Already balanced, counting the items still to be created.
        return result;
    }
    let mut extras_allowed = 0;
    for worker in workers {
        let size = allocation(worker).len();
        if size <= min {
            continue;
        }
        let allowed = if extras_allowed < extra {
            extras_allowed += 1;
            if size == min + 1 {
                continue;
            }
            min + 1
        } else {
            min
        };
        let revoked: BTreeSet<E> = allocation(worker).iter().take(size - allowed).cloned().collect();
        result.insert(worker.worker.clone(), revoked);
    }
    result
}

/// Java's `assignConnectors`/`assignTasks`: sort workers by load (ties by member id) and hand items out level by
/// level, one each to every worker at the lowest load, so the least loaded catch up first.
fn assign_level_by_level<E: Ord + Clone>(
    workers: &mut [WorkerLoad],
    items: &[E],
    allocation: fn(&WorkerLoad) -> &BTreeSet<E>,
    allocation_mut: fn(&mut WorkerLoad) -> &mut BTreeSet<E>,
) {
    workers.sort_by(|a, b| allocation(a).len().cmp(&allocation(b).len()).then_with(|| a.worker.cmp(&b.worker)));
    let mut items = items.iter().peekable();
    while items.peek().is_some() {
        // The list is not re-sorted: each pass raises a prefix of it by one, so the first worker is always at the
        // lowest level and `up_to` ends that level.
        let Some(level) = workers.first().map(|w| allocation(w).len()) else {
            return;
        };
        let up_to = workers.iter().position(|w| allocation(w).len() > level).unwrap_or(workers.len());
        for worker in workers.iter_mut().take(up_to) {
            let Some(item) = items.next() else {
                break;
            };
            allocation_mut(worker).insert(item.clone());
        }
    }
}

fn duration_ms(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Whole milliseconds, rounded up so that a delay still pending is never sent as 0 ("no delay").
fn ceil_ms(d: Duration) -> i32 {
    i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
}

/// `now + d`, or `now` in the (unreachable, d is at most ~25 days) case the clock would overflow.
fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::assignor::DEFAULT_MAX_DELAY;
    use crate::group::protocol::{AssignmentError, WorkerMetadata};

    const MAX_DELAY_MS: i32 = 300_000;

    fn t(connector: &str, task: u32) -> TaskId {
        TaskId { connector: connector.into(), task }
    }

    /// A group of workers driven round by round, as real workers would: each reports its current allocation in its
    /// metadata, and applies (previous - revoked + assigned) from the assignment it receives. Metadata and
    /// assignments go through the wire encoding both ways.
    struct Sim {
        assignor: IncrementalCooperativeAssignor,
        protocol: ConnectProtocol,
        connectors: BTreeMap<String, u32>,
        config_offset: i64,
        /// Each worker's allocation as it would put it in its metadata; `None` before its first assignment.
        workers: BTreeMap<String, Option<Assignment>>,
        generation: i32,
        now: Instant,
        last: BTreeMap<String, Assignment>,
    }

    impl Sim {
        /// Java's test fixture: connector1 and connector2 with 4 tasks each, one worker, default max delay.
        fn new() -> Self {
            Self::with_delay(MAX_DELAY_MS)
        }

        fn with_delay(max_delay_ms: i32) -> Self {
            let protocol = ConnectProtocol::Sessioned;
            let mut sim = Sim {
                assignor: IncrementalCooperativeAssignor::new(protocol, duration_ms(max_delay_ms)),
                protocol,
                connectors: BTreeMap::new(),
                config_offset: 618,
                workers: BTreeMap::new(),
                generation: 1000,
                now: Instant::now(),
                last: BTreeMap::new(),
            };
            sim.add_connector("connector1", 4);
            sim.add_connector("connector2", 4);
            sim.add_workers(&["worker1"]);
            sim
        }

        /// A new leader: a fresh assignor, as when the leader bounces.
        fn new_leader(&mut self) {
            let max = duration_ms(self.assignor.max_delay_ms);
            self.assignor = IncrementalCooperativeAssignor::new(self.protocol, max);
        }

        fn add_connector(&mut self, name: &str, tasks: u32) {
            assert!(self.connectors.insert(name.into(), tasks).is_none());
            self.config_offset += 1;
        }

        fn remove_connector(&mut self, name: &str) {
            assert!(self.connectors.remove(name).is_some());
            self.config_offset += 1;
        }

        fn add_workers(&mut self, names: &[&str]) {
            for name in names {
                assert!(self.workers.insert(name.to_string(), None).is_none(), "{name} exists");
            }
        }

        /// A worker joining while already running things (a zombie or a worker that missed revocations).
        fn add_worker_running(&mut self, name: &str, connectors: &[&str], tasks: &[TaskId]) {
            let mut allocation = Assignment::empty(self.protocol.version(), "old-leader", "http://old", 0);
            allocation.connectors = connectors.iter().map(|c| c.to_string()).collect();
            allocation.tasks = tasks.to_vec();
            assert!(self.workers.insert(name.into(), Some(allocation)).is_none());
        }

        fn remove_workers(&mut self, names: &[&str]) {
            for name in names {
                assert!(self.workers.remove(*name).is_some(), "{name} missing");
            }
        }

        fn advance_ms(&mut self, ms: i32) {
            self.now += duration_ms(ms);
        }

        fn snapshot(&self) -> ClusterSnapshot {
            ClusterSnapshot { config_offset: self.config_offset, connectors: self.connectors.clone() }
        }

        fn members(&self) -> Vec<Member> {
            self.workers
                .iter()
                .map(|(id, allocation)| {
                    let md = WorkerMetadata {
                        url: format!("http://{id}:8083"),
                        config_offset: self.config_offset,
                        allocation: allocation.clone(),
                    };
                    let bytes = md.encode(self.protocol).expect("metadata encodes");
                    Member {
                        member_id: id.clone(),
                        metadata: WorkerMetadata::decode(&bytes).expect("metadata decodes"),
                    }
                })
                .collect()
        }

        /// One round; `complete` false models a SyncGroup that failed: nobody applies it and no join completes.
        fn round(&mut self, complete: bool) {
            self.generation += 1;
            let members = self.members();
            let leader = members.first().map(|m| m.member_id.clone()).unwrap_or_default();
            let snapshot = self.snapshot();
            let out =
                self.assignor.assign(&leader, "http://leader:8083", self.generation, &snapshot, &members, self.now);
            let out: BTreeMap<String, Assignment> = out
                .into_iter()
                .map(|(id, a)| (id, Assignment::decode(&a.encode().expect("encodes")).expect("decodes")))
                .collect();
            assert_eq!(out.keys().collect::<Vec<_>>(), self.workers.keys().collect::<Vec<_>>());
            for a in out.values() {
                assert_eq!(a.version, self.protocol.version());
                assert_eq!(a.error, AssignmentError::NoError);
                assert_eq!((a.leader.as_str(), a.config_offset), (leader.as_str(), self.config_offset));
                assert_eq!(a.delay_ms, self.assignor.delay_ms());
            }
            self.assert_no_redundant_assignments(&out);
            if complete {
                for (id, a) in &out {
                    let Some(slot) = self.workers.get_mut(id) else { continue };
                    let mut running = slot.as_ref().map(Items::of_allocation).unwrap_or_default();
                    running.remove_all(&Items {
                        connectors: a.revoked_connectors.iter().cloned().collect(),
                        tasks: a.revoked_tasks.iter().cloned().collect(),
                    });
                    running.extend(&Items::of_allocation(a));
                    // What Java's WorkerCoordinator keeps as its snapshot: the received assignment augmented with
                    // what still runs, revoked lists and delay included.
                    let mut allocation = a.clone();
                    allocation.connectors = running.connectors.into_iter().collect();
                    allocation.tasks = running.tasks.into_iter().collect();
                    *slot = Some(allocation);
                }
                self.assignor.join_completed(self.generation);
            }
            self.last = out;
        }

        fn rebalance(&mut self) {
            self.round(true);
        }

        fn failed_rebalance(&mut self) {
            self.round(false);
        }

        /// No item newly assigned in a round may already run somewhere, nor go to two members.
        fn assert_no_redundant_assignments(&self, out: &BTreeMap<String, Assignment>) {
            let running = self.running();
            let mut seen = Items::default();
            for a in out.values() {
                for c in &a.connectors {
                    assert!(!running.connectors.contains(c), "{c} assigned but already running");
                    assert!(seen.connectors.insert(c.clone()), "{c} assigned twice");
                }
                for task in &a.tasks {
                    assert!(!running.tasks.contains(task), "{task} assigned but already running");
                    assert!(seen.tasks.insert(task.clone()), "{task} assigned twice");
                }
            }
        }

        fn allocation(&self, worker: &str) -> Items {
            self.workers.get(worker).and_then(|a| a.as_ref()).map(Items::of_allocation).unwrap_or_default()
        }

        fn running(&self) -> Items {
            let mut all = Items::default();
            for id in self.workers.keys() {
                all.extend(&self.allocation(id));
            }
            all
        }

        fn counts(&self, pick: fn(&Items) -> usize) -> Vec<usize> {
            let mut counts: Vec<usize> = self.workers.keys().map(|id| pick(&self.allocation(id))).collect();
            counts.sort_unstable();
            counts
        }

        fn assert_connector_allocations(&self, expected: &[usize]) {
            let mut expected = expected.to_vec();
            expected.sort_unstable();
            assert_eq!(self.counts(|i| i.connectors.len()), expected, "connector allocations");
        }

        fn assert_task_allocations(&self, expected: &[usize]) {
            let mut expected = expected.to_vec();
            expected.sort_unstable();
            assert_eq!(self.counts(|i| i.tasks.len()), expected, "task allocations");
        }

        fn assert_delay(&self, expected: i32) {
            assert_eq!(self.assignor.delay_ms(), expected, "delay");
        }

        fn assert_workers(&self, expected: &[&str]) {
            assert_eq!(self.last.keys().map(String::as_str).collect::<Vec<_>>(), expected);
        }

        fn assert_no_revocations(&self) {
            for (id, a) in &self.last {
                assert!(a.revoked_connectors.is_empty() && a.revoked_tasks.is_empty(), "{id} got revocations: {a:?}");
            }
        }

        fn assert_empty_assignment(&self) {
            self.assert_no_revocations();
            for (id, a) in &self.last {
                assert!(a.connectors.is_empty() && a.tasks.is_empty(), "{id} got assignments: {a:?}");
            }
        }

        /// Every configured item runs exactly once, nothing else runs, and counts differ by at most one.
        fn assert_balanced_and_complete(&self) {
            let mut connectors: BTreeMap<String, usize> = BTreeMap::new();
            let mut tasks: BTreeMap<TaskId, usize> = BTreeMap::new();
            for id in self.workers.keys() {
                let items = self.allocation(id);
                for c in items.connectors {
                    *connectors.entry(c).or_default() += 1;
                }
                for task in items.tasks {
                    *tasks.entry(task).or_default() += 1;
                }
            }
            let snapshot = self.snapshot();
            let expected_connectors: BTreeMap<String, usize> =
                snapshot.connectors.keys().map(|c| (c.clone(), 1)).collect();
            let expected_tasks: BTreeMap<TaskId, usize> = snapshot.tasks().map(|task| (task, 1)).collect();
            assert_eq!(connectors, expected_connectors, "every connector runs exactly once");
            assert_eq!(tasks, expected_tasks, "every task runs exactly once");
            for counts in [self.counts(|i| i.connectors.len()), self.counts(|i| i.tasks.len())] {
                let spread = counts.last().copied().unwrap_or(0) - counts.first().copied().unwrap_or(0);
                assert!(spread <= 1, "imbalanced: {counts:?}");
            }
        }

        /// Lets pending delays expire and follow-up rounds run until nothing changes, then checks the end state.
        fn converge(&mut self) {
            for _ in 0..20 {
                if self.assignor.delay_ms() > 0 {
                    self.advance_ms(self.assignor.delay_ms());
                }
                self.rebalance();
                let quiet = self.last.values().all(|a| {
                    a.connectors.is_empty()
                        && a.tasks.is_empty()
                        && a.revoked_connectors.is_empty()
                        && a.revoked_tasks.is_empty()
                });
                if quiet && self.assignor.delay_ms() == 0 {
                    self.assert_balanced_and_complete();
                    return;
                }
            }
            panic!("did not converge: {:?}", self.workers);
        }
    }

    // IncrementalCooperativeAssignorTest.testTaskAssignmentWhenWorkerJoins
    #[test]
    fn worker_joins_balanced_by_revocation_then_follow_up_assignment() {
        let mut sim = Sim::new();
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_workers(&["worker1"]);
        sim.assert_connector_allocations(&[2]);
        sim.assert_task_allocations(&[8]);
        sim.assert_balanced_and_complete();

        // A second worker joins: first round only revokes from worker1.
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_workers(&["worker1", "worker2"]);
        sim.assert_connector_allocations(&[0, 1]);
        sim.assert_task_allocations(&[0, 4]);
        assert!(sim.last["worker2"].connectors.is_empty() && sim.last["worker2"].tasks.is_empty());
        assert_eq!((sim.last["worker1"].revoked_connectors.len(), sim.last["worker1"].revoked_tasks.len()), (1, 4));

        // The follow-up round (requested by worker1 after revoking) hands the revoked work to worker2.
        sim.rebalance();
        sim.assert_no_revocations();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        assert_eq!((sim.last["worker2"].connectors.len(), sim.last["worker2"].tasks.len()), (1, 4));
        sim.assert_balanced_and_complete();

        // Nothing changes afterwards.
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_empty_assignment();
        sim.converge();
    }

    // testAssignmentsWhenWorkersJoinAfterRevocations: successive revoking rounds back off (KAFKA-12495).
    #[test]
    fn successive_revocations_back_off_exponentially() {
        let mut sim = Sim::new();
        sim.add_connector("connector3", 4);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[3]);
        sim.assert_task_allocations(&[12]);
        sim.assert_balanced_and_complete();

        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[0, 2]);
        sim.assert_task_allocations(&[0, 6]);

        // A third worker joins right after the revoking round: no revocations now, a short backoff instead, but the
        // previously revoked work is assigned.
        sim.add_workers(&["worker3"]);
        sim.rebalance();
        sim.assert_delay(40);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 1, 2]);
        sim.assert_task_allocations(&[3, 3, 6]);

        // After the backoff, a fourth worker: revocations again.
        sim.advance_ms(sim.assignor.delay_ms());
        sim.add_workers(&["worker4"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[0, 0, 1, 1]);
        sim.assert_task_allocations(&[0, 3, 3, 3]);

        // A fifth worker right after: a longer backoff (40^2 ms).
        sim.add_workers(&["worker5"]);
        sim.rebalance();
        sim.assert_delay(1600);
        sim.assert_connector_allocations(&[0, 0, 1, 1, 1]);
        sim.assert_task_allocations(&[1, 2, 3, 3, 3]);

        // A sixth worker after it expires: revoke, then the follow-up balances everything.
        sim.advance_ms(sim.assignor.delay_ms());
        sim.add_workers(&["worker6"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 0, 0, 1, 1, 1]);
        sim.assert_task_allocations(&[0, 1, 2, 2, 2, 2]);

        sim.rebalance();
        sim.assert_connector_allocations(&[0, 0, 0, 1, 1, 1]);
        sim.assert_task_allocations(&[2, 2, 2, 2, 2, 2]);
        sim.assert_balanced_and_complete();
        sim.converge();
    }

    #[test]
    fn revocation_backoff_follows_javas_exponential_backoff() {
        let a = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, DEFAULT_MAX_DELAY);
        let delays: Vec<i32> = (1..=6).map(|n| a.revocation_backoff_ms(n)).collect();
        assert_eq!(&delays[..3], [40, 1600, 64_000]);
        // Capped at the max delay from the fourth on (40^3.42 reaches 300 000; float rounding may give 299 999).
        assert!(delays[3..].iter().all(|d| (299_999..=300_000).contains(d)), "{delays:?}");
        let one = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, Duration::from_millis(1));
        assert_eq!(one.revocation_backoff_ms(5), 1);
        let zero = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, Duration::ZERO);
        assert_eq!(zero.revocation_backoff_ms(5), 0);
    }

    // testImmediateRevocationsWhenMaxDelayIs0
    #[test]
    fn max_delay_zero_revokes_immediately_every_time() {
        let mut sim = Sim::with_delay(0);
        sim.add_connector("connector3", 4);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[3]);
        sim.assert_task_allocations(&[12]);

        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[0, 2]);
        sim.assert_task_allocations(&[0, 6]);

        // A successive revoking round, but with no delay allowed it revokes anyway.
        sim.add_workers(&["worker3"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[3, 3, 4]);

        sim.rebalance();
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[1, 1, 1]);
        sim.assert_task_allocations(&[4, 4, 4]);
        sim.assert_balanced_and_complete();
    }

    // testSuccessiveRevocationsWhenMaxDelayIsEqualToExpBackOffInitialInterval
    #[test]
    fn max_delay_of_one_ms_backs_off_one_ms() {
        let mut sim = Sim::with_delay(1);
        sim.add_connector("connector3", 4);
        sim.rebalance();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[0, 2]);
        sim.assert_task_allocations(&[0, 6]);

        sim.add_workers(&["worker3"]);
        sim.rebalance();
        sim.assert_delay(1);
        sim.assert_connector_allocations(&[0, 1, 2]);
        sim.assert_task_allocations(&[3, 3, 6]);
        sim.converge();
    }

    // testWorkerJoiningDuringDelayedRebalance
    #[test]
    fn worker_joining_while_a_backoff_is_pending_waits_for_it() {
        let mut sim = Sim::new();
        sim.add_connector("connector3", 4);
        sim.rebalance();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[0, 2]);
        sim.assert_task_allocations(&[0, 6]);

        sim.add_workers(&["worker3"]);
        sim.rebalance();
        assert!(sim.assignor.delay_ms() > 0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 1, 2]);
        sim.assert_task_allocations(&[3, 3, 6]);

        // Halfway through the backoff a fourth worker joins: nothing is revoked yet.
        sim.advance_ms(sim.assignor.delay_ms() / 2);
        sim.add_workers(&["worker4"]);
        sim.rebalance();
        assert!(sim.assignor.delay_ms() > 0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 0, 1, 2]);
        sim.assert_task_allocations(&[0, 3, 3, 6]);

        // After the backoff a fifth worker: load-balancing revocations.
        sim.advance_ms(sim.assignor.delay_ms());
        sim.add_workers(&["worker5"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 0, 0, 1, 1]);
        sim.assert_task_allocations(&[0, 0, 2, 3, 3]);

        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 0, 1, 1, 1]);
        sim.assert_task_allocations(&[2, 2, 2, 3, 3]);
        sim.assert_balanced_and_complete();
    }

    // testTaskAssignmentWhenWorkerLeavesPermanently
    #[test]
    fn departed_workers_work_is_held_for_the_delay_then_reassigned() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        sim.assert_balanced_and_complete();

        // worker2 leaves: its work is held back, and the delay starts at the max.
        sim.remove_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(MAX_DELAY_MS);
        sim.assert_workers(&["worker1"]);
        sim.assert_empty_assignment();

        // An incidental round halfway: the remaining delay is sent.
        sim.advance_ms(MAX_DELAY_MS / 2);
        sim.rebalance();
        sim.assert_delay(MAX_DELAY_MS / 2);
        sim.assert_empty_assignment();

        // The delay expires: the lost work is reassigned.
        sim.advance_ms(MAX_DELAY_MS / 2 + 1);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[2]);
        sim.assert_task_allocations(&[8]);
        sim.assert_balanced_and_complete();
        sim.converge();
    }

    // testTaskAssignmentWhenWorkerBounces
    #[test]
    fn returning_worker_gets_its_work_back_when_the_delay_expires() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        let worker2_had = sim.allocation("worker2");

        sim.remove_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(MAX_DELAY_MS);
        sim.assert_empty_assignment();

        sim.advance_ms(MAX_DELAY_MS / 2);
        sim.rebalance();
        sim.assert_delay(MAX_DELAY_MS / 2);
        sim.assert_empty_assignment();

        // worker2 comes back before the delay expires: it waits (and becomes a candidate).
        sim.advance_ms(MAX_DELAY_MS / 4);
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(MAX_DELAY_MS / 4);
        sim.assert_workers(&["worker1", "worker2"]);
        sim.assert_empty_assignment();

        // The delay expires: the lost work goes to the candidate, without revocations.
        sim.advance_ms(MAX_DELAY_MS / 4);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        assert_eq!(sim.allocation("worker2"), worker2_had);
        sim.assert_balanced_and_complete();
        sim.converge();
    }

    // testTaskAssignmentWhenLeaderLeavesPermanently
    #[test]
    fn new_leader_without_history_reassigns_the_old_leaders_work_at_once() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2", "worker3"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[2, 3, 3]);
        sim.assert_balanced_and_complete();

        // The leader leaves; the new leader starts from a clean slate, so nothing is "lost": it is all "created".
        sim.remove_workers(&["worker1"]);
        sim.new_leader();
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_workers(&["worker2", "worker3"]);
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        sim.assert_balanced_and_complete();

        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_empty_assignment();
    }

    // testTaskAssignmentWhenLeaderBounces
    #[test]
    fn old_leader_returning_is_a_new_worker() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2", "worker3"]);
        sim.rebalance();
        sim.remove_workers(&["worker1"]);
        sim.new_leader();
        sim.rebalance();
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);

        sim.add_workers(&["worker1"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_workers(&["worker1", "worker2", "worker3"]);
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[0, 3, 3]);

        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[2, 3, 3]);
        sim.assert_balanced_and_complete();
    }

    // testTaskAssignmentWhenFirstAssignmentAttemptFails
    #[test]
    fn failed_first_sync_is_recomputed_without_delay() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.failed_rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 0]);
        sim.assert_task_allocations(&[0, 0]);

        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        sim.assert_balanced_and_complete();
    }

    // testTaskAssignmentWhenSubsequentAssignmentAttemptFails (and ...OutsideTheAssignor: here a failed sync is
    // exactly a generation mismatch, since no join completes).
    #[test]
    fn failed_revoking_sync_is_retried_after_a_backoff() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);

        // worker3 joins; the revoking assignment never reaches the members.
        sim.add_workers(&["worker3"]);
        sim.failed_rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[0, 4, 4]);
        assert!(sim.last.values().any(|a| !a.revoked_tasks.is_empty()));

        // Members report the same as before; this is a successive revoking round, so it backs off.
        sim.rebalance();
        assert!(sim.assignor.delay_ms() > 0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[0, 4, 4]);

        sim.advance_ms(sim.assignor.delay_ms());
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[0, 3, 3]);

        sim.rebalance();
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[2, 3, 3]);
        sim.assert_balanced_and_complete();
    }

    // testTaskAssignmentWhenConnectorsAreDeleted
    #[test]
    fn deleted_connector_is_revoked_with_its_tasks() {
        let mut sim = Sim::new();
        sim.add_connector("connector3", 4);
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[1, 2]);
        sim.assert_task_allocations(&[6, 6]);
        sim.assert_balanced_and_complete();

        sim.remove_connector("connector3");
        sim.rebalance();
        sim.assert_delay(0);
        let revoked: Vec<&Assignment> = sim.last.values().filter(|a| !a.revoked_connectors.is_empty()).collect();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].revoked_connectors, ["connector3"]);
        let revoked_tasks: BTreeSet<TaskId> = sim.last.values().flat_map(|a| a.revoked_tasks.clone()).collect();
        assert_eq!(revoked_tasks, (0..4).map(|n| t("connector3", n)).collect());
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        sim.assert_balanced_and_complete();
        sim.converge();
    }

    // testScheduledDelayIsDisabled
    #[test]
    fn max_delay_zero_reassigns_a_departed_workers_work_at_once() {
        let mut sim = Sim::with_delay(0);
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);

        sim.remove_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_workers(&["worker1"]);
        sim.assert_connector_allocations(&[2]);
        sim.assert_task_allocations(&[8]);
        sim.assert_balanced_and_complete();
    }

    // testTaskAssignmentWhenTasksDuplicatedInWorkerAssignment
    #[test]
    fn duplicated_items_are_revoked_from_every_holder() {
        let mut sim = Sim::new();
        sim.rebalance();
        sim.assert_connector_allocations(&[2]);
        sim.assert_task_allocations(&[8]);

        // worker2 joins claiming connector1 and its tasks, which worker1 runs too.
        let dup_tasks: Vec<TaskId> = (0..4).map(|n| t("connector1", n)).collect();
        sim.add_worker_running("worker2", &["connector1"], &dup_tasks);
        sim.rebalance();
        sim.assert_delay(0);
        for id in ["worker1", "worker2"] {
            assert!(sim.last[id].revoked_connectors.contains(&"connector1".to_string()), "{id}");
            assert!(dup_tasks.iter().all(|task| sim.last[id].revoked_tasks.contains(task)), "{id}");
        }
        sim.assert_connector_allocations(&[0, 1]);
        sim.assert_task_allocations(&[0, 4]);

        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[1, 1]);
        sim.assert_task_allocations(&[4, 4]);
        sim.assert_balanced_and_complete();

        sim.rebalance();
        sim.assert_empty_assignment();
    }

    // testDuplicatedAssignmentHandleWhenTheDuplicatedAssignmentsDeleted
    #[test]
    fn duplicated_items_of_a_deleted_connector_are_revoked() {
        let mut sim = Sim::new();
        sim.rebalance();
        sim.remove_connector("connector1");
        let dup_tasks: Vec<TaskId> = (0..4).map(|n| t("connector1", n)).collect();
        sim.add_worker_running("worker2", &["connector1"], &dup_tasks);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[0, 1]);
        sim.assert_task_allocations(&[0, 2]);

        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_no_revocations();
        sim.assert_connector_allocations(&[0, 1]);
        sim.assert_task_allocations(&[2, 2]);
        sim.assert_balanced_and_complete();

        sim.rebalance();
        sim.assert_empty_assignment();
    }

    #[test]
    fn stale_leader_snapshot_is_a_config_mismatch_and_changes_nothing() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        let before = sim.workers.clone();

        let members = sim.members();
        let mut stale = sim.snapshot();
        stale.config_offset -= 5;
        stale.connectors.insert("connector9".into(), 3);
        let out = sim.assignor.assign("worker1", "http://leader:8083", 2000, &stale, &members, sim.now);
        assert_eq!(out.len(), 2);
        for a in out.values() {
            assert_eq!(a.error, AssignmentError::ConfigMismatch);
            assert_eq!(a.config_offset, sim.config_offset);
            assert_eq!(a.version, ConnectProtocol::Sessioned.version());
            assert!(a.connectors.is_empty() && a.tasks.is_empty() && a.revoked_tasks.is_empty());
            assert_eq!(a.delay_ms, 0);
        }
        // The mismatch round completes (members get the error) and they rejoin; with an up-to-date snapshot the
        // leader carries on as if nothing happened.
        sim.assignor.join_completed(2000);
        sim.generation = 2000;
        sim.rebalance();
        sim.assert_empty_assignment();
        assert_eq!(sim.workers.len(), before.len());
        sim.assert_balanced_and_complete();
    }

    #[test]
    fn new_connector_goes_to_the_least_loaded_workers() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2", "worker3"]);
        sim.rebalance();
        sim.converge();
        sim.assert_connector_allocations(&[0, 1, 1]);
        sim.assert_task_allocations(&[2, 3, 3]);
        let no_connector = sim.workers.keys().find(|w| sim.allocation(w).connectors.is_empty()).cloned().unwrap();
        let fewest_tasks = sim.workers.keys().find(|w| sim.allocation(w).tasks.len() == 2).cloned().unwrap();

        sim.add_connector("connector3", 1);
        sim.rebalance();
        sim.assert_no_revocations();
        assert_eq!(sim.last[&no_connector].connectors, ["connector3"]);
        assert_eq!(sim.last[&fewest_tasks].tasks, [t("connector3", 0)]);
        sim.assert_balanced_and_complete();
        // Each member got only its new items.
        let assigned: usize = sim.last.values().map(|a| a.connectors.len() + a.tasks.len()).sum();
        assert_eq!(assigned, 2);
    }

    #[test]
    fn revocation_that_did_not_take_effect_is_issued_again() {
        let mut sim = Sim::new();
        sim.rebalance();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        let revoked = sim.last["worker1"].clone();
        assert!(!revoked.revoked_tasks.is_empty());
        // worker1 ignores the revocation: it still reports everything.
        let mut all = revoked.clone();
        all.connectors = vec!["connector1".into(), "connector2".into()];
        all.tasks = sim.snapshot().tasks().collect();
        sim.workers.insert("worker1".into(), Some(all));
        sim.converge();
    }

    #[test]
    fn previous_assignment_is_forgotten_after_an_incomplete_round() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        // A round whose sync fails (no join completes), then worker2 leaves: the leader no longer trusts its view
        // of the previous assignment, so worker2's work is not "lost" (no delay) but "created", assigned at once.
        sim.failed_rebalance();
        sim.remove_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_delay(0);
        sim.assert_connector_allocations(&[2]);
        sim.assert_task_allocations(&[8]);
        sim.assert_balanced_and_complete();
    }

    #[test]
    fn protocol_version_is_stamped_and_can_switch() {
        let mut sim = Sim::new();
        sim.protocol = ConnectProtocol::Compatible;
        assert!(sim.assignor.switch_protocol(ConnectProtocol::Compatible));
        sim.rebalance();
        assert!(sim.last.values().all(|a| a.version == 1));
        sim.protocol = ConnectProtocol::Sessioned;
        assert!(sim.assignor.switch_protocol(ConnectProtocol::Sessioned));
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        assert!(sim.last.values().all(|a| a.version == 2));
        assert!(!sim.assignor.switch_protocol(ConnectProtocol::Eager));
        assert_eq!(sim.assignor.protocol(), ConnectProtocol::Sessioned);
        assert_eq!(
            IncrementalCooperativeAssignor::new(ConnectProtocol::Eager, Duration::ZERO).protocol(),
            ConnectProtocol::Compatible
        );
        sim.converge();
    }

    #[test]
    fn leader_state_tracks_owners_after_the_round() {
        let mut sim = Sim::new();
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        let state = sim.assignor.leader_state().unwrap().clone();
        for (id, _) in sim.workers.clone() {
            for c in sim.allocation(&id).connectors {
                assert_eq!(state.connector_owner_url(&c), Some(format!("http://{id}:8083").as_str()));
            }
            for task in sim.allocation(&id).tasks {
                assert_eq!(state.task_owners[&task], id);
            }
        }
    }

    #[test]
    fn many_workers_and_connectors_converge_through_churn() {
        let mut sim = Sim::new();
        for n in 3..=9 {
            sim.add_connector(&format!("connector{n}"), n);
        }
        sim.add_workers(&["w2", "w3", "w4"]);
        sim.converge();
        sim.add_workers(&["w5", "w6"]);
        sim.remove_connector("connector4");
        sim.converge();
        sim.remove_workers(&["w3"]);
        sim.add_connector("connector10", 7);
        sim.converge();
        sim.remove_workers(&["worker1", "w2"]);
        sim.new_leader();
        sim.converge();
        sim.add_workers(&["w7"]);
        sim.converge();
    }

    #[test]
    fn empty_group_and_empty_config() {
        let mut a = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, DEFAULT_MAX_DELAY);
        let now = Instant::now();
        assert!(a.assign("l", "u", 1, &ClusterSnapshot::default(), &[], now).is_empty());
        let mut sim = Sim::new();
        sim.remove_connector("connector1");
        sim.remove_connector("connector2");
        sim.add_workers(&["worker2"]);
        sim.rebalance();
        sim.assert_empty_assignment();
        sim.assert_balanced_and_complete();
    }

    fn load(worker: &str, connectors: std::ops::Range<u32>, tasks: std::ops::Range<u32>) -> WorkerLoad {
        WorkerLoad {
            worker: worker.into(),
            items: Items {
                connectors: connectors.map(|n| format!("connector{n}")).collect(),
                tasks: tasks.map(|n| t("task", n)).collect(),
            },
        }
    }

    // testAssignConnectorsWhenBalanced / testAssignTasksWhenBalanced
    #[test]
    fn assignment_fills_level_by_level_from_balanced() {
        let mut workers: Vec<WorkerLoad> =
            (0..3).map(|i| load(&format!("worker{i}"), i * 2..i * 2 + 2, i * 2..i * 2 + 2)).collect();
        let connectors: Vec<String> = (6..11).map(|n| format!("connector{n}")).collect();
        let tasks: Vec<TaskId> = (6..11).map(|n| t("task", n)).collect();
        assign_level_by_level(&mut workers, &connectors, |w| &w.items.connectors, |w| &mut w.items.connectors);
        assign_level_by_level(&mut workers, &tasks, |w| &w.items.tasks, |w| &mut w.items.tasks);
        workers.sort_by(|a, b| a.worker.cmp(&b.worker));
        let names = |w: &WorkerLoad| w.items.connectors.iter().cloned().collect::<BTreeSet<_>>();
        assert!(names(&workers[0]).is_superset(&["connector6".to_string(), "connector9".to_string()].into()));
        assert!(names(&workers[1]).is_superset(&["connector7".to_string(), "connector10".to_string()].into()));
        assert!(names(&workers[2]).contains("connector8"));
        assert!(workers[0].items.tasks.contains(&t("task", 9)) && workers[1].items.tasks.contains(&t("task", 10)));
        assert_eq!(workers[2].items.tasks.len(), 3);
    }

    // testAssignConnectorsWhenImbalanced
    #[test]
    fn assignment_fills_the_least_loaded_first() {
        let mut workers = vec![load("worker0", 0..2, 0..2), load("worker1", 2..5, 2..5), load("worker2", 5..9, 5..9)];
        workers.push(load("worker3", 0..0, 0..0));
        let connectors: Vec<String> = (9..24).map(|n| format!("connector{n}")).collect();
        let tasks: Vec<TaskId> = (9..24).map(|n| t("task", n)).collect();
        assign_level_by_level(&mut workers, &connectors, |w| &w.items.connectors, |w| &mut w.items.connectors);
        assign_level_by_level(&mut workers, &tasks, |w| &w.items.tasks, |w| &mut w.items.tasks);
        for w in &workers {
            assert_eq!((w.items.connectors.len(), w.items.tasks.len()), (6, 6), "{}", w.worker);
        }
    }

    fn lost_of(l: &WorkerLoad) -> Items {
        l.items.clone()
    }

    // testLostAssignmentHandlingWhenWorkerBounces / ...WithMoreThanOneCandidates
    #[test]
    fn lost_work_goes_round_robin_to_candidates() {
        let mut a = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, DEFAULT_MAX_DELAY);
        let start = Instant::now();
        let mut next = vec![load("worker0", 0..2, 0..4), load("worker1", 2..4, 4..8), load("worker2", 4..6, 8..12)];
        let mut reassign = Items::default();
        a.handle_lost_assignments(&Items::default(), &mut reassign, &mut next, start);
        assert_eq!((a.delay_ms, a.scheduled_rebalance, a.candidate_workers.len()), (0, None, 0));
        a.previous_members = next.iter().map(|w| w.worker.clone()).collect();

        let lost = lost_of(&next.remove(1));
        next.push(load("worker3", 0..0, 0..0));
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, start);
        assert_eq!(a.candidate_workers, ["worker3".to_string()].into());
        assert_eq!((a.delay_ms, a.scheduled_rebalance), (MAX_DELAY_MS, Some(start + duration_ms(MAX_DELAY_MS))));

        let half = start + duration_ms(MAX_DELAY_MS / 2);
        next.push(load("worker1", 0..0, 0..0));
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, half);
        assert_eq!(a.candidate_workers, ["worker1".to_string(), "worker3".to_string()].into());
        assert_eq!(a.delay_ms, MAX_DELAY_MS / 2);

        // Candidates picked up other work meanwhile; they still get the lost work when the delay expires.
        let end = start + duration_ms(MAX_DELAY_MS);
        for w in next.iter_mut().filter(|w| w.worker == "worker1" || w.worker == "worker3") {
            w.items.connectors.insert(format!("{}-other", w.worker));
        }
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, end);
        assert!(reassign.is_empty());
        let mut got = Items::default();
        for w in next.iter().filter(|w| w.worker == "worker1" || w.worker == "worker3") {
            got.extend(&w.items);
            assert_eq!(w.items.tasks.len(), 2, "{}", w.worker);
        }
        assert!(got.connectors.is_superset(&lost.connectors) && got.tasks.is_superset(&lost.tasks));
        assert_eq!((a.delay_ms, a.scheduled_rebalance, a.candidate_workers.len()), (0, None, 0));
    }

    // testLostAssignmentHandlingWhenWorkerBouncesBackButFinallyLeaves / ...WhenWorkerLeavesPermanently
    #[test]
    fn lost_work_without_candidates_is_treated_as_new() {
        let mut a = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, DEFAULT_MAX_DELAY);
        let start = Instant::now();
        let mut next = vec![load("worker0", 0..2, 0..4), load("worker1", 2..4, 4..8), load("worker2", 4..6, 8..12)];
        a.previous_members = next.iter().map(|w| w.worker.clone()).collect();
        let lost = lost_of(&next.remove(1));
        let mut reassign = Items::default();
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, start);
        assert_eq!(a.delay_ms, MAX_DELAY_MS);

        // It comes back briefly (a candidate), then leaves for good before the delay expires.
        next.push(load("worker1", 0..0, 0..0));
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, start + duration_ms(1000));
        assert_eq!(a.candidate_workers.len(), 1);
        next.pop();
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, start + duration_ms(MAX_DELAY_MS));
        assert_eq!(reassign, lost);
        assert_eq!((a.delay_ms, a.scheduled_rebalance, a.candidate_workers.len()), (0, None, 0));
    }

    // testLostAssignmentHandlingWhenScheduledDelayIsDisabled
    #[test]
    fn lost_work_is_reassigned_at_once_when_delays_are_disabled() {
        let mut a = IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, Duration::ZERO);
        let mut next = vec![load("worker0", 0..2, 0..4), load("worker1", 2..4, 4..8), load("worker2", 4..6, 8..12)];
        a.previous_members = next.iter().map(|w| w.worker.clone()).collect();
        let lost = lost_of(&next.remove(1));
        let mut reassign = Items::default();
        a.handle_lost_assignments(&lost, &mut reassign, &mut next, Instant::now());
        assert_eq!(reassign, lost);
        assert_eq!((a.delay_ms, a.scheduled_rebalance, a.candidate_workers.len()), (0, None, 0));
    }

    #[test]
    fn pending_delay_is_rounded_up_to_whole_milliseconds() {
        assert_eq!(ceil_ms(Duration::from_micros(300)), 1);
        assert_eq!(ceil_ms(Duration::from_millis(7)), 7);
        assert_eq!(ceil_ms(Duration::from_secs(u64::MAX / 4)), i32::MAX);
        assert_eq!(
            IncrementalCooperativeAssignor::new(ConnectProtocol::Compatible, Duration::MAX).max_delay_ms,
            i32::MAX
        );
    }

    #[test]
    fn a_member_that_missed_the_previous_round_gets_its_complete_set() {
        let snapshot = ClusterSnapshot { config_offset: 5, connectors: BTreeMap::from([("c".to_string(), 4)]) };
        let member = |id: &str, allocation: Option<Assignment>| Member {
            member_id: id.to_string(),
            metadata: WorkerMetadata { url: format!("http://{id}:8083/"), config_offset: 5, allocation },
        };
        let reported = |a: &Assignment, stamp: i32| {
            let mut allocation = Assignment::empty(2, "a", "http://a:8083/", 5);
            allocation.connectors = a.connectors.clone();
            allocation.tasks = a.tasks.clone();
            allocation.delay_ms = -stamp;
            allocation
        };
        let mut assignor = IncrementalCooperativeAssignor::new(ConnectProtocol::Sessioned, DEFAULT_MAX_DELAY);
        let now = Instant::now();
        let first = assignor.assign("a", "http://a:8083/", 1, &snapshot, &[member("a", None), member("b", None)], now);
        assignor.join_completed(1);
        assert!(!first["b"].tasks.is_empty());

        // "a" applied round 1 (stamp 2); "b" still reports what it ran before it (stamp 1: generation 0).
        let stale_b = Assignment::empty(2, "a", "http://a:8083/", 5);
        let members = [member("a", Some(reported(&first["a"], 2))), member("b", Some(reported(&stale_b, 1)))];
        let second = assignor.assign("a", "http://a:8083/", 2, &snapshot, &members, now);
        // Nothing of b's moves to a (it was not lost), and b is told everything it must run.
        assert!(second["a"].tasks.is_empty() && second["a"].connectors.is_empty(), "{second:?}");
        assert_eq!(second["b"].tasks, first["b"].tasks);
        assert_eq!(second["b"].connectors, first["b"].connectors);

        // A Java member echoing a delay (never negative) is trusted as it reports: no stamp.
        assert_eq!(allocation_stamp(&Assignment { delay_ms: 3000, ..stale_b.clone() }), 0);
        assert_eq!(allocation_stamp(&Assignment { delay_ms: i32::MIN, ..stale_b }), 0);
    }
}
