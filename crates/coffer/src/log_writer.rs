//! Where log lines go: standard error, written by each worker of the async runtime in batches.
//!
//! One `write` to standard error per request line cost ~15 µs of a ~56 µs production
//! GetSecretValue with standard error in a file on this project's virtual disk, ten times the cost
//! of formatting the line (bench/NOTES.md, "Audit trail and request log"). So a runtime worker
//! keeps its lines in a buffer of its own and writes them with one `write`: when it is about to go
//! idle (`on_thread_park`, so an idle server's lines are out at once), when the buffer holds
//! [`MAX_BUFFERED`] bytes, when its oldest line is [`MAX_AGE`] old as another line comes, when a
//! warning or an error comes (written at once, after the lines before it), and when the thread
//! stops. Every other thread (start-up, the audit writer, blocking tasks) writes each line at
//! once. Lines of one thread keep their order; lines of two threads may be written out of order
//! (each carries its time).
//!
//! The price: lines waiting in a buffer are lost if the process is killed (`kill -9`). The audit
//! trail, written before each answer, is the record that survives that; the log is for operators.

use std::cell::RefCell;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// A worker writes its lines once they fill this many bytes.
pub const MAX_BUFFERED: usize = 32 * 1024;
/// A worker that stays busy writes its lines once the oldest is this old (at its next line).
pub const MAX_AGE: Duration = Duration::from_millis(100);

thread_local! {
    /// `None` on threads that write each line at once.
    static BUFFER: RefCell<Option<LineBuffer>> = const { RefCell::new(None) };
}

/// Lines waiting to be written, and since when.
#[derive(Debug, Default)]
pub struct LineBuffer {
    bytes: Vec<u8>,
    oldest: Option<Instant>,
}

impl LineBuffer {
    /// Adds `line`; answers whether the buffer is to be written now (see [`MAX_BUFFERED`],
    /// [`MAX_AGE`]).
    pub fn push(&mut self, line: &[u8], now: Instant) -> bool {
        let oldest = *self.oldest.get_or_insert(now);
        self.bytes.extend_from_slice(line);
        self.bytes.len() >= MAX_BUFFERED || now.saturating_duration_since(oldest) >= MAX_AGE
    }

    /// Writes the waiting lines to `out`, in order, and empties the buffer (also when the write
    /// fails: a log that cannot be written drops lines rather than growing without bound).
    pub fn write_to(&mut self, out: &mut impl Write) {
        if !self.bytes.is_empty() {
            let _ = out.write_all(&self.bytes);
            self.bytes.clear();
        }
        self.oldest = None;
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The log's writer: `tracing_subscriber::fmt().with_writer(BatchedStderr)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchedStderr;

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = ThreadLines;

    fn make_writer(&'a self) -> ThreadLines {
        ThreadLines { at_once: true }
    }

    /// Warnings and errors are written at once (after the thread's lines before them): an
    /// operator must not wait for them, nor lose them to a `kill -9`.
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> ThreadLines {
        ThreadLines {
            at_once: *meta.level() <= Level::WARN,
        }
    }
}

/// One formatted line (the formatter writes each event with one `write_all`).
pub struct ThreadLines {
    at_once: bool,
}

impl Write for ThreadLines {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let at_once = self.at_once;
        let batched = BUFFER
            .try_with(|cell| {
                // Not re-entered (writing to stderr logs nothing), but never panic in the logger.
                let Ok(mut slot) = cell.try_borrow_mut() else {
                    return false;
                };
                let Some(buffer) = slot.as_mut() else {
                    return false;
                };
                if buffer.push(line, Instant::now()) || at_once {
                    buffer.write_to(&mut io::stderr().lock());
                }
                true
            })
            .unwrap_or(false);
        if !batched {
            io::stderr().lock().write_all(line)?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The runtime's `on_thread_park`: a worker about to go idle writes its waiting lines, and from
/// its first park on batches them (only workers park, so other threads keep writing at once).
pub fn on_worker_park() {
    let _ = BUFFER.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            slot.get_or_insert_with(LineBuffer::default)
                .write_to(&mut io::stderr().lock());
        }
    });
}

/// The runtime's `on_thread_stop`: the thread's waiting lines are written before it ends.
pub fn on_thread_stop() {
    let _ = BUFFER.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            if let Some(mut buffer) = slot.take() {
                buffer.write_to(&mut io::stderr().lock());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_until_the_buffer_is_full_and_come_out_in_order() {
        let start = Instant::now();
        let mut buffer = LineBuffer::default();
        let line = [b'x'; 1000];
        let mut pushed = Vec::new();
        let mut n = 0;
        loop {
            let mut numbered = format!("{n:05} ").into_bytes();
            numbered.extend_from_slice(&line);
            numbered.push(b'\n');
            pushed.extend_from_slice(&numbered);
            n += 1;
            if buffer.push(&numbered, start) {
                break;
            }
        }
        assert_eq!(n, MAX_BUFFERED.div_ceil(1007));
        let mut out = Vec::new();
        buffer.write_to(&mut out);
        assert_eq!(out, pushed);
        assert!(buffer.is_empty());
        // Written once: nothing is left for the next write.
        let mut again = Vec::new();
        buffer.write_to(&mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn a_busy_worker_writes_its_lines_once_the_oldest_is_old() {
        let start = Instant::now();
        let mut buffer = LineBuffer::default();
        assert!(!buffer.push(b"first\n", start));
        assert!(!buffer.push(b"second\n", start + MAX_AGE / 2));
        assert!(buffer.push(b"third\n", start + MAX_AGE));
        let mut out = Vec::new();
        buffer.write_to(&mut out);
        assert_eq!(out, b"first\nsecond\nthird\n");
        // The age counts from the first line after a write, not from the first line ever.
        assert!(!buffer.push(b"fourth\n", start + MAX_AGE * 3 / 2));
        assert!(buffer.push(b"fifth\n", start + MAX_AGE * 5 / 2));
    }

    #[test]
    fn a_failed_write_drops_the_lines_instead_of_growing() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut buffer = LineBuffer::default();
        buffer.push(b"lost\n", Instant::now());
        buffer.write_to(&mut Broken);
        assert!(buffer.is_empty());
    }

    #[test]
    fn threads_batch_only_once_they_parked_and_write_all_when_they_stop() {
        std::thread::spawn(|| {
            let written = |line: &[u8]| ThreadLines { at_once: false }.write(line).unwrap();
            // Before a park: written at once, nothing waits.
            written(b"log_writer test: at once\n");
            assert!(BUFFER.with(|b| b.borrow().is_none()));
            on_worker_park();
            written(b"log_writer test: batched\n");
            assert!(BUFFER.with(|b| b.borrow().as_ref().is_some_and(|b| !b.is_empty())));
            on_worker_park();
            assert!(BUFFER.with(|b| b.borrow().as_ref().is_some_and(LineBuffer::is_empty)));
            written(b"log_writer test: batched again\n");
            // A warning takes the lines before it out with it.
            ThreadLines { at_once: true }
                .write_all(b"log_writer test: a warning\n")
                .unwrap();
            assert!(BUFFER.with(|b| b.borrow().as_ref().is_some_and(LineBuffer::is_empty)));
            written(b"log_writer test: at stop\n");
            on_thread_stop();
            assert!(BUFFER.with(|b| b.borrow().is_none()));
        })
        .join()
        .unwrap();
    }
}
