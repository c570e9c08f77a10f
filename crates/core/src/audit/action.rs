//! What happened, and how it ended: stable snake_case names.

use std::fmt;
use std::str::FromStr;

macro_rules! actions {
    ($($variant:ident => $name:literal,)*) => {
        /// A security event's action. The names are stable: they are stored,
        /// hashed, filtered on and exported.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AuditAction {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl AuditAction {
            /// Every action.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant),*];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }
        }

        impl FromStr for AuditAction {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(AuditAction::$variant),)*
                    _ => Err(UnknownName(s.to_owned())),
                }
            }
        }
    };
}

actions! {
    Login => "login",
    Logout => "logout",
    FailedLogin => "failed_login",
    Lockout => "lockout",
    Unlock => "unlock",
    MfaEnrolled => "mfa_enrolled",
    MfaFailed => "mfa_failed",
    MfaDisabled => "mfa_disabled",
    Registered => "registered",
    TokenRefreshed => "token_refreshed",
    RefreshReuseDetected => "refresh_reuse_detected",
    PasswordChanged => "password_changed",
    ClientCreated => "client_created",
    ClientSecretRotated => "client_secret_rotated",
    ClientUpdated => "client_updated",
    ClientDeleted => "client_deleted",
    ClientSecretTooOld => "client_secret_too_old",
    ApiKeyCreated => "api_key_created",
    ApiKeyRevoked => "api_key_revoked",
    TokenIssued => "token_issued",
    TokenRevoked => "token_revoked",
    IpBlocked => "ip_blocked",
    SignatureInvalid => "signature_invalid",
    RateLimited => "rate_limited",
    KeyRotated => "key_rotated",
    RiskDenied => "risk_denied",
    Alert => "alert",
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// `success`
    Success,
    /// `failure`: the caller failed (wrong password, bad signature).
    Failure,
    /// `denied`: a rule refused (lockout, rate limit, risk, block list).
    Denied,
}

impl AuditOutcome {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
            AuditOutcome::Denied => "denied",
        }
    }
}

impl FromStr for AuditOutcome {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(AuditOutcome::Success),
            "failure" => Ok(AuditOutcome::Failure),
            "denied" => Ok(AuditOutcome::Denied),
            _ => Err(UnknownName(s.to_owned())),
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an action (or outcome).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_product_action_has_its_stable_name_and_parses_back() {
        let product = [
            "login",
            "logout",
            "failed_login",
            "lockout",
            "unlock",
            "mfa_enrolled",
            "mfa_failed",
            "token_refreshed",
            "refresh_reuse_detected",
            "password_changed",
            "client_created",
            "client_secret_rotated",
            "ip_blocked",
            "signature_invalid",
            "rate_limited",
            "key_rotated",
            "risk_denied",
        ];
        for name in product {
            let action: AuditAction = name.parse().unwrap();
            assert_eq!(action.as_str(), name);
        }
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
        }
        assert!("Login".parse::<AuditAction>().is_err());
    }

    #[test]
    fn outcomes_round_trip() {
        for o in [AuditOutcome::Success, AuditOutcome::Failure, AuditOutcome::Denied] {
            assert_eq!(o.as_str().parse::<AuditOutcome>().unwrap(), o);
        }
    }
}
