//! The parse work budget of one document (see `limits::PARSE_WORK_FILE_FACTOR`).

use std::cell::Cell;

use crate::error::PdfError;
use crate::limits::{PARSE_WORK_BASE_BYTES, PARSE_WORK_FILE_FACTOR};

/// Bytes the parser may still examine for this document.
#[derive(Debug)]
pub(crate) struct WorkBudget {
    /// Remaining bytes; parsing stops with `LIMIT_EXCEEDED` once it reaches zero.
    remaining: Cell<usize>,
}

impl WorkBudget {
    /// The budget for a file of `file_len` bytes.
    pub fn for_file(file_len: usize) -> Self {
        WorkBudget {
            remaining: Cell::new(file_len.saturating_mul(PARSE_WORK_FILE_FACTOR).saturating_add(PARSE_WORK_BASE_BYTES)),
        }
    }

    /// Refuse further parsing once the budget is spent.
    pub fn check(&self) -> Result<(), PdfError> {
        if self.remaining.get() == 0 {
            return Err(PdfError::LimitExceeded("parse work above PARSE_WORK_FILE_FACTOR x file size"));
        }
        Ok(())
    }

    /// Record `bytes` examined.
    pub fn spend(&self, bytes: usize) {
        self.remaining.set(self.remaining.get().saturating_sub(bytes));
    }
}
