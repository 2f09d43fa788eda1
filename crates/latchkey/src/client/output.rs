//! What the commands print: tables, `KEY  value` details, JSON, and the confirmation prompt.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use comfy_table::{ContentArrangement, Table, presets};
use serde_json::Value;

use super::http::Failure;

/// Shown for a field with no value.
pub const NONE: &str = "—";

pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("a JSON value always serialises")
    );
}

/// A borderless table like Turso's CLI prints, headers first.
pub fn print_table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    // No margin on the left; two spaces between columns.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for line in table.lines() {
        println!("{}", line.trim_end());
    }
}

/// One item as aligned `LABEL  value` lines.
pub fn print_details(pairs: &[(&str, String)]) {
    let width = pairs
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    for (label, value) in pairs {
        println!("{label:<width$}  {value}");
    }
}

/// A field as text: strings as they are, null or absent as [`NONE`], anything else as JSON.
pub fn text(item: &Value, key: &str) -> String {
    match item.get(key) {
        None | Some(Value::Null) => NONE.to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The date of an RFC 3339 field (`2026-01-15`).
pub fn date(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.split('T').next())
        .map_or_else(|| NONE.to_owned(), str::to_owned)
}

/// An RFC 3339 field for reading (`2026-01-15 09:00:00 UTC`), or `missing`.
pub fn moment(item: &Value, key: &str, missing: &str) -> String {
    item.get(key).and_then(Value::as_str).map_or_else(
        || missing.to_owned(),
        |s| match s.strip_suffix('Z') {
            Some(utc) => format!("{} UTC", utc.replacen('T', " ", 1)),
            None => s.replacen('T', " ", 1),
        },
    )
}

/// A list field's strings.
pub fn strings(item: &Value, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Refuses a destructive action up front when there is no one to ask. `action` reads like
/// "revoke token tok_…".
pub fn can_ask(yes: bool, action: &str) -> Result<(), Failure> {
    if yes || std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(Failure::Local(format!(
            "refusing to {action} without confirmation: standard input is not a terminal; \
             pass --yes to confirm"
        )))
    }
}

/// Asks `question [y/N]` on standard error, unless `--yes` was given.
pub fn ask(yes: bool, question: &str) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::Local(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::Cancelled)
    }
}

/// Both: refuse without a terminal, else ask.
pub fn confirm(yes: bool, action: &str, question: &str) -> Result<(), Failure> {
    can_ask(yes, action)?;
    ask(yes, question)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_for_people() {
        let item = json!({"at": "2026-01-15T09:00:00Z", "n": 3, "none": null, "list": ["a", "b"]});
        assert_eq!(date(&item, "at"), "2026-01-15");
        assert_eq!(moment(&item, "at", "never"), "2026-01-15 09:00:00 UTC");
        assert_eq!(moment(&item, "none", "never"), "never");
        assert_eq!(text(&item, "n"), "3");
        assert_eq!(text(&item, "none"), NONE);
        assert_eq!(text(&item, "missing"), NONE);
        assert_eq!(strings(&item, "list"), ["a", "b"]);
    }
}
