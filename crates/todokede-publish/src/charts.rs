//! Server-side SVG charts (plotters): bars by category and the monthly line, drawn from the
//! *suppressed* statistics, so a chart never shows more than the tables do. A withheld cell
//! ("<N" or "x") has no bar and no point — drawing "<3" as a bar of 3 would state a number the
//! table does not: its row (its month) is a hatched, unfilled band across the whole plot (the
//! same for every withheld cell, so no length of it reads as a value) with its label 「<3」 /
//! 「x」 on a white ground in the text colour, and the monthly line breaks around it. Value
//! labels sit a fixed number of pixels from their bar or point; the months sit in the middle of
//! their slots, so no point or label lies on an axis.

use crate::stats::{Cell, Statistics, Table};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font the PDF embeds; browsers fall back to their own sans-serif.
const FONT: &str = "IPAexGothic";
const BAR: RGBColor = RGBColor(0x1f, 0x5f, 0x9f);
/// The withheld cells' box and hatching.
const SUPPRESSED: RGBColor = RGBColor(0x6b, 0x74, 0x80);
/// Labels.
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// A label on a white ground, so hatching behind it does not cross it.
fn label_on_white<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    (x, y): (i32, i32),
    style: &TextStyle,
    centred: bool,
) {
    let w = text_width(text, 13) as i32 + 6;
    let x0 = if centred { x - w / 2 } else { x - 3 };
    let _ = area.draw(&Rectangle::new([(x0, y - 9), (x0 + w, y + 9)], WHITE.filled()));
    let _ = area.draw(&Text::new(text.to_owned(), (x, y), style.clone()));
}

/// A hatched, unfilled box between two pixel corners (`class="withheld"` for the tests).
fn hatched<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
) {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    let (w, h) = (x1 - x0, y1 - y0);
    let line = SUPPRESSED.stroke_width(1);
    let _ = area.draw(&Rectangle::new([(x0, y0), (x1, y1)], line));
    // 45° lines, every 6 px, clipped to the box.
    let mut c = 6;
    while c < w + h {
        let start = if c <= w { (x0 + c, y1) } else { (x1, y1 - (c - w)) };
        let end = if c <= h { (x0, y1 - c) } else { (x0 + (c - h), y0) };
        let _ = area.draw(&PathElement::new(vec![start, end], line));
        c += 6;
    }
}
/// The tick and axis labels' size, px.
const LABEL: u32 = 14;

fn period_values(t: &Table) -> Vec<(String, Cell)> {
    t.rows.iter().map(|r| (r.label.clone(), r.cells[0])).collect()
}

/// A withheld cell has no height: its label sits at the axis.
fn height(c: Cell) -> u64 {
    c.count().unwrap_or(0)
}

/// The width `text` takes at plotters' `size` in IPAex: a Japanese character is an em, a Latin
/// one about half; plotters writes `size / 1.24` px into the SVG. (It lays out no text before
/// it draws, so the label areas are sized here.)
fn text_width(text: &str, size: u32) -> u32 {
    let ems: f64 = text.chars().map(|c| if c.is_ascii() { 0.6 } else { 1.0 }).sum();
    (ems * f64::from(size) / 1.24).ceil() as u32
}

/// Pixels between the axis and its tick labels (plotters' tick mark and gap), and between the
/// tick labels and the axis description (件数), so that neither touches the other.
const TICK: u32 = 10;
const GAP: u32 = 8;

/// Horizontal bars, one per row of `table` (the period's column).
pub fn bar_chart(stats: &Statistics, table_key: &str, title: &str) -> String {
    bar_chart_in(stats, table_key, title, "件数", 760)
}

/// [`bar_chart`] `width` px wide (a phone's chart is drawn for it, not shrunk), its axis
/// described as `axis` (the reader's language).
pub fn bar_chart_in(stats: &Statistics, table_key: &str, title: &str, axis: &str, width: u32) -> String {
    let Some(table) = stats.tables.iter().find(|t| t.key == table_key) else { return String::new() };
    // Only what the period has (a category seen in earlier periods only is not a bar of this one).
    let values: Vec<(String, Cell)> = period_values(table).into_iter().filter(|(_, c)| *c != Cell::Count(0)).collect();
    let n = values.len().max(1);
    let max = values.iter().map(|(_, c)| height(*c)).max().unwrap_or(1).max(1);
    let mut svg = String::new();
    {
        // The x axis' area holds the tick labels and, below them, 件数; the y axis' area the
        // longest category label whole (a label wider than its area is cut off at the edge).
        let x_area = TICK + LABEL + GAP + LABEL + 4;
        let y_area = values.iter().map(|(l, _)| text_width(l, LABEL)).max().unwrap_or(0).max(120) + TICK + 4;
        let h = 50 + x_area + 34 * n as u32;
        let root = SVGBackend::with_string(&mut svg, (width, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let mut chart = match ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area.min(440).min(width * 3 / 5))
            .build_cartesian_2d(0u64..(max + max / 5 + 1), (0..n).into_segmented())
        {
            Ok(c) => c,
            Err(_) => return String::new(),
        };
        let labels: Vec<String> = values.iter().map(|(l, _)| l.clone()).collect();
        let _ = chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .x_desc(axis)
            .draw();
        let threshold = stats.threshold;
        let _ =
            chart.draw_series(values.iter().enumerate().filter(|(_, (_, c))| !c.is_withheld()).map(|(i, (_, c))| {
                let mut bar = Rectangle::new(
                    [(0, SegmentValue::Exact(i)), (height(*c), SegmentValue::Exact(i + 1))],
                    BAR.filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            }));
        let style = TextStyle::from((FONT, 13).into_font()).color(&INK).pos(Pos::new(HPos::Left, VPos::Center));
        let right = max + max / 5 + 1;
        for (i, (_, c)) in values.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(height(*c), SegmentValue::CenterOf(i)));
            if c.is_withheld() {
                let (x0, top) = chart.backend_coord(&(0, SegmentValue::Exact(i)));
                let (x1, bottom) = chart.backend_coord(&(right, SegmentValue::Exact(i + 1)));
                hatched(&root, (x0 + 1, top.min(bottom) + 6), (x1, top.max(bottom) - 6));
                label_on_white(&root, &c.display(threshold), (x0 + 10, y), &style, false);
            } else {
                let _ = root.draw(&Text::new(c.display(threshold), (x + 6, y), style.clone()));
            }
        }
        let _ = root.present();
    }
    svg
}

/// The monthly counts of the period as a line.
pub fn monthly_line(stats: &Statistics, title: &str) -> String {
    monthly_line_in(stats, title, "件数", 760)
}

/// [`monthly_line`] `width` px wide, its axis described as `axis`.
pub fn monthly_line_in(stats: &Statistics, title: &str, axis: &str, width: u32) -> String {
    let Some(table) = stats.tables.iter().find(|t| t.key == "month") else { return String::new() };
    let values = period_values(table);
    let n = values.len();
    let threshold = stats.threshold;
    let max = values.iter().map(|(_, c)| height(*c)).max().unwrap_or(1).max(1);
    let top = max + max / 4 + 1;
    // The y axis' area: 件数 (turned, one line high), a gap, then the widest tick label.
    let y_area = LABEL + GAP + text_width(&top.to_string(), LABEL) + TICK + 4;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let mut chart = match ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .x_label_area_size(TICK + LABEL + 8)
            .y_label_area_size(y_area)
            .build_cartesian_2d((0..n.max(1) - 1).into_segmented(), 0u64..top)
        {
            Ok(c) => c,
            Err(_) => return String::new(),
        };
        let labels: Vec<String> = values.iter().map(|(l, _)| l.clone()).collect();
        let _ = chart
            .configure_mesh()
            .x_labels(n.max(1))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    labels.get(*i).map(|l| l.split('年').nth(1).unwrap_or(l).to_owned()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .y_desc(axis)
            .draw();
        // The line runs through published months only: it breaks around a withheld one.
        let mut runs: Vec<Vec<(SegmentValue<usize>, u64)>> = vec![vec![]];
        for (i, (_, c)) in values.iter().enumerate() {
            match c.count() {
                Some(n) => runs.last_mut().expect("non-empty").push((SegmentValue::CenterOf(i), n)),
                None => runs.push(vec![]),
            }
        }
        for run in runs.iter().filter(|r| r.len() >= 2) {
            let _ = chart.draw_series(LineSeries::new(run.iter().cloned(), BAR.stroke_width(2)));
        }
        let _ =
            chart.draw_series(values.iter().enumerate().filter_map(|(i, (_, c))| {
                c.count().map(|n| Circle::new((SegmentValue::CenterOf(i), n), 4, BAR.filled()))
            }));
        // Labels a fixed distance above their point (a 0 clear of the axis); a withheld month is
        // a hatched band over the plot's height with its label in the middle.
        let style = TextStyle::from((FONT, 12).into_font()).color(&INK).pos(Pos::new(HPos::Center, VPos::Bottom));
        let middle = TextStyle::from((FONT, 12).into_font()).color(&INK).pos(Pos::new(HPos::Center, VPos::Center));
        for (i, (_, c)) in values.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i), height(*c)));
            if c.is_withheld() {
                let (_, bottom) = chart.backend_coord(&(SegmentValue::CenterOf(i), 0));
                let (_, ceiling) = chart.backend_coord(&(SegmentValue::CenterOf(i), top));
                hatched(&root, (x - 10, ceiling), (x + 10, bottom - 1));
                label_on_white(&root, &c.display(threshold), (x, (ceiling + bottom) / 2), &middle, true);
            } else {
                let _ = root.draw(&Text::new(c.display(threshold), (x, y - 8), style.clone()));
            }
        }
        let _ = root.present();
    }
    svg
}
