//! Mail intake and outbound mail, wired to the store: `mailgate` (one message, the way an MTA
//! pipe delivers it), the batch path of `import *.eml`, analysts' replies, the outbox worker.

use crate::AppError;
use std::time::Duration;
use todokede_domain::*;
use todokede_mail::{InboundMail, MailConfig, Smtp, parse_inbound};
use todokede_store::Store;

/// What happened to one delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    NewReport(TrackingNumber),
    /// The same message again (Message-ID or identical content): nothing stored.
    Duplicate(TrackingNumber),
    /// A reply in an existing report's thread, stored as a 続報.
    FollowUp(TrackingNumber),
}

impl Delivery {
    pub fn tracking_number(&self) -> &TrackingNumber {
        match self {
            Delivery::NewReport(t) | Delivery::Duplicate(t) | Delivery::FollowUp(t) => t,
        }
    }
}

/// Where an inbound message belongs.
enum Thread {
    /// A 続報 of this report.
    Of(Box<Report>),
    /// It refers to this report's mail but nothing proves it comes from its reporter: stored
    /// as a new report, noted so an analyst can link the two.
    Unverified(TrackingNumber),
    None,
}

/// The report an inbound message continues: a reply to one of *our* messages (their
/// Message-IDs are random and were sent only to the reporter, so quoting one shows the mail was
/// received), or the tracking number in the subject *and* mail from the reporter's own address.
/// A reference to the reporter's own earlier Message-ID is not enough: Message-IDs are seen by
/// every recipient and a From line is easily forged, so that alone would let anyone write into
/// someone else's report.
async fn thread_of(store: &Store, mail: &InboundMail) -> Result<Thread, AppError> {
    if !mail.thread_refs.is_empty()
        && let Some(id) = store.report_by_our_message_ids(&mail.thread_refs).await?
        && let Some(r) = store.report(id).await?
    {
        return Ok(Thread::Of(Box::new(r)));
    }
    if let Some(tn) = &mail.subject_tracking_number
        && let Some(id) = store.report_id_by_tracking(tn).await?
        && let Some(r) = store.report(id).await?
    {
        let known = r.content.reporter.email.as_ref().map(|e| e.as_str().to_ascii_lowercase());
        if known.is_some() && known == mail.reply_address.as_ref().map(|e| e.as_str().to_ascii_lowercase()) {
            return Ok(Thread::Of(Box::new(r)));
        }
    }
    if !mail.thread_refs.is_empty()
        && let Some(id) = store.report_by_message_ids(&mail.thread_refs).await?
        && let Some(r) = store.report(id).await?
    {
        return Ok(Thread::Unverified(r.tracking_number));
    }
    Ok(Thread::None)
}

/// The intake note of a new report whose mail referred to another report's thread unproven.
pub const UNVERIFIED_THREAD_NOTE: &str = "unverified_thread";

/// The message as a new report's submission, noting an unproven thread.
fn submission_of(mail: &InboundMail, thread: &Thread) -> Submission {
    let mut sub = mail.submission.clone();
    if let Thread::Unverified(tn) = thread {
        sub.intake_notes.push(format!("{UNVERIFIED_THREAD_NOTE}:{tn}"));
    }
    sub
}

async fn store_follow_up(store: &Store, report: &Report, mail: &InboundMail) -> Result<Delivery, AppError> {
    let mut attachments = mail.submission.attachments.clone();
    // The raw message stays with the follow-up, as it does with a new report.
    attachments.push(Attachment::new("message.eml", "message/rfc822", mail.submission.raw.bytes.clone()));
    let body = if mail.body.trim().is_empty() { mail.subject.clone() } else { mail.body.clone() };
    let key = mail.submission.dedup.clone().expect("mail always has a dedup key");
    let new = store.add_follow_up_once(report.id, &body, &attachments, &key).await?;
    Ok(if new {
        Delivery::FollowUp(report.tracking_number.clone())
    } else {
        Delivery::Duplicate(report.tracking_number.clone())
    })
}

/// The acknowledgement for a new report, unless the sender is automatic (no loops).
fn acknowledgement(
    cfg: &MailConfig,
    mail: &InboundMail,
    receipt: &todokede_store::Receipt,
) -> Option<todokede_store::NewMail> {
    let (Some(to), Some(secret)) = (&mail.reply_address, &receipt.secret) else { return None };
    if mail.automatic || receipt.duplicate {
        return None;
    }
    let lang = mail.submission.content.language;
    match todokede_mail::outbound::acknowledgement(
        &cfg.from,
        to,
        &receipt.tracking_number,
        secret.expose(),
        lang,
        &cfg.public_url,
        mail.message_id.as_deref(),
    ) {
        Ok(m) => Some(todokede_store::NewMail {
            report: receipt.report_id,
            message_id: m.message_id,
            from: m.from.as_str().to_owned(),
            to: m.to.as_str().to_owned(),
            raw: m.raw,
        }),
        Err(e) => {
            let error = todokede_mail::outbound::scrub_addresses(&e.to_string());
            tracing::warn!(report = %receipt.tracking_number, %error, "acknowledgement not composed");
            None
        }
    }
}

/// Acknowledgements one address gets in [`ACK_WINDOW`]. Whoever files a report names the
/// address (a web form's field, a mail's From), so without a bound todokede would mail any
/// address as often as strangers submit — a mail cannon aimed at a victim's mailbox, with our
/// name on it. Reports over the bound are stored as always; only the courtesy mail is not
/// sent, and the omission is audited (`mail.ack_limited`) so an analyst can see it.
pub const ACKS_PER_ADDRESS: i64 = 5;
pub const ACK_WINDOW: time::Duration = time::Duration::hours(24);

/// Whether an acknowledgement may go to `to` now (counts it; the counter is shared by every
/// process on the database). Refused acknowledgements are audited against their report. A
/// database fault refuses too: the mail would not have been queued either.
pub async fn acknowledgement_allowed(store: &Store, to: &str, report: ReportId) -> bool {
    let key = format!("ack:{}", to.trim().to_lowercase());
    match store.limit_hit(&key, ACK_WINDOW).await {
        Ok(n) if n <= ACKS_PER_ADDRESS => true,
        Ok(n) => {
            let tn = store.report(report).await.ok().flatten().map(|r| r.tracking_number.to_string());
            // The address is personal data: the audit names the report, not the recipient.
            let detail = format!("acknowledgement {n} to one address within 24 h; not sent");
            let _ = store.audit(None, "mail.ack_limited", tn.as_deref(), Some(&detail)).await;
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot count acknowledgements; not sent");
            false
        }
    }
}

/// Queue acknowledgements, each within [`ACKS_PER_ADDRESS`]. The reports are stored already;
/// a failure here loses only the courtesy mail, so it is logged, not returned.
async fn queue_acknowledgements(store: &Store, acks: Vec<todokede_store::NewMail>) {
    let mut allowed = Vec::with_capacity(acks.len());
    for ack in acks {
        if acknowledgement_allowed(store, &ack.to, ack.report).await {
            allowed.push(ack);
        }
    }
    let acks = allowed;
    if acks.is_empty() {
        return;
    }
    if let Err(e) = store.enqueue_mails(&acks).await {
        tracing::warn!(error = %e, count = acks.len(), "acknowledgements not queued");
    }
}

/// Deliver one message: thread it onto its report, or store it as a new report and queue the
/// acknowledgement. Durable before it returns Ok.
pub async fn deliver(store: &Store, cfg: &MailConfig, raw: Vec<u8>) -> Result<Delivery, AppError> {
    let mail = parse_inbound(raw, cfg.limits);
    let thread = thread_of(store, &mail).await?;
    if let Thread::Of(report) = &thread {
        return store_follow_up(store, report, &mail).await;
    }
    let receipt = match store.ingest_batch(&[submission_of(&mail, &thread)]).await?.pop().expect("one result") {
        Ok(r) => r,
        // Mail dedup keys are Message-IDs or content hashes: the same key means the same mail.
        Err(e) => return Err(AppError::Conflict(e.to_string())),
    };
    queue_acknowledgements(store, acknowledgement(cfg, &mail, &receipt).into_iter().collect()).await;
    Ok(if receipt.duplicate {
        Delivery::Duplicate(receipt.tracking_number)
    } else {
        Delivery::NewReport(receipt.tracking_number)
    })
}

/// The batch path (import of many .eml, IMAP): new reports are stored in batches (one commit
/// each), replies are threaded one by one.
pub async fn deliver_many(
    store: &Store,
    cfg: &MailConfig,
    raws: Vec<Vec<u8>>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Delivery>, AppError> {
    let mails: Vec<InboundMail> = raws.into_iter().map(|r| parse_inbound(r, cfg.limits)).collect();
    let mut out: Vec<Option<Delivery>> = vec![None; mails.len()];
    let mut fresh: Vec<(usize, Submission)> = Vec::new();
    for (i, m) in mails.iter().enumerate() {
        let thread = if !m.thread_refs.is_empty() || m.subject_tracking_number.is_some() {
            thread_of(store, m).await?
        } else {
            Thread::None
        };
        if let Thread::Of(report) = &thread {
            out[i] = Some(store_follow_up(store, report, m).await?);
            progress(1);
            continue;
        }
        fresh.push((i, submission_of(m, &thread)));
    }
    for chunk in fresh.chunks(256) {
        let subs: Vec<Submission> = chunk.iter().map(|(_, s)| s.clone()).collect();
        let chunk: Vec<usize> = chunk.iter().map(|(i, _)| *i).collect();
        let results = store.ingest_batch(&subs).await?;
        let mut acks = Vec::new();
        for (&i, r) in chunk.iter().zip(results) {
            let receipt = r.map_err(|e| AppError::Conflict(e.to_string()))?;
            acks.extend(acknowledgement(cfg, &mails[i], &receipt));
            out[i] = Some(if receipt.duplicate {
                Delivery::Duplicate(receipt.tracking_number)
            } else {
                Delivery::NewReport(receipt.tracking_number)
            });
        }
        queue_acknowledgements(store, acks).await;
        progress(chunk.len());
    }
    Ok(out.into_iter().map(|d| d.expect("every mail delivered")).collect())
}

/// How the outbox worker retries and when it gives up.
#[derive(Debug, Clone, Copy)]
pub struct OutboxPolicy {
    /// The wait after the first failure; each further failure doubles it (with jitter) …
    pub retry_min: Duration,
    /// … up to this.
    pub retry_max: Duration,
    /// A mail not sent this long after it was queued is marked failed, shown to admins and
    /// counted (it stays in the outbox; an admin can queue it again).
    pub give_up_after: Duration,
    /// How long a claim keeps other workers off a mail. Longer than a batch of SMTP sends can
    /// take (the SMTP client's timeout is 30 s, a batch is [`OutboxPolicy::BATCH`] mails).
    pub lease: Duration,
    /// How often an idle worker looks for due mail.
    pub poll: Duration,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        OutboxPolicy {
            retry_min: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(5 * 24 * 3600),
            lease: Duration::from_secs(600),
            poll: Duration::from_millis(200),
        }
    }
}

impl OutboxPolicy {
    pub const BATCH: i64 = 5;

    /// The wait before the next try after `failures` failed ones: exponential from
    /// `retry_min`, capped at `retry_max`, and drawn from its upper half so workers that failed
    /// together do not retry together.
    pub fn backoff(&self, failures: i64) -> Duration {
        let exp = u32::try_from(failures.clamp(1, 40) - 1).unwrap_or(39);
        let full = self.retry_min.saturating_mul(2u32.saturating_pow(exp)).min(self.retry_max).max(self.retry_min);
        let half = full / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// The outbox worker of `serve`: claims due mail with a lease (so several processes on one
/// database send each mail once), sends it, and records the outcome: sent, retried later with
/// back-off, or — after `give_up_after` — marked failed and written to the audit log. When
/// `stop` turns true it finishes the send in progress, gives the rest of its claim back and
/// returns.
pub async fn run_outbox(store: Store, smtp: Smtp, policy: OutboxPolicy, mut stop: tokio::sync::watch::Receiver<bool>) {
    let lease = time::Duration::try_from(policy.lease).unwrap_or(time::Duration::minutes(10));
    while !*stop.borrow() {
        let claimed_at = std::time::Instant::now();
        let due = store.claim_mail(OutboxPolicy::BATCH, lease).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the outbox");
            vec![]
        });
        let idle = due.is_empty();
        let mut due = due.into_iter();
        for m in due.by_ref() {
            // A send that outlived half the lease leaves the rest to the next claim (whoever
            // makes it), rather than risk sending a mail another worker has claimed meanwhile.
            if claimed_at.elapsed() > policy.lease / 2 {
                break;
            }
            match smtp.send(&m.from, &m.to, &m.raw).await {
                Ok(()) => {
                    if let Err(e) = store.mail_sent(m.id).await {
                        tracing::warn!(mail = m.id, error = %e, "mail sent but not recorded");
                    }
                }
                Err(err) => record_failure(&store, &policy, &m, &err).await,
            }
            if *stop.borrow() {
                break;
            }
        }
        let rest: Vec<i64> = due.map(|m| m.id).collect();
        if !rest.is_empty()
            && let Err(e) = store.release_mail(&rest).await
        {
            tracing::warn!(error = %e, count = rest.len(), "claimed mail not given back; it waits for the lease");
        }
        if idle {
            crate::analysis::pause(policy.poll, &mut stop).await;
        }
    }
    tracing::info!("outbox worker stopped");
}

async fn record_failure(store: &Store, policy: &OutboxPolicy, m: &todokede_store::QueuedMail, err: &str) {
    let now = time::OffsetDateTime::now_utc();
    let failures = m.attempts + 1;
    let retry_at = now + policy.backoff(failures);
    let give_up_before = now - policy.give_up_after;
    // The address is the reporter's personal data: the log names the mail, not the recipient.
    match store.mail_failed(m.id, err, retry_at, give_up_before).await {
        Ok(true) => {
            tracing::error!(mail = m.id, attempts = failures, error = %err, "mail given up after the retry period");
            let tn = store.report(m.report_id).await.ok().flatten().map(|r| r.tracking_number.to_string());
            let detail = format!("mail {} after {failures} attempts", m.id);
            if let Err(e) = store.audit(None, "mail.failed", tn.as_deref(), Some(&detail)).await {
                tracing::warn!(error = %e, "cannot audit a failed mail");
            }
        }
        Ok(false) => tracing::warn!(mail = m.id, attempt = failures, error = %err, "mail not sent; will retry"),
        Err(e) => tracing::warn!(mail = m.id, error = %e, "cannot record mail outcome"),
    }
}
