//! The log of successful write requests, so tests can assert who wrote what
//! (e.g. "exactly one controller replica writes Service status").

use std::collections::VecDeque;

use crate::resource_ref::ResourceRef;

/// The kind of write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// POST (or an apply / PUT that created the object).
    Create,
    /// PUT.
    Update,
    /// PATCH of any type, including server-side apply of an existing object.
    Patch,
    /// DELETE of one object, or one object removed by a deletecollection.
    Delete,
}

/// One successful write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// What was done.
    pub verb: Verb,
    /// The resource type, at the version the client used.
    pub resource: ResourceRef,
    /// `status` for writes to the status subresource.
    pub subresource: Option<String>,
    /// Namespace of the object, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
    /// The `fieldManager` query parameter, if sent.
    pub field_manager: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// Whether the stored object changed (no-op updates are accepted but change nothing).
    pub changed: bool,
    /// The resourceVersion after the write.
    pub resource_version: u64,
}

impl WriteRecord {
    /// Who wrote, as the real server names managers: the field manager if given,
    /// else the User-Agent up to its first `/`, else the empty string.
    pub fn actor(&self) -> &str {
        if let Some(m) = self.field_manager.as_deref().filter(|m| !m.is_empty()) {
            return m;
        }
        self.user_agent
            .as_deref()
            .and_then(|ua| ua.split('/').next())
            .unwrap_or_default()
    }
}

/// A bounded log of write records, oldest first.
#[derive(Debug)]
pub struct WriteLog {
    records: VecDeque<WriteRecord>,
    capacity: usize,
}

impl WriteLog {
    /// An empty log keeping at most `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Appends a record, dropping the oldest when full.
    pub fn push(&mut self, r: WriteRecord) {
        if self.records.len() >= self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(r);
    }

    /// All retained records, oldest first.
    pub fn records(&self) -> Vec<WriteRecord> {
        self.records.iter().cloned().collect()
    }

    /// Forgets every record.
    pub fn clear(&mut self) {
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fm: Option<&str>, ua: Option<&str>) -> WriteRecord {
        WriteRecord {
            verb: Verb::Patch,
            resource: ResourceRef::core("services"),
            subresource: None,
            namespace: None,
            name: "x".into(),
            field_manager: fm.map(str::to_string),
            user_agent: ua.map(str::to_string),
            changed: true,
            resource_version: 1,
        }
    }

    #[test]
    fn actor_prefers_field_manager() {
        assert_eq!(
            rec(Some("ferrolb-controller"), Some("kube-rs/5")).actor(),
            "ferrolb-controller"
        );
        assert_eq!(
            rec(None, Some("ferrolb-speaker/0.1 (node-a)")).actor(),
            "ferrolb-speaker"
        );
        assert_eq!(rec(Some(""), None).actor(), "");
    }

    #[test]
    fn bounded() {
        let mut log = WriteLog::new(2);
        for i in 0..3 {
            let mut r = rec(None, None);
            r.resource_version = i;
            log.push(r);
        }
        let rvs: Vec<u64> = log.records().iter().map(|r| r.resource_version).collect();
        assert_eq!(rvs, [1, 2]);
    }
}
