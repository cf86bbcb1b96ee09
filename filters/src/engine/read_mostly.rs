//! A reader-writer lock whose readers execute no atomic read-modify-write.
//!
//! # Why
//!
//! Matching a document against a small index takes 20–40 ns, and an uncontended
//! `parking_lot::RwLock` costs two locked instructions per read (acquire and release), about
//! 8 ns on this machine class: a quarter of the work. Readers vastly outnumber writers (every
//! document is a read, only subscriptions write), so the cost belongs on the writer's side.
//!
//! # How
//!
//! This is the asymmetric-fence scheme of Linux's userspace RCU ("memb" flavour) and of
//! Folly's hazard pointers, applied to a lock:
//!
//! * Every thread that reads owns a **reader slot** (a cache line of a process-wide table).
//!   A read stores the lock's address in the slot, then checks the lock's `writing` flag;
//!   finishing the read stores zero. Both are plain stores and the check a plain load.
//! * A writer takes the lock's `fallback` mutex (which orders writers and parks the readers
//!   that found the flag set), sets `writing`, then waits until no slot holds the lock's
//!   address. Between the two it runs a **heavy barrier**: `membarrier(2)` with
//!   `MEMBARRIER_CMD_PRIVATE_EXPEDITED`, which makes every thread of the process execute a full
//!   memory barrier. Either the writer then sees a reader's slot, or that reader sees the flag
//!   (Dekker's argument, with the reader's half of the fence supplied by the kernel); readers
//!   pay only a compiler fence.
//! * A reader that finds the flag set clears its slot and polls the flag for a while (a write
//!   takes microseconds, a futex wake-up tens of them), retrying the fast path when it clears;
//!   after [`SPIN_FOR_WRITE`] it reads under `fallback` instead, as does a thread without a
//!   slot (the table is full, or its slot is already in use by an outer read: nested reads
//!   are allowed). Such reads cost what a plain `RwLock` read costs.
//!
//! Where `membarrier` is unavailable (other systems, old kernels, a seccomp policy that forbids
//! it) readers execute a real `SeqCst` fence instead, and the writer's heavy barrier is an
//! ordinary fence: still correct, as fast as a plain lock.
//!
//! A writer skips the heavy barrier and the scan when no thread other than itself owns a slot:
//! a thread that acquires a slot afterwards does so after the flag was set (the counter of
//! owned slots and the flag are both `SeqCst`), so its first read finds the flag.
//!
//! # Invariants
//!
//! * A slot holds the address of at most one lock, and only its owner thread writes it.
//! * While `writing` is set, no read of the data starts on the fast path, and the writer does
//!   not touch the data before every fast-path reader that could have missed the flag has
//!   cleared its slot.
//! * Writers hold `fallback` exclusively for the whole write, so slow-path reads never overlap
//!   a write.
//!
//! As with any lock, a thread must not write a lock it is reading (it would wait for itself).

use std::cell::{Cell, UnsafeCell};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Number of reader slots: threads beyond this read through the fallback lock.
const SLOTS: usize = 256;

/// How long a reader that found the `writing` flag set polls it before parking: longer than
/// a write usually takes.
const SPIN_FOR_WRITE: std::time::Duration = std::time::Duration::from_micros(50);

/// Fast-path reads a thread can have in progress at once (reading a collection while holding
/// the table of collections takes two).
const DEPTH: usize = 2;

/// One reader slot on a cache line of its own (readers write their slot on every read): the
/// addresses of the locks being read, or 0.
#[repr(align(128))]
struct ReaderSlot([AtomicUsize; DEPTH]);

#[allow(clippy::declare_interior_mutable_const)] // an initializer for the array below
const EMPTY_SLOT: ReaderSlot = ReaderSlot([const { AtomicUsize::new(0) }; DEPTH]);

/// The process-wide table of reader slots.
static READERS: [ReaderSlot; SLOTS] = [EMPTY_SLOT; SLOTS];
/// Which slots are owned by a thread.
static OWNED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// How many slots are owned; writers skip the heavy barrier when only theirs is.
static OWNED_COUNT: AtomicUsize = AtomicUsize::new(0);
/// One past the highest slot ever owned: writers scan below it.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);

/// This thread's slot, released when the thread exits.
struct SlotOwner {
    /// `None` until the thread first reads; `Some(None)` when no slot was free.
    slot: Cell<Option<Option<usize>>>,
}

impl SlotOwner {
    #[inline]
    fn get(&self) -> Option<usize> {
        match self.slot.get() {
            Some(slot) => slot,
            None => self.acquire(),
        }
    }

    #[cold]
    fn acquire(&self) -> Option<usize> {
        // Decide the barrier mode before the first fast-path read of this process.
        barriers();
        let slot = (0..SLOTS).find(|&i| {
            OWNED[i]
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        if let Some(i) = slot {
            OWNED_COUNT.fetch_add(1, Ordering::SeqCst);
            HIGH_WATER.fetch_max(i + 1, Ordering::SeqCst);
        }
        self.slot.set(Some(slot));
        slot
    }

    fn owned(&self) -> Option<usize> {
        self.slot.get().flatten()
    }
}

impl Drop for SlotOwner {
    fn drop(&mut self) {
        if let Some(Some(i)) = self.slot.get() {
            for held in &READERS[i].0 {
                held.store(0, Ordering::SeqCst);
            }
            OWNED_COUNT.fetch_sub(1, Ordering::SeqCst);
            OWNED[i].store(false, Ordering::SeqCst);
        }
    }
}

thread_local! {
    static SLOT: SlotOwner = const { SlotOwner { slot: Cell::new(None) } };
}

/// The slot of the calling thread (`None`: no slot, or the thread is exiting).
#[inline]
fn my_slot() -> Option<usize> {
    SLOT.try_with(SlotOwner::get).ok().flatten()
}

/// Whether `membarrier` supplies the readers' half of the fence (decided once per process,
/// before the first slot is handed out).
fn barriers() -> bool {
    static DECIDED: OnceLock<bool> = OnceLock::new();
    *DECIDED.get_or_init(|| {
        let accelerated = membarrier::register();
        ACCELERATED.store(accelerated, Ordering::SeqCst);
        accelerated
    })
}

/// [`barriers`]'s answer for the read path (a plain load: a thread with a slot called
/// [`barriers`] before it got the slot).
static ACCELERATED: AtomicBool = AtomicBool::new(false);

/// The readers' half of the fence.
#[inline]
fn light_barrier(accelerated: bool) {
    if accelerated {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The writer's half: every thread of the process executes a full barrier.
fn heavy_barrier() {
    if !barriers() || !membarrier::private_expedited() {
        // Not accelerated: readers fence themselves. (An expedited call that fails after a
        // successful registration does not happen; `private_expedited` then falls back to the
        // global command, which needs no registration.)
        fence(Ordering::SeqCst);
    }
}

#[cfg(target_os = "linux")]
mod membarrier {
    const CMD_QUERY: libc::c_int = 0;
    const CMD_GLOBAL: libc::c_int = 1;
    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    fn call(cmd: libc::c_int) -> libc::c_long {
        // SAFETY: membarrier takes two integers and touches no user memory.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_int) }
    }

    /// Registers the process for expedited barriers; false when the kernel cannot do them.
    pub fn register() -> bool {
        let supported = call(CMD_QUERY);
        let needed =
            libc::c_long::from(CMD_GLOBAL | CMD_PRIVATE_EXPEDITED | CMD_REGISTER_PRIVATE_EXPEDITED);
        supported >= 0 && supported & needed == needed && call(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
    }

    /// A full barrier on every running thread of the process; false if even the global
    /// command failed.
    pub fn private_expedited() -> bool {
        call(CMD_PRIVATE_EXPEDITED) == 0 || call(CMD_GLOBAL) == 0
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub fn register() -> bool {
        false
    }

    pub fn private_expedited() -> bool {
        false
    }
}

/// A reader-writer lock for data read far more often than written (see the module docs).
pub struct ReadMostly<T> {
    writing: AtomicBool,
    fallback: RwLock<()>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&T` to many threads (needs `Sync`) and `&mut T` to one (needs
// `Send`), exactly like `std::sync::RwLock`.
unsafe impl<T: Send> Send for ReadMostly<T> {}
unsafe impl<T: Send + Sync> Sync for ReadMostly<T> {}

impl<T: Default> Default for ReadMostly<T> {
    fn default() -> Self {
        ReadMostly::new(T::default())
    }
}

impl<T> ReadMostly<T> {
    pub const fn new(data: T) -> ReadMostly<T> {
        ReadMostly {
            writing: AtomicBool::new(false),
            fallback: RwLock::new(()),
            data: UnsafeCell::new(data),
        }
    }

    fn address(&self) -> usize {
        self as *const Self as usize
    }

    /// Shared access; many threads read at once.
    #[inline]
    pub fn read(&self) -> ReadGuard<'_, T> {
        if let Some(slot) = my_slot() {
            // The first free word of the slot (only this thread writes them).
            let words = &READERS[slot].0;
            if let Some(word) = (0..DEPTH).find(|&w| words[w].load(Ordering::Relaxed) == 0) {
                let cell = &words[word];
                if let Some(guard) = self.try_read_in(cell) {
                    return guard;
                }
                return self.read_after_write(cell);
            }
        }
        ReadGuard {
            lock: self,
            access: Access::Fallback(self.fallback.read()),
        }
    }

    /// A fast-path read through `cell` (a free word of this thread's slot), unless a write
    /// is in progress.
    #[inline]
    fn try_read_in(&self, cell: &'static AtomicUsize) -> Option<ReadGuard<'_, T>> {
        cell.store(self.address(), Ordering::Relaxed);
        light_barrier(ACCELERATED.load(Ordering::Relaxed));
        if !self.writing.load(Ordering::SeqCst) {
            // The flag was clear after our slot became visible to writers: no write starts
            // until we clear it, and the last write's changes are visible (the flag's SeqCst
            // load synchronizes with its release).
            return Some(ReadGuard {
                lock: self,
                access: Access::Slot(cell),
            });
        }
        cell.store(0, Ordering::Release);
        None
    }

    /// A write is in progress. Writes take microseconds, while parking on the fallback lock
    /// costs a wake-up (tens of microseconds, more in a VM): wait for the flag a little
    /// first ([`SPIN_FOR_WRITE`]), then park.
    #[cold]
    fn read_after_write(&self, cell: &'static AtomicUsize) -> ReadGuard<'_, T> {
        let start = std::time::Instant::now();
        loop {
            for _ in 0..64 {
                if !self.writing.load(Ordering::Relaxed) {
                    if let Some(guard) = self.try_read_in(cell) {
                        return guard;
                    }
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= SPIN_FOR_WRITE {
                break;
            }
        }
        ReadGuard {
            lock: self,
            access: Access::Fallback(self.fallback.read()),
        }
    }

    /// Exclusive access; waits for the readers in progress, and readers wait for it.
    pub fn write(&self) -> WriteGuard<'_, T> {
        let fallback = self.fallback.write();
        self.writing.store(true, Ordering::SeqCst);
        let mine = SLOT.try_with(SlotOwner::owned).unwrap_or(None);
        debug_assert!(
            mine.is_none_or(|i| READERS[i]
                .0
                .iter()
                .all(|w| w.load(Ordering::Relaxed) != self.address())),
            "a thread writes a lock it is reading"
        );
        let others = OWNED_COUNT.load(Ordering::SeqCst) - usize::from(mine.is_some());
        if others > 0 {
            heavy_barrier();
            let me = self.address();
            let scanned = &READERS[..HIGH_WATER.load(Ordering::SeqCst)];
            for word in scanned.iter().flat_map(|slot| &slot.0) {
                let mut spins = 0u32;
                while word.load(Ordering::Acquire) == me {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
        WriteGuard {
            lock: self,
            _fallback: fallback,
        }
    }

    /// Exclusive access through a unique reference: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

enum Access<'a> {
    /// The word of this thread's slot that holds the lock's address.
    Slot(&'static AtomicUsize),
    Fallback(#[allow(dead_code)] RwLockReadGuard<'a, ()>),
}

/// Shared access to a [`ReadMostly`]'s data.
pub struct ReadGuard<'a, T> {
    lock: &'a ReadMostly<T>,
    access: Access<'a>,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a read guard exists only while no write can run (module invariants).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Access::Slot(word) = self.access {
            // Release: our reads of the data happen before a writer that sees the word clear.
            word.store(0, Ordering::Release);
        }
    }
}

/// Exclusive access to a [`ReadMostly`]'s data.
pub struct WriteGuard<'a, T> {
    lock: &'a ReadMostly<T>,
    _fallback: RwLockWriteGuard<'a, ()>,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the writer excludes every reader and every other writer.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // Release: the next fast-path reader that sees the flag clear sees the changes. The
        // fallback guard is dropped after this, so parked readers see them too.
        self.lock.writing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Data a torn read would expose: the writer sets every word to the same value, one word
    /// at a time (plain, non-atomic stores).
    struct Words([u64; 32]);

    fn consistent(words: &Words) -> bool {
        words.0.iter().all(|&w| w == words.0[0])
    }

    #[test]
    fn readers_never_see_a_write_in_progress() {
        let lock = Arc::new(ReadMostly::new(Words([0; 32])));
        let torn = Arc::new(AtomicU64::new(0));
        let reads = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_millis(600);
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (lock, torn, reads) = (lock.clone(), torn.clone(), reads.clone());
                std::thread::spawn(move || {
                    while Instant::now() < deadline {
                        for _ in 0..256 {
                            let guard = lock.read();
                            if !consistent(&guard) {
                                torn.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        reads.fetch_add(256, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let mut writes = 0u64;
        while Instant::now() < deadline {
            let mut guard = lock.write();
            writes += 1;
            for w in guard.0.iter_mut() {
                *w = writes;
                // Keep the stores apart so that a concurrent reader would catch a mix.
                std::hint::black_box(&*w);
            }
        }
        for reader in readers {
            reader.join().unwrap();
        }
        assert_eq!(torn.load(Ordering::Relaxed), 0);
        assert!(writes > 100, "only {writes} writes");
        assert!(reads.load(Ordering::Relaxed) > 1000);
        assert!(consistent(&lock.read()));
        assert_eq!(lock.read().0[0], writes);
    }

    #[test]
    fn a_write_waits_for_a_reader_in_progress() {
        let lock = Arc::new(ReadMostly::new(0u32));
        let guard = lock.read();
        let writer = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                *lock.write() = 1;
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(*guard, 0, "the writer ran during a read");
        drop(guard);
        writer.join().unwrap();
        assert_eq!(*lock.read(), 1);
    }

    #[test]
    fn nested_reads_of_two_locks_and_of_the_same_lock() {
        let a = ReadMostly::new(1u32);
        let b = ReadMostly::new(2u32);
        let outer = a.read();
        let inner = b.read();
        // Deeper than the slot: through the fallback lock.
        let again = a.read();
        assert!(matches!(outer.access, Access::Slot(_)));
        assert!(matches!(inner.access, Access::Slot(_)));
        assert!(matches!(again.access, Access::Fallback(_)));
        assert_eq!((*outer, *inner, *again), (1, 2, 1));
        drop(inner);
        drop(again);
        drop(outer);
        *a.write() = 3;
        *b.write() = 4;
        assert_eq!((*a.read(), *b.read()), (3, 4));
    }

    #[test]
    fn threads_give_their_slot_back() {
        let lock = Arc::new(ReadMostly::new(7u32));
        // More threads than slots, one after the other: each exiting thread frees its slot.
        for _ in 0..(SLOTS + 8) {
            let lock = lock.clone();
            std::thread::spawn(move || assert_eq!(*lock.read(), 7))
                .join()
                .unwrap();
        }
        *lock.write() = 8;
        assert_eq!(*lock.read(), 8);
    }
}
