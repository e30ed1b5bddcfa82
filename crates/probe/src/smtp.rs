//! The SMTP dialogue a mail server holds with a sender, up to the recipient and never
//! further: banner, EHLO, MAIL FROM, RCPT TO, QUIT. Each step keeps the server's reply
//! as it was given — code, RFC 3463 enhanced status code, text — and how long it took,
//! so that "RCPT TO answered 451 4.3.2 Temporary server error" can be quoted as evidence.
//! No message body is ever sent.

use std::time::{Duration, Instant};

use smtp_proto::response::parser::ResponseReceiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to probe, as declared in the catalog.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpProbe {
    /// `host:port` of the mail server.
    pub target: String,
    /// The name the probe gives in EHLO.
    #[serde(default = "default_helo")]
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: String,
}

fn default_helo() -> String {
    "seismo.invalid".into()
}

/// One step of the dialogue and the server's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// `banner`, `ehlo`, `mail_from`, `rcpt_to` or `quit`.
    pub step: &'static str,
    pub code: u16,
    /// RFC 3463 `class.subject.detail`, when the server gave one.
    pub enhanced_code: Option<String>,
    pub class: ReplyClass,
    /// The reply's text, lines joined, without the codes.
    pub text: String,
    pub elapsed_ms: u64,
}

/// What the first digit of a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyClass {
    /// 2xx, 3xx.
    Success,
    /// 4xx: try again later.
    Transient,
    /// 5xx: will not work as it is.
    Permanent,
}

impl ReplyClass {
    fn of(code: u16) -> ReplyClass {
        match code / 100 {
            4 => ReplyClass::Transient,
            5 => ReplyClass::Permanent,
            _ => ReplyClass::Success,
        }
    }
}

/// Why a probe failed, with the remote's words where it said any.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    #[error("no answer within {after_ms} ms")]
    Timeout { after_ms: u64 },
    #[error("connection refused")]
    Refused,
    #[error("cannot connect: {message}")]
    Connect { message: String },
    #[error("not SMTP: {message}")]
    Protocol { message: String },
    /// The server answered, but not with success: the step and its reply are in the steps.
    #[error("{step} answered {code}{} {text}", enhanced.as_ref().map(|e| format!(" {e}")).unwrap_or_default())]
    Rejected {
        step: &'static str,
        code: u16,
        enhanced: Option<String>,
        text: String,
    },
}

/// The result of one run of the dialogue.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub ok: bool,
    pub latency_ms: u64,
    pub steps: Vec<Step>,
    pub failure: Option<Failure>,
}

/// Runs the dialogue against `probe.target`, all of it within `timeout`.
pub async fn run(probe: &SmtpProbe, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let mut steps = Vec::new();
    let result = tokio::time::timeout(timeout, dialogue(probe, &mut steps)).await;
    let failure = match result {
        Ok(Ok(())) => None,
        Ok(Err(failure)) => Some(failure),
        Err(_) => Some(Failure::Timeout {
            after_ms: timeout.as_millis() as u64,
        }),
    };
    Outcome {
        ok: failure.is_none(),
        latency_ms: started.elapsed().as_millis() as u64,
        steps,
        failure,
    }
}

async fn dialogue(probe: &SmtpProbe, steps: &mut Vec<Step>) -> Result<(), Failure> {
    let mut stream =
        TcpStream::connect(&probe.target)
            .await
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::ConnectionRefused => Failure::Refused,
                _ => Failure::Connect {
                    message: error.to_string(),
                },
            })?;
    let mut conversation = Conversation {
        stream: &mut stream,
        buffer: Vec::new(),
    };
    conversation.step(steps, "banner", None).await?;
    let commands = [
        ("ehlo", format!("EHLO {}\r\n", probe.helo)),
        ("mail_from", format!("MAIL FROM:<{}>\r\n", probe.mail_from)),
        ("rcpt_to", format!("RCPT TO:<{}>\r\n", probe.rcpt_to)),
    ];
    let mut outcome = Ok(());
    for (name, command) in commands {
        if let Err(failure) = conversation.step(steps, name, Some(&command)).await {
            outcome = Err(failure);
            break;
        }
    }
    // Leave politely whatever happened; a server that has gone is no further failure.
    if !matches!(outcome, Err(Failure::Protocol { .. })) {
        let _ = conversation.step(steps, "quit", Some("QUIT\r\n")).await;
    }
    outcome
}

struct Conversation<'a> {
    stream: &'a mut TcpStream,
    /// Bytes read beyond the last reply.
    buffer: Vec<u8>,
}

impl Conversation<'_> {
    /// Sends `command` (none: only listen, for the banner) and records the reply; a
    /// reply other than success is the failure of the probe.
    async fn step(
        &mut self,
        steps: &mut Vec<Step>,
        name: &'static str,
        command: Option<&str>,
    ) -> Result<(), Failure> {
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
        let step = Step {
            step: name,
            code: reply.code,
            enhanced_code: enhanced.clone(),
            class: ReplyClass::of(reply.code),
            text: reply.message.trim().to_string(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let failed = step.class != ReplyClass::Success;
        let failure = Failure::Rejected {
            step: name,
            code: step.code,
            enhanced,
            text: step.text.clone(),
        };
        steps.push(step);
        if failed { Err(failure) } else { Ok(()) }
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
                Err(smtp_proto::Error::NeedsMoreData { .. }) => self.buffer.clear(),
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

fn protocol(message: String) -> Failure {
    Failure::Protocol { message }
}
