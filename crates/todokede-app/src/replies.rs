//! Analysts' messages to reporters: on the timeline, and by mail threaded onto the conversation.

use crate::AppError;
use todokede_domain::*;
use todokede_mail::{MailConfig, parse_inbound};
use todokede_store::Store;

/// An analyst's message to the reporter: on the report's timeline and, when the reporter gave
/// an address, queued as mail threaded onto the conversation. `if_version`: see
/// `Store::transition`.
pub async fn reply_to_reporter(
    store: &Store,
    cfg: &MailConfig,
    id: ReportId,
    analyst: UserId,
    body: &str,
    if_version: Option<i64>,
) -> Result<bool, AppError> {
    store.add_reply(id, analyst, body, if_version).await?;
    let report = store.report(id).await?.ok_or(AppError::NotFound)?;
    let Some(to) = &report.content.reporter.email else { return Ok(false) };
    // Thread onto the reporter's own mail and everything we sent before.
    let mut thread: Vec<String> = Vec::new();
    if report.channel == Channel::Email
        && let Some(raw) = store.raw_input(id).await?
        && let Some(mid) = parse_inbound(raw.bytes, cfg.limits).message_id
    {
        thread.push(mid);
    }
    thread.extend(store.sent_message_ids(id).await?);
    let m =
        todokede_mail::outbound::reply(&cfg.from, to, &report.tracking_number, report.content.language, body, &thread)
            .map_err(AppError::internal)?;
    store.enqueue_mail(id, &m.message_id, m.from.as_str(), m.to.as_str(), &m.raw).await?;
    Ok(true)
}
