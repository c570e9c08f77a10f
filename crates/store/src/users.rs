//! Users: accounts, credentials, 2FA state, backup codes and refresh-token
//! sessions.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::error::SqlxResultExt;
use crate::sql_store::SqlStore;
use crate::{StoreError, StoreErrorKind};

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    /// As the user typed it.
    pub email: String,
    /// Lower-cased: the unique key (emails are unique case-insensitively).
    pub email_normalized: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub role: String,
    /// "active" or "disabled".
    pub status: String,
    /// The TOTP secret sealed under the master key; `None` until enrolment starts.
    pub totp_secret: Option<Vec<u8>>,
    /// True once enrolment was confirmed with a code.
    pub totp_enabled: bool,
    /// The last TOTP time step accepted (a code is never accepted twice).
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
    pub last_login_ip: Option<String>,
    /// ISO country code of the last login's address, when GeoIP knew it.
    pub last_login_country: Option<String>,
    /// Latitude of the last login's address (degrees).
    pub last_login_latitude: Option<f64>,
    /// Longitude of the last login's address (degrees).
    pub last_login_longitude: Option<f64>,
    /// The last login's user-agent family (e.g. "Firefox on Linux").
    pub last_login_device: Option<String>,
}

/// A successful login, as remembered for the next one's risk checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginRecord {
    /// Unix seconds.
    pub at: i64,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// User-agent family.
    pub device: Option<String>,
}

/// What creating a user needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub email_normalized: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
}

/// Fields an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub role: Option<String>,
    pub status: Option<String>,
    pub password_hash: Option<String>,
}

/// A refresh-token session row. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    /// Every rotation of one login shares the family; reuse revokes it whole.
    pub family_id: String,
    pub user_id: i64,
    pub client_id: String,
    /// `jti` of the access token issued with this refresh token.
    pub access_jti: String,
    /// The login passed 2FA.
    pub mfa: bool,
    pub ip_address: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionUse {
    /// Valid and now marked used (single use): issue the next one.
    Fresh(Session),
    /// Already used: a replay — the caller revokes the family.
    Reused(Session),
    /// Revoked or expired.
    Dead(Session),
    /// No such token.
    Unknown,
}

/// Persistence of users and their sessions.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `Conflict` when the normalized email exists.
    async fn create_user(&self, new: &NewUser) -> Result<User, StoreError>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email_normalized: &str) -> Result<Option<User>, StoreError>;
    /// Users ordered by id after `after_id`, optionally whose email contains `search`.
    async fn list_users(
        &self,
        search: Option<&str>,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
    /// Applies `patch`; `NotFound` for an unknown id.
    async fn update_user(&self, id: i64, patch: &UserPatch, now: i64) -> Result<User, StoreError>;
    /// Deletes the user with its codes and sessions; false when there was none.
    async fn delete_user(&self, id: i64) -> Result<bool, StoreError>;
    /// Sets the TOTP state (`None` secret clears 2FA and the last step).
    async fn set_totp(&self, id: i64, secret: Option<&[u8]>, enabled: bool, now: i64) -> Result<(), StoreError>;
    /// Records `step` as used when it is later than the last used one; false
    /// when it is not (a replayed code), atomically across instances.
    async fn use_totp_step(&self, id: i64, step: i64) -> Result<bool, StoreError>;
    /// Remembers a successful login (time, address, location, device).
    async fn record_login(&self, id: i64, login: &LoginRecord) -> Result<(), StoreError>;
    /// Replaces the user's backup codes (hashes).
    async fn replace_backup_codes(&self, user_id: i64, hashes: &[String]) -> Result<(), StoreError>;
    /// Unused backup codes: (id, hash).
    async fn unused_backup_codes(&self, user_id: i64) -> Result<Vec<(i64, String)>, StoreError>;
    /// Marks a backup code used; false when it already was (atomic).
    async fn use_backup_code(&self, code_id: i64, now: i64) -> Result<bool, StoreError>;
    /// Stores a session, unless its family has a revoked member (a refresh
    /// racing a revocation must not resurrect the family): then `Conflict`.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// Presents a refresh token (by hash): marks it used if it is fresh, atomically.
    async fn use_session(&self, token_hash: &str, now: i64) -> Result<SessionUse, StoreError>;
    /// Revokes every session of a family; returns how many were live.
    async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64, StoreError>;
    /// Revokes the family of the session whose access token had `jti` (logout
    /// without the refresh token); returns how many sessions were live.
    async fn revoke_family_of_access_jti(&self, jti: &str, now: i64) -> Result<u64, StoreError>;
    /// The `jti`s of the access tokens issued in a family, to revoke them too.
    async fn family_access_jtis(&self, family_id: &str) -> Result<Vec<String>, StoreError>;
    /// The `jti`s of access tokens issued to a user since `since` (Unix seconds).
    async fn user_access_jtis(&self, user_id: i64, since: i64) -> Result<Vec<String>, StoreError>;
    /// Revokes every session of a user (password reset, disable).
    async fn revoke_user_sessions(&self, user_id: i64, now: i64) -> Result<u64, StoreError>;
    /// Every sealed TOTP secret as (user id, blob), for master-key rotation.
    async fn sealed_totp_secrets(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;
    /// Replaces a user's sealed TOTP secret (master-key rotation); the 2FA
    /// state is unchanged.
    async fn reseal_totp_secret(&self, user_id: i64, sealed: &[u8]) -> Result<(), StoreError>;
}

const USER_COLUMNS: &str = "id, email, email_normalized, password_hash, role, status, totp_secret, totp_enabled, \
                            totp_last_step, created_at, updated_at, last_login_at, last_login_ip, \
                            last_login_country, last_login_latitude, last_login_longitude, last_login_device";

const SESSION_COLUMNS: &str = "token_hash, family_id, user_id, client_id, access_jti, mfa, ip_address, created_at, \
                               expires_at, used_at, revoked_at";

fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        email_normalized: row.try_get("email_normalized")?,
        password_hash: row.try_get("password_hash")?,
        role: row.try_get("role")?,
        status: row.try_get("status")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
        totp_last_step: row.try_get("totp_last_step")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_login_at: row.try_get("last_login_at")?,
        last_login_ip: row.try_get("last_login_ip")?,
        last_login_country: row.try_get("last_login_country")?,
        last_login_latitude: row.try_get("last_login_latitude")?,
        last_login_longitude: row.try_get("last_login_longitude")?,
        last_login_device: row.try_get("last_login_device")?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        token_hash: row.try_get("token_hash")?,
        family_id: row.try_get("family_id")?,
        user_id: row.try_get("user_id")?,
        client_id: row.try_get("client_id")?,
        access_jti: row.try_get("access_jti")?,
        mfa: row.try_get::<i64, _>("mfa")? != 0,
        ip_address: row.try_get("ip_address")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

async fn one_user(pool: &AnyPool, sql: &str, bind: UserKey<'_>, context: &str) -> Result<Option<User>, StoreError> {
    let query = sqlx::query(sql);
    let query = match bind {
        UserKey::Id(id) => query.bind(id),
        UserKey::Email(email) => query.bind(email),
    };
    let row = query.fetch_optional(pool).await.store_context(|| context.to_owned())?;
    row.as_ref().map(user_from_row).transpose().store_context(|| context.to_owned())
}

enum UserKey<'a> {
    Id(i64),
    Email(&'a str),
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        let context = || format!("creating user {}", new.email_normalized);
        let sql = format!(
            "INSERT INTO users (email, email_normalized, password_hash, role, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'active', $5, $5) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&new.email)
            .bind(&new.email_normalized)
            .bind(&new.password_hash)
            .bind(&new.role)
            .bind(new.created_at)
            .fetch_one(&self.pool)
            .await
            .store_context(context)?;
        user_from_row(&row).store_context(context)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        one_user(&self.pool, &sql, UserKey::Id(id), &format!("reading user {id}")).await
    }

    async fn user_by_email(&self, email_normalized: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_normalized = $1");
        one_user(&self.pool, &sql, UserKey::Email(email_normalized), "reading a user by email").await
    }

    async fn list_users(
        &self,
        search: Option<&str>,
        after_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let context = || "listing users".to_owned();
        let pattern = search.map(|s| format!("%{}%", s.to_lowercase().replace(['%', '_'], "")));
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id > $1 AND ($2 IS NULL OR email_normalized LIKE $2) \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(after_id.unwrap_or(0))
            .bind(pattern)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .store_context(context)?;
        rows.iter().map(user_from_row).collect::<Result<_, _>>().store_context(context)
    }

    async fn update_user(&self, id: i64, patch: &UserPatch, now: i64) -> Result<User, StoreError> {
        let context = || format!("updating user {id}");
        let sql = format!(
            "UPDATE users SET role = COALESCE($2, role), status = COALESCE($3, status), \
             password_hash = COALESCE($4, password_hash), updated_at = $5 WHERE id = $1 RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(patch.role.as_deref())
            .bind(patch.status.as_deref())
            .bind(patch.password_hash.as_deref())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .store_context(context)?;
        match row {
            Some(row) => user_from_row(&row).store_context(context),
            None => Err(StoreError::new(StoreErrorKind::NotFound, format!("user {id} does not exist"))),
        }
    }

    async fn delete_user(&self, id: i64) -> Result<bool, StoreError> {
        let context = || format!("deleting user {id}");
        let mut tx = self.pool.begin().await.store_context(context)?;
        // Foreign keys cascade on SQLite only when enabled per connection; be explicit.
        for sql in ["DELETE FROM backup_codes WHERE user_id = $1", "DELETE FROM refresh_sessions WHERE user_id = $1"] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await.store_context(context)?;
        }
        let done =
            sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await.store_context(context)?;
        tx.commit().await.store_context(context)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_totp(&self, id: i64, secret: Option<&[u8]>, enabled: bool, now: i64) -> Result<(), StoreError> {
        let context = || format!("setting 2FA of user {id}");
        let sql = "UPDATE users SET totp_secret = $2, totp_enabled = $3, \
                   totp_last_step = CASE WHEN $2 IS NULL THEN NULL ELSE totp_last_step END, updated_at = $4 WHERE id = $1";
        let done = sqlx::query(sql)
            .bind(id)
            .bind(secret)
            .bind(i64::from(enabled))
            .bind(now)
            .execute(&self.pool)
            .await
            .store_context(context)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::new(StoreErrorKind::NotFound, format!("user {id} does not exist")));
        }
        Ok(())
    }

    async fn use_totp_step(&self, id: i64, step: i64) -> Result<bool, StoreError> {
        let sql =
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)";
        let done = sqlx::query(sql)
            .bind(id)
            .bind(step)
            .execute(&self.pool)
            .await
            .store_context(|| format!("recording a TOTP step for user {id}"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_login(&self, id: i64, login: &LoginRecord) -> Result<(), StoreError> {
        let sql = "UPDATE users SET last_login_at = $2, last_login_ip = $3, last_login_country = $4, \
                   last_login_latitude = $5, last_login_longitude = $6, last_login_device = $7 WHERE id = $1";
        sqlx::query(sql)
            .bind(id)
            .bind(login.at)
            .bind(login.ip.as_deref())
            .bind(login.country.as_deref())
            .bind(login.latitude)
            .bind(login.longitude)
            .bind(login.device.as_deref())
            .execute(&self.pool)
            .await
            .store_context(|| format!("recording a login of user {id}"))?;
        Ok(())
    }

    async fn replace_backup_codes(&self, user_id: i64, hashes: &[String]) -> Result<(), StoreError> {
        let context = || format!("replacing backup codes of user {user_id}");
        let mut tx = self.pool.begin().await.store_context(context)?;
        sqlx::query("DELETE FROM backup_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .store_context(context)?;
        for hash in hashes {
            sqlx::query("INSERT INTO backup_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .store_context(context)?;
        }
        tx.commit().await.store_context(context)
    }

    async fn unused_backup_codes(&self, user_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let context = || format!("reading backup codes of user {user_id}");
        let rows =
            sqlx::query("SELECT id, code_hash FROM backup_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY id")
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .store_context(context)?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("code_hash")?)))
            .collect::<Result<_, sqlx::Error>>()
            .store_context(context)
    }

    async fn use_backup_code(&self, code_id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE backup_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(code_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .store_context(|| format!("using backup code {code_id}"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO refresh_sessions ({SESSION_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             WHERE NOT EXISTS (SELECT 1 FROM refresh_sessions WHERE family_id = $2 AND revoked_at IS NOT NULL)"
        );
        let done = sqlx::query(&sql)
            .bind(&s.token_hash)
            .bind(&s.family_id)
            .bind(s.user_id)
            .bind(&s.client_id)
            .bind(&s.access_jti)
            .bind(i64::from(s.mfa))
            .bind(s.ip_address.as_deref())
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(s.used_at)
            .bind(s.revoked_at)
            .execute(&self.pool)
            .await
            .store_context(|| format!("creating a session for user {}", s.user_id))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::new(StoreErrorKind::Conflict, "the session's family was revoked"));
        }
        Ok(())
    }

    async fn use_session(&self, token_hash: &str, now: i64) -> Result<SessionUse, StoreError> {
        let context = || "using a refresh token".to_owned();
        // The conditional update is the single-use guarantee: of two instances
        // presenting the same token at once, exactly one sees a row changed.
        let fresh = sqlx::query(
            "UPDATE refresh_sessions SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .store_context(context)?
        .rows_affected()
            == 1;
        let sql = format!("SELECT {SESSION_COLUMNS} FROM refresh_sessions WHERE token_hash = $1");
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.pool).await.store_context(context)?;
        let Some(row) = row else { return Ok(SessionUse::Unknown) };
        let session = session_from_row(&row).store_context(context)?;
        Ok(if fresh {
            SessionUse::Fresh(session)
        } else if session.revoked_at.is_some() || session.expires_at <= now {
            SessionUse::Dead(session)
        } else {
            SessionUse::Reused(session)
        })
    }

    async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE refresh_sessions SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                .bind(family_id)
                .bind(now)
                .execute(&self.pool)
                .await
                .store_context(|| "revoking a session family".to_owned())?;
        Ok(done.rows_affected())
    }

    async fn revoke_family_of_access_jti(&self, jti: &str, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE refresh_sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id IN \
             (SELECT family_id FROM refresh_sessions WHERE access_jti = $1)",
        )
        .bind(jti)
        .bind(now)
        .execute(&self.pool)
        .await
        .store_context(|| "revoking a session by its access token".to_owned())?;
        Ok(done.rows_affected())
    }

    async fn family_access_jtis(&self, family_id: &str) -> Result<Vec<String>, StoreError> {
        let context = || "listing a session family's access tokens".to_owned();
        let rows = sqlx::query("SELECT access_jti FROM refresh_sessions WHERE family_id = $1")
            .bind(family_id)
            .fetch_all(&self.pool)
            .await
            .store_context(context)?;
        rows.iter().map(|r| r.try_get("access_jti")).collect::<Result<_, sqlx::Error>>().store_context(context)
    }

    async fn user_access_jtis(&self, user_id: i64, since: i64) -> Result<Vec<String>, StoreError> {
        let context = || format!("listing the access tokens of user {user_id}");
        let rows = sqlx::query("SELECT access_jti FROM refresh_sessions WHERE user_id = $1 AND created_at >= $2")
            .bind(user_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .store_context(context)?;
        rows.iter().map(|r| r.try_get("access_jti")).collect::<Result<_, sqlx::Error>>().store_context(context)
    }

    async fn revoke_user_sessions(&self, user_id: i64, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE refresh_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .store_context(|| format!("revoking the sessions of user {user_id}"))?;
        Ok(done.rows_affected())
    }

    async fn sealed_totp_secrets(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let context = || "listing sealed TOTP secrets".to_owned();
        let rows = sqlx::query("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .store_context(context)?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("totp_secret")?)))
            .collect::<Result<_, sqlx::Error>>()
            .store_context(context)
    }

    async fn reseal_totp_secret(&self, user_id: i64, sealed: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_secret IS NOT NULL")
            .bind(user_id)
            .bind(sealed)
            .execute(&self.pool)
            .await
            .store_context(|| format!("re-sealing the TOTP secret of user {user_id}"))?;
        Ok(())
    }
}
