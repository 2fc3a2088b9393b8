//! Cutting one fuzz input into the pieces a target needs, and reading small choices from bytes.

/// Splits `data` at its first newline: `(first line, rest)`. Targets that need a name (an
/// operation) before a payload use this, so seeds stay readable text.
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Splits `data` at its first 0xFF byte: `(payload, control)`. 0xFF never occurs in UTF-8, so a
/// text payload (a policy document) keeps every byte it can meaningfully contain, and the bytes
/// after it steer the target's other choices.
pub fn payload_and_control(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// FNV-1a: a stable hash for picking among choices from bytes that name none of them.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Reads choices from a byte string; once it runs out every read is zero, so any input,
/// including the empty one, describes a complete set of choices.
pub struct Choices<'a> {
    bytes: &'a [u8],
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes }
    }

    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((b, rest)) => {
                self.bytes = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            usize::from(self.byte()) % n
        } else {
            self.u32() as usize % n
        }
    }

    /// One of `items` (non-empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let len = self.below(max + 1).min(self.bytes.len());
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        taken
    }

    /// A length-prefixed string of at most `max` bytes (invalid UTF-8 replaced).
    pub fn string(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(first_line(b"a.B\n{}"), (&b"a.B"[..], &b"{}"[..]));
        assert_eq!(first_line(b"abc"), (&b"abc"[..], &b""[..]));
        assert_eq!(
            payload_and_control(b"{}\xff\x01\x02"),
            (&b"{}"[..], &b"\x01\x02"[..])
        );
        assert_eq!(payload_and_control(b"{}"), (&b"{}"[..], &b""[..]));
    }

    #[test]
    fn choices_run_out_as_zeros() {
        let mut c = Choices::new(&[7, 3, 0x61, 0x62, 0x63]);
        assert_eq!(c.byte(), 7);
        assert_eq!(c.string(10), "abc");
        assert_eq!(c.u64(), 0);
        assert_eq!(c.below(5), 0);
        assert_eq!(c.string(10), "");
    }
}
