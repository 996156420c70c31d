//! Bearer-token access with roles. Tokens are stored as SHA-256 hashes.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What a token may see. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Aggregates only.
    Viewer,
    /// Aggregates and verbatims (redacted texts).
    Analyst,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

/// A configured token: its name, role and the hex SHA-256 of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub sha256: String,
}

/// The hex SHA-256 of a token, as stored in configuration.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// Token verification.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    open: bool,
    tokens: HashMap<String, (String, Role)>,
}

impl Auth {
    /// Every request is admin. Only for a demo on loopback.
    pub fn open() -> Auth {
        Auth {
            open: true,
            tokens: HashMap::new(),
        }
    }

    pub fn with_tokens(entries: &[TokenEntry]) -> Auth {
        let tokens = entries
            .iter()
            .map(|e| (e.sha256.to_ascii_lowercase(), (e.name.clone(), e.role)))
            .collect();
        Auth {
            open: false,
            tokens,
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Checks an `Authorization` header value.
    pub fn caller(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        if self.open {
            return Ok(Caller {
                name: "open-access".into(),
                role: Role::Admin,
            });
        }
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let (name, role) = self
            .tokens
            .get(&hash_token(token))
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller {
            name: name.clone(),
            role: *role,
        })
    }
}

impl Caller {
    pub fn require(&self, need: Role) -> Result<(), ApiError> {
        if self.role >= need {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                have: self.role.as_str(),
                need: need.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_by_hash_and_roles_are_ordered() {
        let auth = Auth::with_tokens(&[TokenEntry {
            name: "cx".into(),
            role: Role::Viewer,
            sha256: hash_token("s3cret"),
        }]);
        let caller = auth.caller(Some("Bearer s3cret")).unwrap();
        assert_eq!(caller.role, Role::Viewer);
        assert!(caller.require(Role::Viewer).is_ok());
        assert!(matches!(
            caller.require(Role::Analyst),
            Err(ApiError::Forbidden { .. })
        ));
        assert!(matches!(
            auth.caller(Some("Bearer wrong")),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(auth.caller(None), Err(ApiError::Unauthorized)));
        assert!(matches!(
            auth.caller(Some("s3cret")),
            Err(ApiError::Unauthorized)
        ));
        assert_eq!(
            hash_token("s3cret"),
            "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
        );
    }
}
