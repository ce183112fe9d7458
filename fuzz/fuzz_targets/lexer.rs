//! The lexer over arbitrary bytes: never a panic; every error inside the data.
#![no_main]

use artifact::pickle::{Lexer, Opcode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lexer = Lexer::new(data, 0);
    loop {
        match lexer.next_op() {
            Ok(op) => {
                assert!(op.end <= data.len() as u64 && op.offset < op.end);
                if op.code == Opcode::Stop {
                    break;
                }
            }
            Err(e) => {
                assert!(e.offset <= data.len() as u64);
                break;
            }
        }
    }
});
