//! The recorder's clock. On x86_64 the TSC (constant rate on every CPU we target: `constant_tsc`)
//! costs a few ns per read where `clock_gettime` costs ~20; ticks become nanoseconds once, at
//! the end, from a calibration against the monotonic clock over the whole run.

use std::time::Instant;

pub struct Clock {
    start_instant: Instant,
    start_tick: u64,
}

#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            start_instant: Instant::now(),
            start_tick: ticks(),
        }
    }

    /// Ticks per nanosecond, measured over a 100 µs spin: good to a few per cent, enough to
    /// set the clock-probe threshold at the start (the profile's times use `ns_per_tick`).
    pub fn quick_ticks_per_ns() -> f64 {
        let t0 = Instant::now();
        let k0 = ticks();
        let window = std::time::Duration::from_micros(100);
        while t0.elapsed() < window {
            std::hint::spin_loop();
        }
        let dt = ticks().wrapping_sub(k0) as f64;
        let ns = t0.elapsed().as_nanos() as f64;
        if ns > 0.0 && dt > 0.0 { dt / ns } else { 1.0 }
    }

    pub fn start_tick(&self) -> u64 {
        self.start_tick
    }

    /// Nanoseconds per tick, measured from the start to now. A run shorter than 1 ms waits out
    /// the rest of that window: reading both clocks costs well under a µs, so 1 ms bounds the
    /// error below 0.1 %.
    pub fn ns_per_tick(&self) -> f64 {
        let window = std::time::Duration::from_millis(1);
        let mut elapsed = self.start_instant.elapsed();
        while elapsed < window {
            std::hint::spin_loop();
            elapsed = self.start_instant.elapsed();
        }
        let dt = ticks().wrapping_sub(self.start_tick);
        if dt == 0 {
            1.0
        } else {
            elapsed.as_nanos() as f64 / dt as f64
        }
    }
}
