//! Sends one message to hekad's TcpInput.
//!
//! ```text
//! cargo run -p heka-client --example send -- 127.0.0.1:5565 "hello from Rust"
//! ```

use heka_client::{MessageBuilder, TcpSender};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5565".to_owned());
    let payload = args
        .next()
        .unwrap_or_else(|| "hello from heka-client".to_owned());

    let message = MessageBuilder::new()
        .message_type("example.send")
        .logger("heka-client-example")
        .severity(6)
        .payload(payload)
        .string_field("language", "rust")
        .integer_field("attempt", 1)
        .process_defaults()
        .build();

    let mut sender = TcpSender::connect(&addr)?;
    sender.send(&message)?;
    sender.close()?;
    println!("sent message {} to {addr}", message.uuid_string());
    Ok(())
}
