//! Keyed hashing of customer identifiers.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Number of hex characters kept from the HMAC (128 bits).
const KEY_HEX_LEN: usize = 32;

/// A stable pseudonym for a customer id, so repeat contacts still link
/// without storing the id itself.
///
/// The id is trimmed and lower-cased (Unicode-aware), then authenticated
/// with HMAC-SHA256 under `secret`; the result is the first 32 lowercase hex
/// characters. Without the secret the key cannot be traced back to the id,
/// even by trying every plausible id; rotating the secret unlinks all keys.
pub fn customer_key(secret: &[u8], customer_id: &str) -> String {
    let normalized = customer_id.trim().to_lowercase();
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(e) => unreachable!("HMAC takes keys of any length: {e}"),
    };
    mac.update(normalized.as_bytes());
    let mut key = hex::encode(mac.finalize().into_bytes());
    key.truncate(KEY_HEX_LEN);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_4231_hmac_sha256_vector() {
        // RFC 4231 test case 2; the message is already trimmed lower case.
        assert_eq!(
            customer_key(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }

    #[test]
    fn case_and_surrounding_whitespace_do_not_change_the_key() {
        let secret = b"pipeline secret";
        let key = customer_key(secret, "cust-00042@Example.COM");
        assert_eq!(key, customer_key(secret, "  CUST-00042@example.com\n"));
        assert_eq!(key, customer_key(secret, "\tcust-00042@example.com "));
        assert_eq!(
            customer_key(secret, "JOSÉ.ÑÚÑEZ"),
            customer_key(secret, "josé.ñúñez")
        );
        assert_eq!(key.len(), 32);
        assert!(key
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn different_ids_or_secrets_give_different_keys() {
        let a = customer_key(b"secret-a", "customer-1");
        assert_ne!(a, customer_key(b"secret-b", "customer-1"));
        assert_ne!(a, customer_key(b"secret-a", "customer-2"));
        // Inner whitespace is part of the id.
        assert_ne!(
            customer_key(b"secret-a", "ana maria"),
            customer_key(b"secret-a", "anamaria")
        );
        // An empty secret is still a key.
        assert_ne!(customer_key(b"", "customer-1"), a);
    }
}
