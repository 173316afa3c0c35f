//! The SHA-256 state after an input: its own hash, and the start of every digest the engine takes
//! of the stamped file, which all begin with the input.

use sha2::{Digest, Sha256};

/// SHA-256 over a whole input, kept as a running state rather than a finished hash. The web
/// service hashes an upload to name it before stamping; handing that state to the engine
/// ([`crate::engine::StampRequest::input_digest`]) spares a second pass over the input, which
/// was ~5% of the server's CPU per stamp of a 49 KB letter (perf, HTTP benchmark).
#[derive(Clone)]
pub struct InputDigest {
    /// The state after hashing the input.
    state: Sha256,
    /// The input's length, in bytes: the engine uses the state only for an input this long.
    len: usize,
}

impl InputDigest {
    /// Hashes `input`.
    pub fn of(input: &[u8]) -> InputDigest {
        InputDigest { state: Sha256::new().chain_update(input), len: input.len() }
    }

    /// The input's SHA-256.
    pub fn sha256(&self) -> [u8; 32] {
        self.state.clone().finalize().into()
    }

    /// The running state, for hashing what follows the input; `None` unless it was taken over
    /// `len` bytes.
    pub(crate) fn state_after(&self, len: usize) -> Option<&Sha256> {
        (self.len == len).then_some(&self.state)
    }
}

impl std::fmt::Debug for InputDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputDigest").field("len", &self.len).finish_non_exhaustive()
    }
}
