//! The IMDS body buffer leaves no copy of a secret in freed memory: a global allocator in this
//! test binary looks, on the test's own thread, at every block freed or moved by `realloc` while
//! a body is read, and counts those that still hold a marker string from the body. A `Vec` grown
//! by `extend_from_slice` (what the client did before) hands its old block to `realloc`, secret
//! and all; the buffer must instead copy into a new zeroizing buffer and zeroize the old one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use freshcreds_core::imds::client::{BodyBuffer, BodyError, MAX_BODY_BYTES};
use zeroize::Zeroizing;

const CANARY: &[u8] = b"CANARY-SECRET-ACCESS-KEY-0000000000000000";

struct Scanning;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    /// Blocks this thread released while watched and still holding [`CANARY`]. Per thread, since
    /// the tests run in parallel.
    static LEFT_BEHIND: Cell<usize> = const { Cell::new(0) };
}

fn watching() -> bool {
    WATCHING.try_with(Cell::get).unwrap_or(false)
}

fn count_left_behind() {
    let _ = LEFT_BEHIND.try_with(|n| n.set(n.get() + 1));
}

/// # Safety
/// `ptr` points to `len` readable bytes.
unsafe fn holds_canary(ptr: *const u8, len: usize) -> bool {
    len >= CANARY.len() && std::slice::from_raw_parts(ptr, len).windows(CANARY.len()).any(|w| w == CANARY)
}

// SAFETY: every call is forwarded to `System` unchanged; the blocks are only read before they are
// released, while still owned by the caller.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if watching() && holds_canary(ptr, layout.size()) {
            count_left_behind();
        }
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // realloc may move the block and free the old one as it is: count it as left behind.
        if watching() && holds_canary(ptr, layout.size()) {
            count_left_behind();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

/// Runs `f` with this thread watched and returns how many blocks it left the canary in.
fn left_behind_by(f: impl FnOnce()) -> usize {
    LEFT_BEHIND.with(|n| n.set(0));
    WATCHING.with(|w| w.set(true));
    f();
    WATCHING.with(|w| w.set(false));
    LEFT_BEHIND.with(Cell::get)
}

/// A body of `len` bytes that starts with the canary (so it is in the buffer at every growth).
fn secret_body(len: usize) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(len));
    body.extend(CANARY.iter().chain(std::iter::repeat(&b'x')).take(len));
    body
}

#[test]
fn the_scanner_sees_what_a_plain_vec_leaves_behind() {
    // The detector itself: a Vec grown by reallocation is caught.
    let left = left_behind_by(|| {
        let source = secret_body(10_000);
        let mut plain = Vec::with_capacity(16);
        for chunk in source.chunks(100) {
            plain.extend_from_slice(chunk);
        }
        Zeroizing::new(plain); // zeroized at the end, but the earlier blocks were not
    });
    assert!(left > 0, "the scanning allocator must see reallocated blocks");
}

#[test]
fn a_body_of_unknown_length_grows_without_leaving_copies() {
    for (len, chunk) in [(CANARY.len(), 7), (3000, 100), (20_000, 1000), (MAX_BODY_BYTES, 4096), (MAX_BODY_BYTES, MAX_BODY_BYTES)] {
        let left = left_behind_by(|| {
            let source = secret_body(len);
            let mut body = BodyBuffer::new(None).expect("no length");
            for piece in source.chunks(chunk) {
                body.push(piece).expect("within the limit");
            }
            let text = body.into_string().expect("UTF-8");
            assert!(text.as_bytes() == &source[..], "{len} bytes in {chunk}-byte chunks read whole");
        });
        assert_eq!(left, 0, "{len} bytes in {chunk}-byte chunks: {left} freed block(s) still held the secret");
    }
}

#[test]
fn a_body_with_a_length_is_read_into_one_buffer_without_leaving_copies() {
    for len in [CANARY.len(), 1500, MAX_BODY_BYTES] {
        let left = left_behind_by(|| {
            let source = secret_body(len);
            let mut body = BodyBuffer::new(Some(len as u64)).expect("within the limit");
            let capacity = body.capacity();
            for piece in source.chunks(512) {
                body.push(piece).expect("within the limit");
            }
            assert_eq!(body.capacity(), capacity, "sized once from Content-Length");
            let text = body.into_string().expect("UTF-8");
            assert!(text.as_bytes() == &source[..]);
        });
        assert_eq!(left, 0, "{len} bytes: {left} freed block(s) still held the secret");
    }
}

#[test]
fn refused_bodies_leave_no_copies_either() {
    let left = left_behind_by(|| {
        // Not UTF-8: the bytes come back inside the conversion error and must be wiped there.
        let mut source = Zeroizing::new(Vec::with_capacity(5001));
        source.extend_from_slice(&secret_body(5000));
        source.push(0xff);
        let mut body = BodyBuffer::new(None).expect("no length");
        for piece in source.chunks(300) {
            body.push(piece).expect("within the limit");
        }
        assert_eq!(body.into_string().map(|_| ()), Err(BodyError::NotUtf8));
        // Too large: refused mid-way, the partial body dropped.
        let source = secret_body(MAX_BODY_BYTES + 1);
        let mut body = BodyBuffer::new(None).expect("no length");
        let refused = source.chunks(1000).map(|piece| body.push(piece)).find(Result::is_err);
        assert_eq!(refused, Some(Err(BodyError::TooLarge)));
        drop(body);
    });
    assert_eq!(left, 0, "{left} freed block(s) still held the secret");
}
