//! The official e-Meterai document types (jenis dokumen) and their codes.
//!
//! | code | name | sub-names |
//! |---|---|---|
//! | `2` | Dokumen Transaksi | Surat Berharga, Akta Pejabat, Akta Notaris, Dokumen Lelang, Dokumen lain-lain |
//! | `3` | Surat Keterangan | Surat Pernyataan, Surat Perjanjian, Surat Lainnya |
//! | `4a` | Dokumen penerimaan uang | penerimaan uang > Rp 5 juta |
//! | `4b` | Dokumen pelunasan utang | pelunasan utang > Rp 5 juta |
//!
//! The code is what is stored and bound to a stamped serial number.

/// The longest code accepted by [`DocType::from_code`], in bytes; longer input is refused before
/// any comparison so hostile input costs nothing.
pub const DOC_TYPE_CODE_BYTES_MAX: usize = 8;

/// A document type from the official list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocType {
    /// Code `2`: transaction documents, securities, deeds, auction documents.
    Transaction,
    /// Code `3`: statements, declarations, agreements.
    Statement,
    /// Code `4a`: receipt of money above Rp 5,000,000.
    MoneyReceipt,
    /// Code `4b`: settlement of debt above Rp 5,000,000.
    DebtSettlement,
}

/// A document type code that is not on the official list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown document type code {0:?} (known: 2, 3, 4a, 4b)")]
pub struct DocTypeError(pub String);

impl DocTypeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "UNKNOWN_DOC_TYPE"
    }
}

impl DocType {
    /// Every document type, in code order.
    pub const ALL: [DocType; 4] =
        [DocType::Transaction, DocType::Statement, DocType::MoneyReceipt, DocType::DebtSettlement];

    /// Parses an official code (`2`, `3`, `4a`, `4b`; case and surrounding space ignored).
    pub fn from_code(code: &str) -> Result<DocType, DocTypeError> {
        let trimmed = code.trim();
        if trimmed.len() > DOC_TYPE_CODE_BYTES_MAX {
            return Err(DocTypeError(trimmed.chars().take(DOC_TYPE_CODE_BYTES_MAX).collect()));
        }
        DocType::ALL
            .into_iter()
            .find(|t| t.code().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| DocTypeError(trimmed.to_string()))
    }

    /// The official code.
    pub fn code(self) -> &'static str {
        match self {
            DocType::Transaction => "2",
            DocType::Statement => "3",
            DocType::MoneyReceipt => "4a",
            DocType::DebtSettlement => "4b",
        }
    }

    /// The official name.
    pub fn name(self) -> &'static str {
        match self {
            DocType::Transaction => "Dokumen Transaksi",
            DocType::Statement => "Surat Keterangan",
            DocType::MoneyReceipt => "Dokumen penerimaan uang",
            DocType::DebtSettlement => "Dokumen pelunasan utang",
        }
    }

    /// The kinds of document the code covers, as named on the official list.
    pub fn sub_names(self) -> &'static [&'static str] {
        match self {
            DocType::Transaction => &[
                "Surat Berharga",
                "Akta Pejabat",
                "Akta Notaris",
                "Dokumen Lelang",
                "Dokumen lain-lain",
            ],
            DocType::Statement => &["Surat Pernyataan", "Surat Perjanjian", "Surat Lainnya"],
            DocType::MoneyReceipt => &["penerimaan uang > 5 juta"],
            DocType::DebtSettlement => &["pelunasan utang > 5 juta"],
        }
    }
}

impl std::fmt::Display for DocType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for DocType {
    type Err = DocTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocType::from_code(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_official_code_round_trips() {
        for t in DocType::ALL {
            assert_eq!(DocType::from_code(t.code()), Ok(t));
        }
        assert_eq!(DocType::from_code(" 4A "), Ok(DocType::MoneyReceipt));
    }

    #[test]
    fn an_unknown_code_is_refused_with_unknown_doc_type() {
        let err = DocType::from_code("5").unwrap_err();
        assert_eq!(err.code(), "UNKNOWN_DOC_TYPE");
        assert!(DocType::from_code(&"9".repeat(10_000)).is_err());
    }

    #[test]
    fn code_2_lists_notarial_deeds() {
        assert!(DocType::Transaction.sub_names().contains(&"Akta Notaris"));
        assert_eq!(DocType::Statement.name(), "Surat Keterangan");
    }
}
