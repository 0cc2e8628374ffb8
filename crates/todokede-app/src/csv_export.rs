//! CSV of report lists — the queue and search results as the analyst sees them (filters
//! applied), and `todokede export --format csv` for a period. Excel opens it as it is: UTF-8
//! with a BOM, CRLF line ends, every cell quoted. A cell that a spreadsheet would take for a
//! formula (`=`, `+`, `-`, `@`, or a tab / carriage return first) is neutralised with a leading
//! `'` (OWASP "CSV injection"): a reporter's text never runs as a formula on an analyst's PC.

use crate::settings::Settings;
use todokede_domain::{ClosedEnum, Language};
use todokede_store::ReportSummary;

/// The byte-order mark Excel needs to read UTF-8.
pub const BOM: &str = "\u{feff}";

/// One cell, quoted, with a formula neutralised.
pub fn cell(value: &str) -> String {
    let neutral =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

/// A whole CSV document: BOM, header, rows, CRLF after every line.
pub fn document<I, R>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let mut out = String::from(BOM);
    let line = |cells: Vec<String>| cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",") + "\r\n";
    out.push_str(&line(header.iter().map(|h| (*h).to_owned()).collect()));
    for r in rows {
        out.push_str(&line(r.into_iter().collect()));
    }
    out
}

fn jst(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+9));
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

/// The report list's columns, in the page's language: what the queue's rows show.
pub fn report_list(rows: &[ReportSummary], settings: &Settings, now: time::OffsetDateTime, l: Language) -> String {
    let header = [
        l.pick("受付番号", "Tracking number"),
        l.pick("受付日時（JST）", "Received (JST)"),
        l.pick("届出種別", "Form"),
        l.pick("届出者種別", "Reporter"),
        l.pick("状態", "State"),
        l.pick("期限（JST）", "Due (JST)"),
        l.pick("期限超過", "Overdue"),
        l.pick("回答あり", "Answered"),
        l.pick("分類確認済み", "Classification confirmed"),
        l.pick("概要", "Summary"),
    ];
    let yes_no = |b: bool| if b { l.pick("はい", "yes") } else { l.pick("いいえ", "no") }.to_owned();
    document(
        &header,
        rows.iter().map(|r| {
            let deadline = crate::settings::Settings::clock_start(r.channel, r.received_at, r.state_since)
                .and_then(|since| settings.sla_deadline(r.state, since));
            vec![
                r.tracking_number.to_string(),
                jst(r.received_at),
                r.form.label(l).to_owned(),
                r.reporter_kind.map(|k| k.label(l)).unwrap_or("").to_owned(),
                r.state.label(l).to_owned(),
                deadline.map(jst).unwrap_or_default(),
                deadline.map(|d| yes_no(d <= now)).unwrap_or_default(),
                yes_no(r.answered),
                yes_no(r.confirmed),
                r.headline.clone(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quotes_doubled() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        for f in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(cell(f).starts_with("\"'"), "{f}");
        }
        assert_eq!(cell("不正アクセス"), "\"不正アクセス\"");
        assert_eq!(cell("a,b\nc"), "\"a,b\nc\"");
        let d = document(&["a", "b"], [vec!["1".to_owned(), "=2".to_owned()]]);
        assert_eq!(d, "\u{feff}\"a\",\"b\"\r\n\"1\",\"'=2\"\r\n");
    }
}
