//! The field rules Huawei documents for agent accounts, as the simulated vendor enforces them.
//!
//! Written from the vendor's side, independently of the client's pre-call validation, so the contract
//! tests compare two readings of Huawei's documentation rather than one function with
//! itself. Each rule returns the `resultMessage` Huawei would send (the real messages are unpublished;
//! these name the field, as a user would need).

/// Characters `userName` must not contain at create.
const NAME_FORBIDDEN_CREATE: &[char] = &['"', '[', ']', '\'', '&', '(', ')', '=', ';', '<', '>', ','];
/// The smaller set the update page lists.
const NAME_FORBIDDEN_UPDATE: &[char] = &['"', '[', ']', '=', ';', '<', '>'];

/// `userAccount`: 6–50 characters of letters, digits and `@ . - _`.
pub fn user_account(v: &str) -> Result<(), String> {
    let ok_len = (6..=50).contains(&v.chars().count());
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err("userAccount is invalid: it must be 6 to 50 characters of letters, digits and @ . - _".into())
    }
}

/// `userName` at create: at most 20 characters, none of `" [ ] ' & ( ) = ; < > ,`.
pub fn user_name_at_create(v: &str) -> Result<(), String> {
    if v.is_empty() || v.chars().count() > 20 {
        return Err("userName is invalid: it must be 1 to 20 characters".into());
    }
    if v.contains(NAME_FORBIDDEN_CREATE) {
        return Err("userName is invalid: it must not contain \" [ ] ' & ( ) = ; < > ,".into());
    }
    Ok(())
}

/// `userName` at update: at most 20 *bytes*, none of `" [ ] = ; < >` (the update page's rule).
pub fn user_name_at_update(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 20 {
        return Err("userName is invalid: it must be 1 to 20 bytes".into());
    }
    if v.contains(NAME_FORBIDDEN_UPDATE) {
        return Err("userName is invalid: it must not contain \" [ ] = ; < >".into());
    }
    Ok(())
}

/// `email`: local part ≤ 64, domain ≤ 255, domain labels 1–63.
pub fn email(v: &str) -> Result<(), String> {
    let bad = || Err("email is invalid".to_string());
    let Some((local, domain)) = v.split_once('@') else {
        return bad();
    };
    if local.is_empty() || local.len() > 64 || domain.is_empty() || domain.len() > 255 {
        return bad();
    }
    if domain.contains('@') || domain.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return bad();
    }
    if v.chars().any(char::is_whitespace) {
        return bad();
    }
    Ok(())
}

/// `phone`: at most 25 characters.
pub fn phone(v: &str) -> Result<(), String> {
    if v.chars().count() > 25 {
        Err("phone is invalid: it must be at most 25 characters".into())
    } else {
        Ok(())
    }
}

/// `agentType`: 4 audio, 11 video, 5 multimedia, 99 versatile.
pub fn agent_type(v: i64) -> Result<(), String> {
    if matches!(v, 4 | 11 | 5 | 99) {
        Ok(())
    } else {
        Err("agentType is invalid: it must be 4, 11, 5 or 99".into())
    }
}

/// `ccRoleId`: 2 agent, 3 inspector, 4 outbound-call agent.
pub fn role(v: i64) -> Result<(), String> {
    if matches!(v, 2..=4) {
        Ok(())
    } else {
        Err("ccRoleId is invalid: it must be 2, 3 or 4".into())
    }
}

/// The default password rule group: 8–32 printable ASCII characters with all four classes (upper,
/// lower, digit, special). ASSUMPTION: 8 is a minimum (the page says "eight characters"; the
/// gateway's password API allows 8–32), and every ASCII punctuation character counts as special.
pub fn password(field: &str, v: &str) -> Result<(), String> {
    let len_ok = (8..=32).contains(&v.chars().count());
    let printable = v.chars().all(|c| c.is_ascii_graphic());
    let classes = v.chars().any(|c| c.is_ascii_uppercase())
        && v.chars().any(|c| c.is_ascii_lowercase())
        && v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_punctuation());
    if len_ok && printable && classes {
        Ok(())
    } else {
        Err(format!(
            "{field} does not meet the password policy: 8 to 32 characters with upper-case, lower-case, \
             digit and special characters"
        ))
    }
}

/// A weight (`agentWeight`, `skillWeight`): at least 1.
pub fn weight(field: &str, v: i64) -> Result<(), String> {
    if v >= 1 {
        Ok(())
    } else {
        Err(format!("{field} is invalid: it must be at least 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_rules_hold() {
        assert!(user_account("test123456").is_ok());
        assert!(user_account("a.b@c-d_e").is_ok());
        assert!(user_account("short").is_err());
        assert!(user_account("has space1").is_err());
        assert!(user_name_at_create("Alice Chen").is_ok());
        assert!(user_name_at_create("Alice, Chen").is_err());
        assert!(
            user_name_at_update("Alice, Chen").is_ok(),
            "update forbids fewer characters"
        );
        assert!(user_name_at_update("陈爱丽陈爱丽陈").is_err(), "21 bytes");
        assert!(email("a@example.com").is_ok());
        assert!(email("a@@example.com").is_err());
        assert!(phone(&"1".repeat(26)).is_err());
        assert!(agent_type(99).is_ok() && agent_type(255).is_err());
        assert!(role(4).is_ok() && role(1).is_err());
        assert!(password("password", "Str0ng#Pass").is_ok());
        assert!(password("password", "weakpass").is_err());
        assert!(password("password", "Sh0rt#").is_err());
        assert!(weight("agentWeight", 0).is_err());
    }
}
