//! Flight SQL tickets and prepared-statement handles come back from clients: JSON with an
//! Arrow IPC row of parameters in base64. Decoding them must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_server::sql::flight::StatementHandle;

fuzz_target!(|input: &[u8]| {
    if let Ok(handle) = StatementHandle::decode(input) {
        let _ = handle.parameters();
    }
    // The IPC payload itself, wrapped as a handle would carry it.
    use base64::Engine;
    let wrapped = serde_json::json!({
        "db": "d",
        "sql": "SELECT $1",
        "parameters": base64::engine::general_purpose::STANDARD.encode(input),
    });
    if let Ok(handle) = StatementHandle::decode(wrapped.to_string().as_bytes()) {
        let _ = handle.parameters();
    }
});
