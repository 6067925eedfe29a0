//! What /proc tells of the server under load: its resident memory and CPU time.

/// A process's resident memory in KiB, from /proc.
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// A process's CPU time so far, in seconds, from /proc/PID/stat.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    /// Running the program itself.
    pub user: f64,
    /// In the kernel on its behalf: system calls, and on loopback also the receiving
    /// side's TCP work for every write (the kernel delivers to the other socket then).
    pub system: f64,
}

impl std::ops::Sub for CpuTime {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        Self {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// `pid`'s CPU time so far.
pub fn cpu_time(pid: u32) -> Option<CpuTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks_per_second();
    Some(CpuTime {
        user: utime as f64 / ticks,
        system: stime as f64 / ticks,
    })
}

/// The kernel's clock tick for /proc times (USER_HZ, `getconf CLK_TCK`).
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}
