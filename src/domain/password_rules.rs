//! Django 5.2's four default password validators, with Django's exact verdicts and messages.
//!
//! Users expect the same passwords to be accepted and refused as on the Django stack, so every
//! rule mirrors Django's Python: lengths count code points, case folding is `str.lower()`,
//! trimming is `str.strip()`, "numeric" is `str.isdigit()`, and attribute parts come from
//! `re.split(r"\W+", …)`. The Unicode classes Python uses are frozen below as tables generated
//! from CPython, so verdicts do not drift with the Rust toolchain's Unicode version.

use std::borrow::Cow;

/// Django's `MinimumLengthValidator` default (`PASSWORD_MIN_LENGTH` unless set).
pub const MIN_LENGTH: usize = 8;

/// Django's `UserAttributeSimilarityValidator` default.
pub const MAX_SIMILARITY: f64 = 0.7;

/// `too_short(MIN_LENGTH)`, Django's default message.
pub const TOO_SHORT: &str = "This password is too short. It must contain at least 8 characters.";
pub const TOO_COMMON: &str = "This password is too common.";
pub const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";
pub const TOO_SIMILAR_TO_FIRST_NAME: &str = "The password is too similar to the first name.";
pub const TOO_SIMILAR_TO_LAST_NAME: &str = "The password is too similar to the last name.";
pub const TOO_SIMILAR_TO_EMAIL: &str = "The password is too similar to the email.";

/// What the rules are checked against besides the user: the minimum length and Django's list of
/// common passwords (the worker reads the list once per isolate from its static assets).
#[derive(Clone, Copy)]
pub struct PasswordPolicy<'a> {
    /// `PASSWORD_MIN_LENGTH`, in code points.
    pub min_length: usize,
    pub common: &'a CommonPasswords,
}

/// Django 5.2's common-password list (`x.strip()` of each line), sorted by bytes, deduplicated
/// and front-coded in blocks by build.rs (`common-passwords.bin`; see `contains_entry`).
pub struct CommonPasswords {
    coded: Vec<u8>,
}

impl CommonPasswords {
    /// The list from build.rs's bytes, or `None` for bytes that are not such a list: what the
    /// worker read is checked before any password is held against it, since a list that
    /// matched nothing would accept every common password.
    pub fn from_coded(coded: Vec<u8>) -> Option<CommonPasswords> {
        let list = CommonPasswords { coded };
        let looks_right = list.coded.first() == Some(&HEAD) && ["123456", "password"].iter().all(|p| list.contains(p));
        looks_right.then_some(list)
    }

    /// `CommonPasswordValidator`: `password.lower().strip() in passwords`.
    pub fn contains(&self, password: &str) -> bool {
        let lowered = password.to_lowercase();
        contains_entry(&self.coded, lowered.trim_matches(py_isspace).as_bytes())
    }
}

/// The byte that starts a front-coded block's head (build.rs).
const HEAD: u8 = 0x1f;

/// The user fields Django's similarity check compares against (the user model has no
/// `username`, so Django's default attribute list reduces to these three).
#[derive(Debug, Clone, Copy, Default)]
pub struct UserAttributes<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

/// `MinimumLengthValidator(min_length)`'s message, `ngettext`'s singular for 1 as Django's
/// English catalogue has it.
pub fn too_short(min_length: usize) -> Cow<'static, str> {
    match min_length {
        MIN_LENGTH => TOO_SHORT.into(),
        1 => "This password is too short. It must contain at least 1 character.".into(),
        n => format!("This password is too short. It must contain at least {n} characters.").into(),
    }
}

/// Runs the four validators and returns every failing message, in the contract's order:
/// too short (under the policy's `min_length` code points, `PASSWORD_MIN_LENGTH`), too common,
/// entirely numeric, too similar (at most one similarity message, for the first attribute that
/// matches, like Django). An empty result means the password is acceptable. No rule caps the
/// length: Django has no maximum validator (only dj-rest-auth's reset form caps its fields at 128).
pub fn validate_password(password: &str, user: &UserAttributes, policy: &PasswordPolicy) -> Vec<Cow<'static, str>> {
    let mut errors = Vec::new();
    if password.chars().count() < policy.min_length {
        errors.push(too_short(policy.min_length));
    }
    if policy.common.contains(password) {
        errors.push(TOO_COMMON.into());
    }
    if py_isdigit(password) {
        errors.push(ENTIRELY_NUMERIC.into());
    }
    if let Some(message) = similar_attribute(password, user) {
        errors.push(message.into());
    }
    errors
}

/// Whether `needle` is an entry of `coded`, a sorted list front-coded in blocks by build.rs. Each
/// entry starts with a byte below 0x20 and runs to the next one: a block's head is `HEAD` and
/// the whole entry, any other entry the length of the prefix it shares with the entry before
/// (below `HEAD`) and the rest. A binary search over the heads (each probe lands on a byte and
/// steps back to the head at or before it) finds the last head below `needle`; that block is
/// then decoded in order.
fn contains_entry(coded: &[u8], needle: &[u8]) -> bool {
    let entry_end =
        |start: usize| coded[start + 1..].iter().position(|&b| b < 0x20).map_or(coded.len(), |i| start + 1 + i);
    // `lo` and `hi` stay on heads (or the end); `coded` starts with one.
    let (mut lo, mut hi) = (0, coded.len());
    let mut block = None;
    while lo < hi {
        let mut start = lo + (hi - lo) / 2;
        while coded[start] != HEAD && start > lo {
            start -= 1;
        }
        let end = entry_end(start);
        match coded[start + 1..end].cmp(needle) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => {
                block = Some(start);
                lo = end;
                while lo < hi && coded[lo] != HEAD {
                    lo += 1;
                }
            }
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    let Some(head) = block else { return false };
    let mut pos = entry_end(head);
    let mut entry = coded[head + 1..pos].to_vec();
    while pos < coded.len() && coded[pos] != HEAD {
        let end = entry_end(pos);
        entry.truncate(usize::from(coded[pos]));
        entry.extend_from_slice(&coded[pos + 1..end]);
        match entry.as_slice().cmp(needle) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Greater => return false,
            std::cmp::Ordering::Less => pos = end,
        }
    }
    false
}

/// `UserAttributeSimilarityValidator.validate`: the message for the first attribute (in
/// Django's order) one of whose parts is at least `MAX_SIMILARITY` similar to the password.
fn similar_attribute(password: &str, user: &UserAttributes) -> Option<&'static str> {
    let password = password.to_lowercase();
    let password_chars = sorted_chars(&password);
    let attributes = [
        (user.first_name, TOO_SIMILAR_TO_FIRST_NAME),
        (user.last_name, TOO_SIMILAR_TO_LAST_NAME),
        (user.email, TOO_SIMILAR_TO_EMAIL),
    ];
    for (value, message) in attributes {
        // `if not value: continue`
        if value.is_empty() {
            continue;
        }
        let value = value.to_lowercase();
        // `re.split(r"\W+", value_lower) + [value_lower]`; the split keeps empty strings at
        // either end, and Django checks them too (they only ever match an empty password).
        let parts = split_non_word(&value).into_iter().chain([value.as_str()]);
        for part in parts {
            let part_len = part.chars().count();
            if exceeds_maximum_length_ratio(password_chars.len(), part_len) {
                continue;
            }
            if quick_ratio(&password_chars, part) >= MAX_SIMILARITY {
                return Some(message);
            }
        }
    }
    None
}

/// Django's shortcut: a part under a tenth of the password's length can never reach the
/// similarity bound, so it is skipped (this also skips empty parts for non-empty passwords).
fn exceeds_maximum_length_ratio(password_len: usize, value_len: usize) -> bool {
    let length_bound_similarity = MAX_SIMILARITY / 2.0 * password_len as f64;
    password_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// `SequenceMatcher(a=password, b=part).quick_ratio()`: 2·M/T, where M is the size of the
/// multiset intersection of the two strings' characters and T their total length (1.0 when
/// both are empty). Computed in the same floating-point order as Python.
fn quick_ratio(password_chars: &[char], part: &str) -> f64 {
    let part_chars = sorted_chars(part);
    let total = password_chars.len() + part_chars.len();
    if total == 0 {
        return 1.0;
    }
    let (mut i, mut j, mut matches) = (0, 0, 0usize);
    while let (Some(a), Some(b)) = (password_chars.get(i), part_chars.get(j)) {
        match a.cmp(b) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                matches += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * matches as f64 / total as f64
}

/// The characters of `s` in order. A heapsort written out rather than `sort_unstable`, whose
/// pattern-defeating quicksort and sorting networks instantiated for `char` alone cost ~1 KB of
/// gzipped wasm; equal characters are indistinguishable, so any correct sort gives this result.
fn sorted_chars(s: &str) -> Vec<char> {
    let mut chars: Vec<char> = s.chars().collect();
    let sift_down = |v: &mut [char], mut root: usize| loop {
        let mut child = 2 * root + 1;
        if child >= v.len() {
            break;
        }
        if child + 1 < v.len() && v[child] < v[child + 1] {
            child += 1;
        }
        if v[root] >= v[child] {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    for root in (0..chars.len() / 2).rev() {
        sift_down(&mut chars, root);
    }
    for end in (1..chars.len()).rev() {
        chars.swap(0, end);
        sift_down(&mut chars[..end], 0);
    }
    chars
}

/// Python's `re.split(r"\W+", s)`: the pieces between maximal runs of non-word characters,
/// including the empty pieces before a leading run and after a trailing one.
fn split_non_word(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut piece_start = 0;
    let mut run_start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match (py_is_word(c), run_start) {
            (false, None) => run_start = Some(i),
            (true, Some(start)) => {
                parts.push(&s[piece_start..start]);
                piece_start = i;
                run_start = None;
            }
            _ => {}
        }
    }
    match run_start {
        Some(start) => {
            parts.push(&s[piece_start..start]);
            parts.push("");
        }
        None => parts.push(&s[piece_start..]),
    }
    parts
}

/// Python's `str.isspace`: Unicode White_Space plus the separators U+001C..U+001F.
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.isdigit()`: non-empty and every character has Numeric_Type Digit or Decimal
/// (so `'٣'`, `'²'` and `'①'` count, `'½'`, `'Ⅷ'` and `'八'` do not).
fn py_isdigit(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| in_table(PY_DIGIT, c))
}

/// Python's `\w` for `str` patterns: `c.isalnum() or c == "_"`. Unlike Rust's
/// `char::is_alphanumeric`, combining marks (e.g. Devanagari vowel signs) are not word
/// characters, so names split on them.
fn py_is_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    in_table(PY_WORD, c)
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Code points matched by Python's `re` `\w` on `str` (`isalnum()` or `_`).
/// Generated by tests/fixtures/gen_password_rules.py (CPython 3.13.0, Unicode 15.1.0).
#[rustfmt::skip]
static PY_WORD: &[(u32, u32)] = &[
    (0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A), (0xAA, 0xAA), (0xB2, 0xB3),
    (0xB5, 0xB5), (0xB9, 0xBA), (0xBC, 0xBE), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x2C1),
    (0x2C6, 0x2D1), (0x2E0, 0x2E4), (0x2EC, 0x2EC), (0x2EE, 0x2EE), (0x370, 0x374), (0x376, 0x377),
    (0x37A, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C), (0x38E, 0x3A1),
    (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556), (0x559, 0x559), (0x560, 0x588),
    (0x5D0, 0x5EA), (0x5EF, 0x5F2), (0x620, 0x64A), (0x660, 0x669), (0x66E, 0x66F), (0x671, 0x6D3),
    (0x6D5, 0x6D5), (0x6E5, 0x6E6), (0x6EE, 0x6FC), (0x6FF, 0x6FF), (0x710, 0x710), (0x712, 0x72F),
    (0x74D, 0x7A5), (0x7B1, 0x7B1), (0x7C0, 0x7EA), (0x7F4, 0x7F5), (0x7FA, 0x7FA), (0x800, 0x815),
    (0x81A, 0x81A), (0x824, 0x824), (0x828, 0x828), (0x840, 0x858), (0x860, 0x86A), (0x870, 0x887),
    (0x889, 0x88E), (0x8A0, 0x8C9), (0x904, 0x939), (0x93D, 0x93D), (0x950, 0x950), (0x958, 0x961),
    (0x966, 0x96F), (0x971, 0x980), (0x985, 0x98C), (0x98F, 0x990), (0x993, 0x9A8), (0x9AA, 0x9B0),
    (0x9B2, 0x9B2), (0x9B6, 0x9B9), (0x9BD, 0x9BD), (0x9CE, 0x9CE), (0x9DC, 0x9DD), (0x9DF, 0x9E1),
    (0x9E6, 0x9F1), (0x9F4, 0x9F9), (0x9FC, 0x9FC), (0xA05, 0xA0A), (0xA0F, 0xA10), (0xA13, 0xA28),
    (0xA2A, 0xA30), (0xA32, 0xA33), (0xA35, 0xA36), (0xA38, 0xA39), (0xA59, 0xA5C), (0xA5E, 0xA5E),
    (0xA66, 0xA6F), (0xA72, 0xA74), (0xA85, 0xA8D), (0xA8F, 0xA91), (0xA93, 0xAA8), (0xAAA, 0xAB0),
    (0xAB2, 0xAB3), (0xAB5, 0xAB9), (0xABD, 0xABD), (0xAD0, 0xAD0), (0xAE0, 0xAE1), (0xAE6, 0xAEF),
    (0xAF9, 0xAF9), (0xB05, 0xB0C), (0xB0F, 0xB10), (0xB13, 0xB28), (0xB2A, 0xB30), (0xB32, 0xB33),
    (0xB35, 0xB39), (0xB3D, 0xB3D), (0xB5C, 0xB5D), (0xB5F, 0xB61), (0xB66, 0xB6F), (0xB71, 0xB77),
    (0xB83, 0xB83), (0xB85, 0xB8A), (0xB8E, 0xB90), (0xB92, 0xB95), (0xB99, 0xB9A), (0xB9C, 0xB9C),
    (0xB9E, 0xB9F), (0xBA3, 0xBA4), (0xBA8, 0xBAA), (0xBAE, 0xBB9), (0xBD0, 0xBD0), (0xBE6, 0xBF2),
    (0xC05, 0xC0C), (0xC0E, 0xC10), (0xC12, 0xC28), (0xC2A, 0xC39), (0xC3D, 0xC3D), (0xC58, 0xC5A),
    (0xC5D, 0xC5D), (0xC60, 0xC61), (0xC66, 0xC6F), (0xC78, 0xC7E), (0xC80, 0xC80), (0xC85, 0xC8C),
    (0xC8E, 0xC90), (0xC92, 0xCA8), (0xCAA, 0xCB3), (0xCB5, 0xCB9), (0xCBD, 0xCBD), (0xCDD, 0xCDE),
    (0xCE0, 0xCE1), (0xCE6, 0xCEF), (0xCF1, 0xCF2), (0xD04, 0xD0C), (0xD0E, 0xD10), (0xD12, 0xD3A),
    (0xD3D, 0xD3D), (0xD4E, 0xD4E), (0xD54, 0xD56), (0xD58, 0xD61), (0xD66, 0xD78), (0xD7A, 0xD7F),
    (0xD85, 0xD96), (0xD9A, 0xDB1), (0xDB3, 0xDBB), (0xDBD, 0xDBD), (0xDC0, 0xDC6), (0xDE6, 0xDEF),
    (0xE01, 0xE30), (0xE32, 0xE33), (0xE40, 0xE46), (0xE50, 0xE59), (0xE81, 0xE82), (0xE84, 0xE84),
    (0xE86, 0xE8A), (0xE8C, 0xEA3), (0xEA5, 0xEA5), (0xEA7, 0xEB0), (0xEB2, 0xEB3), (0xEBD, 0xEBD),
    (0xEC0, 0xEC4), (0xEC6, 0xEC6), (0xED0, 0xED9), (0xEDC, 0xEDF), (0xF00, 0xF00), (0xF20, 0xF33),
    (0xF40, 0xF47), (0xF49, 0xF6C), (0xF88, 0xF8C), (0x1000, 0x102A), (0x103F, 0x1049),
    (0x1050, 0x1055), (0x105A, 0x105D), (0x1061, 0x1061), (0x1065, 0x1066), (0x106E, 0x1070),
    (0x1075, 0x1081), (0x108E, 0x108E), (0x1090, 0x1099), (0x10A0, 0x10C5), (0x10C7, 0x10C7),
    (0x10CD, 0x10CD), (0x10D0, 0x10FA), (0x10FC, 0x1248), (0x124A, 0x124D), (0x1250, 0x1256),
    (0x1258, 0x1258), (0x125A, 0x125D), (0x1260, 0x1288), (0x128A, 0x128D), (0x1290, 0x12B0),
    (0x12B2, 0x12B5), (0x12B8, 0x12BE), (0x12C0, 0x12C0), (0x12C2, 0x12C5), (0x12C8, 0x12D6),
    (0x12D8, 0x1310), (0x1312, 0x1315), (0x1318, 0x135A), (0x1369, 0x137C), (0x1380, 0x138F),
    (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1401, 0x166C), (0x166F, 0x167F), (0x1681, 0x169A),
    (0x16A0, 0x16EA), (0x16EE, 0x16F8), (0x1700, 0x1711), (0x171F, 0x1731), (0x1740, 0x1751),
    (0x1760, 0x176C), (0x176E, 0x1770), (0x1780, 0x17B3), (0x17D7, 0x17D7), (0x17DC, 0x17DC),
    (0x17E0, 0x17E9), (0x17F0, 0x17F9), (0x1810, 0x1819), (0x1820, 0x1878), (0x1880, 0x1884),
    (0x1887, 0x18A8), (0x18AA, 0x18AA), (0x18B0, 0x18F5), (0x1900, 0x191E), (0x1946, 0x196D),
    (0x1970, 0x1974), (0x1980, 0x19AB), (0x19B0, 0x19C9), (0x19D0, 0x19DA), (0x1A00, 0x1A16),
    (0x1A20, 0x1A54), (0x1A80, 0x1A89), (0x1A90, 0x1A99), (0x1AA7, 0x1AA7), (0x1B05, 0x1B33),
    (0x1B45, 0x1B4C), (0x1B50, 0x1B59), (0x1B83, 0x1BA0), (0x1BAE, 0x1BE5), (0x1C00, 0x1C23),
    (0x1C40, 0x1C49), (0x1C4D, 0x1C7D), (0x1C80, 0x1C88), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF),
    (0x1CE9, 0x1CEC), (0x1CEE, 0x1CF3), (0x1CF5, 0x1CF6), (0x1CFA, 0x1CFA), (0x1D00, 0x1DBF),
    (0x1E00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57),
    (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4),
    (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3),
    (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2070, 0x2071),
    (0x2074, 0x2079), (0x207F, 0x2089), (0x2090, 0x209C), (0x2102, 0x2102), (0x2107, 0x2107),
    (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126),
    (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149),
    (0x214E, 0x214E), (0x2150, 0x2189), (0x2460, 0x249B), (0x24EA, 0x24FF), (0x2776, 0x2793),
    (0x2C00, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3), (0x2CFD, 0x2CFD), (0x2D00, 0x2D25),
    (0x2D27, 0x2D27), (0x2D2D, 0x2D2D), (0x2D30, 0x2D67), (0x2D6F, 0x2D6F), (0x2D80, 0x2D96),
    (0x2DA0, 0x2DA6), (0x2DA8, 0x2DAE), (0x2DB0, 0x2DB6), (0x2DB8, 0x2DBE), (0x2DC0, 0x2DC6),
    (0x2DC8, 0x2DCE), (0x2DD0, 0x2DD6), (0x2DD8, 0x2DDE), (0x2E2F, 0x2E2F), (0x3005, 0x3007),
    (0x3021, 0x3029), (0x3031, 0x3035), (0x3038, 0x303C), (0x3041, 0x3096), (0x309D, 0x309F),
    (0x30A1, 0x30FA), (0x30FC, 0x30FF), (0x3105, 0x312F), (0x3131, 0x318E), (0x3192, 0x3195),
    (0x31A0, 0x31BF), (0x31F0, 0x31FF), (0x3220, 0x3229), (0x3248, 0x324F), (0x3251, 0x325F),
    (0x3280, 0x3289), (0x32B1, 0x32BF), (0x3400, 0x4DBF), (0x4E00, 0xA48C), (0xA4D0, 0xA4FD),
    (0xA500, 0xA60C), (0xA610, 0xA62B), (0xA640, 0xA66E), (0xA67F, 0xA69D), (0xA6A0, 0xA6EF),
    (0xA717, 0xA71F), (0xA722, 0xA788), (0xA78B, 0xA7CA), (0xA7D0, 0xA7D1), (0xA7D3, 0xA7D3),
    (0xA7D5, 0xA7D9), (0xA7F2, 0xA801), (0xA803, 0xA805), (0xA807, 0xA80A), (0xA80C, 0xA822),
    (0xA830, 0xA835), (0xA840, 0xA873), (0xA882, 0xA8B3), (0xA8D0, 0xA8D9), (0xA8F2, 0xA8F7),
    (0xA8FB, 0xA8FB), (0xA8FD, 0xA8FE), (0xA900, 0xA925), (0xA930, 0xA946), (0xA960, 0xA97C),
    (0xA984, 0xA9B2), (0xA9CF, 0xA9D9), (0xA9E0, 0xA9E4), (0xA9E6, 0xA9FE), (0xAA00, 0xAA28),
    (0xAA40, 0xAA42), (0xAA44, 0xAA4B), (0xAA50, 0xAA59), (0xAA60, 0xAA76), (0xAA7A, 0xAA7A),
    (0xAA7E, 0xAAAF), (0xAAB1, 0xAAB1), (0xAAB5, 0xAAB6), (0xAAB9, 0xAABD), (0xAAC0, 0xAAC0),
    (0xAAC2, 0xAAC2), (0xAADB, 0xAADD), (0xAAE0, 0xAAEA), (0xAAF2, 0xAAF4), (0xAB01, 0xAB06),
    (0xAB09, 0xAB0E), (0xAB11, 0xAB16), (0xAB20, 0xAB26), (0xAB28, 0xAB2E), (0xAB30, 0xAB5A),
    (0xAB5C, 0xAB69), (0xAB70, 0xABE2), (0xABF0, 0xABF9), (0xAC00, 0xD7A3), (0xD7B0, 0xD7C6),
    (0xD7CB, 0xD7FB), (0xF900, 0xFA6D), (0xFA70, 0xFAD9), (0xFB00, 0xFB06), (0xFB13, 0xFB17),
    (0xFB1D, 0xFB1D), (0xFB1F, 0xFB28), (0xFB2A, 0xFB36), (0xFB38, 0xFB3C), (0xFB3E, 0xFB3E),
    (0xFB40, 0xFB41), (0xFB43, 0xFB44), (0xFB46, 0xFBB1), (0xFBD3, 0xFD3D), (0xFD50, 0xFD8F),
    (0xFD92, 0xFDC7), (0xFDF0, 0xFDFB), (0xFE70, 0xFE74), (0xFE76, 0xFEFC), (0xFF10, 0xFF19),
    (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0xFF66, 0xFFBE), (0xFFC2, 0xFFC7), (0xFFCA, 0xFFCF),
    (0xFFD2, 0xFFD7), (0xFFDA, 0xFFDC), (0x10000, 0x1000B), (0x1000D, 0x10026), (0x10028, 0x1003A),
    (0x1003C, 0x1003D), (0x1003F, 0x1004D), (0x10050, 0x1005D), (0x10080, 0x100FA),
    (0x10107, 0x10133), (0x10140, 0x10178), (0x1018A, 0x1018B), (0x10280, 0x1029C),
    (0x102A0, 0x102D0), (0x102E1, 0x102FB), (0x10300, 0x10323), (0x1032D, 0x1034A),
    (0x10350, 0x10375), (0x10380, 0x1039D), (0x103A0, 0x103C3), (0x103C8, 0x103CF),
    (0x103D1, 0x103D5), (0x10400, 0x1049D), (0x104A0, 0x104A9), (0x104B0, 0x104D3),
    (0x104D8, 0x104FB), (0x10500, 0x10527), (0x10530, 0x10563), (0x10570, 0x1057A),
    (0x1057C, 0x1058A), (0x1058C, 0x10592), (0x10594, 0x10595), (0x10597, 0x105A1),
    (0x105A3, 0x105B1), (0x105B3, 0x105B9), (0x105BB, 0x105BC), (0x10600, 0x10736),
    (0x10740, 0x10755), (0x10760, 0x10767), (0x10780, 0x10785), (0x10787, 0x107B0),
    (0x107B2, 0x107BA), (0x10800, 0x10805), (0x10808, 0x10808), (0x1080A, 0x10835),
    (0x10837, 0x10838), (0x1083C, 0x1083C), (0x1083F, 0x10855), (0x10858, 0x10876),
    (0x10879, 0x1089E), (0x108A7, 0x108AF), (0x108E0, 0x108F2), (0x108F4, 0x108F5),
    (0x108FB, 0x1091B), (0x10920, 0x10939), (0x10980, 0x109B7), (0x109BC, 0x109CF),
    (0x109D2, 0x10A00), (0x10A10, 0x10A13), (0x10A15, 0x10A17), (0x10A19, 0x10A35),
    (0x10A40, 0x10A48), (0x10A60, 0x10A7E), (0x10A80, 0x10A9F), (0x10AC0, 0x10AC7),
    (0x10AC9, 0x10AE4), (0x10AEB, 0x10AEF), (0x10B00, 0x10B35), (0x10B40, 0x10B55),
    (0x10B58, 0x10B72), (0x10B78, 0x10B91), (0x10BA9, 0x10BAF), (0x10C00, 0x10C48),
    (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x10CFA, 0x10D23), (0x10D30, 0x10D39),
    (0x10E60, 0x10E7E), (0x10E80, 0x10EA9), (0x10EB0, 0x10EB1), (0x10F00, 0x10F27),
    (0x10F30, 0x10F45), (0x10F51, 0x10F54), (0x10F70, 0x10F81), (0x10FB0, 0x10FCB),
    (0x10FE0, 0x10FF6), (0x11003, 0x11037), (0x11052, 0x1106F), (0x11071, 0x11072),
    (0x11075, 0x11075), (0x11083, 0x110AF), (0x110D0, 0x110E8), (0x110F0, 0x110F9),
    (0x11103, 0x11126), (0x11136, 0x1113F), (0x11144, 0x11144), (0x11147, 0x11147),
    (0x11150, 0x11172), (0x11176, 0x11176), (0x11183, 0x111B2), (0x111C1, 0x111C4),
    (0x111D0, 0x111DA), (0x111DC, 0x111DC), (0x111E1, 0x111F4), (0x11200, 0x11211),
    (0x11213, 0x1122B), (0x1123F, 0x11240), (0x11280, 0x11286), (0x11288, 0x11288),
    (0x1128A, 0x1128D), (0x1128F, 0x1129D), (0x1129F, 0x112A8), (0x112B0, 0x112DE),
    (0x112F0, 0x112F9), (0x11305, 0x1130C), (0x1130F, 0x11310), (0x11313, 0x11328),
    (0x1132A, 0x11330), (0x11332, 0x11333), (0x11335, 0x11339), (0x1133D, 0x1133D),
    (0x11350, 0x11350), (0x1135D, 0x11361), (0x11400, 0x11434), (0x11447, 0x1144A),
    (0x11450, 0x11459), (0x1145F, 0x11461), (0x11480, 0x114AF), (0x114C4, 0x114C5),
    (0x114C7, 0x114C7), (0x114D0, 0x114D9), (0x11580, 0x115AE), (0x115D8, 0x115DB),
    (0x11600, 0x1162F), (0x11644, 0x11644), (0x11650, 0x11659), (0x11680, 0x116AA),
    (0x116B8, 0x116B8), (0x116C0, 0x116C9), (0x11700, 0x1171A), (0x11730, 0x1173B),
    (0x11740, 0x11746), (0x11800, 0x1182B), (0x118A0, 0x118F2), (0x118FF, 0x11906),
    (0x11909, 0x11909), (0x1190C, 0x11913), (0x11915, 0x11916), (0x11918, 0x1192F),
    (0x1193F, 0x1193F), (0x11941, 0x11941), (0x11950, 0x11959), (0x119A0, 0x119A7),
    (0x119AA, 0x119D0), (0x119E1, 0x119E1), (0x119E3, 0x119E3), (0x11A00, 0x11A00),
    (0x11A0B, 0x11A32), (0x11A3A, 0x11A3A), (0x11A50, 0x11A50), (0x11A5C, 0x11A89),
    (0x11A9D, 0x11A9D), (0x11AB0, 0x11AF8), (0x11C00, 0x11C08), (0x11C0A, 0x11C2E),
    (0x11C40, 0x11C40), (0x11C50, 0x11C6C), (0x11C72, 0x11C8F), (0x11D00, 0x11D06),
    (0x11D08, 0x11D09), (0x11D0B, 0x11D30), (0x11D46, 0x11D46), (0x11D50, 0x11D59),
    (0x11D60, 0x11D65), (0x11D67, 0x11D68), (0x11D6A, 0x11D89), (0x11D98, 0x11D98),
    (0x11DA0, 0x11DA9), (0x11EE0, 0x11EF2), (0x11F02, 0x11F02), (0x11F04, 0x11F10),
    (0x11F12, 0x11F33), (0x11F50, 0x11F59), (0x11FB0, 0x11FB0), (0x11FC0, 0x11FD4),
    (0x12000, 0x12399), (0x12400, 0x1246E), (0x12480, 0x12543), (0x12F90, 0x12FF0),
    (0x13000, 0x1342F), (0x13441, 0x13446), (0x14400, 0x14646), (0x16800, 0x16A38),
    (0x16A40, 0x16A5E), (0x16A60, 0x16A69), (0x16A70, 0x16ABE), (0x16AC0, 0x16AC9),
    (0x16AD0, 0x16AED), (0x16B00, 0x16B2F), (0x16B40, 0x16B43), (0x16B50, 0x16B59),
    (0x16B5B, 0x16B61), (0x16B63, 0x16B77), (0x16B7D, 0x16B8F), (0x16E40, 0x16E96),
    (0x16F00, 0x16F4A), (0x16F50, 0x16F50), (0x16F93, 0x16F9F), (0x16FE0, 0x16FE1),
    (0x16FE3, 0x16FE3), (0x17000, 0x187F7), (0x18800, 0x18CD5), (0x18D00, 0x18D08),
    (0x1AFF0, 0x1AFF3), (0x1AFF5, 0x1AFFB), (0x1AFFD, 0x1AFFE), (0x1B000, 0x1B122),
    (0x1B132, 0x1B132), (0x1B150, 0x1B152), (0x1B155, 0x1B155), (0x1B164, 0x1B167),
    (0x1B170, 0x1B2FB), (0x1BC00, 0x1BC6A), (0x1BC70, 0x1BC7C), (0x1BC80, 0x1BC88),
    (0x1BC90, 0x1BC99), (0x1D2C0, 0x1D2D3), (0x1D2E0, 0x1D2F3), (0x1D360, 0x1D378),
    (0x1D400, 0x1D454), (0x1D456, 0x1D49C), (0x1D49E, 0x1D49F), (0x1D4A2, 0x1D4A2),
    (0x1D4A5, 0x1D4A6), (0x1D4A9, 0x1D4AC), (0x1D4AE, 0x1D4B9), (0x1D4BB, 0x1D4BB),
    (0x1D4BD, 0x1D4C3), (0x1D4C5, 0x1D505), (0x1D507, 0x1D50A), (0x1D50D, 0x1D514),
    (0x1D516, 0x1D51C), (0x1D51E, 0x1D539), (0x1D53B, 0x1D53E), (0x1D540, 0x1D544),
    (0x1D546, 0x1D546), (0x1D54A, 0x1D550), (0x1D552, 0x1D6A5), (0x1D6A8, 0x1D6C0),
    (0x1D6C2, 0x1D6DA), (0x1D6DC, 0x1D6FA), (0x1D6FC, 0x1D714), (0x1D716, 0x1D734),
    (0x1D736, 0x1D74E), (0x1D750, 0x1D76E), (0x1D770, 0x1D788), (0x1D78A, 0x1D7A8),
    (0x1D7AA, 0x1D7C2), (0x1D7C4, 0x1D7CB), (0x1D7CE, 0x1D7FF), (0x1DF00, 0x1DF1E),
    (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D), (0x1E100, 0x1E12C), (0x1E137, 0x1E13D),
    (0x1E140, 0x1E149), (0x1E14E, 0x1E14E), (0x1E290, 0x1E2AD), (0x1E2C0, 0x1E2EB),
    (0x1E2F0, 0x1E2F9), (0x1E4D0, 0x1E4EB), (0x1E4F0, 0x1E4F9), (0x1E7E0, 0x1E7E6),
    (0x1E7E8, 0x1E7EB), (0x1E7ED, 0x1E7EE), (0x1E7F0, 0x1E7FE), (0x1E800, 0x1E8C4),
    (0x1E8C7, 0x1E8CF), (0x1E900, 0x1E943), (0x1E94B, 0x1E94B), (0x1E950, 0x1E959),
    (0x1EC71, 0x1ECAB), (0x1ECAD, 0x1ECAF), (0x1ECB1, 0x1ECB4), (0x1ED01, 0x1ED2D),
    (0x1ED2F, 0x1ED3D), (0x1EE00, 0x1EE03), (0x1EE05, 0x1EE1F), (0x1EE21, 0x1EE22),
    (0x1EE24, 0x1EE24), (0x1EE27, 0x1EE27), (0x1EE29, 0x1EE32), (0x1EE34, 0x1EE37),
    (0x1EE39, 0x1EE39), (0x1EE3B, 0x1EE3B), (0x1EE42, 0x1EE42), (0x1EE47, 0x1EE47),
    (0x1EE49, 0x1EE49), (0x1EE4B, 0x1EE4B), (0x1EE4D, 0x1EE4F), (0x1EE51, 0x1EE52),
    (0x1EE54, 0x1EE54), (0x1EE57, 0x1EE57), (0x1EE59, 0x1EE59), (0x1EE5B, 0x1EE5B),
    (0x1EE5D, 0x1EE5D), (0x1EE5F, 0x1EE5F), (0x1EE61, 0x1EE62), (0x1EE64, 0x1EE64),
    (0x1EE67, 0x1EE6A), (0x1EE6C, 0x1EE72), (0x1EE74, 0x1EE77), (0x1EE79, 0x1EE7C),
    (0x1EE7E, 0x1EE7E), (0x1EE80, 0x1EE89), (0x1EE8B, 0x1EE9B), (0x1EEA1, 0x1EEA3),
    (0x1EEA5, 0x1EEA9), (0x1EEAB, 0x1EEBB), (0x1F100, 0x1F10C), (0x1FBF0, 0x1FBF9),
    (0x20000, 0x2A6DF), (0x2A700, 0x2B739), (0x2B740, 0x2B81D), (0x2B820, 0x2CEA1),
    (0x2CEB0, 0x2EBE0), (0x2EBF0, 0x2EE5D), (0x2F800, 0x2FA1D), (0x30000, 0x3134A),
    (0x31350, 0x323AF),
];
/// Code points for which Python's `str.isdigit()` is true.
/// Generated by tests/fixtures/gen_password_rules.py (CPython 3.13.0, Unicode 15.1.0).
#[rustfmt::skip]
static PY_DIGIT: &[(u32, u32)] = &[
    (0x30, 0x39), (0xB2, 0xB3), (0xB9, 0xB9), (0x660, 0x669), (0x6F0, 0x6F9), (0x7C0, 0x7C9),
    (0x966, 0x96F), (0x9E6, 0x9EF), (0xA66, 0xA6F), (0xAE6, 0xAEF), (0xB66, 0xB6F), (0xBE6, 0xBEF),
    (0xC66, 0xC6F), (0xCE6, 0xCEF), (0xD66, 0xD6F), (0xDE6, 0xDEF), (0xE50, 0xE59), (0xED0, 0xED9),
    (0xF20, 0xF29), (0x1040, 0x1049), (0x1090, 0x1099), (0x1369, 0x1371), (0x17E0, 0x17E9),
    (0x1810, 0x1819), (0x1946, 0x194F), (0x19D0, 0x19DA), (0x1A80, 0x1A89), (0x1A90, 0x1A99),
    (0x1B50, 0x1B59), (0x1BB0, 0x1BB9), (0x1C40, 0x1C49), (0x1C50, 0x1C59), (0x2070, 0x2070),
    (0x2074, 0x2079), (0x2080, 0x2089), (0x2460, 0x2468), (0x2474, 0x247C), (0x2488, 0x2490),
    (0x24EA, 0x24EA), (0x24F5, 0x24FD), (0x24FF, 0x24FF), (0x2776, 0x277E), (0x2780, 0x2788),
    (0x278A, 0x2792), (0xA620, 0xA629), (0xA8D0, 0xA8D9), (0xA900, 0xA909), (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9), (0xAA50, 0xAA59), (0xABF0, 0xABF9), (0xFF10, 0xFF19), (0x104A0, 0x104A9),
    (0x10A40, 0x10A43), (0x10D30, 0x10D39), (0x10E60, 0x10E68), (0x11052, 0x1105A),
    (0x11066, 0x1106F), (0x110F0, 0x110F9), (0x11136, 0x1113F), (0x111D0, 0x111D9),
    (0x112F0, 0x112F9), (0x11450, 0x11459), (0x114D0, 0x114D9), (0x11650, 0x11659),
    (0x116C0, 0x116C9), (0x11730, 0x11739), (0x118E0, 0x118E9), (0x11950, 0x11959),
    (0x11C50, 0x11C59), (0x11D50, 0x11D59), (0x11DA0, 0x11DA9), (0x11F50, 0x11F59),
    (0x16A60, 0x16A69), (0x16AC0, 0x16AC9), (0x16B50, 0x16B59), (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149), (0x1E2F0, 0x1E2F9), (0x1E4F0, 0x1E4F9), (0x1E950, 0x1E959),
    (0x1F100, 0x1F10A), (0x1FBF0, 0x1FBF9),
];

/// Django's list as build.rs wrote it (the bytes the worker reads from its assets), for the
/// native tests of every module that checks passwords.
#[cfg(test)]
pub mod testing {
    use std::sync::LazyLock;

    use super::{CommonPasswords, PasswordPolicy};

    pub const DJANGO_LIST_CODED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/common-passwords.bin"));

    static DJANGO_LIST: LazyLock<CommonPasswords> =
        LazyLock::new(|| CommonPasswords::from_coded(DJANGO_LIST_CODED.to_vec()).expect("build.rs's list"));

    /// Django's list with this minimum length.
    pub fn policy(min_length: usize) -> PasswordPolicy<'static> {
        PasswordPolicy { min_length, common: &DJANGO_LIST }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{policy, DJANGO_LIST_CODED};
    use super::*;

    /// (password, first_name, last_name, email, messages Django 5.2 returns). Recorded from real
    /// Django by `tests/fixtures/gen_password_rules.py cases`, which calls
    /// `django.contrib.auth.password_validation.validate_password` with the four default
    /// validators listed in the contract's order.
    #[rustfmt::skip]
    const DJANGO_CASES: &[(&str, &str, &str, &str, &[&str])] = &[
        // a short password
        ("short", "Alice", "Smith", "alice@example.com", &[TOO_SHORT]),
        // an empty password
        ("", "Alice", "Smith", "alice@example.com", &[TOO_SHORT]),
        // an empty password against a name starting with punctuation
        ("", "-John", "", "", &[TOO_SHORT, TOO_SIMILAR_TO_FIRST_NAME]),
        // seven characters
        ("xk3!pq7", "", "", "", &[TOO_SHORT]),
        // eight characters
        ("xk3!pq7z", "", "", "", &[]),
        // eight non-ASCII code points
        ("пароль12", "", "", "", &[]),
        // seven emoji
        ("🔒🔒🔒🔒🔒🔒🔒", "", "", "", &[TOO_SHORT]),
        // a combining accent counting as a character
        ("cafe\u{301}bar", "", "", "", &[]),
        // a common password
        ("password", "", "", "", &[TOO_COMMON]),
        // a common password in capitals with spaces around
        ("  PASSWORD  ", "", "", "", &[TOO_COMMON]),
        // a common password with a trailing space
        ("Password1 ", "", "", "", &[TOO_COMMON]),
        // a common password wrapped in Python-only whitespace
        ("\u{1c}password\u{1f}", "", "", "", &[TOO_COMMON]),
        // a common password wrapped in no-break spaces
        ("\u{a0}qwerty123\u{3000}", "", "", "", &[TOO_COMMON]),
        // a common Cyrillic password in capitals
        ("ЙЦУКЕН", "", "", "", &[TOO_SHORT, TOO_COMMON]),
        // only spaces
        ("        ", "", "", "", &[]),
        // a common numeric password
        ("12345678", "", "", "", &[TOO_COMMON, ENTIRELY_NUMERIC]),
        // a short common numeric password
        ("1234", "", "", "", &[TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC]),
        // an uncommon numeric password
        ("98273645", "", "", "", &[ENTIRELY_NUMERIC]),
        // digits with a trailing space
        ("98273645 ", "", "", "", &[]),
        // digits with a minus sign
        ("-98273645", "", "", "", &[]),
        // Arabic-Indic digits
        ("٣٤٥٦٧٨٩٠١", "", "", "", &[ENTIRELY_NUMERIC]),
        // fullwidth digits
        ("８７６５４３２１", "", "", "", &[ENTIRELY_NUMERIC]),
        // Tamil digits
        ("௧௨௩௪௫௬௭௮", "", "", "", &[ENTIRELY_NUMERIC]),
        // superscript digits
        ("²²²³³³¹¹", "", "", "", &[ENTIRELY_NUMERIC]),
        // circled digits
        ("①②③④⑤⑥⑦⑧", "", "", "", &[ENTIRELY_NUMERIC]),
        // vulgar fractions
        ("½½½½½½½½", "", "", "", &[]),
        // Chinese numerals
        ("一二三四五六七八", "", "", "", &[]),
        // Roman numerals
        ("ⅠⅡⅢⅣⅤⅥⅦⅧ", "", "", "", &[]),
        // similar to the first name
        ("johnathan1", "Johnathan", "Smith", "jsmith@example.com", &[TOO_COMMON, TOO_SIMILAR_TO_FIRST_NAME]),
        // the first name in capitals
        ("JOHNATHAN!", "johnathan", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // the first name reversed
        ("nahtanhoj", "Johnathan", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // similar to the last name
        ("smithson99", "Alice", "Smithson", "alice@example.com", &[TOO_SIMILAR_TO_LAST_NAME]),
        // the whole email
        ("bob@example.com", "Bob", "Jones", "bob@example.com", &[TOO_SIMILAR_TO_EMAIL]),
        // the email local part plus a digit
        ("bobjones1", "", "", "bob.jones@example.com", &[TOO_SIMILAR_TO_EMAIL]),
        // two email local parts run together
        ("alicesmith", "", "", "alice.smith@example.com", &[]),
        // the email domain name
        ("examplecom", "", "", "zed@example.com", &[TOO_SIMILAR_TO_EMAIL]),
        // the email provider and TLD
        ("gmail.com1", "", "", "someone@gmail.com", &[]),
        // similar to first and last name
        ("annabelle1", "Annabelle", "Annabelle", "", &[TOO_COMMON, TOO_SIMILAR_TO_FIRST_NAME]),
        // similar to last name and email
        ("wolfgang12", "Max", "Wolfgang", "wolfgang@example.org", &[TOO_SIMILAR_TO_LAST_NAME]),
        // a hyphenated first name
        ("maryjane99", "Mary-Jane", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // an underscore inside a name
        ("john_doe", "john_doe", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // not similar to anything
        ("Tr0ub4dor&3", "Alice", "Smith", "alice@example.com", &[]),
        // a strong password and empty attributes
        ("correct horse battery staple", "", "", "", &[]),
        // a name with a diaeresis
        ("zoëlle12", "Zoëlle", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // a Greek name with final sigma
        ("ΟΔΥΣΣΕΑΣ1", "Οδυσσέας", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // a Turkish dotted capital I
        ("ismail12", "İsmail", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // a Devanagari surname split on vowel signs
        ("क\u{941}म\u{93e}र123", "र\u{93e}ह\u{941}ल", "क\u{941}म\u{93e}र", "", &[TOO_SIMILAR_TO_LAST_NAME]),
        // a Devanagari full name
        ("र\u{93e}ह\u{941}लक\u{941}म\u{93e}र", "र\u{93e}ह\u{941}ल क\u{941}म\u{93e}र", "", "", &[TOO_SIMILAR_TO_FIRST_NAME]),
        // a Devanagari word that is not a part
        ("क\u{941}म\u{93e}रxyz", "र\u{93e}ह\u{941}ल क\u{941}म\u{93e}र", "", "", &[]),
        // a long password against a short name
        ("johnjohnjohnjohnjohnjohnjohnjohnjohnjohn", "John", "", "", &[]),
        // a password just under ten times the name
        ("johnjohnjohnjohnjohnjohnjohnjohnjohnjoh", "John", "", "", &[]),
        // everything at once
        ("123456", "", "123456", "", &[TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC, TOO_SIMILAR_TO_LAST_NAME]),
        // short, numeric and like the email
        ("1234567", "", "", "1234567@example.com", &[TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC, TOO_SIMILAR_TO_EMAIL]),
    ];

    #[test]
    fn every_verdict_matches_django() {
        for (password, first_name, last_name, email, expected) in DJANGO_CASES {
            let user = UserAttributes { first_name, last_name, email };
            assert_eq!(
                validate_password(password, &user, &policy(MIN_LENGTH)),
                *expected,
                "password {password:?}, user {user:?}"
            );
        }
    }

    #[test]
    fn messages_are_the_contracts_wording() {
        assert_eq!(TOO_SHORT, "This password is too short. It must contain at least 8 characters.");
        assert_eq!(TOO_COMMON, "This password is too common.");
        assert_eq!(ENTIRELY_NUMERIC, "This password is entirely numeric.");
        assert_eq!(TOO_SIMILAR_TO_FIRST_NAME, "The password is too similar to the first name.");
        assert_eq!(TOO_SIMILAR_TO_LAST_NAME, "The password is too similar to the last name.");
        assert_eq!(TOO_SIMILAR_TO_EMAIL, "The password is too similar to the email.");
    }

    #[test]
    fn the_minimum_length_is_configurable_with_djangos_wording_for_one_and_for_many() {
        let nobody = UserAttributes::default();
        assert_eq!(too_short(MIN_LENGTH), TOO_SHORT);
        assert_eq!(too_short(1), "This password is too short. It must contain at least 1 character.");
        assert_eq!(too_short(15), "This password is too short. It must contain at least 15 characters.");
        let fourteen = "quiet harbour!";
        assert_eq!(validate_password(fourteen, &nobody, &policy(15)), [too_short(15)]);
        assert!(validate_password(fourteen, &nobody, &policy(14)).is_empty());
        // Code points, as Python's len(): 15 accented letters are 15, not 30 bytes.
        assert!(validate_password(&"é".repeat(15), &nobody, &policy(15)).is_empty());
        assert_eq!(validate_password("", &nobody, &policy(1)), [too_short(1)]);
    }

    #[test]
    fn long_passwords_have_no_maximum() {
        let nobody = UserAttributes::default();
        for length in [64, 128, 1000] {
            let password: String = "correct horse battery staple ".chars().cycle().take(length).collect();
            assert!(validate_password(&password, &nobody, &policy(MIN_LENGTH)).is_empty(), "{length}");
        }
    }

    /// Decodes a front-coded list (see `contains_entry`) into its entries.
    fn decode(coded: &[u8]) -> Vec<Vec<u8>> {
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let starts: Vec<usize> = (0..coded.len()).filter(|&i| coded[i] < 0x20).collect();
        for (n, &start) in starts.iter().enumerate() {
            let rest = &coded[start + 1..starts.get(n + 1).copied().unwrap_or(coded.len())];
            let entry = match coded[start] {
                0x1f => rest.to_vec(),
                shared => {
                    [&entries.last().expect("a coded entry follows another")[..usize::from(shared)], rest].concat()
                }
            };
            entries.push(entry);
        }
        entries
    }

    /// build.rs's coding, for lists made up here.
    fn front_code(entries: &[&str], block: usize) -> Vec<u8> {
        let mut coded = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if i % block == 0 {
                coded.push(0x1f);
                coded.extend_from_slice(entry.as_bytes());
            } else {
                let previous = entries[i - 1].as_bytes();
                let shared = entry.bytes().zip(previous.iter()).take_while(|(a, b)| a == *b).count().min(0x1e);
                coded.push(shared as u8);
                coded.extend_from_slice(&entry.as_bytes()[shared..]);
            }
        }
        coded
    }

    #[test]
    fn the_front_coded_search_finds_entries_and_nothing_else() {
        let words = ["a", "ab", "abc", "abd", "b", "ba", "bab", "c", "cc", "ccc", "ccd", "d"];
        for block in 1..=words.len() + 1 {
            let coded = front_code(&words, block);
            assert_eq!(decode(&coded), words.iter().map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>());
            for word in words {
                assert!(contains_entry(&coded, word.as_bytes()), "{word} in blocks of {block}");
            }
            for probe in ["", "\n", "0", "aa", "abb", "abe", "bb", "bz", "c\u{1}", "cd", "ce", "dd", "e", "\u{10ffff}"]
            {
                assert!(!contains_entry(&coded, probe.as_bytes()), "{probe:?} in blocks of {block}");
            }
        }
        assert!(!contains_entry(b"", b"a") && !contains_entry(b"", b""));
        let long = "x".repeat(40);
        let longer = format!("{long}y");
        let coded = front_code(&[&long, &longer], 2);
        assert!(contains_entry(&coded, longer.as_bytes()) && !contains_entry(&coded, format!("{long}x").as_bytes()));
    }

    #[test]
    fn the_common_list_is_djangos_sorted_and_deduplicated() {
        // Django's file has 19,640 distinct lines.
        let entries: Vec<String> =
            decode(DJANGO_LIST_CODED).into_iter().map(|e| String::from_utf8(e).expect("UTF-8")).collect();
        assert_eq!(entries.len(), 19_640);
        assert!(entries.windows(2).all(|w| w[0] < w[1]));
        assert!(entries.iter().all(|p| !p.is_empty() && *p == p.trim()));
        // The search finds every entry, and nothing between or around them.
        assert!(entries.iter().all(|p| contains_entry(DJANGO_LIST_CODED, p.as_bytes())));
        for probe in ["", "\n", "0", "~~~~~~~~~~~~", "123456 ", "password\n123456", "\u{10ffff}"] {
            let listed = entries.iter().any(|e| e == probe);
            assert_eq!(contains_entry(DJANGO_LIST_CODED, probe.as_bytes()), listed, "{probe:?}");
        }
        for near in entries.iter().step_by(97) {
            for longer in [format!("{near}\u{1}"), format!("{near}\u{1f}"), format!("{near} ")] {
                let listed = entries.contains(&longer);
                assert_eq!(contains_entry(DJANGO_LIST_CODED, longer.as_bytes()), listed, "{longer:?}");
            }
            let shorter = &near[..near.len() - near.chars().last().map_or(0, char::len_utf8)];
            assert_eq!(contains_entry(DJANGO_LIST_CODED, shorter.as_bytes()), entries.iter().any(|e| e == shorter));
        }
        let list = CommonPasswords::from_coded(DJANGO_LIST_CODED.to_vec()).expect("build.rs's list");
        for common in ["123456", "password", "qwerty", "йцукен", "PassWord", " qwerty\u{3000}"] {
            assert!(list.contains(common), "{common:?}");
        }
    }

    #[test]
    fn only_a_list_that_finds_djangos_commonest_passwords_is_taken() {
        assert!(CommonPasswords::from_coded(Vec::new()).is_none());
        assert!(CommonPasswords::from_coded(b"<!DOCTYPE html><title>Not Found</title>".to_vec()).is_none());
        assert!(CommonPasswords::from_coded(front_code(&["123456", "qwerty"], 64)).is_none());
        assert!(CommonPasswords::from_coded(DJANGO_LIST_CODED[1..].to_vec()).is_none());
        assert!(CommonPasswords::from_coded(DJANGO_LIST_CODED[..DJANGO_LIST_CODED.len() / 2].to_vec()).is_none());
        let made_up = CommonPasswords::from_coded(front_code(&["123456", "hunter2", "password"], 64)).expect("a list");
        assert!(made_up.contains("Hunter2 ") && !made_up.contains("qwerty"));
    }

    #[test]
    fn re_split_keeps_empty_pieces_at_the_ends() {
        let cases: &[(&str, &[&str])] = &[
            ("john", &["john"]),
            ("mary-jane", &["mary", "jane"]),
            ("bob.jones@example.com", &["bob", "jones", "example", "com"]),
            ("-john", &["", "john"]),
            ("john-", &["john", ""]),
            ("--john--doe--", &["", "john", "doe", ""]),
            ("---", &["", ""]),
            ("john_doe", &["john_doe"]),
            // Python's \w excludes combining marks: U+093E and U+0941 split the name.
            ("राहुल", &["र", "ह", "ल"]),
            ("e\u{301}", &["e", ""]),
        ];
        for (value, expected) in cases {
            assert_eq!(split_non_word(value), *expected, "{value:?}");
        }
    }

    #[test]
    fn isdigit_follows_python_not_char_is_numeric() {
        for digits in ["0123456789", "٣٤٥", "²³¹", "①②③", "８７６", "௧௨௩"] {
            assert!(py_isdigit(digits), "{digits}");
        }
        for not_digits in ["", "½", "Ⅷ", "八", "1.5", "-1", "12 ", "1a"] {
            assert!(!py_isdigit(not_digits), "{not_digits:?}");
        }
    }

    #[test]
    fn sorted_chars_sorts_like_the_standard_sort() {
        let mut seed = 0x9e37_79b9_u32;
        for len in 0..200 {
            let text: String = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ['a', 'b', 'Z', '0', 'é', '八', '😀', ' '][(seed >> 29) as usize]
                })
                .collect();
            let mut expected: Vec<char> = text.chars().collect();
            expected.sort_unstable();
            assert_eq!(sorted_chars(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn quick_ratio_ignores_order_and_counts_repeats_once_each() {
        let ratio = |a: &str, b: &str| quick_ratio(&sorted_chars(a), b);
        assert_eq!(ratio("", ""), 1.0);
        assert_eq!(ratio("abc", ""), 0.0);
        assert_eq!(ratio("abc", "cba"), 1.0);
        assert_eq!(ratio("aaaa", "a"), 2.0 / 5.0);
        assert_eq!(ratio("a", &"a".repeat(10)), 2.0 / 11.0);
    }

    #[test]
    fn the_length_ratio_shortcut_matches_djangos_bounds() {
        // pwd_len >= 10 * value_len and value_len < 0.35 * pwd_len
        assert!(exceeds_maximum_length_ratio(40, 4));
        assert!(!exceeds_maximum_length_ratio(39, 4));
        assert!(exceeds_maximum_length_ratio(1, 0));
        assert!(!exceeds_maximum_length_ratio(0, 0));
    }

    #[test]
    fn only_the_first_similar_attribute_is_reported() {
        let user = UserAttributes { first_name: "Wolfgang", last_name: "Wolfgang", email: "wolfgang@example.org" };
        assert_eq!(validate_password("wolfgang12", &user, &policy(MIN_LENGTH)), [TOO_SIMILAR_TO_FIRST_NAME]);
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let long = "x".repeat(100_000);
        let user = UserAttributes { first_name: "\u{0}\u{FFFF}", last_name: "ΣΣΣ", email: &long };
        for password in ["", "\u{0}", "İİİİ", "\u{10FFFF}", long.as_str()] {
            let _ = validate_password(password, &user, &policy(MIN_LENGTH));
        }
    }
}
