//! Risk decisions (PRODUCT §3 "Risk-based checks"): what threat intelligence
//! means for a login and a sign-up.
//!
//! A login's score (0–100) adds up what the checks found:
//!
//! | reason | points |
//! |---|---|
//! | `tor`, `vpn`, `hosting`, `proxy`, `ip_reputation` (the IP's `fraud_score` ≥ 75 or a flag) | `fraud_score / 2` |
//! | `impossible_travel` (from the last login's location faster than `max_travel_kmh`) | 60 |
//! | `new_country` (another country than the last login's, reachable in time) | 15 |
//! | `new_device` (another user-agent family than the last login's) | 20 |
//! | `recent_failures` (the lockout counter before this attempt) | 10 each, at most 30 |
//!
//! and [`RiskConfig`]'s thresholds turn the score into a [`RiskDecision`].
//! Sign-ups are screened by [`RegistrationPolicy`]. When a provider fails,
//! the offline answer is used: intel trouble never blocks every login.

mod device;
mod travel;

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_intel::{IntelEngine, IpResult, SUSPICIOUS};
use portcullis_store::{LoginRecord, User};
use serde::Serialize;

use crate::accounts::RequestContext;

pub use device::family as device_family;
pub use travel::{Point, TOLERANCE_KM, Trip, distance_km, impossible};

const IMPOSSIBLE_TRAVEL_POINTS: u8 = 60;
const NEW_COUNTRY_POINTS: u8 = 15;
const NEW_DEVICE_POINTS: u8 = 20;
const FAILURE_POINTS: u8 = 10;
const MAX_FAILURE_POINTS: u8 = 30;

/// Login risk policy (`[risk]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskConfig {
    /// Score logins at all. Default true.
    pub enabled: bool,
    /// From this score on, a login needs a solved captcha. Default 30.
    pub captcha_at: u8,
    /// From this score on, a login needs the second factor. Default 50.
    pub step_up_at: u8,
    /// From this score on, a login is refused. Default 90.
    pub deny_at: u8,
    /// Faster than this between two logins is impossible travel (km/h).
    /// Default 1000 (a little above an airliner).
    pub max_travel_kmh: f64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig { enabled: true, captcha_at: 30, step_up_at: 50, deny_at: 90, max_travel_kmh: 1000.0 }
    }
}

/// Who may sign up (`intel.block_disposable`, `intel.max_fraud_score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// Refuse disposable email domains. Default true.
    pub block_disposable: bool,
    /// Refuse an email or IP whose `fraud_score` is above this. Default 89
    /// (IPQS's "block" band, ≥ 90, is refused).
    pub max_fraud_score: u8,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        RegistrationPolicy { block_disposable: true, max_fraud_score: 89 }
    }
}

/// What a login's score asks for, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskDecision {
    Allow,
    /// A solved captcha (satisfied when the request carried one).
    Captcha,
    /// The second factor, even if the login would not otherwise need it.
    StepUp,
    Deny,
}

/// One finding and its points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskReason {
    /// Stable name (`tor`, `impossible_travel`, …).
    pub code: &'static str,
    pub points: u8,
    /// Facts behind it, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A login's score, decision and reasons (audited, and shown on step-up).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskAssessment {
    pub score: u8,
    pub decision: RiskDecision,
    pub reasons: Vec<RiskReason>,
}

impl RiskAssessment {
    /// No risk found (also what a disabled policy answers).
    pub fn allow() -> RiskAssessment {
        RiskAssessment { score: 0, decision: RiskDecision::Allow, reasons: Vec::new() }
    }

    /// Some reason has `code`.
    pub fn has(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// As a JSON value for audit details and responses.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The result of screening a sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Screening {
    /// Why it is refused; empty when it passes.
    pub reasons: Vec<String>,
    pub email_fraud_score: u8,
    pub email_disposable: bool,
    pub ip_fraud_score: Option<u8>,
}

impl Screening {
    /// Nothing refused it.
    pub fn passed(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Risk checks over the intel engine.
#[derive(Debug)]
pub struct Risk {
    intel: Arc<IntelEngine>,
    config: RiskConfig,
    registration: RegistrationPolicy,
}

impl Risk {
    /// Checks with `intel` under these policies.
    pub fn new(intel: Arc<IntelEngine>, config: RiskConfig, registration: RegistrationPolicy) -> Risk {
        Risk { intel, config, registration }
    }

    /// The login policy.
    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// The IP check of the caller (provider-aware, offline when the provider fails).
    async fn check_ip(&self, ip: IpAddr, user_agent: Option<&str>, now: i64) -> IpResult {
        match self.intel.check_ip(ip, user_agent, now).await {
            Ok(result) => result,
            Err(e) => {
                tracing::warn!(error = %e, code = e.code(), "intel provider failed; scoring the IP offline");
                self.intel.check_ip_offline(ip, user_agent)
            }
        }
    }

    /// Scores a login of `user` (password already correct); `prior_failures`
    /// is the lockout counter before this attempt.
    pub async fn assess_login(&self, user: &User, ctx: &RequestContext, prior_failures: u64) -> RiskAssessment {
        if !self.config.enabled {
            return RiskAssessment::allow();
        }
        let mut reasons = Vec::new();
        let ip = ctx.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
        if let Some(ip) = ip {
            let result = self.check_ip(ip, ctx.user_agent.as_deref(), ctx.now).await;
            if let Some(reason) = ip_reason(&result) {
                reasons.push(reason);
            }
        }
        let here = ip.and_then(|ip| self.intel.geo(ip));
        let point = here.as_ref().and_then(|g| Some(Point { latitude: g.latitude?, longitude: g.longitude? }));
        let last_point = match (user.last_login_latitude, user.last_login_longitude) {
            (Some(latitude), Some(longitude)) => Some(Point { latitude, longitude }),
            _ => None,
        };
        let trip = match (last_point, user.last_login_at, point) {
            (Some(from), Some(at), Some(to)) => impossible(from, at, to, ctx.now, self.config.max_travel_kmh),
            _ => None,
        };
        let country = here.as_ref().and_then(|g| g.country_code.as_deref());
        if let Some(trip) = trip {
            reasons.push(RiskReason {
                code: "impossible_travel",
                points: IMPOSSIBLE_TRAVEL_POINTS,
                detail: Some(format!(
                    "{:.0} km from the last login ({}) in {} s: {:.0} km/h",
                    trip.distance_km,
                    user.last_login_country.as_deref().unwrap_or("unknown country"),
                    trip.elapsed_seconds,
                    trip.speed_kmh
                )),
            });
        } else if let (Some(last), Some(now)) = (user.last_login_country.as_deref(), country)
            && last != now
        {
            reasons.push(RiskReason {
                code: "new_country",
                points: NEW_COUNTRY_POINTS,
                detail: Some(format!("{now}, last login from {last}")),
            });
        }
        let device = ctx.user_agent.as_deref().and_then(device_family);
        if let (Some(last), Some(now)) = (user.last_login_device.as_deref(), device.as_deref())
            && last != now
        {
            reasons.push(RiskReason {
                code: "new_device",
                points: NEW_DEVICE_POINTS,
                detail: Some(format!("{now}, last login with {last}")),
            });
        }
        if prior_failures > 0 {
            let points = u8::try_from(prior_failures.saturating_mul(u64::from(FAILURE_POINTS)))
                .unwrap_or(u8::MAX)
                .min(MAX_FAILURE_POINTS);
            reasons.push(RiskReason {
                code: "recent_failures",
                points,
                detail: Some(format!("{prior_failures} failed attempts before this one")),
            });
        }
        let score = reasons.iter().map(|r| u32::from(r.points)).sum::<u32>().min(100);
        let score = u8::try_from(score).unwrap_or(100);
        RiskAssessment { score, decision: self.decide(score), reasons }
    }

    fn decide(&self, score: u8) -> RiskDecision {
        let c = &self.config;
        if score >= c.deny_at {
            RiskDecision::Deny
        } else if score >= c.step_up_at {
            RiskDecision::StepUp
        } else if score >= c.captcha_at {
            RiskDecision::Captcha
        } else {
            RiskDecision::Allow
        }
    }

    /// What to remember of a successful login: time, address, its location
    /// (when the GeoIP data knows it) and the user-agent family.
    pub fn login_record(&self, ctx: &RequestContext) -> LoginRecord {
        let geo = ctx.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()).and_then(|ip| self.intel.geo(ip));
        LoginRecord {
            at: ctx.now,
            ip: ctx.ip.clone(),
            country: geo.as_ref().and_then(|g| g.country_code.clone()),
            latitude: geo.as_ref().and_then(|g| g.latitude),
            longitude: geo.as_ref().and_then(|g| g.longitude),
            device: ctx.user_agent.as_deref().and_then(device_family),
        }
    }

    /// Screens a sign-up: the email and the caller's IP through intel, then
    /// the registration policy.
    pub async fn screen_registration(&self, email: &str, ctx: &RequestContext) -> Screening {
        let checked = match self.intel.check_email(email, ctx.now).await {
            Ok(result) => result,
            Err(e) => {
                tracing::warn!(error = %e, code = e.code(), "intel provider failed; screening the email offline");
                self.intel.check_email_offline(email)
            }
        };
        let policy = self.registration;
        let mut reasons = Vec::new();
        if policy.block_disposable && checked.disposable {
            reasons.push("disposable_email".to_owned());
        }
        if checked.fraud_score > policy.max_fraud_score {
            reasons.push("email_fraud_score".to_owned());
        }
        let mut ip_fraud_score = None;
        if let Some(ip) = ctx.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()) {
            let result = self.check_ip(ip, ctx.user_agent.as_deref(), ctx.now).await;
            if result.fraud_score > policy.max_fraud_score {
                reasons.push("ip_fraud_score".to_owned());
            }
            ip_fraud_score = Some(result.fraud_score);
        }
        Screening {
            reasons,
            email_fraud_score: checked.fraud_score,
            email_disposable: checked.disposable,
            ip_fraud_score,
        }
    }
}

/// The IP's contribution: half its `fraud_score`, named for what it is,
/// when it is suspicious at all.
fn ip_reason(r: &IpResult) -> Option<RiskReason> {
    let hosting = r.connection_type.as_deref() == Some("Data Center");
    let code = if r.tor == Some(true) {
        "tor"
    } else if hosting {
        "hosting"
    } else if r.vpn == Some(true) {
        "vpn"
    } else if r.proxy == Some(true) {
        "proxy"
    } else if r.fraud_score >= SUSPICIOUS {
        "ip_reputation"
    } else {
        return None;
    };
    Some(RiskReason { code, points: r.fraud_score / 2, detail: Some(format!("fraud_score {}", r.fraud_score)) })
}

#[cfg(test)]
mod tests;
