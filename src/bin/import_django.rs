//! `import-django`: turns a Django `manage.py dumpdata <app>.<User>` JSON dump into one SQL file
//! that loads those users into edge-auth's D1 `users` table (migrations/0001_create_users.sql).
//!
//! ```sh
//! python manage.py dumpdata users.User > dump.json
//! cargo run --bin import-django -- dump.json > users.sql
//! npx wrangler d1 execute DB --remote --file users.sql
//! ```
//!
//! Ids, uuids and password hashes are copied verbatim (every hasher Django ships for real use
//! verifies in edge-auth, which re-hashes to its `PASSWORD_HASHER` on the next login when the
//! algorithm differs or the cost is lower; a hash no login can match is noted);
//! emails are normalised as the API normalises them (`Email::parse`: UTS #46 mapping (NFKC, case folding), punycode domain,
//! lowercased); booleans become 0/1; timestamps become ISO 8601 UTC with `Z`, the format
//! edge-auth stores and DRF renders. `username`, `groups` and `user_permissions` are ignored.
//!
//! Every record is checked before anything is written: a record that cannot be imported (missing
//! or malformed email, uuid, pk or timestamp, a value of the wrong type, a text holding a control
//! character or a line separator, a pk at or above `--user-id-start`) or two records sharing an
//! email once normalised, an id or a uuid, stop the import with the record's number (1-based) and
//! the reason on stderr, exit code 1 and nothing on stdout.
//!
//! Ids: edge-auth assigns its own new users ids from `USER_ID_START` (default 1,000,000,000) up,
//! so Django's ids are kept and each must be below it (`--user-id-start N` when USER_ID_START is
//! set otherwise); the two sides can then register users at once without a token for one user
//! naming another.
//!
//! No text from the dump reaches the SQL outside a quoted string literal: the header names no
//! model, and every other value is a number or a flag written here.
//!
//! The SQL may be run again and changes nothing: each row is inserted only when no row with the
//! same id *and* uuid exists, and an existing one is left exactly as it is, because edge-auth may
//! have changed it since (a re-hashed or changed password, `last_login`); re-running must never
//! give a user back an old password. `ON CONFLICT(id) DO UPDATE` would do exactly that, and
//! `INSERT OR IGNORE` would also silently skip a user whose email or uuid clashes with a different
//! row. Here any such clash — the id taken by another user, the uuid or email by another id — is
//! a `UNIQUE constraint failed` error that stops `wrangler d1 execute`. The import copies users
//! once; it does not keep them in step with Django afterwards.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDateTime, Utc};
use edge_auth::config::DEFAULT_USER_ID_START;
use edge_auth::domain::email::Email;
use edge_auth::domain::password;
use edge_auth::domain::user::timestamp;
use serde_json::{Map, Value};

const USAGE: &str = "usage: import-django [--user-id-start N] <dump.json | -> > users.sql
  Reads `manage.py dumpdata <app>.<User>` JSON (a file, or stdin for `-`) and writes SQL for
  `wrangler d1 execute DB --file users.sql` that inserts those users into edge-auth's users table.

  --user-id-start N  edge-auth's USER_ID_START (default 1000000000): edge-auth gives new users ids
                     from N up, so Django's ids are kept and every one must be below N. Django's
                     largest id: python manage.py shell -c \"from django.contrib.auth import
                     get_user_model; from django.db.models import Max;
                     print(get_user_model().objects.aggregate(Max('pk')))\"";

/// How to find Django's largest user id, for the error that refuses an id in edge-auth's range.
const DJANGO_MAX_ID: &str = "python manage.py shell -c \"from django.contrib.auth import get_user_model; \
from django.db.models import Max; print(get_user_model().objects.aggregate(Max('pk')))\"";

/// Fields of the dump that are deliberately not imported, without a note.
const IGNORED_FIELDS: [&str; 3] = ["username", "groups", "user_permissions"];

/// The `users` columns, in the order the SQL lists them.
const COLUMNS: &str = "id, uuid, email, password, first_name, last_name, phone_number, phone_number_verified, \
timezone, is_practitioner, account_status, last_login, date_joined, is_active, is_staff, is_superuser";

/// One `users` row, every value checked and in the table's format.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    id: i64,
    uuid: String,
    email: String,
    password: String,
    first_name: String,
    last_name: String,
    phone_number: Option<String>,
    phone_number_verified: bool,
    timezone: String,
    is_practitioner: bool,
    account_status: String,
    last_login: Option<String>,
    date_joined: String,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
}

/// A dump that passed every check: its model label, the rows in dump order, and remarks that do
/// not stop the import.
#[derive(Debug)]
struct Import {
    model: String,
    rows: Vec<Row>,
    notes: Vec<String>,
}

/// Reads and checks a whole dump. `Err` lists every problem found, each naming its record.
/// Every id must be below `user_id_start`, where edge-auth starts assigning its own.
fn import(text: &str, user_id_start: i64) -> Result<Import, Vec<String>> {
    let dump: Value = serde_json::from_str(text).map_err(|e| vec![format!("the dump is not valid JSON: {e}")])?;
    let Value::Array(records) = dump else {
        return Err(vec!["the dump is not a JSON list of records (`manage.py dumpdata <app>.<User>`)".to_owned()]);
    };
    if records.is_empty() {
        return Err(vec!["the dump holds no records".to_owned()]);
    }

    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut model: Option<String> = None;
    let mut unknown_fields = BTreeSet::new();
    for (index, record) in records.iter().enumerate() {
        let number = index + 1;
        match parse_record(record) {
            Ok(parsed) if parsed.row.id >= user_id_start => problems.push(format!(
                "record {number}: pk {} is at or above --user-id-start {user_id_start}, the range where edge-auth \
                 assigns its own user ids (keep both sides apart: check Django's largest id with `{DJANGO_MAX_ID}` \
                 and set USER_ID_START, and --user-id-start, above it)",
                parsed.row.id
            )),
            Ok(parsed) => {
                match &model {
                    None => model = Some(parsed.model.clone()),
                    Some(first) if *first != parsed.model => problems.push(format!(
                        "record {number}: model \"{}\" is not record 1's \"{first}\" (dump one user model only)",
                        parsed.model
                    )),
                    Some(_) => {}
                }
                unknown_fields.extend(parsed.unknown_fields);
                rows.push((number, parsed.row));
            }
            Err(reasons) => problems.extend(reasons.into_iter().map(|reason| format!("record {number}: {reason}"))),
        }
    }
    problems.extend(duplicates(&rows));
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut notes = Vec::new();
    if !unknown_fields.is_empty() {
        let names: Vec<String> = unknown_fields.iter().map(|name| name.escape_debug().to_string()).collect();
        notes.push(format!("ignored fields that the users table does not have: {}", names.join(", ")));
    }
    for (number, row) in &rows {
        if let Some(why) = unusable_password(&row.password) {
            notes.push(format!(
                "record {number} (id {}): {why}; this user cannot log in until the password is reset",
                row.id
            ));
        }
    }
    Ok(Import { model: model.unwrap_or_default(), rows: rows.into_iter().map(|(_, row)| row).collect(), notes })
}

/// One record, read.
struct Parsed {
    model: String,
    row: Row,
    unknown_fields: Vec<String>,
}

/// Reads one `{"model", "pk", "fields"}` record; `Err` lists every reason it cannot be imported.
fn parse_record(record: &Value) -> Result<Parsed, Vec<String>> {
    let Value::Object(record) = record else {
        return Err(vec![format!("is not an object but {}", kind(record))]);
    };
    let mut reasons = Vec::new();
    let model = match record.get("model") {
        Some(Value::String(model)) => match control_character(model) {
            Some(why) => {
                reasons.push(format!("model {why}"));
                String::new()
            }
            None => model.clone(),
        },
        Some(other) => {
            reasons.push(format!("model is not a string but {}", kind(other)));
            String::new()
        }
        None => {
            reasons.push("model is missing".to_owned());
            String::new()
        }
    };
    let id = match record.get("pk") {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(id) if id > 0 => Some(id),
            _ => {
                reasons.push(format!("pk {n} is not a positive integer"));
                None
            }
        },
        None | Some(Value::Null) => {
            reasons.push("pk is missing (dump without --natural-primary)".to_owned());
            None
        }
        Some(other) => {
            reasons.push(format!("pk is not an integer but {}", kind(other)));
            None
        }
    };
    let fields = match record.get("fields") {
        Some(Value::Object(fields)) => fields,
        Some(other) => {
            reasons.push(format!("fields is not an object but {}", kind(other)));
            return Err(reasons);
        }
        None => {
            reasons.push("fields is missing".to_owned());
            return Err(reasons);
        }
    };

    let mut read = Fields { fields, reasons };
    // The API's own normalisation (`Email::parse`), so an imported address is spelt as a login
    // or registration of it would be.
    let email = read.text("email", None).and_then(|email| match Email::parse(&email) {
        Ok(email) => Some(email.into_string()),
        Err(_) => {
            read.reasons.push(format!("email {email:?} is not a valid email address"));
            None
        }
    });
    let uuid = read.text("uuid", None).and_then(|text| match uuid::Uuid::parse_str(&text) {
        Ok(uuid) => Some(uuid.hyphenated().to_string()),
        Err(_) => {
            read.reasons.push(format!("uuid {text:?} is not a UUID"));
            None
        }
    });
    let password = read.text("password", None);
    let first_name = read.text("first_name", Some(""));
    let last_name = read.text("last_name", Some(""));
    let phone_number = read.nullable_text("phone_number");
    let phone_number_verified = read.flag("phone_number_verified", false);
    let timezone = read.text("timezone", Some("UTC"));
    let is_practitioner = read.flag("is_practitioner", false);
    let account_status = read.text("account_status", Some("active"));
    let last_login = read.nullable_timestamp("last_login");
    let date_joined = read.timestamp("date_joined");
    let is_active = read.flag("is_active", true);
    let is_staff = read.flag("is_staff", false);
    let is_superuser = read.flag("is_superuser", false);

    let unknown_fields = fields
        .keys()
        .filter(|name| !IGNORED_FIELDS.contains(&name.as_str()) && !COLUMNS.split(", ").any(|column| column == *name))
        .cloned()
        .collect();
    let reasons = read.reasons;
    // Every field read above, or `None` when one of them failed (its reason is recorded).
    let row = (|| {
        Some(Row {
            id: id?,
            uuid: uuid?,
            email: email?,
            password: password?,
            first_name: first_name?,
            last_name: last_name?,
            phone_number: phone_number?,
            phone_number_verified: phone_number_verified?,
            timezone: timezone?,
            is_practitioner: is_practitioner?,
            account_status: account_status?,
            last_login: last_login?,
            date_joined: date_joined?,
            is_active: is_active?,
            is_staff: is_staff?,
            is_superuser: is_superuser?,
        })
    })();
    match row {
        Some(row) if reasons.is_empty() => Ok(Parsed { model, row, unknown_fields }),
        _ => Err(reasons),
    }
}

/// Reads the `fields` of one record; each failed read records its reason and yields `None`.
struct Fields<'a> {
    fields: &'a Map<String, Value>,
    reasons: Vec<String>,
}

impl Fields<'_> {
    fn fail<T>(&mut self, reason: String) -> Option<T> {
        self.reasons.push(reason);
        None
    }

    /// A string; when missing, `default` (the column's default), or a reason when it has none.
    fn text(&mut self, name: &str, default: Option<&str>) -> Option<String> {
        match self.fields.get(name) {
            None => match default {
                Some(default) => Some(default.to_owned()),
                None => self.fail(format!("{name} is missing")),
            },
            Some(Value::String(text)) if control_character(text).is_some() => {
                let why = control_character(text).unwrap_or_default();
                self.fail(format!("{name} {why}"))
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => self.fail(format!("{name} is not a string but {}", kind(other))),
        }
    }

    /// A string or null; missing is null.
    fn nullable_text(&mut self, name: &str) -> Option<Option<String>> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(_) => self.text(name, None).map(Some),
        }
    }

    /// `true`/`false`; when missing, the column's default.
    fn flag(&mut self, name: &str, default: bool) -> Option<bool> {
        match self.fields.get(name) {
            None => Some(default),
            Some(Value::Bool(flag)) => Some(*flag),
            Some(other) => self.fail(format!("{name} is not true or false but {}", kind(other))),
        }
    }

    /// A required timestamp, converted to the table's format.
    fn timestamp(&mut self, name: &str) -> Option<String> {
        let text = self.text(name, None)?;
        match utc_timestamp(&text) {
            Ok(stamp) => Some(stamp),
            Err(why) => self.fail(format!("{name} {text:?} {why}")),
        }
    }

    /// A timestamp or null; missing is null.
    fn nullable_timestamp(&mut self, name: &str) -> Option<Option<String>> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(_) => self.timestamp(name).map(Some),
        }
    }
}

/// Why a text may not be imported, if it may not: it holds a control character (C0, DEL, C1) or
/// a line or paragraph separator. No legitimate user field has one, and each could end a line
/// of the SQL file or of a terminal that shows it.
fn control_character(text: &str) -> Option<String> {
    let (at, c) = text.chars().enumerate().find(|&(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))?;
    Some(format!("contains the control character U+{:04X} (at character {})", u32::from(c), at + 1))
}

/// A Django-dumped datetime (`2024-01-01T12:00:00.123Z`, `…+00:00`, any offset) as the table
/// stores it: UTC, `Z`, microseconds only when non-zero. A datetime without an offset (a project
/// with `USE_TZ = False`) is refused rather than guessed at.
fn utc_timestamp(text: &str) -> Result<String, &'static str> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => Ok(timestamp(at.with_timezone(&Utc))),
        Err(_) if NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok() => {
            Err("has no UTC offset (dumped with USE_TZ = False?); its time zone is not guessed")
        }
        Err(_) => Err("is not an ISO 8601 timestamp with a UTC offset"),
    }
}

/// Records that share an id, a uuid, or an email without regard to case.
fn duplicates(rows: &[(usize, Row)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashMap::new();
    let mut uuids = HashMap::new();
    let mut emails = HashMap::new();
    for (number, row) in rows {
        if let Some(first) = ids.insert(row.id, *number) {
            problems.push(format!("record {number}: pk {} is also record {first}'s", row.id));
            ids.insert(row.id, first);
        }
        if let Some(first) = uuids.insert(row.uuid.as_str(), *number) {
            problems.push(format!("record {number}: uuid {} is also record {first}'s", row.uuid));
            uuids.insert(row.uuid.as_str(), first);
        }
        // `row.email` is already in its one spelling (`Email::parse`).
        if let Some(first) = emails.insert(row.email.as_str(), *number) {
            problems.push(format!(
                "record {number}: email {} is also record {first}'s (emails are unique once normalised: without \
                 regard to case, fullwidth forms or an IDN domain's punycode)",
                row.email
            ));
            emails.insert(row.email.as_str(), first);
        }
    }
    problems
}

/// Why a stored password cannot log in to edge-auth, if it cannot: every hasher Django ships
/// for real use verifies here, at the costs a login may spend.
fn unusable_password(encoded: &str) -> Option<String> {
    password::unverifiable(encoded)
}

/// The SQL file: a header, then one guarded INSERT per user. No text from the dump is written
/// outside an escaped string literal (`sql_text`): the header names no model, and every other
/// value is a number or a 0/1 flag written here.
fn to_sql(import: &Import) -> String {
    let mut sql = String::new();
    let count = import.rows.len();
    let _ = writeln!(sql, "-- edge-auth users from a Django dump: {count} users, by import-django.");
    sql.push_str(
        "-- Apply with `wrangler d1 execute DB --file <this file>` (--local or --remote). Running it again\n\
         -- changes nothing: a user whose id and uuid are already there is left as it is, and any other\n\
         -- clash of id, uuid or email stops with a UNIQUE constraint error.\n",
    );
    for row in &import.rows {
        sql.push_str(&insert(row));
    }
    sql
}

/// One user's statement: inserted unless a row with the same id and uuid exists.
fn insert(row: &Row) -> String {
    let values = [
        row.id.to_string(),
        sql_text(&row.uuid),
        sql_text(&row.email),
        sql_text(&row.password),
        sql_text(&row.first_name),
        sql_text(&row.last_name),
        row.phone_number.as_deref().map_or_else(|| "NULL".to_owned(), sql_text),
        sql_flag(row.phone_number_verified),
        sql_text(&row.timezone),
        sql_flag(row.is_practitioner),
        sql_text(&row.account_status),
        row.last_login.as_deref().map_or_else(|| "NULL".to_owned(), sql_text),
        sql_text(&row.date_joined),
        sql_flag(row.is_active),
        sql_flag(row.is_staff),
        sql_flag(row.is_superuser),
    ];
    format!(
        "INSERT INTO users ({COLUMNS})\nSELECT {}\nWHERE NOT EXISTS (SELECT 1 FROM users WHERE id = {} AND uuid = {});\n",
        values.join(", "),
        row.id,
        sql_text(&row.uuid)
    )
}

/// An SQL string literal: single quotes doubled, everything else verbatim (SQLite has no
/// backslash escapes).
fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn sql_flag(flag: bool) -> String {
    u8::from(flag).to_string()
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn read_input(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read stdin: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Args<'a> {
    Help,
    Run { path: &'a str, user_id_start: i64 },
}

/// `[--user-id-start N] <path>` (or `--user-id-start=N`), or `-h`/`--help`. `Err` carries what
/// was wrong, if more than the shape.
fn parse_args(args: &[String]) -> Result<Args<'_>, Option<String>> {
    let mut path = None;
    let mut user_id_start = DEFAULT_USER_ID_START;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let start = match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "--user-id-start" => Some(rest.next().ok_or(Some("--user-id-start needs a number".to_owned()))?.as_str()),
            flag => flag.strip_prefix("--user-id-start="),
        };
        match start {
            Some(n) => match n.parse::<i64>() {
                Ok(n) if n > 1 => user_id_start = n,
                _ => return Err(Some(format!("--user-id-start {n:?} is not an integer above 1"))),
            },
            None if path.is_none() && (arg == "-" || !arg.starts_with('-')) => path = Some(arg.as_str()),
            None => return Err(None),
        }
    }
    path.map(|path| Args::Run { path, user_id_start }).ok_or(None)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, user_id_start) = match parse_args(&args) {
        Ok(Args::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Args::Run { path, user_id_start }) => (path, user_id_start),
        Err(why) => {
            if let Some(why) = why {
                eprintln!("import-django: {why}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let text = match read_input(path) {
        Ok(text) => text,
        Err(why) => {
            eprintln!("import-django: {why}");
            return ExitCode::FAILURE;
        }
    };
    let import = match import(&text, user_id_start) {
        Ok(import) => import,
        Err(problems) => {
            for problem in &problems {
                eprintln!("import-django: {problem}");
            }
            eprintln!("import-django: nothing written: fix the dump and run again");
            return ExitCode::FAILURE;
        }
    };
    for note in &import.notes {
        eprintln!("import-django: note: {note}");
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(to_sql(&import).as_bytes()).and_then(|()| stdout.flush()) {
        eprintln!("import-django: cannot write the SQL: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!("import-django: wrote {} users of {}", import.rows.len(), import.model.escape_debug());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const START: i64 = DEFAULT_USER_ID_START;

    /// Made by real Django 5.2 (`tests/interop/django_side.py dump`): `auth.User` records as
    /// `dumpdata` writes them, plus the profile fields.
    const DJANGO_DUMP: &str = include_str!("../../tests/fixtures/django-dumpdata.json");

    fn record(fields: Value) -> Value {
        json!({"model": "users.user", "pk": 3, "fields": fields})
    }

    /// A complete record's fields, as the project's user model dumps them.
    fn full_fields() -> Value {
        json!({
            "password": "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=",
            "last_login": "2024-05-06T07:08:09.250Z",
            "is_superuser": false,
            "username": "grace",
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "Grace.Hopper@Navy.MIL",
            "is_staff": true,
            "is_active": true,
            "date_joined": "2024-01-01T12:00:00+00:00",
            "groups": [1],
            "user_permissions": [],
            "uuid": "AB2E4F6A-1B3C-4D5E-8F7A-9B0C1D2E3F4A",
            "phone_number": "+1 555 0100",
            "phone_number_verified": true,
            "timezone": "America/Chicago",
            "is_practitioner": true,
            "account_status": "active"
        })
    }

    fn import_one(fields: Value) -> Result<Row, Vec<String>> {
        import(&json!([record(fields)]).to_string(), START).map(|import| import.rows.into_iter().next().unwrap())
    }

    fn with(changes: Value) -> Value {
        let mut fields = full_fields();
        for (key, value) in changes.as_object().unwrap() {
            fields[key] = value.clone();
        }
        fields
    }

    fn without(name: &str) -> Value {
        let mut fields = full_fields();
        fields.as_object_mut().unwrap().remove(name);
        fields
    }

    fn grace() -> Row {
        Row {
            id: 3,
            uuid: "ab2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a".to_owned(),
            email: "grace.hopper@navy.mil".to_owned(),
            password: "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=".to_owned(),
            first_name: "Grace".to_owned(),
            last_name: "Hopper".to_owned(),
            phone_number: Some("+1 555 0100".to_owned()),
            phone_number_verified: true,
            timezone: "America/Chicago".to_owned(),
            is_practitioner: true,
            account_status: "active".to_owned(),
            last_login: Some("2024-05-06T07:08:09.250000Z".to_owned()),
            date_joined: "2024-01-01T12:00:00Z".to_owned(),
            is_active: true,
            is_staff: true,
            is_superuser: false,
        }
    }

    #[test]
    fn a_complete_record_becomes_a_row_in_the_table_s_format() {
        assert_eq!(import_one(full_fields()), Ok(grace()));
    }

    #[test]
    fn the_real_django_dump_imports_every_user_as_django_stored_it() {
        let import = import(DJANGO_DUMP, START).unwrap();
        assert_eq!(import.model, "auth.user");
        let ids: Vec<i64> = import.rows.iter().map(|row| row.id).collect();
        assert_eq!(ids, [1, 2, 5, 7, 8]);
        let ada = &import.rows[0];
        assert_eq!(ada.email, "ada.lovelace@example.com");
        assert_eq!(ada.uuid, "5f0c6a8e-3b1d-4c2a-9e7f-0a1b2c3d4e5f");
        assert!(ada.password.starts_with("pbkdf2_sha256$1000000$"), "{}", ada.password);
        assert_eq!(ada.last_login.as_deref(), Some("2025-03-01T09:30:15.123000Z"));
        assert_eq!(ada.date_joined, "2024-01-01T12:00:00Z");
        assert!(ada.is_staff && ada.is_superuser && ada.phone_number_verified && ada.is_active);
        assert_eq!((ada.timezone.as_str(), ada.phone_number.as_deref()), ("Europe/London", Some("+44 20 7946 0958")));
        let conan = &import.rows[1];
        assert_eq!((conan.last_name.as_str(), conan.last_login.as_deref()), ("O'Brien", None));
        assert_eq!(conan.date_joined, "2024-02-29T23:59:59.999000Z");
        assert!(conan.is_practitioner && !conan.is_staff);
        let jose = &import.rows[2];
        assert_eq!((jose.first_name.as_str(), jose.last_name.as_str()), ("José", "Núñez-Žižek 日本"));
        assert_eq!(jose.phone_number.as_deref(), Some(""));
        assert!(!import.rows[3].is_active);
        assert_eq!(import.rows[4].account_status, "suspended");
        assert_eq!(import.notes, Vec::<String>::new());
    }

    #[test]
    fn the_real_django_dump_becomes_one_guarded_insert_per_user() {
        let sql = to_sql(&import(DJANGO_DUMP, START).unwrap());
        assert_eq!(sql.matches("INSERT INTO users").count(), 5);
        assert_eq!(sql.matches("WHERE NOT EXISTS").count(), 5);
        assert!(sql.contains("'Conan', 'O''Brien', NULL, 0, 'America/New_York', 1, 'active', NULL,"), "{sql}");
        assert!(sql.contains("'José', 'Núñez-Žižek 日本', '', 0, 'Asia/Tokyo'"), "{sql}");
        assert!(sql.starts_with("-- edge-auth users from a Django dump: 5 users"), "{sql}");
    }

    #[test]
    fn a_row_is_inserted_only_when_that_id_and_uuid_are_not_there_yet() {
        assert_eq!(
            insert(&grace()),
            "INSERT INTO users (id, uuid, email, password, first_name, last_name, phone_number, \
             phone_number_verified, timezone, is_practitioner, account_status, last_login, date_joined, is_active, \
             is_staff, is_superuser)\n\
             SELECT 3, 'ab2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a', 'grace.hopper@navy.mil', \
             'pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c=', 'Grace', 'Hopper', '+1 555 0100', 1, 'America/Chicago', 1, 'active', \
             '2024-05-06T07:08:09.250000Z', '2024-01-01T12:00:00Z', 1, 1, 0\n\
             WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = 3 AND uuid = 'ab2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a');\n"
        );
    }

    #[test]
    fn sql_strings_double_single_quotes_and_keep_everything_else() {
        let cases = [
            ("O'Brien", "'O''Brien'"),
            ("''", "''''''"),
            ("'; DROP TABLE users; --", "'''; DROP TABLE users; --'"),
            ("back\\slash \"quoted\"", "'back\\slash \"quoted\"'"),
            ("Zoë 日本 😀", "'Zoë 日本 😀'"),
            ("two\nlines", "'two\nlines'"),
            ("", "''"),
        ];
        for (text, literal) in cases {
            assert_eq!(sql_text(text), literal, "{text:?}");
        }
    }

    #[test]
    fn names_with_quotes_and_unicode_reach_the_sql_escaped() {
        let row = import_one(with(json!({"first_name": "D'Arcy 'Dee'", "last_name": "Ó Briain-日本"}))).unwrap();
        assert!(insert(&row).contains(", 'D''Arcy ''Dee''', 'Ó Briain-日本', "), "{}", insert(&row));
    }

    #[test]
    fn timestamps_become_utc_with_z_and_microseconds_only_when_non_zero() {
        let cases = [
            ("2024-01-01T12:00:00Z", "2024-01-01T12:00:00Z"),
            ("2024-01-01T12:00:00.000Z", "2024-01-01T12:00:00Z"),
            ("2024-01-01T12:00:00.123Z", "2024-01-01T12:00:00.123000Z"),
            ("2024-01-01T12:00:00.123456+00:00", "2024-01-01T12:00:00.123456Z"),
            ("2024-01-01T12:00:00+00:00", "2024-01-01T12:00:00Z"),
            ("2024-01-01T01:30:00+02:00", "2023-12-31T23:30:00Z"),
            ("2024-01-01T12:00:00.5-05:30", "2024-01-01T17:30:00.500000Z"),
        ];
        for (dumped, stored) in cases {
            assert_eq!(utc_timestamp(dumped), Ok(stored.to_owned()), "{dumped}");
        }
    }

    #[test]
    fn timestamps_without_an_offset_or_that_are_not_timestamps_are_refused() {
        for text in ["2024-01-01T12:00:00", "2024-01-01T12:00:00.123", "2024-13-01T00:00:00Z", "2024-01-01", "", "now"]
        {
            assert!(utc_timestamp(text).is_err(), "{text}");
        }
        assert!(utc_timestamp("2024-01-01T12:00:00").unwrap_err().contains("no UTC offset"));
    }

    #[test]
    fn missing_optional_fields_take_the_column_defaults() {
        let fields = json!({
            "email": "min@example.com",
            "password": "pbkdf2_sha256$1$s$h",
            "uuid": "5f0c6a8e-3b1d-4c2a-9e7f-0a1b2c3d4e5f",
            "date_joined": "2024-01-01T00:00:00Z"
        });
        let row = import_one(fields).unwrap();
        assert_eq!((row.first_name.as_str(), row.last_name.as_str(), row.phone_number), ("", "", None));
        assert_eq!((row.timezone.as_str(), row.account_status.as_str(), row.last_login), ("UTC", "active", None));
        assert!(row.is_active && !row.is_staff && !row.is_superuser && !row.is_practitioner);
        assert!(!row.phone_number_verified);
    }

    #[test]
    fn a_bad_record_is_reported_with_its_number_and_reason() {
        let cases = [
            (without("email"), "email is missing"),
            (with(json!({"email": null})), "email is not a string but null"),
            (with(json!({"email": "not-an-email"})), "email \"not-an-email\" is not a valid email address"),
            (with(json!({"email": ""})), "email \"\" is not a valid email address"),
            (without("uuid"), "uuid is missing"),
            (with(json!({"uuid": "123"})), "uuid \"123\" is not a UUID"),
            (without("password"), "password is missing"),
            (without("date_joined"), "date_joined is missing"),
            (
                with(json!({"date_joined": "2024-02-30T00:00:00Z"})),
                "date_joined \"2024-02-30T00:00:00Z\" is not an ISO 8601 timestamp with a UTC offset",
            ),
            (with(json!({"last_login": "yesterday"})), "last_login \"yesterday\" is not an ISO 8601 timestamp"),
            (with(json!({"is_active": 1})), "is_active is not true or false but a number"),
            (with(json!({"first_name": null})), "first_name is not a string but null"),
            (with(json!({"phone_number": 5551234})), "phone_number is not a string but a number"),
            (
                with(json!({"last_name": "nul\u{0}byte"})),
                "last_name contains the control character U+0000 (at character 4)",
            ),
        ];
        for (fields, reason) in cases {
            let dump = json!([record(full_fields()), record(fields)]);
            let mut dump = dump;
            dump[0]["pk"] = json!(1);
            dump[0]["fields"]["email"] = json!("first@example.com");
            dump[0]["fields"]["uuid"] = json!("00000000-0000-4000-8000-000000000000");
            let problems = import(&dump.to_string(), START).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].starts_with(&format!("record 2: {reason}")), "{problems:?} vs {reason}");
        }
    }

    #[test]
    fn a_record_of_the_wrong_shape_is_reported_with_its_number() {
        let cases = [
            (json!("a string"), "record 1: is not an object but a string"),
            (json!({"model": "users.user", "pk": 1, "fields": []}), "record 1: fields is not an object but a list"),
            (json!({"model": "users.user", "pk": 1}), "record 1: fields is missing"),
            (json!({"model": "users.user", "pk": "1", "fields": full_fields()}), "record 1: pk is not an integer"),
            (json!({"model": "users.user", "pk": 1.5, "fields": full_fields()}), "record 1: pk 1.5 is not a positive"),
            (json!({"model": "users.user", "pk": 0, "fields": full_fields()}), "record 1: pk 0 is not a positive"),
            (json!({"model": "users.user", "fields": full_fields()}), "record 1: pk is missing"),
            (json!({"pk": 1, "fields": full_fields()}), "record 1: model is missing"),
        ];
        for (record, expected) in cases {
            let problems = import(&json!([record]).to_string(), START).unwrap_err();
            assert!(problems.iter().any(|p| p.starts_with(expected)), "{problems:?} vs {expected}");
        }
    }

    #[test]
    fn every_problem_of_every_record_is_reported_at_once() {
        let dump = json!([record(without("email")), {"model": "users.user", "pk": "x", "fields": without("uuid")}]);
        assert_eq!(
            import(&dump.to_string(), START).unwrap_err(),
            ["record 1: email is missing", "record 2: pk is not an integer but a string", "record 2: uuid is missing"]
        );
    }

    #[test]
    fn emails_that_differ_only_by_case_stop_the_import() {
        let mut second =
            record(with(json!({"email": "GRACE.hopper@navy.mil", "uuid": "00000000-0000-4000-8000-000000000000"})));
        second["pk"] = json!(4);
        let problems = import(&json!([record(full_fields()), second]).to_string(), START).unwrap_err();
        assert_eq!(
            problems,
            ["record 2: email grace.hopper@navy.mil is also record 1's (emails are unique once normalised: without \
              regard to case, fullwidth forms or an IDN domain's punycode)"]
        );
    }

    #[test]
    fn a_repeated_pk_or_uuid_stops_the_import() {
        let other_email = with(json!({"email": "other@example.com"}));
        let problems = import(&json!([record(full_fields()), record(other_email)]).to_string(), START).unwrap_err();
        assert_eq!(
            problems,
            [
                "record 2: pk 3 is also record 1's",
                "record 2: uuid ab2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a is also record 1's"
            ]
        );
    }

    #[test]
    fn records_of_another_model_stop_the_import() {
        let mut other = record(with(json!({"email": "a@example.com", "uuid": "00000000-0000-4000-8000-000000000000"})));
        other["model"] = json!("auth.group");
        other["pk"] = json!(9);
        let problems = import(&json!([record(full_fields()), other]).to_string(), START);
        assert_eq!(
            problems.unwrap_err(),
            ["record 2: model \"auth.group\" is not record 1's \"users.user\" (dump one user model only)"]
        );
    }

    #[test]
    fn a_dump_that_is_not_a_list_of_records_is_refused() {
        for (text, expected) in [
            ("{\"model\": \"users.user\"}", "the dump is not a JSON list"),
            ("[", "the dump is not valid JSON"),
            ("", "the dump is not valid JSON"),
            ("[]", "the dump holds no records"),
        ] {
            let problems = import(text, START).unwrap_err();
            assert!(problems[0].starts_with(expected), "{problems:?}");
        }
    }

    #[test]
    fn passwords_edge_auth_cannot_verify_are_imported_verbatim_with_a_note() {
        let hashes = [
            ("md5$salt$5f4dcc3b5aa765d61d8327deb882cf99", "algorithm \"md5\""),
            ("pbkdf2_sha1$1000$salt$aGFzaA==", "\"pbkdf2_sha1\" hash is malformed"),
            ("5f4dcc3b5aa765d61d8327deb882cf99", "algorithm \"unsalted_md5\""),
            ("!unusableXYZ", "the password is unusable"),
        ];
        for (hash, note) in hashes {
            let imported = import(&json!([record(with(json!({"password": hash})))]).to_string(), START).unwrap();
            assert_eq!(imported.rows[0].password, hash);
            assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
            assert!(imported.notes[0].starts_with("record 1 (id 3): "), "{:?}", imported.notes);
            assert!(imported.notes[0].contains(note), "{:?}", imported.notes);
        }
    }

    #[test]
    fn unknown_fields_are_noted_and_username_groups_and_permissions_are_not() {
        let imported = import(&json!([record(with(json!({"nickname": "Amazing Grace"})))]).to_string(), START).unwrap();
        assert_eq!(imported.notes, ["ignored fields that the users table does not have: nickname"]);
    }

    /// The SQL with every string literal replaced by `?` and each number by `0`: what remains is
    /// what import-django wrote itself, whatever the dump held.
    fn skeleton(sql: &str) -> String {
        let mut out = String::new();
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                // A literal runs to the next quote that is not doubled.
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                        None => panic!("unterminated literal in {sql}"),
                    }
                }
                out.push('?');
            } else if c.is_ascii_digit() {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('0');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// A dump of three records whose every free text field holds `text`.
    fn hostile_dump(text: &str, model: &str) -> Value {
        let records: Vec<Value> = (1..=3)
            .map(|n| {
                json!({"model": model, "pk": n, "fields": with(json!({
                    "email": format!("x{n}@example.com"),
                    "uuid": format!("00000000-0000-4000-8000-00000000000{n}"),
                    "password": format!("{text}{n}"),
                    "first_name": text,
                    "last_name": format!("{text}'{n}"),
                    "phone_number": text,
                    "timezone": text,
                    "account_status": text,
                }))})
            })
            .collect();
        json!(records)
    }

    #[test]
    fn no_text_from_the_dump_reaches_the_sql_outside_a_quoted_literal() {
        let benign = to_sql(&import(&hostile_dump("plain", "users.user").to_string(), START).unwrap());
        for text in [
            "'); UPDATE users SET is_superuser = 1; --",
            "x' || (SELECT password FROM users) || '",
            "*/ DROP TABLE users; /*",
            "-- comment; CREATE TABLE pwned (x);",
            "\\'; DELETE FROM users; --",
            "''''",
            "O'Brien; \"quoted\" `tick` [bracket] $1 ?1 :name @v",
        ] {
            for model in ["users.user", "users.user; DROP TABLE users; --", "*/ CREATE TABLE pwned (x); /*"] {
                let sql = to_sql(&import(&hostile_dump(text, model).to_string(), START).unwrap());
                assert_eq!(skeleton(&sql), skeleton(&benign), "{text:?} / {model:?}\n{sql}");
                assert!(model == "users.user" || !sql.contains(model), "{sql}");
            }
        }
    }

    #[test]
    fn a_model_with_a_newline_and_sql_is_refused_before_anything_is_written() {
        let attack = "users.user\nCREATE TABLE pwned (x);\nUPDATE users SET is_superuser = 1;\n--";
        let mut dump = json!([record(full_fields())]);
        dump[0]["model"] = json!(attack);
        let problems = import(&dump.to_string(), START).unwrap_err();
        assert_eq!(problems, ["record 1: model contains the control character U+000A (at character 11)"]);
        // A later record's model is checked the same way.
        let mut second =
            record(with(json!({"email": "b@example.com", "uuid": "00000000-0000-4000-8000-000000000000"})));
        second["pk"] = json!(4);
        second["model"] = json!(attack);
        let problems = import(&json!([record(full_fields()), second]).to_string(), START).unwrap_err();
        assert_eq!(problems, ["record 2: model contains the control character U+000A (at character 11)"]);
    }

    #[test]
    fn control_characters_in_any_text_field_are_refused_with_the_record_number() {
        let controls =
            ['\u{0}', '\u{1}', '\t', '\n', '\r', '\u{1b}', '\u{1f}', '\u{7f}', '\u{85}', '\u{2028}', '\u{2029}'];
        let fields = [
            "email",
            "uuid",
            "password",
            "first_name",
            "last_name",
            "phone_number",
            "timezone",
            "account_status",
            "date_joined",
            "last_login",
        ];
        for field in fields {
            for c in controls {
                let value = match field {
                    "date_joined" | "last_login" => format!("2024-01-01T00:00:00Z{c}"),
                    "uuid" => format!("{c}ab2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a"),
                    "email" => format!("grace@navy.mil{c}"),
                    _ => format!("a{c}b"),
                };
                let mut first =
                    record(with(json!({"email": "first@example.com", "uuid": "00000000-0000-4000-8000-000000000000"})));
                first["pk"] = json!(1);
                let dump = json!([first, record(with(json!({field: value})))]);
                let problems = import(&dump.to_string(), START).unwrap_err();
                assert_eq!(problems.len(), 1, "{field}: {problems:?}");
                let expected = format!("record 2: {field} contains the control character U+{:04X}", u32::from(c));
                assert!(problems[0].starts_with(&expected), "{problems:?} vs {expected}");
            }
        }
    }

    #[test]
    fn ids_in_edge_auth_s_own_range_are_refused_with_the_record_number() {
        let mut ok = record(with(json!({"email": "a@example.com", "uuid": "00000000-0000-4000-8000-000000000000"})));
        ok["pk"] = json!(START - 1);
        let mut at = record(full_fields());
        at["pk"] = json!(START);
        let mut above = record(with(json!({"email": "b@example.com", "uuid": "00000000-0000-4000-8000-000000000001"})));
        above["pk"] = json!(i64::MAX);
        let problems = import(&json!([ok.clone(), at, above]).to_string(), START).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("record 2: pk 1000000000 is at or above --user-id-start 1000000000"));
        assert!(problems[1].starts_with(&format!("record 3: pk {} is at or above", i64::MAX)));
        assert!(problems[0].contains("aggregate(Max('pk'))"), "{}", problems[0]);
        // The id just below the range is Django's to keep, verbatim.
        let imported = import(&json!([ok]).to_string(), START).unwrap();
        assert_eq!(imported.rows[0].id, START - 1);
        assert!(to_sql(&imported).contains("SELECT 999999999, "));
        // A lower start, as `--user-id-start` sets it, refuses from there.
        let problems = import(&json!([record(full_fields())]).to_string(), 3).unwrap_err();
        assert!(problems[0].starts_with("record 1: pk 3 is at or above --user-id-start 3"), "{problems:?}");
        assert!(import(&json!([record(full_fields())]).to_string(), 4).is_ok());
    }

    #[test]
    fn the_command_line_takes_the_id_start_before_or_after_the_dump() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let run = |path, user_id_start| Ok(Args::Run { path, user_id_start });
        assert_eq!(parse_args(&args(&["dump.json"])), run("dump.json", START));
        assert_eq!(parse_args(&args(&["-"])), run("-", START));
        assert_eq!(parse_args(&args(&["--user-id-start", "5000", "d.json"])), run("d.json", 5000));
        assert_eq!(parse_args(&args(&["d.json", "--user-id-start=5000"])), run("d.json", 5000));
        assert_eq!(parse_args(&args(&["--help"])), Ok(Args::Help));
        for bad in [&["d.json", "--user-id-start", "x"][..], &["--user-id-start=0", "d"], &["--user-id-start"]] {
            assert!(matches!(parse_args(&args(bad)), Err(Some(_))), "{bad:?}");
        }
        for bad in [&[][..], &["a", "b"], &["--other", "d.json"]] {
            assert_eq!(parse_args(&args(bad)), Err(None), "{bad:?}");
        }
        assert!(USAGE.contains("aggregate(Max('pk'))"));
    }

    #[test]
    fn emails_are_normalised_as_the_api_normalises_them() {
        let row = import_one(with(json!({"email": "Grace@ＮＡＶＹ.mil"}))).unwrap();
        assert_eq!(row.email, "grace@navy.mil");
        let row = import_one(with(json!({"email": "u@Müller.de"}))).unwrap();
        assert_eq!(row.email, "u@xn--mller-kva.de");
        let problems = import_one(with(json!({"email": "\"grace\"@navy.mil"}))).unwrap_err();
        assert_eq!(problems, ["record 1: email \"\\\"grace\\\"@navy.mil\" is not a valid email address"]);
        // Two spellings of one mailbox are one account: the import stops.
        let mut twin =
            record(with(json!({"email": "u@xn--mller-kva.de", "uuid": "00000000-0000-4000-8000-000000000000"})));
        twin["pk"] = json!(4);
        let dump = json!([record(with(json!({"email": "u@müller.de"}))), twin]);
        let problems = import(&dump.to_string(), START).unwrap_err();
        assert!(problems[0].starts_with("record 2: email u@xn--mller-kva.de is also record 1's"), "{problems:?}");
    }
}
