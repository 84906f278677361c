//! First passwords the operator generates (`passwordPolicy: Generate`): random, from the thread's
//! CSPRNG (seeded by the operating system), shaped by the vendor's documented rules.

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use secrecy::SecretString;

/// The length the operator generates when the vendor allows it: 20 characters from about 70 symbols
/// is over 120 bits, and fits every documented maximum (the shortest is 32).
pub const GENERATED_LEN: usize = 20;

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
/// Special characters that need no quoting in JSON, form bodies, shells or YAML plain scalars, so a
/// generated password survives being copied anywhere.
const SPECIALS: &[u8] = b"!#%+-.:=?@^_~";

/// What a vendor documents about its agents' passwords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordRules {
    /// The shortest password the vendor accepts.
    pub min_len: usize,
    /// The longest.
    pub max_len: usize,
    /// Whether it must contain an upper-case letter, a lower-case letter, a digit and a special
    /// character.
    pub four_classes: bool,
    /// Whether special characters are allowed at all (a vendor that documents none gets letters and
    /// digits only).
    pub specials: bool,
}

impl PasswordRules {
    /// The operator's own rule where a vendor documents none: strong, with every class.
    pub const STRONG_DEFAULT: PasswordRules = PasswordRules {
        min_len: 12,
        max_len: 64,
        four_classes: true,
        specials: true,
    };

    /// The length to generate: [`GENERATED_LEN`] within the vendor's bounds.
    pub fn length(&self) -> usize {
        GENERATED_LEN.clamp(self.min_len, self.max_len.max(self.min_len))
    }
}

/// A new password satisfying `rules`.
pub fn generate_password(rules: &PasswordRules) -> SecretString {
    SecretString::from(generate_with(rules, &mut rand::rng()))
}

/// A password satisfying `rules`, from `rng` (a CSPRNG outside tests).
fn generate_with(rules: &PasswordRules, rng: &mut impl Rng) -> String {
    let mut classes: Vec<&[u8]> = vec![UPPER, LOWER, DIGITS];
    if rules.specials {
        classes.push(SPECIALS);
    }
    let alphabet: Vec<u8> = classes.concat();
    let len = rules.length();
    let mut chars: Vec<u8> = Vec::with_capacity(len);
    if rules.four_classes {
        // One of each class first; the shuffle below puts them anywhere.
        for class in &classes {
            chars.push(*class.choose(rng).expect("classes are not empty"));
        }
    }
    while chars.len() < len {
        chars.push(*alphabet.choose(rng).expect("the alphabet is not empty"));
    }
    chars.truncate(len);
    chars.shuffle(rng);
    String::from_utf8(chars).expect("the alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn has_every_class(p: &str) -> bool {
        p.chars().any(|c| c.is_ascii_uppercase())
            && p.chars().any(|c| c.is_ascii_lowercase())
            && p.chars().any(|c| c.is_ascii_digit())
            && p.chars().any(|c| c.is_ascii_punctuation())
    }

    #[test]
    fn generated_passwords_meet_the_rules_every_time() {
        let four_classes = PasswordRules {
            min_len: 8,
            max_len: 32,
            four_classes: true,
            specials: true,
        };
        let letters_only = PasswordRules {
            min_len: 3,
            max_len: 50,
            four_classes: false,
            specials: false,
        };
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let p = generate_with(&four_classes, &mut rng);
            assert_eq!(p.len(), GENERATED_LEN);
            assert!(has_every_class(&p), "{p}");
            assert!(p.chars().all(|c| c.is_ascii_graphic()), "{p}");
            let q = generate_with(&letters_only, &mut rng);
            assert!(q.chars().all(|c| c.is_ascii_alphanumeric()), "{q}");
        }
    }

    #[test]
    fn the_length_stays_within_the_vendors_bounds() {
        let short = PasswordRules {
            min_len: 6,
            max_len: 10,
            four_classes: true,
            specials: true,
        };
        let p = generate_with(&short, &mut StdRng::seed_from_u64(1));
        assert_eq!(p.len(), 10);
        assert!(has_every_class(&p));
        let long = PasswordRules { min_len: 24, ..short };
        assert_eq!(long.length(), 24);
    }

    #[test]
    fn two_passwords_differ() {
        use secrecy::ExposeSecret;
        let a = generate_password(&PasswordRules::STRONG_DEFAULT);
        let b = generate_password(&PasswordRules::STRONG_DEFAULT);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
