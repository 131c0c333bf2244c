//! Proves that `Matcher::matches` does not allocate, with a global allocator that counts the
//! allocations made by the current thread.

// SAFETY: the only unsafe code is the `GlobalAlloc` impl below, which forwards every call
// unchanged to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use heka_matcher::Matcher;
use heka_message::{Field, Message};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the thread-local may already be gone while the thread exits.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards to `System`, which upholds the `GlobalAlloc` contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn matches_does_not_allocate() {
    let mut msg = Message {
        uuid: Bytes::from_static(&[7; 16]),
        timestamp: 1,
        severity: Some(6),
        ..Message::default()
    };
    msg.set_type("TEST");
    msg.set_payload("Test Payload with some words");
    msg.add_field(Field::new_string("foo", "bar"));
    msg.add_field(Field::new_integers("int", &[999, 1024]));
    msg.add_field(Field::new_bool("bool", true));
    msg.add_field(Field::new_string("foo", "alternate"));

    let exprs = [
        "TRUE",
        "Type == 'TEST' && Severity == 6",
        "Uuid == '07070707-0707-0707-0707-070707070707'",
        "Uuid < 'z' && Timestamp > 0 && Pid == 0",
        "Payload =~ /w[aeiou]rds?$/ || Payload !~ /x/",
        "Payload =~ /(?i)^test/ && Payload =~ /words$/",
        "Fields[foo][1] =~ /\\w+/ && Fields[int][0][1] >= 1024",
        "Fields[bool] == TRUE && Fields[missing] == NIL && Fields[foo] != NIL",
        "(Type == 'x' || Hostname == '') && (Logger < 'a' || EnvVersion == '')",
    ];
    let matchers: Vec<Matcher> = exprs.iter().map(|e| Matcher::parse(e).unwrap()).collect();
    // The first search may set up the regex engine's per-thread cache; warm it up.
    let mut hits = 0;
    for m in &matchers {
        hits += usize::from(m.matches(&msg));
    }
    assert_eq!(hits, matchers.len(), "every expression matches the message");

    let before = allocations();
    let mut hits = 0;
    for _ in 0..1000 {
        for m in &matchers {
            hits += usize::from(m.matches(&msg));
        }
    }
    let made = allocations() - before;
    assert_eq!(hits, 1000 * matchers.len());
    assert_eq!(made, 0, "matches() allocated {made} times");

    // The counter does see allocations on this thread.
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocations() > before, "{v:?}");
}
