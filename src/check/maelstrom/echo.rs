//! `Echo`: every answered `echo` came back as `echo_ok` carrying the request's text.

use super::{calls, reply_type};
use crate::check::Verdict;
use crate::history::Phase;
use crate::protocol::{Check, Property};
use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};

/// Every answered echo returned what was sent (Maelstrom's echo workload).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Echo;

impl Check for Echo {
    const NAME: &'static str = "Echo";

    fn property(&self) -> Property {
        Property::Safety
    }

    fn evaluate(&self, outcome: &RunOutcome) -> Verdict {
        let echoes: Vec<_> = calls(outcome)
            .into_iter()
            .filter(|c| c.name == "echo" && c.outcome == Phase::Ok)
            .collect();
        if echoes.is_empty() {
            return Verdict::unknown(Self::NAME, "no echo was answered; nothing to judge");
        }
        for c in &echoes {
            let sent = c.request.get("echo");
            let got = c.reply.get("echo");
            if reply_type(c) != "echo_ok" || sent != got {
                return Verdict::fail(
                    Self::NAME,
                    format!(
                        "{} answered an echo with a {} that does not carry its text",
                        c.node,
                        reply_type(c)
                    ),
                )
                .detail(format!("sent: {}", c.request))
                .detail(format!("got:  {}", c.reply))
                .culprits(outcome, vec![c.index]);
            }
        }
        Verdict::pass(
            Self::NAME,
            format!("{} echoes answered, each with its text", echoes.len()),
        )
    }
}
