//! A deterministic generator of TSBS's `cpu-only` use case: N hosts, the 10 TSBS host tags, 10
//! `usage_*` float fields, one row per host every 10 s.
//!
//! Values follow TSBS's shape: a bounded random walk per host and field, kept to two decimals
//! (the precision TSBS data effectively has, and what the targets in issue 3 are stated for).
//! The same seed gives the same bytes on every machine.

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// TSBS's default start: 2016-01-01T00:00:00Z, in nanoseconds.
pub(crate) const DEFAULT_START_NANOS: i64 = 1_451_606_400_000_000_000;
/// One row per host every 10 s.
pub(crate) const INTERVAL_NANOS: i64 = 10_000_000_000;
/// Field values per row.
pub(crate) const FIELDS: [&str; 10] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];

const REGIONS: [(&str, [&str; 3]); 3] = [
    ("us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"]),
    ("eu-west-1", ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
    (
        "ap-northeast-1",
        ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
    ),
];
const OSES: [&str; 3] = ["Ubuntu16.04LTS", "Ubuntu15.10", "Ubuntu16.10"];
const ARCHES: [&str; 2] = ["x64", "x86"];
const TEAMS: [&str; 4] = ["SF", "NYC", "LON", "CHI"];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "test"];

struct Host {
    tags: String,
    values: [f64; 10],
}

/// The dataset's size and seed, shared by the benchmarks that generate TSBS data.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// Hosts (series per field).
    #[arg(long, default_value_t = 100)]
    pub(crate) hosts: usize,
    /// Hours of data (one row per host every 10 s).
    #[arg(long, default_value_t = 24)]
    pub(crate) hours: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

/// The generator's state: every host's tags and current field values.
pub(crate) struct CpuOnly {
    hosts: Vec<Host>,
    rng: StdRng,
    next_time: i64,
}

impl CpuOnly {
    /// A generator of `hosts` hosts starting at `start` (ns), seeded.
    pub(crate) fn new(hosts: usize, seed: u64, start: i64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let hosts = (0..hosts)
            .map(|index| {
                let (region, zones) = REGIONS[rng.random_range(0..REGIONS.len())];
                let tags = format!(
                    "hostname=host_{index},region={region},datacenter={},rack={},os={},arch={},team={},service={},service_version={},service_environment={}",
                    zones[rng.random_range(0..zones.len())],
                    rng.random_range(0..100),
                    OSES[rng.random_range(0..OSES.len())],
                    ARCHES[rng.random_range(0..ARCHES.len())],
                    TEAMS[rng.random_range(0..TEAMS.len())],
                    rng.random_range(0..20),
                    rng.random_range(0..2),
                    ENVIRONMENTS[rng.random_range(0..ENVIRONMENTS.len())],
                );
                let values = std::array::from_fn(|_| (rng.random_range(0.0..100.0f64) * 100.0).round() / 100.0);
                Host { tags, values }
            })
            .collect();
        Self {
            hosts,
            rng,
            next_time: start,
        }
    }

    /// Advances every host's random walk to the next timestamp; returns that time (ns).
    pub(crate) fn step(&mut self) -> i64 {
        let time = self.next_time;
        self.next_time += INTERVAL_NANOS;
        for host in &mut self.hosts {
            for value in host.values.iter_mut() {
                let step: f64 = self.rng.random_range(-1.0..1.0);
                *value = ((*value + step).clamp(0.0, 100.0) * 100.0).round() / 100.0;
            }
        }
        time
    }

    /// Appends one row per host for the next timestamp, in line protocol.
    pub(crate) fn next_rows(&mut self, out: &mut String) {
        use std::fmt::Write;
        let time = self.step();
        for host in &self.hosts {
            let _ = write!(out, "cpu,{} ", host.tags);
            for (index, (name, value)) in FIELDS.iter().zip(host.values.iter()).enumerate() {
                let separator = if index == 0 { "" } else { "," };
                let _ = write!(out, "{separator}{name}={value}");
            }
            let _ = writeln!(out, " {time}");
        }
    }

    /// Every host's current field values, in `FIELDS` order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &[f64; 10]> {
        self.hosts.iter().map(|host| &host.values)
    }

    /// Every host's tags as label pairs.
    pub(crate) fn host_tags(&self) -> Vec<Vec<(String, String)>> {
        self.hosts
            .iter()
            .map(|host| {
                host.tags
                    .split(',')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// Number of hosts (rows per timestamp).
    pub(crate) fn hosts(&self) -> usize {
        self.hosts.len()
    }
}

/// The whole dataset as request bodies of about `lines_per_batch` lines each.
pub(crate) fn batches(
    hosts: usize,
    seed: u64,
    rows_per_host: usize,
    lines_per_batch: usize,
) -> Vec<String> {
    let mut generator = CpuOnly::new(hosts, seed, DEFAULT_START_NANOS);
    let mut batches = Vec::new();
    let mut current = String::new();
    let mut lines = 0;
    for _ in 0..rows_per_host {
        generator.next_rows(&mut current);
        lines += generator.hosts();
        if lines >= lines_per_batch {
            batches.push(std::mem::take(&mut current));
            lines = 0;
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_the_tsbs_shape() {
        let first = batches(3, 7, 4, 5);
        assert_eq!(first, batches(3, 7, 4, 5));
        assert_ne!(first, batches(3, 8, 4, 5));
        let text = first.concat();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 12);
        let first_line = lines[0];
        assert!(
            first_line.starts_with("cpu,hostname=host_0,region="),
            "{first_line}"
        );
        assert_eq!(
            first_line.split(' ').nth(1).unwrap().split(',').count(),
            10,
            "ten fields"
        );
        assert_eq!(
            first_line.split(' ').next().unwrap().split(',').count(),
            11,
            "ten tags"
        );
        assert!(lines[3].ends_with(&format!(" {}", DEFAULT_START_NANOS + INTERVAL_NANOS)));
    }
}
