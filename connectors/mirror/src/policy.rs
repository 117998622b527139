//! How topics are named across clusters: Kafka's `DefaultReplicationPolicy` and `IdentityReplicationPolicy`.

/// Java's class of the default policy.
pub const DEFAULT_POLICY: &str = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy";
/// Java's class of the identity policy.
pub const IDENTITY_POLICY: &str = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy";

const HEARTBEATS_TOPIC: &str = "heartbeats";
const OFFSET_SYNCS_PREFIX: &str = "mm2-offset-syncs";

/// A replication policy: names remote topics and MirrorMaker's internal topics, and tells where a topic came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationPolicy {
    separator: String,
    /// Set for the identity policy: the alias every non-heartbeat topic is taken to come from.
    identity_source: Option<String>,
}

impl ReplicationPolicy {
    /// A policy by class name (Java's full name or the simple name). `source_alias` is the flow's source cluster,
    /// which the identity policy reports as the source of every topic.
    pub fn new(class: &str, separator: &str, source_alias: &str) -> Result<ReplicationPolicy, String> {
        if separator.is_empty() {
            return Err("the separator must not be empty".into());
        }
        let simple = class.rsplit('.').next().unwrap_or(class);
        let identity_source = match simple {
            "DefaultReplicationPolicy" => None,
            "IdentityReplicationPolicy" => Some(source_alias.to_string()),
            _ => {
                return Err(format!(
                    "replication policy class {class} is not supported: use {DEFAULT_POLICY} or {IDENTITY_POLICY}"
                ))
            }
        };
        Ok(ReplicationPolicy { separator: separator.to_string(), identity_source })
    }

    /// The name of `topic` of cluster `source_alias` on the target cluster.
    pub fn format_remote_topic(&self, source_alias: &str, topic: &str) -> String {
        if self.identity_source.is_some() && !looks_like_heartbeat(topic) {
            return topic.to_string();
        }
        format!("{source_alias}{}{topic}", self.separator)
    }

    /// The cluster a remote topic came from, if its name says so.
    pub fn topic_source<'a>(&'a self, topic: &'a str) -> Option<&'a str> {
        if let Some(source) = &self.identity_source {
            if !looks_like_heartbeat(topic) {
                return Some(source);
            }
        }
        // Java splits on the separator and drops trailing empty parts: a source needs a non-empty rest.
        let (source, rest) = topic.split_once(self.separator.as_str())?;
        if rest.split(self.separator.as_str()).all(str::is_empty) {
            return None;
        }
        Some(source)
    }

    /// The name of a remote topic on the cluster it came from.
    pub fn upstream_topic<'a>(&self, topic: &'a str) -> Option<&'a str> {
        if self.identity_source.is_some() && !looks_like_heartbeat(topic) {
            return Some(topic);
        }
        let source = self.topic_source(topic)?;
        Some(&topic[source.len() + self.separator.len()..])
    }

    /// The name of a topic on the cluster it was first written to, through any chain of replication.
    pub fn original_topic<'a>(&self, topic: &'a str) -> &'a str {
        match self.upstream_topic(topic) {
            Some(upstream) if upstream != topic => self.original_topic(upstream),
            _ => topic,
        }
    }

    /// The heartbeats topic.
    pub fn heartbeats_topic(&self) -> &'static str {
        HEARTBEATS_TOPIC
    }

    /// The checkpoints topic of groups of cluster `alias`.
    pub fn checkpoints_topic(&self, alias: &str) -> String {
        format!("{alias}{}", self.checkpoints_suffix())
    }

    /// The offset-syncs topic of flows into cluster `alias`.
    pub fn offset_syncs_topic(&self, alias: &str) -> String {
        format!("{OFFSET_SYNCS_PREFIX}{}{alias}{}", self.separator, self.internal_suffix())
    }

    fn internal_suffix(&self) -> String {
        format!("{}internal", self.separator)
    }

    fn checkpoints_suffix(&self) -> String {
        format!("{}checkpoints{}", self.separator, self.internal_suffix())
    }

    /// Whether `topic` is a heartbeats topic, local or replicated.
    pub fn is_heartbeats_topic(&self, topic: &str) -> bool {
        self.original_topic(topic) == HEARTBEATS_TOPIC
    }

    /// Whether `topic` is a checkpoints topic.
    pub fn is_checkpoints_topic(&self, topic: &str) -> bool {
        topic.ends_with(&self.checkpoints_suffix())
    }

    /// Whether `topic` is one of MirrorMaker's own internal topics.
    pub fn is_mm2_internal_topic(&self, topic: &str) -> bool {
        (topic.starts_with(OFFSET_SYNCS_PREFIX) && topic.ends_with(&self.internal_suffix()))
            || self.is_checkpoints_topic(topic)
    }

    /// Whether `topic` is internal to Kafka, Connect or MirrorMaker and is never replicated.
    pub fn is_internal_topic(&self, topic: &str) -> bool {
        self.is_mm2_internal_topic(topic)
            || topic.starts_with("__")
            || topic.starts_with('.')
            || topic.ends_with("-internal")
            || topic.ends_with(".internal")
    }

    /// Whether replicating `topic` into cluster `target` would bring it back to where it came from.
    pub fn is_cycle(&self, topic: &str, target: &str) -> bool {
        match self.topic_source(topic) {
            None => false,
            Some(source) if source == target => true,
            Some(_) => match self.upstream_topic(topic) {
                // A policy that keeps names (identity) cannot tell a cycle, as in Java.
                Some(upstream) if upstream != topic => self.is_cycle(upstream, target),
                _ => false,
            },
        }
    }
}

fn looks_like_heartbeat(topic: &str) -> bool {
    topic.ends_with(HEARTBEATS_TOPIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> ReplicationPolicy {
        ReplicationPolicy::new(DEFAULT_POLICY, ".", "A").unwrap()
    }

    #[test]
    fn default_policy_prefixes_the_source_alias() {
        let p = default();
        assert_eq!(p.format_remote_topic("A", "orders"), "A.orders");
        assert_eq!(p.topic_source("A.orders"), Some("A"));
        assert_eq!(p.upstream_topic("B.A.orders"), Some("A.orders"));
        assert_eq!(p.original_topic("B.A.orders"), "orders");
        assert_eq!(p.topic_source("orders"), None);
        assert_eq!(p.topic_source("A."), None);
        assert_eq!(p.topic_source("A.."), None);
        assert_eq!(p.checkpoints_topic("A"), "A.checkpoints.internal");
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs.B.internal");
        assert!(p.is_heartbeats_topic("B.A.heartbeats"));
        assert!(!p.is_heartbeats_topic("A.myheartbeats"));
    }

    #[test]
    fn internal_topics_are_recognised() {
        let p = default();
        for topic in ["__consumer_offsets", ".hidden", "connect-offsets-internal", "mm2-offset-syncs.B.internal"] {
            assert!(p.is_internal_topic(topic), "{topic}");
        }
        assert!(p.is_internal_topic("A.checkpoints.internal"));
        assert!(!p.is_internal_topic("orders"));
        assert!(!p.is_internal_topic("heartbeats"));
    }

    #[test]
    fn cycles_are_detected_through_chains() {
        let p = default();
        assert!(p.is_cycle("B.orders", "B"));
        assert!(p.is_cycle("C.B.orders", "B"));
        assert!(!p.is_cycle("C.orders", "B"));
        assert!(!p.is_cycle("orders", "B"));
    }

    #[test]
    fn identity_policy_keeps_names_but_not_for_heartbeats() {
        let p = ReplicationPolicy::new(IDENTITY_POLICY, ".", "A").unwrap();
        assert_eq!(p.format_remote_topic("A", "orders"), "orders");
        assert_eq!(p.topic_source("orders"), Some("A"));
        assert_eq!(p.upstream_topic("orders"), Some("orders"));
        assert_eq!(p.format_remote_topic("A", "heartbeats"), "A.heartbeats");
        assert_eq!(p.topic_source("C.heartbeats"), Some("C"));
        assert!(!p.is_cycle("orders", "B"));
    }

    #[test]
    fn custom_separator_is_used_everywhere() {
        let p = ReplicationPolicy::new("DefaultReplicationPolicy", "_", "A").unwrap();
        assert_eq!(p.format_remote_topic("A", "t"), "A_t");
        assert_eq!(p.checkpoints_topic("A"), "A_checkpoints_internal");
        assert_eq!(p.offset_syncs_topic("B"), "mm2-offset-syncs_B_internal");
        assert!(p.is_mm2_internal_topic("mm2-offset-syncs_B_internal"));
    }

    #[test]
    fn unknown_policy_is_named_in_the_error() {
        let err = ReplicationPolicy::new("com.example.Mine", ".", "A").unwrap_err();
        assert!(err.contains("com.example.Mine") && err.contains("not supported"), "{err}");
    }
}
