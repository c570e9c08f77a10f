//! Email checks: the result model (IPQS's Email Validation fields) and the
//! offline engine.
//!
//! Offline answers syntax (including internationalised addresses),
//! normalisation (`sanitized_email`: plus-tags removed, Gmail dots removed),
//! disposable domains (compiled-in `mailchecker` list plus loaded lists,
//! parents included), free providers (`common`), role accounts (`generic`)
//! and typo suggestions (`suggested_domain`). SMTP, DNS, leaks, domain age
//! and abuse history are `null` with a `needs_provider` signal.

pub(crate) mod syntax;
pub(crate) mod typo;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::builtin::Builtins;
use crate::data::IntelData;
use crate::signal::{Signal, Source, Tally};
use crate::tolerant::{self, DateInfo};

/// Points for a disposable domain: high risk on its own.
const DISPOSABLE_POINTS: u8 = 90;
const ROLE_POINTS: u8 = 15;
const TYPO_POINTS: u8 = 20;
const RANDOM_LOCAL_POINTS: u8 = 10;

/// The result of an email check. Field names and meanings follow IPQS's
/// Email Validation API; what the answering source cannot know is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailResult {
    /// Offline: the syntax is valid. IPQS: the address appears deliverable.
    #[serde(default, deserialize_with = "tolerant::bool")]
    pub valid: bool,
    /// A temporary / disposable mail service.
    #[serde(default, deserialize_with = "tolerant::bool")]
    pub disposable: bool,
    /// 0–100; see [`crate::Band`].
    #[serde(default, deserialize_with = "tolerant::score")]
    pub fraud_score: u8,
    /// The address as the mailbox sees it: lower-case, IDNA domain,
    /// plus-tag removed, Gmail dots removed.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub sanitized_email: Option<String>,
    /// A typo fix for the domain (`gmial.com` → `gmail.com`).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub suggested_domain: Option<String>,
    /// A free mailbox provider (gmail.com, outlook.com, …).
    #[serde(default, deserialize_with = "tolerant::bool")]
    pub common: bool,
    /// A role or shared mailbox (admin@, info@, support@, …).
    #[serde(default, deserialize_with = "tolerant::bool")]
    pub generic: bool,
    /// The SMTP check hit its timeout (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub timed_out: Option<bool>,
    /// `high`, `medium`, `low` (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub deliverability: Option<String>,
    /// The server accepts every address (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub catch_all: Option<bool>,
    /// Found in a recent breach (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub leaked: Option<bool>,
    /// `valid` may be tainted by a temporary SMTP error (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub suspect: Option<bool>,
    /// −1..3 (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_i64")]
    pub smtp_score: Option<i64>,
    /// 0..4 (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_i64")]
    pub overall_score: Option<i64>,
    /// Guessed first name (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub first_name: Option<String>,
    /// MX / A records exist (needs DNS: provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub dns_valid: Option<bool>,
    /// A spam trap (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub honeypot: Option<bool>,
    /// `high`, `medium`, `low`, `none` (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub spam_trap_score: Option<String>,
    /// Often unsubscribes or reports spam (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub frequent_complainer: Option<bool>,
    /// Verified recent abuse (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_bool")]
    pub recent_abuse: Option<bool>,
    /// Plan-dependent (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub domain_velocity: Option<String>,
    /// Plan-dependent (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub user_activity: Option<String>,
    /// `{status, names[]}` (provider only, upgraded plans).
    #[serde(default, deserialize_with = "tolerant::opt_json")]
    pub associated_names: Option<serde_json::Value>,
    /// `{status, phone_numbers[]}` (provider only, upgraded plans).
    #[serde(default, deserialize_with = "tolerant::opt_json")]
    pub associated_phone_numbers: Option<serde_json::Value>,
    /// Estimated age of the address (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_date")]
    pub first_seen: Option<DateInfo>,
    /// Registration date of the domain (provider only).
    #[serde(default, deserialize_with = "tolerant::opt_date")]
    pub domain_age: Option<DateInfo>,
    /// IPQS's request id.
    #[serde(default, deserialize_with = "tolerant::opt_text")]
    pub request_id: Option<String>,
    /// Which checks ran, what they found and why.
    #[serde(default, deserialize_with = "tolerant::signals")]
    pub signals: Vec<Signal>,
    /// Who answered.
    #[serde(default = "crate::signal::ipqs_source")]
    pub source: Source,
}

impl EmailResult {
    fn empty() -> EmailResult {
        EmailResult {
            valid: false,
            disposable: false,
            fraud_score: 0,
            sanitized_email: None,
            suggested_domain: None,
            common: false,
            generic: false,
            timed_out: None,
            deliverability: None,
            catch_all: None,
            leaked: None,
            suspect: None,
            smtp_score: None,
            overall_score: None,
            first_name: None,
            dns_valid: None,
            honeypot: None,
            spam_trap_score: None,
            frequent_complainer: None,
            recent_abuse: None,
            domain_velocity: None,
            user_activity: None,
            associated_names: None,
            associated_phone_numbers: None,
            first_seen: None,
            domain_age: None,
            request_id: None,
            signals: Vec::new(),
            source: Source::Offline,
        }
    }

    /// Enriches an IPQS answer with what the offline engine knows (`both`
    /// mode): the stricter score and flags win, the offline signals stay.
    pub(crate) fn merge_offline(mut self, offline: EmailResult) -> EmailResult {
        self.fraud_score = self.fraud_score.max(offline.fraud_score);
        self.disposable |= offline.disposable;
        self.common |= offline.common;
        self.generic |= offline.generic;
        self.suggested_domain = self.suggested_domain.or(offline.suggested_domain);
        self.sanitized_email = self.sanitized_email.or(offline.sanitized_email);
        self.signals = merged_signals(offline.signals);
        self.source = Source::Ipqs;
        self
    }
}

/// The offline signals minus the `needs_provider` ones (the provider just
/// answered them), plus one saying IPQS answered.
pub(crate) fn merged_signals(offline: Vec<Signal>) -> Vec<Signal> {
    let mut signals: Vec<Signal> =
        offline.into_iter().filter(|s| s.status != crate::signal::SignalStatus::NeedsProvider).collect();
    signals.push(crate::signal::provider_ok());
    signals
}

/// Checks that only a provider can answer, reported on every offline result.
const PROVIDER_ONLY: &[&str] =
    &["smtp", "dns", "leaked", "domain_age", "first_seen", "spam_trap", "recent_abuse", "frequent_complainer"];

/// The offline check.
pub(crate) fn check(builtins: &Builtins, data: &IntelData, input: &str) -> EmailResult {
    let mut result = EmailResult::empty();
    let mut tally = Tally::new(16);
    let address = match syntax::parse(input.trim()) {
        Ok(a) => a,
        Err(reason) => {
            tally.hit("syntax", reason, 100);
            result.fraud_score = tally.score();
            result.signals = tally.signals;
            return result;
        }
    };
    result.valid = true;
    tally.pass("syntax");
    if address.international {
        tally.info("syntax", "internationalised address (RFC 6531)");
    }
    let domain: &str = &address.domain;

    let local: Cow<'_, str> = if address.local.chars().any(char::is_uppercase) {
        Cow::Owned(address.local.to_lowercase())
    } else {
        Cow::Borrowed(address.local)
    };
    let (base, tag) = match local.split_once('+') {
        Some((base, tag)) if !base.is_empty() => (base, Some(tag)),
        _ => (&*local, None),
    };
    if tag.is_some() {
        tally.info("plus_tag", "sub-address tag removed");
    }
    let gmail = domain == "gmail.com" || domain == "googlemail.com";
    let mut sanitized = String::with_capacity(local.len() + domain.len() + 1);
    if gmail {
        sanitized.extend(base.chars().filter(|&c| c != '.'));
        sanitized.push_str("@gmail.com");
    } else {
        sanitized.push_str(base);
        sanitized.push('@');
        sanitized.push_str(domain);
    }
    result.sanitized_email = Some(sanitized);

    match disposable_match(builtins, data, domain) {
        Some(matched) => {
            result.disposable = true;
            let reason = if matched == domain {
                format!("{domain} is a disposable mail provider")
            } else {
                format!("{matched} (parent of {domain}) is a disposable mail provider")
            };
            tally.hit("disposable", reason, DISPOSABLE_POINTS);
        }
        None => tally.pass("disposable"),
    }

    result.common = builtins.free.contains(domain);
    if result.common {
        tally.info("free_provider", "free mailbox provider");
    } else {
        tally.pass("free_provider");
    }

    result.generic = builtins.roles.contains(base);
    if result.generic {
        tally.hit("role_account", "role or shared mailbox", ROLE_POINTS);
    } else {
        tally.pass("role_account");
    }

    // A known provider is not a typo of another one.
    let suggestion = if result.common { None } else { builtins.typos.get(domain) };
    match suggestion {
        Some(fixed) => {
            result.suggested_domain = Some(fixed.to_owned());
            tally.hit("typo", "one edit away from a popular provider", TYPO_POINTS);
        }
        None => tally.pass("typo"),
    }

    if looks_random(base) {
        tally.hit("random_local_part", "local part looks machine-generated", RANDOM_LOCAL_POINTS);
    }

    for check in PROVIDER_ONLY {
        tally.needs_provider(check);
    }
    result.fraud_score = tally.score();
    result.signals = tally.signals;
    result
}

/// The domain, or the nearest parent of it, that is on a disposable list.
fn disposable_match<'d>(builtins: &Builtins, data: &IntelData, domain: &'d str) -> Option<&'d str> {
    let mut candidate = domain;
    loop {
        if builtins.disposable.contains(candidate) || data.is_disposable(candidate) {
            return Some(candidate);
        }
        let (_, parent) = candidate.split_once('.')?;
        if !parent.contains('.') {
            return None;
        }
        candidate = parent;
    }
}

/// Long digit runs or long vowel-less strings: typical of generated
/// addresses (`x7k2q9z8w@…`, `user83749201@…`).
fn looks_random(local: &str) -> bool {
    let (mut digit_run, mut max_digit_run, mut consonant_run, mut max_consonant_run) = (0, 0, 0, 0);
    for b in local.bytes() {
        if b.is_ascii_digit() {
            digit_run += 1;
            max_digit_run = max_digit_run.max(digit_run);
            consonant_run = 0;
        } else if b.is_ascii_alphabetic() && !b"aeiouyAEIOUY".contains(&b) {
            consonant_run += 1;
            max_consonant_run = max_consonant_run.max(consonant_run);
            digit_run = 0;
        } else {
            digit_run = 0;
            consonant_run = 0;
        }
    }
    max_digit_run >= 7 || max_consonant_run >= 6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::SignalStatus;

    fn run(email: &str) -> EmailResult {
        check(&Builtins::new(), &IntelData::empty(), email)
    }

    #[test]
    fn invalid_syntax_is_a_result_not_an_error() {
        let r = run("not-an-email");
        assert!(!r.valid);
        assert_eq!(r.fraud_score, 100);
        assert_eq!(r.signals[0].check, "syntax");
        assert_eq!(r.signals[0].status, SignalStatus::Hit);
    }

    #[test]
    fn gmail_addresses_are_normalised() {
        let r = run("J.Doe+news@GoogleMail.com");
        assert_eq!(r.sanitized_email.as_deref(), Some("jdoe@gmail.com"));
        assert!(r.common);
        assert!(r.signals.iter().any(|s| s.check == "plus_tag"));
    }

    #[test]
    fn subdomains_of_disposable_providers_are_disposable() {
        let r = run("x@sub.mailinator.com");
        assert!(r.disposable);
        assert!(r.fraud_score >= 85);
    }

    #[test]
    fn provider_only_fields_are_null_with_needs_provider_signals() {
        let r = run("jane@example.com");
        assert_eq!(r.leaked, None);
        assert_eq!(r.dns_valid, None);
        assert_eq!(r.smtp_score, None);
        for check in ["smtp", "leaked", "domain_age", "dns"] {
            assert!(r.signals.iter().any(|s| s.check == check && s.status == SignalStatus::NeedsProvider), "{check}");
        }
        assert_eq!(r.fraud_score, 0);
    }

    #[test]
    fn random_local_parts_are_flagged() {
        assert!(looks_random("user83749201"));
        assert!(looks_random("xkcdqzrt"));
        assert!(!looks_random("jane.doe"));
        assert!(!looks_random("support"));
    }
}
