//! The index's key: inline in its slot when short, on the heap otherwise.

/// Keys up to this many bytes live inside their slot.
pub(crate) const INLINE_KEY: usize = 22;

/// A key as the index stores it: short keys (redis-benchmark's
/// `key:000000012345` is 16 bytes) inline in the slot, so that finding one
/// costs no extra cache miss and no allocation; longer ones on the heap.
#[derive(Clone)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    pub fn new(k: &[u8]) -> Key {
        if k.len() <= INLINE_KEY {
            let mut bytes = [0u8; INLINE_KEY];
            bytes[..k.len()].copy_from_slice(k);
            Key::Inline {
                len: k.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(k.into())
        }
    }

    /// A copy on the heap (for callers that outlive the shard lock).
    pub fn to_boxed(&self) -> Box<[u8]> {
        Box::from(&**self)
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::Inline {
            len: 0,
            bytes: [0; INLINE_KEY],
        }
    }
}

impl std::ops::Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(b) => b,
        }
    }
}

impl From<Box<[u8]>> for Key {
    fn from(b: Box<[u8]>) -> Key {
        if b.len() <= INLINE_KEY {
            Key::new(&b)
        } else {
            Key::Heap(b)
        }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(test)]
mod key_tests {
    use super::{INLINE_KEY, Key};

    #[test]
    fn keys_inline_up_to_the_limit_and_on_the_heap_beyond() {
        for len in [0, 1, INLINE_KEY - 1, INLINE_KEY, INLINE_KEY + 1, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let k = Key::new(&bytes);
            assert_eq!(&*k, &bytes[..]);
            assert_eq!(matches!(k, Key::Inline { .. }), len <= INLINE_KEY);
            let from_box = Key::from(bytes.clone().into_boxed_slice());
            assert_eq!(&*from_box, &bytes[..]);
            assert_eq!(matches!(from_box, Key::Inline { .. }), len <= INLINE_KEY);
            assert_eq!(&*k.to_boxed(), &bytes[..]);
        }
        assert!(Key::default().is_empty());
    }
}
