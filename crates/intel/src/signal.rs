//! `signals` (which checks ran, what they found and why) and `source`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One check and its outcome, as reported in a result's `signals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The check's stable name (`disposable`, `tor`, `blocklist`, `smtp`, …).
    pub check: Cow<'static, str>,
    /// What the check found.
    pub status: SignalStatus,
    /// Why, in words (the list that matched, the brand imitated, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'static, str>>,
    /// How many points the check added to the score (0 for most).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub points: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalStatus {
    /// The check ran and found nothing.
    Pass,
    /// The check ran and fired.
    Hit,
    /// A neutral fact worth reporting (a plus-tag was removed, the IP class).
    Info,
    /// Only a provider (IPQS) can answer this (SMTP, leaks, domain age, …);
    /// the field is `null`, never guessed.
    NeedsProvider,
    /// The check needs a data file that is not loaded (no Tor list, no
    /// GeoIP database); the field is `null`.
    NoData,
    /// The provider failed; the offline engine answered instead.
    ProviderError,
}

/// Who answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The offline engine alone (compiled-in and loaded data).
    Offline,
    /// IPQS answered (in `both` mode, enriched by the offline checks, whose
    /// signals are kept).
    Ipqs,
}

impl Source {
    /// `offline` or `ipqs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Offline => "offline",
            Source::Ipqs => "ipqs",
        }
    }
}

/// The `source` of a body that has none: IPQS's own responses.
pub(crate) fn ipqs_source() -> Source {
    Source::Ipqs
}

/// Accumulates signals and points while a check runs.
#[derive(Debug)]
pub(crate) struct Tally {
    points: u32,
    pub(crate) signals: Vec<Signal>,
}

impl Tally {
    pub(crate) fn new(capacity: usize) -> Self {
        Tally { points: 0, signals: Vec::with_capacity(capacity) }
    }

    fn push(&mut self, check: &'static str, status: SignalStatus, reason: Option<Cow<'static, str>>, points: u8) {
        self.points += u32::from(points);
        self.signals.push(Signal { check: Cow::Borrowed(check), status, reason, points });
    }

    /// The check fired and adds `points`.
    pub(crate) fn hit(&mut self, check: &'static str, reason: impl Into<Cow<'static, str>>, points: u8) {
        self.push(check, SignalStatus::Hit, Some(reason.into()), points);
    }

    /// The check ran and found nothing.
    pub(crate) fn pass(&mut self, check: &'static str) {
        self.push(check, SignalStatus::Pass, None, 0);
    }

    pub(crate) fn info(&mut self, check: &'static str, reason: impl Into<Cow<'static, str>>) {
        self.push(check, SignalStatus::Info, Some(reason.into()), 0);
    }

    pub(crate) fn needs_provider(&mut self, check: &'static str) {
        self.push(check, SignalStatus::NeedsProvider, None, 0);
    }

    pub(crate) fn no_data(&mut self, check: &'static str, reason: &'static str) {
        self.push(check, SignalStatus::NoData, Some(Cow::Borrowed(reason)), 0);
    }

    /// The points so far, capped at 100.
    pub(crate) fn score(&self) -> u8 {
        self.points.min(100) as u8
    }

    /// The points so far, capped at `cap` (heuristics that must not reach
    /// the block band on their own).
    pub(crate) fn score_capped(&self, cap: u8) -> u8 {
        self.points.min(u32::from(cap)) as u8
    }
}

/// A provider-failure signal, for `both` mode when IPQS failed.
pub(crate) fn provider_error(reason: String) -> Signal {
    Signal {
        check: Cow::Borrowed("ipqs"),
        status: SignalStatus::ProviderError,
        reason: Some(Cow::Owned(reason)),
        points: 0,
    }
}

/// The signal saying IPQS answered.
pub(crate) fn provider_ok() -> Signal {
    Signal {
        check: Cow::Borrowed("ipqs"),
        status: SignalStatus::Info,
        reason: Some(Cow::Borrowed("answered by IPQS")),
        points: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_serialize_with_snake_case_status_and_omit_empty_fields() {
        let mut t = Tally::new(2);
        t.needs_provider("smtp");
        t.hit("disposable", "mailinator.com is a disposable provider", 90);
        let json = serde_json::to_value(&t.signals).unwrap();
        assert_eq!(json[0], serde_json::json!({"check": "smtp", "status": "needs_provider"}));
        assert_eq!(json[1]["status"], "hit");
        assert_eq!(json[1]["points"], 90);
        assert_eq!(t.score(), 90);
    }

    #[test]
    fn score_is_capped() {
        let mut t = Tally::new(2);
        t.hit("a", "x", 80);
        t.hit("b", "y", 80);
        assert_eq!(t.score(), 100);
        assert_eq!(t.score_capped(89), 89);
    }
}
