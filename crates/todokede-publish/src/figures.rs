//! Numbered figures (図 N-M). A featured case gets 図 N-1 事例の概要図: the attack as a row of
//! boxes (攻撃者 → how it came in → what it did), composed from the case's confirmed
//! techniques and damages, each box an editable text; the text of N-1 refers to it. The SVG is
//! ours (every label escaped) and draws in the PDF's font.

use crate::document::Text;
use serde::{Deserialize, Serialize};
use todokede_domain::{ClosedEnum, DamageCategory};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// "3-1": chapter and number within it.
    pub number: String,
    pub caption: Text,
    /// The boxes, left to right.
    pub steps: Vec<Text>,
    /// The sentence of the text that refers to the figure.
    pub reference: Text,
}

/// Entry steps in the order an attack runs, from the ATT&CK techniques the case has.
const ENTRY: &[(&str, &str)] = &[
    ("T1566", "フィッシングメールの送付"),
    ("T1598", "偽のログイン画面への誘導"),
    ("T1110.004", "流出した ID・パスワードでのログイン試行"),
    ("T1110.001", "パスワードの辞書攻撃"),
    ("T1110", "総当たりのログイン試行"),
    ("T1190", "公開アプリケーションの脆弱性の悪用"),
    ("T1133", "外部公開サービスへのアクセス"),
    ("T1199", "委託先を経由したアクセス"),
    ("T1021.001", "リモートデスクトップでの侵入"),
    ("T1021.004", "SSH での不正ログイン"),
    ("T1021.002", "ファイル共有（SMB）での侵入"),
    ("T1078", "正規アカウントでの不正ログイン"),
    ("T1505.003", "ウェブシェルの設置"),
    ("T1534", "組織内へのフィッシング"),
];

fn has(techniques: &[String], id: &str) -> bool {
    techniques.iter().any(|t| t == id || (!id.contains('.') && t.starts_with(&format!("{id}."))))
}

/// 図 `chapter`-1 for a featured case.
pub fn case_overview(chapter: u32, techniques: &[String], damages: &[DamageCategory]) -> Figure {
    let mut steps = vec!["攻撃者".to_owned()];
    let mut entry: Vec<&str> = vec![];
    for (id, label) in ENTRY {
        // T1110 when no sub-technique is named; the sub-technique's own label otherwise.
        let taken = if *id == "T1110" {
            has(techniques, "T1110") && !has(techniques, "T1110.001") && !has(techniques, "T1110.004")
        } else {
            has(techniques, id)
        };
        // One login step: an SSH or remote-desktop login is the valid account's login (図 4-1
        // drew 「SSH での不正ログイン」 then 「正規アカウントでの不正ログイン」).
        let login_told = *id == "T1078" && (has(techniques, "T1021.004") || has(techniques, "T1021.001"));
        if taken && !login_told && !entry.contains(label) {
            entry.push(label);
        }
    }
    let logged_in = entry.iter().any(|l| l.contains("不正ログイン") || l.contains("侵入"));
    steps.extend(entry.into_iter().take(3).map(str::to_owned));
    // Nor the login again as a damage (図 5-1: 「なりすまし（不正ログイン）」 after it).
    steps.extend(
        damages
            .iter()
            .filter(|d| **d != DamageCategory::None)
            .filter(|d| !(logged_in && **d == DamageCategory::AccountTakeover))
            .take(3)
            .map(|d| d.label_ja().to_owned()),
    );
    if steps.len() == 1 {
        steps.push("不正アクセス".into());
    }
    let number = format!("{chapter}-1");
    Figure {
        reference: Text::fixed(format!("事例の概要を図 {number} に示す。")),
        number,
        caption: Text::fixed("事例の概要図"),
        steps: steps.into_iter().map(Text::fixed).collect(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Break a label into balanced lines of at most `width` characters, preferring a break after a
/// particle or 「・」 (パスワードの / 辞書攻撃, not パスワードの辞書攻 / 撃).
fn lines(label: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= width {
        return vec![label.to_owned()];
    }
    let n = chars.len().div_ceil(width);
    let mut out = vec![];
    let mut rest: &[char] = &chars;
    for k in (1..=n).rev() {
        if k == 1 || rest.len() <= width {
            out.push(rest.iter().collect());
            break;
        }
        let ideal = rest.len().div_ceil(k);
        // The break nearest the ideal one, within the width: after a particle (or 「・」), else
        // before one — never inside a run of them (「正規アカウントで / の不正ログイン」 opened a
        // line with の).
        const PARTICLE: &str = "のでをへとにがも・、）";
        let particle = |c: char| PARTICLE.contains(c);
        let nearest = |ok: &dyn Fn(usize) -> bool| {
            (1..=width.min(rest.len() - 1))
                // What is left must fit the lines left.
                .filter(|i| ok(*i) && rest.len() - i <= (k - 1) * width)
                .min_by_key(|i| i.abs_diff(ideal))
                .filter(|i| i.abs_diff(ideal) <= 3)
        };
        // Between two words otherwise (not inside a katakana word), else before a particle.
        let katakana = |c: char| ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー';
        let cut = nearest(&|i| particle(rest[i - 1]) && !particle(rest[i]))
            .or_else(|| {
                nearest(&|i| {
                    !(particle(rest[i - 1]) || particle(rest[i]) || (katakana(rest[i - 1]) && katakana(rest[i])))
                })
            })
            .or_else(|| nearest(&|i| !particle(rest[i - 1]) && "のでをへとにがも".contains(rest[i])))
            .unwrap_or(ideal.min(width));
        out.push(rest[..cut].iter().collect());
        rest = &rest[cut..];
    }
    out
}

/// The figure as SVG: boxes in a row with arrows between them; rows wrap after four boxes.
pub fn svg(fig: &Figure) -> String {
    const FONT: &str = "IPAexGothic";
    let (bw, bh, gap, per_row) = (124.0, 80.0, 30.0, 5usize);
    let n = fig.steps.len().max(1);
    let rows = n.div_ceil(per_row);
    let cols = n.min(per_row);
    let width = 20.0 + cols as f64 * bw + (cols as f64 - 1.0) * gap + 20.0;
    let height = 20.0 + rows as f64 * bh + (rows as f64 - 1.0) * 40.0 + 20.0;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}"><defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f3f6f"/></marker></defs>"##
    );
    for (i, step) in fig.steps.iter().enumerate() {
        let (row, col) = (i / per_row, i % per_row);
        let x = 20.0 + col as f64 * (bw + gap);
        let y = 20.0 + row as f64 * (bh + 40.0);
        let (fill, stroke) = if i == 0 { ("#fbeaea", "#9f2f2f") } else { ("#eef2f7", "#1f3f6f") };
        out.push_str(&format!(
            r##"<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"##
        ));
        let ls = lines(&step.text, 8);
        let first = y + bh / 2.0 - (ls.len() as f64 - 1.0) * 9.0 + 5.0;
        for (j, l) in ls.iter().enumerate() {
            out.push_str(&format!(
                r##"<text x="{}" y="{}" font-size="14" text-anchor="middle" fill="#1d2430">{}</text>"##,
                x + bw / 2.0,
                first + j as f64 * 18.0,
                escape(l)
            ));
        }
        if i + 1 < n {
            if col + 1 < per_row {
                let (x1, x2, ym) = (x + bw + 4.0, x + bw + gap - 4.0, y + bh / 2.0);
                out.push_str(&format!(
                    r##"<line x1="{x1}" y1="{ym}" x2="{x2}" y2="{ym}" stroke="#1f3f6f" stroke-width="2" marker-end="url(#a)"/>"##
                ));
            } else {
                // To the first box of the next row.
                let (x1, y1) = (x + bw / 2.0, y + bh + 4.0);
                let (x2, y2) = (20.0 + bw / 2.0, y + bh + 36.0);
                out.push_str(&format!(
                    r##"<polyline points="{x1},{y1} {x1},{} {x2},{} {x2},{y2}" fill="none" stroke="#1f3f6f" stroke-width="2" marker-end="url(#a)"/>"##,
                    y + bh + 20.0,
                    y + bh + 20.0
                ));
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_runs_from_the_attacker_through_the_entry_to_the_damage() {
        let f = case_overview(
            4,
            &["T1110".into(), "T1021.004".into()],
            &[DamageCategory::AccountTakeover, DamageCategory::SteppingStone],
        );
        let steps: Vec<&str> = f.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(steps[0], "攻撃者");
        assert_eq!(steps[1..3], ["総当たりのログイン試行", "SSH での不正ログイン"]);
        // One login step (図 4-1 drew the SSH login, then the valid account's, then the damage).
        let f4 =
            case_overview(4, &["T1110".into(), "T1021.004".into(), "T1078".into()], &[DamageCategory::SteppingStone]);
        let steps4: Vec<&str> = f4.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(steps4.iter().filter(|s| s.contains("不正ログイン")).count(), 1, "{steps4:?}");
        let f5 =
            case_overview(5, &["T1598.003".into(), "T1078".into(), "T1534".into()], &[DamageCategory::AccountTakeover]);
        let steps5: Vec<&str> = f5.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(steps5.iter().filter(|s| s.contains("不正ログイン")).count(), 1, "{steps5:?}");
        assert_eq!(f.number, "4-1");
        assert_eq!(f.reference.text, "事例の概要を図 4-1 に示す。");
        let svg = svg(&f);
        assert!(svg.starts_with("<svg") && svg.matches("<rect").count() == steps.len());
        let evil = Figure { steps: vec![Text::fixed("<script>")], ..f };
        assert!(!svg_contains_raw(&super::svg(&evil), "<script>"));
    }

    fn svg_contains_raw(svg: &str, s: &str) -> bool {
        svg.contains(s)
    }

    #[test]
    fn labels_break_after_a_particle_in_balanced_lines() {
        assert_eq!(lines("パスワードの辞書攻撃", 8), ["パスワードの", "辞書攻撃"]);
        // Issue 16 (editor): not 「正規アカウントで / の不正ログイン」.
        assert_eq!(lines("正規アカウントでの不正ログイン", 8), ["正規アカウント", "での不正ログイン"]);
        assert_eq!(lines("踏み台（他への攻撃・不正メール送信）", 8), ["踏み台（他への", "攻撃・", "不正メール送信）"]);
        assert_eq!(lines("偽のログイン画面への誘導", 8), ["偽のログイン", "画面への誘導"]);
        for label in
            ["正規アカウントでの不正ログイン", "踏み台（他への攻撃・不正メール送信）", "偽のログイン画面への誘導"]
        {
            for l in lines(label, 8).iter().skip(1) {
                assert!(!l.starts_with(['の', 'を', 'に', '）', '・', '、']), "{label}: a line opens with {l}");
            }
        }
        assert_eq!(lines("攻撃者", 8), ["攻撃者"]);
        assert!(lines("外部公開サービスへのアクセス", 8).iter().all(|l| l.chars().count() <= 8));
    }
}
