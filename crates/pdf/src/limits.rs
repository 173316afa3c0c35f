//! Every structural limit of the reader, in one place. Hostile files are refused with
//! `LIMIT_EXCEEDED` (or `TOO_LARGE`) once they cross one of these, so no input can make the reader
//! hang, exhaust memory, or overflow the stack. Values are generous for real documents.

/// Largest input accepted, in bytes. Real contracts and letters are far below; a larger upload is
/// refused up front with `TOO_LARGE` rather than scanned.
pub const FILE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Deepest nesting of arrays/dictionaries inside one object, in levels. Bounds parser recursion
/// (stack use); real files rarely exceed 10.
pub const OBJECT_DEPTH_MAX: usize = 64;

/// Largest decoded output of one stream, in bytes, across its whole filter chain. Stops
/// decompression bombs.
pub const DECOMPRESSED_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most filters applied to one stream, in filters. A longer chain is only ever an attack.
pub const FILTER_CHAIN_MAX: usize = 8;

/// Deepest /Pages nesting from the root to a leaf, in levels. Bounds page-tree descent.
pub const PAGE_TREE_DEPTH_MAX: usize = 64;

/// Most page-tree nodes (Pages + Page) visited by one page lookup or count, in nodes. Bounds the
/// work when /Count lies or the tree is shared/looped.
pub const PAGE_TREE_NODES_MAX: usize = 200_000;

/// Most cross-reference sections followed through /Prev (and /XRefStm), in sections.
pub const XREF_SECTIONS_MAX: usize = 1024;

/// Most cross-reference entries kept for one document, in entries (the PDF implementation limit
/// on indirect objects is 8,388,607). Bounds xref memory against forged /Size or /Index.
pub const XREF_ENTRIES_MAX: usize = 8_388_608;

/// Most objects declared by one object stream (/N), in objects.
pub const OBJSTM_OBJECTS_MAX: usize = 100_000;

/// Longest chain of indirect references followed by `deref`, in hops (`1 0 R` -> `2 0 R` -> ...).
pub const REF_CHAIN_MAX: usize = 32;

/// Deepest nesting of object loads that trigger other loads (a stream's indirect /Length, an
/// object stream's own stream), in loads. Stops self-referential /Length loops.
pub const RESOLVE_NESTING_MAX: usize = 16;

/// Longest string object, in decoded bytes.
pub const STRING_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Longest name object, in decoded bytes (the spec suggests 127; real files exceed it a little).
pub const NAME_BYTES_MAX: usize = 4096;

/// Bytes of input the object parser may examine for one document, as a multiple of the file
/// size (plus `PARSE_WORK_BASE_BYTES`). One object can legitimately run to the end of the file
/// (an unterminated string, a stream without a usable /Length); this budget stops a file made of
/// thousands of such objects from turning page walks or repair into quadratic work.
pub const PARSE_WORK_FILE_FACTOR: usize = 8;

/// Fixed part of the parse work budget, in bytes (covers decoded object streams of small files).
pub const PARSE_WORK_BASE_BYTES: usize = 16 * 1024 * 1024;

/// Most `N G obj` headers recorded while rebuilding a damaged xref by scanning, in objects.
pub const SCAN_OBJECTS_MAX: usize = 2_000_000;

/// Most bytes the repair scanner reads after an object header or `trailer` keyword to classify or
/// parse that dictionary, in bytes. Keeps a scan linear even when every object is unterminated.
pub const SCAN_DICT_WINDOW_BYTES: usize = 16 * 1024;

/// Most bytes after an object header searched for its `/Type` during a repair scan, in bytes.
pub const SCAN_TYPE_WINDOW_BYTES: usize = 1024;

/// Most `trailer` dictionaries (and xref-stream dictionaries) parsed by one repair scan, in
/// dictionaries.
pub const SCAN_TRAILERS_MAX: usize = 1024;

/// How far into the file the `%PDF-` header is searched for, in bytes.
pub const HEADER_SEARCH_BYTES: usize = 1024;

/// How far into the file `%PDF-` is looked for when it is not within `HEADER_SEARCH_BYTES`, in
/// bytes. Real files carry HTML error pages or mail headers of a few KiB in front of the header.
pub const HEADER_SEARCH_FALLBACK_BYTES: usize = 64 * 1024;

/// How far from the end of the file `startxref` is searched for first, in bytes.
pub const STARTXREF_SEARCH_BYTES: usize = 4096;
