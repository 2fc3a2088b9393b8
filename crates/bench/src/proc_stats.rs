//! The server's own cost, read from procfs: CPU time (utime + stime, every thread, including threads
//! that have exited) from /proc/<pid>/stat and resident memory from /proc/<pid>/status. A server
//! made of several processes (PostgreSQL: a postmaster and one backend per connection) is counted
//! as the postmaster's tree.

use std::process::Command;

use anyhow::{anyhow, Context};

/// user + system CPU time of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_stat_cpu_ticks(&stat)
}

/// Parses utime (field 14) + stime (field 15) of a /proc/<pid>/stat line.
pub fn parse_stat_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    let s = parse_stat(stat)?;
    Ok(s.utime + s.stime)
}

/// The fields of a /proc/<pid>/stat line this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    pub utime: u64,
    pub stime: u64,
    /// CPU of the children this process has waited for (exited backends, for a postmaster).
    pub cutime: u64,
    pub cstime: u64,
}

/// The command name (field 2) is in parentheses and may itself hold spaces and parentheses, so
/// fields are counted from the last ')'.
pub fn parse_stat(stat: &str) -> anyhow::Result<Stat> {
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| anyhow!("no command name in stat line"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state), so field n is fields[n - 3].
    let field = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .ok_or_else(|| anyhow!("stat line has no field {n}"))?
            .parse::<u64>()
            .with_context(|| format!("stat field {n}"))
    };
    Ok(Stat {
        ppid: u32::try_from(field(4)?).context("stat field 4")?,
        utime: field(14)?,
        stime: field(15)?,
        cutime: field(16)?,
        cstime: field(17)?,
    })
}

/// CPU ticks of `root` and its direct children, including the children that exited since it
/// started (its cutime + cstime, once it has waited for them): the whole of a PostgreSQL server,
/// whose postmaster forks one backend per connection and its background workers. A backend that
/// exits between two readings moves from the children's sum to the postmaster's cutime, so the
/// total stays monotonic.
pub fn tree_cpu_ticks(root: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{root}/stat"))
        .with_context(|| format!("reading /proc/{root}/stat"))?;
    let own = parse_stat(&stat)?;
    let mut total = own.utime + own.stime + own.cutime + own.cstime;
    for entry in std::fs::read_dir("/proc").context("listing /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may exit between the listing and the read: it is simply not counted here
        // (its parent's cutime has it once reaped).
        let Ok(line) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Ok(child) = parse_stat(&line) {
            if child.ppid == root {
                total += child.utime + child.stime;
            }
        }
    }
    Ok(total)
}

/// Ticks of every process in `pids`, summed.
pub fn cpu_ticks_sum(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().map(|&p| cpu_ticks(p)).sum()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// Resident set size now.
    pub rss_kib: u64,
    /// Peak resident set size over the process's life (VmHWM).
    pub hwm_kib: u64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_status_memory(&status)
}

/// The memory of several processes (the nodes of one target), added up: RSS now, and the sum of
/// their peaks (an upper bound of the peak of the sum).
pub fn memory_sum(pids: &[u32]) -> anyhow::Result<Memory> {
    pids.iter().try_fold(Memory::default(), |acc, &pid| {
        let m = memory(pid)?;
        Ok(Memory {
            rss_kib: acc.rss_kib + m.rss_kib,
            hwm_kib: acc.hwm_kib + m.hwm_kib,
        })
    })
}

pub fn parse_status_memory(status: &str) -> anyhow::Result<Memory> {
    let kib = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .ok_or_else(|| anyhow!("no {name} in status"))?
            .trim()
            .parse::<u64>()
            .with_context(|| format!("status {name}"))
    };
    Ok(Memory {
        rss_kib: kib("VmRSS")?,
        hwm_kib: kib("VmHWM")?,
    })
}

/// Clock ticks per second (USER_HZ), from `getconf CLK_TCK`; 100 — the Linux value on every
/// mainstream architecture — when getconf is absent.
pub fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// Server CPU microseconds per request between two samples. `None` when nothing was served
/// (a ratio over zero requests means nothing) or the counter went backwards (another process).
pub fn cpu_us_per_request(before: u64, after: u64, ticks_per_s: u64, requests: u64) -> Option<f64> {
    if requests == 0 || ticks_per_s == 0 || after < before {
        return None;
    }
    let cpu_s = (after - before) as f64 / ticks_per_s as f64;
    Some(cpu_s * 1e6 / requests as f64)
}

/// Busy clock ticks of the whole machine, all cores (`cpu` line of /proc/stat: user, nice, system,
/// irq, softirq, steal; not idle or iowait).
pub fn machine_busy_ticks() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    parse_machine_busy_ticks(&stat)
}

pub fn parse_machine_busy_ticks(stat: &str) -> anyhow::Result<u64> {
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(|| anyhow!("no cpu line in /proc/stat"))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse::<u64>().context("/proc/stat field"))
        .collect::<anyhow::Result<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    let at = |i: usize| fields.get(i).copied().unwrap_or(0);
    Ok(at(0) + at(1) + at(2) + at(5) + at(6) + at(7))
}

/// The machine's CPU use that is neither the server's nor the load generator's, between two
/// samples: what else ran while a figure was measured, in cores (1.0 = one core busy throughout).
#[derive(Clone, Copy, Debug)]
pub struct LoadSample {
    machine: u64,
    /// The servers under test: every node, and the database server behind them.
    server: u64,
    generator: u64,
}

impl LoadSample {
    pub fn now(server_pids: &[u32], database_pid: Option<u32>) -> Option<LoadSample> {
        Some(LoadSample {
            machine: machine_busy_ticks().ok()?,
            server: cpu_ticks_sum(server_pids).ok()?
                + match database_pid {
                    Some(pid) => tree_cpu_ticks(pid).ok()?,
                    None => 0,
                },
            generator: cpu_ticks(std::process::id()).ok()?,
        })
    }

    /// Cores of foreign load from `self` to `later`, over `elapsed_s` seconds.
    pub fn foreign_cores(
        &self,
        later: &LoadSample,
        elapsed_s: f64,
        ticks_per_s: u64,
    ) -> Option<f64> {
        if elapsed_s <= 0.0 || ticks_per_s == 0 {
            return None;
        }
        let ours =
            later.server.checked_sub(self.server)? + later.generator.checked_sub(self.generator)?;
        let all = later.machine.checked_sub(self.machine)?;
        Some(all.saturating_sub(ours) as f64 / ticks_per_s as f64 / elapsed_s)
    }
}

/// The granularity of that figure: one clock tick spread over the requests, in microseconds.
pub fn cpu_resolution_us(ticks_per_s: u64, requests: u64) -> Option<f64> {
    if requests == 0 || ticks_per_s == 0 {
        return None;
    }
    Some(1e6 / ticks_per_s as f64 / requests as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_busy_ticks_leave_idle_and_iowait_out() {
        let stat = "cpu  100 5 50 9000 40 3 2 1 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\nintr 1\n";
        assert_eq!(
            parse_machine_busy_ticks(stat).unwrap(),
            100 + 5 + 50 + 3 + 2 + 1
        );
        assert!(parse_machine_busy_ticks("intr 1\n").is_err());
    }

    #[test]
    fn foreign_load_is_what_neither_side_used() {
        let a = LoadSample {
            machine: 1000,
            server: 100,
            generator: 50,
        };
        let b = LoadSample {
            machine: 1300,
            server: 200,
            generator: 100,
        };
        // 300 busy ticks in 1 s at 100 ticks/s, of which 150 ours: 1.5 cores of others.
        assert_eq!(a.foreign_cores(&b, 1.0, 100), Some(1.5));
        // Counters going backwards (another process took the pid) give no figure.
        assert_eq!(b.foreign_cores(&a, 1.0, 100), None);
    }

    const STAT: &str = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                        350 125 0 0 20 0 5 0 99999 123456789 2048 18446744073709551615";

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        assert_eq!(parse_stat_cpu_ticks(STAT).unwrap(), 475);
    }

    #[test]
    fn stat_gives_the_parent_and_the_waited_for_children() {
        assert_eq!(
            parse_stat(STAT).unwrap(),
            Stat {
                ppid: 1,
                utime: 350,
                stime: 125,
                cutime: 0,
                cstime: 0
            }
        );
        let reaped = "77 (postgres) S 76 77 77 0 -1 4194560 1 0 0 0 10 5 200 100 20 0 1 0 9 1 1 1";
        let s = parse_stat(reaped).unwrap();
        assert_eq!((s.ppid, s.cutime, s.cstime), (76, 200, 100));
    }

    #[test]
    fn a_process_tree_counts_its_live_children() {
        // This test process and a child burning CPU: the tree is at least the child's ticks.
        /// Kills the busy child however the test ends: a failed assertion must not leave a
        /// process burning a core (it once disturbed a whole benchmark run).
        struct Reaped(std::process::Child);
        impl Drop for Reaped {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let child = Reaped(
            std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .unwrap(),
        );
        let me = std::process::id();
        let child_pid = child.0.id();
        // The loop runs until the child has used a tick; a stuck child fails the test on the
        // harness's timeout rather than passing.
        while cpu_ticks(child_pid).unwrap() == 0 {
            std::thread::yield_now();
        }
        // Ticks only grow: the parts read first, then the tree, so the child still burning CPU
        // between the reads cannot make the tree look smaller than its parts.
        let own =
            parse_stat(&std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap()).unwrap();
        let child_ticks = cpu_ticks(child_pid).unwrap();
        let tree = tree_cpu_ticks(me).unwrap();
        assert!(
            tree >= own.utime + own.stime + child_ticks,
            "tree {tree} < own {} + child {child_ticks}",
            own.utime + own.stime
        );
        drop(child);
        assert!(cpu_ticks_sum(&[me, me]).unwrap() >= 2 * (own.utime + own.stime));
        assert_eq!(memory_sum(&[]).unwrap(), Memory::default());
        assert!(memory_sum(&[me]).unwrap().rss_kib > 0);
        assert!(memory_sum(&[me, u32::MAX]).is_err());
    }

    #[test]
    fn a_truncated_stat_line_is_an_error() {
        assert!(parse_stat_cpu_ticks("1 (x) S 1 2 3").is_err());
        assert!(parse_stat_cpu_ticks("no parenthesis").is_err());
    }

    #[test]
    fn status_memory_lines() {
        let status = "Name:\tcoffer\nVmPeak:\t  100 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8123 kB\n";
        assert_eq!(
            parse_status_memory(status).unwrap(),
            Memory {
                rss_kib: 8123,
                hwm_kib: 9000
            }
        );
        assert!(parse_status_memory("Name:\tx\n").is_err());
    }

    #[test]
    fn cpu_per_request_accounting() {
        // 150 ticks at 100 Hz = 1.5 s of CPU over 100,000 requests = 15 µs each.
        let v = cpu_us_per_request(1000, 1150, 100, 100_000).unwrap();
        assert!((v - 15.0).abs() < 1e-9, "{v}");
        assert_eq!(cpu_us_per_request(10, 20, 100, 0), None);
        assert_eq!(cpu_us_per_request(20, 10, 100, 5), None);
        let r = cpu_resolution_us(100, 100_000).unwrap();
        assert!((r - 0.1).abs() < 1e-12, "{r}");
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        // Burn a little CPU so the counter has something to show, then check it is monotonic.
        let before = cpu_ticks(pid).unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = cpu_ticks(pid).unwrap();
        assert!(after >= before);
        let mem = memory(pid).unwrap();
        assert!(mem.rss_kib > 0 && mem.hwm_kib >= mem.rss_kib);
        assert!(ticks_per_second() > 0);
    }
}
