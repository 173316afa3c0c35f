//! The PDF object model: what the parser produces and the writer consumes.

/// An indirect object reference `num generation R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    /// Object number (1-based; 0 is the head of the free list).
    pub num: u32,
    /// Generation number.
    pub generation: u16,
}

impl ObjRef {
    /// Shorthand constructor.
    pub const fn new(num: u32, generation: u16) -> Self {
        ObjRef { num, generation }
    }
}

/// A PDF string. The bytes are always the decoded value; `hex` only records how to write it back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PdfString {
    /// Decoded string bytes (escapes and hex already resolved; decrypted when read through
    /// `Document::resolve`).
    pub bytes: Vec<u8>,
    /// Serialize as `<hex>` instead of `(literal)`.
    pub hex: bool,
}

impl PdfString {
    /// A literal string.
    pub fn literal(bytes: impl Into<Vec<u8>>) -> Self {
        PdfString { bytes: bytes.into(), hex: false }
    }
    /// A hex string.
    pub fn hex(bytes: impl Into<Vec<u8>>) -> Self {
        PdfString { bytes: bytes.into(), hex: true }
    }
}

/// A dictionary that keeps the key order of the file (so rewritten objects diff minimally).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict {
    /// Entries in insertion order; keys are unique (insert replaces in place).
    entries: Vec<(Vec<u8>, Object)>,
}

impl Dict {
    /// A dictionary from `(key, value)` pairs, in order: how new objects are usually spelled out.
    pub fn from_pairs<'k>(entries: impl IntoIterator<Item = (&'k str, Object)>) -> Self {
        let mut d = Dict::new();
        for (k, v) in entries {
            d.insert(k.as_bytes().to_vec(), v);
        }
        d
    }
    /// An empty dictionary.
    pub fn new() -> Self {
        Dict { entries: Vec::new() }
    }
    /// The value under `key` (name without the slash).
    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Mutable access to the value under `key`.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Insert or replace (replacing keeps the key's position).
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: Object) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }
    /// Remove and return the value under `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(at).1)
    }
    /// True if `key` is present.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }
    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Object)> {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v))
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The name under `key`, if it is a direct name.
    pub fn get_name(&self, key: &[u8]) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }
    /// The integer under `key`, if it is a direct integer.
    pub fn get_int(&self, key: &[u8]) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }
    /// The number (integer or real) under `key`, if direct.
    pub fn get_number(&self, key: &[u8]) -> Option<f64> {
        self.get(key).and_then(Object::as_number)
    }
    /// The dictionary under `key`, if direct.
    pub fn get_dict(&self, key: &[u8]) -> Option<&Dict> {
        self.get(key).and_then(Object::as_dict)
    }
    /// The array under `key`, if direct.
    pub fn get_array(&self, key: &[u8]) -> Option<&[Object]> {
        self.get(key).and_then(Object::as_array)
    }
    /// The reference under `key`, if it is one.
    pub fn get_ref(&self, key: &[u8]) -> Option<ObjRef> {
        self.get(key).and_then(Object::as_ref)
    }
    /// The string bytes under `key`, if direct.
    pub fn get_string(&self, key: &[u8]) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_string)
    }
    /// True if `/Type` is the given name.
    pub fn has_type(&self, ty: &[u8]) -> bool {
        self.get_name(b"Type") == Some(ty)
    }
}

impl FromIterator<(Vec<u8>, Object)> for Dict {
    fn from_iter<T: IntoIterator<Item = (Vec<u8>, Object)>>(iter: T) -> Self {
        let mut d = Dict::new();
        for (k, v) in iter {
            d.insert(k, v);
        }
        d
    }
}

/// A stream: its dictionary and its data exactly as stored (still filtered; decrypted when read
/// through `Document::resolve`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// The stream dictionary. The writer replaces /Length.
    pub dict: Dict,
    /// Stored bytes (apply `Document::decode_stream` to undo /Filter).
    pub raw: Vec<u8>,
}

/// Any PDF object.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Object {
    /// `null` (also what free or missing objects resolve to).
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A name, decoded (no slash, `#xx` resolved).
    Name(Vec<u8>),
    /// A string.
    String(PdfString),
    /// An array.
    Array(Vec<Object>),
    /// A dictionary.
    Dict(Dict),
    /// A stream (only ever the direct value of an indirect object).
    Stream(Stream),
    /// An indirect reference.
    Ref(ObjRef),
    /// Written byte-for-byte by the writer, never encrypted or escaped; the writer reports where it
    /// landed in the output (used for /ByteRange and signature /Contents placeholders).
    Verbatim(Vec<u8>),
}

impl Object {
    /// A name object from bytes.
    pub fn name(n: impl Into<Vec<u8>>) -> Self {
        Object::Name(n.into())
    }
    /// The name, if this is one.
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }
    /// The integer, if this is one (reals with an integral value count too, as readers accept).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            Object::Real(r) if r.fract() == 0.0 && r.abs() < 9.0e15 => Some(*r as i64),
            _ => None,
        }
    }
    /// The value of an integer or real.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }
    /// The dictionary (a stream's dictionary counts).
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }
    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The reference, if this is one.
    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }
    /// The string bytes, if this is a string.
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            Object::String(s) => Some(&s.bytes),
            _ => None,
        }
    }
    /// The stream, if this is one.
    pub fn as_stream(&self) -> Option<&Stream> {
        match self {
            Object::Stream(s) => Some(s),
            _ => None,
        }
    }
    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Object::Null)
    }
}

impl From<Dict> for Object {
    fn from(d: Dict) -> Self {
        Object::Dict(d)
    }
}
impl From<ObjRef> for Object {
    fn from(r: ObjRef) -> Self {
        Object::Ref(r)
    }
}
impl From<i64> for Object {
    fn from(i: i64) -> Self {
        Object::Int(i)
    }
}

/// A rectangle, normalized so that `llx <= urx` and `lly <= ury`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Lower-left x.
    pub llx: f64,
    /// Lower-left y.
    pub lly: f64,
    /// Upper-right x.
    pub urx: f64,
    /// Upper-right y.
    pub ury: f64,
}

impl Rect {
    /// Build from two corners in any order.
    pub fn new(x1: f64, y1: f64, x2: f64, y2: f64) -> Self {
        Rect { llx: x1.min(x2), lly: y1.min(y2), urx: x1.max(x2), ury: y1.max(y2) }
    }
    /// Width in user-space units.
    pub fn width(&self) -> f64 {
        self.urx - self.llx
    }
    /// Height in user-space units.
    pub fn height(&self) -> f64 {
        self.ury - self.lly
    }
    /// The overlap of two rectangles, or None if they do not overlap with a positive area.
    pub fn intersect(&self, o: &Rect) -> Option<Rect> {
        let r = Rect {
            llx: self.llx.max(o.llx),
            lly: self.lly.max(o.lly),
            urx: self.urx.min(o.urx),
            ury: self.ury.min(o.ury),
        };
        (r.llx < r.urx && r.lly < r.ury).then_some(r)
    }
}
