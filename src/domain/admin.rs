//! The admin API's rules: what a `PATCH admin/users/<id>/` may carry, who may change what, what a
//! change does to the account (end its sessions, which event it is), the admin view of a user and
//! the user search.

use serde_json::{Map, Value};

use crate::domain::fields::{python_float, FieldErrors, Form, NULL};
use crate::domain::user::{User, NAME};

/// The `account_status` values the admin API sets (Django's field is a free `CharField`; an
/// account whose status is not `active` cannot log in, whatever it is).
pub const ACCOUNT_STATUSES: [&str; 3] = ["active", "suspended", "disabled"];

/// DRF's `BooleanField` message.
pub const NOT_A_BOOLEAN: &str = "Must be a valid boolean.";

/// At most this many search terms count (the rest of a longer search is ignored): each one is a
/// condition on three columns.
pub const MAX_SEARCH_TERMS: usize = 10;

/// A `PATCH admin/users/<id>/`: the fields staff may change; any other key is ignored (DRF).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminChanges {
    pub is_active: Option<bool>,
    pub account_status: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_staff: Option<bool>,
}

impl AdminChanges {
    /// Reads the body as DRF's serializer would: every failing field reported at once, names by
    /// `PATCH me/`'s rules.
    pub fn parse(data: &Map<String, Value>) -> Result<AdminChanges, FieldErrors> {
        let mut form = Form::new(data);
        // In the serializer's field order, which is the errors' order.
        let first_name = form.optional("first_name", NAME).set();
        let last_name = form.optional("last_name", NAME).set();
        let errors = &mut form.errors;
        let is_active = boolean(data, "is_active", errors);
        let is_staff = boolean(data, "is_staff", errors);
        let account_status = choice(data, "account_status", &ACCOUNT_STATUSES, errors);
        form.errors.into_result()?;
        Ok(AdminChanges { is_active, account_status, first_name, last_name, is_staff })
    }

    /// `user` as these changes leave it.
    pub fn apply(&self, user: &User) -> User {
        let mut after = user.clone();
        if let Some(is_active) = self.is_active {
            after.is_active = is_active;
        }
        if let Some(status) = &self.account_status {
            after.account_status.clone_from(status);
        }
        if let Some(first_name) = &self.first_name {
            after.first_name.clone_from(first_name);
        }
        if let Some(last_name) = &self.last_name {
            after.last_name.clone_from(last_name);
        }
        if let Some(is_staff) = self.is_staff {
            after.is_staff = is_staff;
        }
        after
    }
}

/// DRF's `BooleanField` (not nullable): its true and false spellings, else "Must be a valid
/// boolean.".
fn boolean(data: &Map<String, Value>, name: &str, errors: &mut FieldErrors) -> Option<bool> {
    const TRUE: [&str; 14] = ["t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"];
    const FALSE: [&str; 14] =
        ["f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"];
    match data.get(name)? {
        Value::Bool(value) => return Some(*value),
        Value::String(s) if TRUE.contains(&s.as_str()) => return Some(true),
        Value::String(s) if FALSE.contains(&s.as_str()) => return Some(false),
        // Python's 1 == 1.0 == True: the numbers 1 and 0 are in DRF's sets, in any spelling.
        Value::Number(n) if n.as_f64() == Some(1.0) => return Some(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => return Some(false),
        Value::Null => errors.add(name, NULL),
        _ => errors.add(name, NOT_A_BOOLEAN),
    }
    None
}

/// DRF's `ChoiceField`: the value's `str()` must be one of `choices`, else
/// `"\"<value>\" is not a valid choice."`.
fn choice(data: &Map<String, Value>, name: &str, choices: &[&str], errors: &mut FieldErrors) -> Option<String> {
    let value = data.get(name)?;
    if value.is_null() {
        errors.add(name, NULL);
        return None;
    }
    let text = python_str(value);
    if choices.contains(&text.as_str()) {
        Some(text)
    } else {
        errors.add(name, format!("\"{text}\" is not a valid choice."));
        None
    }
}

/// Python's `str()` of a parsed JSON value, as DRF's messages show a value; a list or an object
/// as JSON (Python would write its `repr()`, quoted differently: not worth its code in the wasm).
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_f64() => n.as_f64().map(python_float).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// Why a staff member may not do something (403, DRF's "You do not have permission…").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The caller is not staff (any admin endpoint).
    NotStaff,
    /// Only a superuser may change a superuser's account (or end its sessions).
    TargetIsSuperuser,
    /// Only a superuser may give or take `is_staff`.
    StaffChange,
}

/// Whether `caller` may use the admin API at all: staff, as its live row says.
pub fn may_administer(caller: &User) -> Result<(), Denied> {
    if caller.is_staff {
        Ok(())
    } else {
        Err(Denied::NotStaff)
    }
}

/// Whether `caller` may act on `target`'s account (change it, end its sessions): a superuser's
/// only if the caller is one too. Reading is open to all staff.
pub fn may_act_on(caller: &User, target: &User) -> Result<(), Denied> {
    may_administer(caller)?;
    if target.is_superuser && !caller.is_superuser {
        return Err(Denied::TargetIsSuperuser);
    }
    Ok(())
}

/// Whether `caller` may make `changes` to `target`: `may_act_on`, and a change of `is_staff`
/// (sending its present value changes nothing, and is allowed) only by a superuser.
pub fn may_change(caller: &User, target: &User, changes: &AdminChanges) -> Result<(), Denied> {
    may_act_on(caller, target)?;
    if changes.is_staff.is_some_and(|is_staff| is_staff != target.is_staff) && !caller.is_superuser {
        return Err(Denied::StaffChange);
    }
    Ok(())
}

/// What a change does to the account, for the audit trail and the sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The fields whose value changed, in a fixed order.
    pub fields: Vec<&'static str>,
    /// The account could log in and now cannot (`account_disabled`).
    pub disabled: bool,
    /// The account could not log in and now can (`account_enabled`).
    pub enabled: bool,
    /// End every session now: the change set `is_active` or `account_status` and the account
    /// cannot log in after it. Ending them again when it already could not (disabled by hand in
    /// D1, say) is harmless, and leaves none to come back to life when it is enabled later; as a
    /// `user.updated` from Django does.
    pub end_sessions: bool,
}

impl Effect {
    /// What `changes` do to `before`.
    pub fn of(before: &User, changes: &AdminChanges) -> Effect {
        let after = changes.apply(before);
        let fields: Vec<&'static str> = [
            ("is_active", before.is_active != after.is_active),
            ("account_status", before.account_status != after.account_status),
            ("first_name", before.first_name != after.first_name),
            ("last_name", before.last_name != after.last_name),
            ("is_staff", before.is_staff != after.is_staff),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect();
        let state_set = changes.is_active.is_some() || changes.account_status.is_some();
        Effect {
            disabled: before.can_log_in() && !after.can_log_in(),
            enabled: !before.can_log_in() && after.can_log_in(),
            end_sessions: state_set && !after.can_log_in(),
            fields,
        }
    }
}

/// A user as the admin API shows it: the profile and whether the address is verified.
pub fn admin_view(user: &User) -> Value {
    let mut view = user.profile();
    view["email_verified"] = Value::Bool(user.email_verified);
    view
}

/// The terms of a `search` as DRF's `SearchFilter` reads them: split on whitespace and commas,
/// NUL characters dropped; each term must match one of the searched fields. At most
/// `MAX_SEARCH_TERMS`.
pub fn search_terms(search: &str) -> Vec<String> {
    search
        .replace('\0', "")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|term| !term.is_empty())
        .take(MAX_SEARCH_TERMS)
        .map(str::to_owned)
        .collect()
}

/// A SQL `LIKE … ESCAPE '\'` pattern matching `term` anywhere: its `%`, `_` and `\` taken
/// literally.
pub fn contains_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A path's `<id>` as Django's `<int:pk>` takes it: ASCII digits only, else no such user.
pub fn user_id(segment: &str) -> Option<i64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn user(id: i64, is_staff: bool, is_superuser: bool) -> User {
        User {
            id,
            uuid: format!("uuid-{id}"),
            email: format!("user{id}@example.com"),
            password: "pbkdf2_sha256$1$salt$hash".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            phone_number: None,
            phone_number_verified: false,
            timezone: "UTC".into(),
            is_practitioner: false,
            account_status: "active".into(),
            last_login: None,
            date_joined: "2024-01-01T10:00:00Z".into(),
            is_active: true,
            is_staff,
            is_superuser,
            email_verified: true,
        }
    }

    fn errors(data: Value) -> Value {
        match AdminChanges::parse(&object(data)) {
            Err(errors) => errors.iter().map(|(field, messages)| (field.to_owned(), json!(messages))).collect(),
            Ok(changes) => panic!("expected errors, got {changes:?}"),
        }
    }

    #[test]
    fn a_patch_reads_the_five_admin_fields_and_ignores_the_rest() {
        let changes = AdminChanges::parse(&object(json!({
            "is_active": false, "account_status": "suspended", "first_name": "  Augusta ", "last_name": "",
            "is_staff": "yes", "email": "evil@example.com", "is_superuser": true, "password": "x"
        })))
        .unwrap();
        assert_eq!(
            changes,
            AdminChanges {
                is_active: Some(false),
                account_status: Some("suspended".into()),
                first_name: Some("Augusta".into()),
                last_name: Some(String::new()),
                is_staff: Some(true),
            }
        );
        let after = changes.apply(&user(1, false, false));
        assert_eq!((after.email.as_str(), after.is_superuser), ("user1@example.com", false));
        assert_eq!(AdminChanges::parse(&Map::new()).unwrap(), AdminChanges::default());
    }

    #[test]
    fn booleans_take_drf_s_spellings_and_nothing_else() {
        for (sent, read) in [
            (json!(true), true),
            (json!("true"), true),
            (json!("on"), true),
            (json!("1"), true),
            (json!(1), true),
            (json!(1.0), true),
            (json!("False"), false),
            (json!("n"), false),
            (json!(0), false),
            (json!("off"), false),
        ] {
            let changes = AdminChanges::parse(&object(json!({ "is_active": sent }))).unwrap();
            assert_eq!(changes.is_active, Some(read), "{sent}");
        }
        for sent in [json!("maybe"), json!(2), json!(""), json!([]), json!({}), json!("TRUE ")] {
            assert_eq!(errors(json!({ "is_staff": sent })), json!({"is_staff": [NOT_A_BOOLEAN]}));
        }
        assert_eq!(errors(json!({"is_active": null})), json!({"is_active": ["This field may not be null."]}));
    }

    #[test]
    fn an_unknown_account_status_is_drf_s_choice_error() {
        assert_eq!(
            errors(json!({"account_status": "banned"})),
            json!({"account_status": ["\"banned\" is not a valid choice."]})
        );
        assert_eq!(errors(json!({"account_status": ""})), json!({"account_status": ["\"\" is not a valid choice."]}));
        assert_eq!(
            errors(json!({"account_status": "Active"})),
            json!({"account_status": ["\"Active\" is not a valid choice."]})
        );
        assert_eq!(errors(json!({"account_status": 5})), json!({"account_status": ["\"5\" is not a valid choice."]}));
        assert_eq!(
            errors(json!({"account_status": true})),
            json!({"account_status": ["\"True\" is not a valid choice."]})
        );
        assert_eq!(
            errors(json!({"account_status": 1.50})),
            json!({"account_status": ["\"1.5\" is not a valid choice."]})
        );
        assert_eq!(
            errors(json!({"account_status": ["active"]})),
            json!({"account_status": [r#""["active"]" is not a valid choice."#]})
        );
        assert_eq!(errors(json!({"account_status": null})), json!({"account_status": ["This field may not be null."]}));
        for status in ACCOUNT_STATUSES {
            let changes = AdminChanges::parse(&object(json!({ "account_status": status }))).unwrap();
            assert_eq!(changes.account_status.as_deref(), Some(status));
        }
    }

    #[test]
    fn names_follow_patch_me_s_rules_and_every_error_is_reported_at_once() {
        assert_eq!(
            errors(json!({
                "account_status": "x", "is_active": "x", "last_name": ["Lovelace"],
                "first_name": "A".repeat(151), "is_staff": null
            })),
            json!({
                "first_name": ["Ensure this field has no more than 150 characters."],
                "last_name": ["Not a valid string."],
                "is_active": [NOT_A_BOOLEAN],
                "is_staff": ["This field may not be null."],
                "account_status": ["\"x\" is not a valid choice."]
            })
        );
        assert_eq!(errors(json!({"first_name": null})), json!({"first_name": ["This field may not be null."]}));
        assert_eq!(
            errors(json!({"first_name": "a\u{0}b"})),
            json!({"first_name": ["Null characters are not allowed."]})
        );
    }

    #[test]
    fn only_staff_may_administer_and_only_superusers_may_touch_a_superuser() {
        let (plain, staff, superuser) = (user(1, false, false), user(2, true, false), user(3, true, true));
        assert_eq!(may_administer(&plain), Err(Denied::NotStaff));
        // A superuser without is_staff is no admin here: the API asks for staff, as DRF's IsAdminUser.
        assert_eq!(may_administer(&user(4, false, true)), Err(Denied::NotStaff));
        assert_eq!(may_administer(&staff), Ok(()));
        assert_eq!(may_act_on(&plain, &plain), Err(Denied::NotStaff));
        assert_eq!(may_act_on(&staff, &plain), Ok(()));
        assert_eq!(may_act_on(&staff, &staff), Ok(()));
        assert_eq!(may_act_on(&staff, &superuser), Err(Denied::TargetIsSuperuser));
        assert_eq!(may_act_on(&superuser, &superuser), Ok(()));
        let rename = AdminChanges { first_name: Some("B".into()), ..AdminChanges::default() };
        assert_eq!(may_change(&staff, &superuser, &rename), Err(Denied::TargetIsSuperuser));
        assert_eq!(may_change(&staff, &plain, &rename), Ok(()));
    }

    #[test]
    fn only_a_superuser_may_give_or_take_staff() {
        let (plain, staff, superuser) = (user(1, false, false), user(2, true, false), user(3, true, true));
        let promote = AdminChanges { is_staff: Some(true), ..AdminChanges::default() };
        let demote = AdminChanges { is_staff: Some(false), ..AdminChanges::default() };
        assert_eq!(may_change(&staff, &plain, &promote), Err(Denied::StaffChange));
        assert_eq!(may_change(&staff, &staff, &demote), Err(Denied::StaffChange));
        assert_eq!(may_change(&superuser, &plain, &promote), Ok(()));
        assert_eq!(may_change(&superuser, &staff, &demote), Ok(()));
        // Its present value sent back (a whole form saved) changes nothing.
        assert_eq!(may_change(&staff, &plain, &demote), Ok(()));
        assert_eq!(may_change(&staff, &staff, &promote), Ok(()));
    }

    #[test]
    fn disabling_ends_the_sessions_and_enabling_is_its_own_event() {
        let active = user(1, false, false);
        let effect = |changes: AdminChanges, before: &User| Effect::of(before, &changes);
        let off = effect(AdminChanges { is_active: Some(false), ..AdminChanges::default() }, &active);
        assert_eq!(
            (off.disabled, off.enabled, off.end_sessions, off.fields.clone()),
            (true, false, true, vec!["is_active"])
        );
        let suspended =
            effect(AdminChanges { account_status: Some("suspended".into()), ..AdminChanges::default() }, &active);
        assert!(suspended.disabled && suspended.end_sessions);

        let mut inactive = active.clone();
        inactive.is_active = false;
        let on = effect(AdminChanges { is_active: Some(true), ..AdminChanges::default() }, &inactive);
        assert_eq!((on.disabled, on.enabled, on.end_sessions), (false, true, false));
        // Still unable to log in (its status is not active): no event of its own, sessions ended again.
        let mut both = inactive.clone();
        both.account_status = "disabled".into();
        let half = effect(AdminChanges { is_active: Some(true), ..AdminChanges::default() }, &both);
        assert_eq!((half.disabled, half.enabled, half.end_sessions), (false, false, true));

        // Disabled by hand in D1, its sessions left: disabled again through the API, they end.
        let again = effect(AdminChanges { is_active: Some(false), ..AdminChanges::default() }, &inactive);
        assert_eq!((again.disabled, again.enabled, again.end_sessions), (false, false, true));
        assert!(again.fields.is_empty());
        let renamed = effect(AdminChanges { last_name: Some("Byron".into()), ..AdminChanges::default() }, &inactive);
        assert_eq!((renamed.disabled, renamed.enabled, renamed.end_sessions), (false, false, false));
        assert_eq!(renamed.fields, ["last_name"]);
        let same = effect(
            AdminChanges { is_active: Some(true), first_name: Some("Ada".into()), ..Default::default() },
            &active,
        );
        assert!(same.fields.is_empty() && !same.end_sessions);
    }

    #[test]
    fn the_admin_view_is_the_profile_with_the_address_state() {
        let view = admin_view(&user(7, false, false));
        assert_eq!(view.as_object().unwrap().len(), 18);
        assert_eq!(view["email_verified"], true);
        assert_eq!(view["id"], 7);
        assert!(view.get("password").is_none());
    }

    #[test]
    fn search_terms_are_split_like_drf_s_search_filter_and_match_literally() {
        assert_eq!(search_terms(" ada, love\tlace "), ["ada", "love", "lace"]);
        assert!(search_terms(" , ").is_empty());
        assert_eq!(search_terms("a\0b"), ["ab"]);
        assert_eq!(search_terms(&"x ".repeat(50)).len(), MAX_SEARCH_TERMS);
        assert_eq!(contains_pattern("ada"), "%ada%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }

    #[test]
    fn a_user_id_is_digits_only() {
        assert_eq!(user_id("42"), Some(42));
        assert_eq!(user_id("007"), Some(7));
        for bad in ["", "-1", "+1", "1.0", "abc", " 1", "1e3", "99999999999999999999", "%31"] {
            assert_eq!(user_id(bad), None, "{bad}");
        }
    }
}
