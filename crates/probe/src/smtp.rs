//! The SMTP dialogue a mail server holds with a sender, up to the recipient and never
//! further: banner, EHLO, STARTTLS (when asked), MAIL FROM, RCPT TO, QUIT. Each step
//! keeps the server's reply as it was given — code, RFC 3463 enhanced status code, text —
//! and how long it took, so that "RCPT TO answered 451 4.3.2 Temporary server error" can
//! be quoted as evidence. No message body is ever sent.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use seismo_core::probe::{Detail, Failure, FailureKind, ReplyClass, SmtpCheck, SmtpStep, StartTls};
use smtp_proto::response::parser::{MAX_RESPONSE_LENGTH, ResponseReceiver};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::tls::Settings;
use crate::{Finding, connect, within};

pub async fn run(
    tls: &Settings,
    check: &SmtpCheck,
    timeout: Duration,
    local: Option<IpAddr>,
) -> Finding {
    let mut record = Record::default();
    let failure = within(timeout, dialogue(tls, check, local, &mut record))
        .await
        .err();
    let detail = Detail::Smtp {
        steps: record.steps,
        tls: record.tls,
    };
    (detail, failure)
}

#[derive(Default)]
struct Record {
    steps: Vec<SmtpStep>,
    tls: bool,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn dialogue(
    tls: &Settings,
    check: &SmtpCheck,
    local: Option<IpAddr>,
    record: &mut Record,
) -> Result<(), Failure> {
    let mut conversation = Conversation {
        stream: Box::new(connect(&check.target, local).await?),
        buffer: Vec::new(),
    };
    conversation.step(record, "banner", None).await?;
    let ehlo = format!("EHLO {}\r\n", check.helo);
    let offered = conversation.step(record, "ehlo", Some(&ehlo)).await?;
    let offers_tls = offered
        .lines()
        .any(|line| line.trim().eq_ignore_ascii_case("STARTTLS"));
    match (check.starttls, offers_tls) {
        (StartTls::Off, _) | (StartTls::Opportunistic, false) => {}
        (StartTls::Required, false) => {
            return Err(Failure::new(
                FailureKind::Tls,
                "the server does not offer STARTTLS",
            ));
        }
        (StartTls::Opportunistic | StartTls::Required, true) => {
            conversation
                .step(record, "starttls", Some("STARTTLS\r\n"))
                .await?;
            let (host, _) = seismo_core::probe::host_port(&check.target)
                .map_err(|e| Failure::new(FailureKind::Protocol, e))?;
            // As mail servers do between themselves (RFC 3207), the certificate is not
            // checked: encryption without authentication still beats plain text.
            let plain = std::mem::replace(&mut conversation.stream, Box::new(tokio::io::empty()));
            conversation.stream = Box::new(tls.handshake_unverified(plain, host).await?);
            conversation.buffer.clear();
            record.tls = true;
            conversation.step(record, "ehlo", Some(&ehlo)).await?;
        }
    }
    let commands = [
        ("mail_from", format!("MAIL FROM:<{}>\r\n", check.mail_from)),
        ("rcpt_to", format!("RCPT TO:<{}>\r\n", check.rcpt_to)),
    ];
    let mut outcome = Ok(());
    for (name, command) in commands {
        if let Err(failure) = conversation.step(record, name, Some(&command)).await {
            outcome = Err(failure);
            break;
        }
    }
    // Leave politely whatever happened; a server that has gone is no further failure.
    if !matches!(&outcome, Err(f) if f.kind == FailureKind::Protocol) {
        let _ = conversation.step(record, "quit", Some("QUIT\r\n")).await;
    }
    outcome
}

struct Conversation {
    stream: Box<dyn Stream>,
    /// Bytes read beyond the last reply.
    buffer: Vec<u8>,
}

impl Conversation {
    /// Sends `command` (none: only listen, for the banner) and records the reply; a
    /// reply other than success is the failure of the probe. Returns the reply's text.
    async fn step(
        &mut self,
        record: &mut Record,
        name: &'static str,
        command: Option<&str>,
    ) -> Result<String, Failure> {
        let started = Instant::now();
        if let Some(command) = command {
            self.stream
                .write_all(command.as_bytes())
                .await
                .map_err(|e| protocol(format!("cannot send {name}: {e}")))?;
        }
        let reply = self.reply().await?;
        let enhanced = (reply.esc[0] != 0)
            .then(|| format!("{}.{}.{}", reply.esc[0], reply.esc[1], reply.esc[2]));
        let step = SmtpStep {
            step: name.into(),
            code: reply.code,
            enhanced_code: enhanced.clone(),
            class: ReplyClass::of(reply.code),
            text: reply.message.trim().to_string(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let failed = step.class != ReplyClass::Success;
        let text = step.text.clone();
        record.steps.push(step);
        if failed {
            let enhanced = enhanced.map(|e| format!(" {e}")).unwrap_or_default();
            return Err(Failure::new(
                FailureKind::Unexpected,
                format!(
                    "{} answered {}{enhanced} {text}",
                    command_name(name),
                    reply.code
                ),
            ));
        }
        Ok(text)
    }

    async fn reply(&mut self) -> Result<smtp_proto::Response<String>, Failure> {
        let mut receiver = ResponseReceiver::default();
        let mut chunk = [0u8; 4096];
        loop {
            let mut bytes = self.buffer.iter();
            match receiver.parse(&mut bytes) {
                Ok(reply) => {
                    self.buffer = bytes.as_slice().to_vec();
                    return Ok(reply);
                }
                // The receiver keeps what it has consumed, up to its bound.
                Err(smtp_proto::Error::NeedsMoreData { .. }) => self.buffer.clear(),
                Err(smtp_proto::Error::ResponseTooLong) => {
                    return Err(protocol(format!(
                        "a reply longer than {MAX_RESPONSE_LENGTH} bytes"
                    )));
                }
                Err(error) => return Err(protocol(format!("{error:?}"))),
            }
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| protocol(format!("cannot read the reply: {e}")))?;
            if n == 0 {
                return Err(protocol("the server closed the connection".into()));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

/// How a person writes the step's command: `RCPT TO`, `EHLO`.
fn command_name(step: &str) -> String {
    if step == "banner" {
        "the banner".into()
    } else {
        step.replace('_', " ").to_uppercase()
    }
}

fn protocol(message: String) -> Failure {
    Failure::new(FailureKind::Protocol, format!("not SMTP: {message}"))
}
